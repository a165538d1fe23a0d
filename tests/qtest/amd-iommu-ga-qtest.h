/*
 * Helpers for the AMD IOMMU qtests (guest virtual APIC mode, and the
 * remapped-mode baseline in amd-iommu-remap-test.c)
 *
 * A q35 machine with amd-iommu (id "iommu") and an edu device at a
 * fixed slot; the device table, command buffer, event log, GA log and
 * IRTEs in guest memory; edu's MSI fired on demand; the interrupt
 * remapping and posting results read back from guest memory, from the
 * local APICs ("info lapic") and from the IOMMU's ga-* counters.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef TESTS_QTEST_AMD_IOMMU_GA_QTEST_H
#define TESTS_QTEST_AMD_IOMMU_GA_QTEST_H

#include "libqtest.h"
#include "libqos/pci.h"
#include "libqos/pci-pc.h"
#include "hw/pci/pci_regs.h"
#include "qobject/qdict.h"
#include "hw/i386/amd-avic-bits.h"

#define IOMMU_MMIO      0xfed80000ULL
#define IOMMU_QOM       "/machine/peripheral/iommu"

/* edu at a fixed slot so that its device ID (BDF) is known. */
#define EDU_SLOT        4
#define EDU_DEVFN       QPCI_DEVFN(EDU_SLOT, 0)
#define EDU_DEVID       EDU_DEVFN               /* bus 0 */
#define EDU_RAISE_IRQ   0x60
#define EDU_ACK_IRQ     0x64

/* Guest-physical layout (RAM is 128 MiB). */
#define DEVTAB_GPA      0x00100000ULL
#define IRT_GPA         0x00200000ULL
#define CMDBUF_GPA      0x00300000ULL
#define CW_STORE_GPA    0x00310000ULL
#define EVTLOG_GPA      0x00320000ULL
#define GALOG_GPA       0x00400000ULL           /* 512 entries, 4 KiB */
#define GALOG_TAIL_GPA  0x00410000ULL
#define BACKING_GPA     0x00500000ULL           /* vAPIC backing pages */
#define NOT_RAM_GPA     0x40000000ULL           /* above RAM: unassigned */

#define IRT_LEN_LOG2    8                       /* 256 entries */
#define GALOG_BYTES     4096
#define MSI_ADDR        0xfee00000ULL

typedef struct GaTest {
    QTestState *qts;
    QPCIBus *bus;
    QPCIDevice *edu;
    QPCIBar edu_bar;
    uint8_t edu_msi;
    QPCIDevice *iommu_pci;
    uint8_t iommu_msi;
    uint32_t cmd_tail;
    bool no_flush;      /* write IRTEs without invalidating (a bad driver) */
} GaTest;

static inline uint64_t iommu_readq(GaTest *t, uint64_t reg)
{
    return qtest_readq(t->qts, IOMMU_MMIO + reg);
}

static inline void iommu_writeq(GaTest *t, uint64_t reg, uint64_t val)
{
    qtest_writeq(t->qts, IOMMU_MMIO + reg, val);
}

static inline void iommu_writel(GaTest *t, uint64_t reg, uint32_t val)
{
    qtest_writel(t->qts, IOMMU_MMIO + reg, val);
}

static inline void iommu_control_set(GaTest *t, uint64_t set, uint64_t clear)
{
    uint64_t ctrl = iommu_readq(t, AMD_IOMMU_MMIO_CONTROL);

    iommu_writeq(t, AMD_IOMMU_MMIO_CONTROL, (ctrl & ~clear) | set);
}

/* An integer QOM property of @path (a counter). */
static inline uint64_t qom_get_uint(QTestState *qts, const char *path,
                                    const char *name)
{
    QDict *rsp = qtest_qmp(qts, "{'execute': 'qom-get', 'arguments': "
                           "{'path': %s, 'property': %s}}", path, name);
    uint64_t val;

    g_assert(qdict_haskey(rsp, "return"));
    val = qdict_get_int(rsp, "return");
    qobject_unref(rsp);
    return val;
}

static inline uint64_t ga_counter(GaTest *t, const char *name)
{
    return qom_get_uint(t->qts, IOMMU_QOM, name);
}

/*
 * Run QEMU with @device, which it must refuse; return its exit status,
 * its stderr in @err.  timeout(1) stops one that wrongly starts.
 */
static inline int run_qemu_device(const char *device, char **err)
{
    const char *qemu = g_getenv("QTEST_QEMU_BINARY");
    g_autofree char *dev = g_strdup(device);
    const char *argv[] = {
        "timeout", "20", qemu, "-M", "q35", "-accel", "qtest",
        "-display", "none", "-nodefaults", "-S", "-monitor", "none",
        "-device", dev, NULL,
    };
    g_autoptr(GError) gerr = NULL;
    int status;

    g_assert(g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_SEARCH_PATH,
                          NULL, NULL, NULL, err, &status, &gerr));
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* Program a 64-bit MSI capability at @cap of @dev and enable it. */
static inline void pci_set_msi(QPCIDevice *dev, uint8_t cap, uint64_t addr,
                               uint16_t data)
{
    uint16_t flags = qpci_config_readw(dev, cap + PCI_MSI_FLAGS);

    g_assert(flags & PCI_MSI_FLAGS_64BIT);
    qpci_config_writel(dev, cap + PCI_MSI_ADDRESS_LO, (uint32_t)addr);
    qpci_config_writel(dev, cap + PCI_MSI_ADDRESS_HI, addr >> 32);
    qpci_config_writew(dev, cap + PCI_MSI_DATA_64, data);
    qpci_config_writew(dev, cap + PCI_MSI_FLAGS, flags | PCI_MSI_FLAGS_ENABLE);
}

/* edu's MSI names IRTE @index. */
static inline void edu_set_irte(GaTest *t, uint16_t index)
{
    pci_set_msi(t->edu, t->edu_msi, MSI_ADDR, index);
}

/* Make edu send its MSI once. */
static inline void edu_fire(GaTest *t)
{
    qpci_io_writel(t->edu, t->edu_bar, EDU_RAISE_IRQ, 1);
    qpci_io_writel(t->edu, t->edu_bar, EDU_ACK_IRQ, 1);
}

/* The IOMMU's own PCI function (its MSI carries the log interrupts). */
static inline QPCIDevice *find_iommu_pci(QPCIBus *bus)
{
    for (int devfn = 0; devfn < 256; devfn += 8) {
        QPCIDevice *d = qpci_device_find(bus, devfn);

        if (d && qpci_config_readw(d, PCI_VENDOR_ID) == AMD_IOMMU_PCI_VENDOR &&
            qpci_config_readw(d, PCI_DEVICE_ID) == AMD_IOMMU_PCI_DEVICE) {
            return d;
        }
        g_free(d);
    }
    g_assert_not_reached();
}

/* The PCI side of the machine: edu and the IOMMU function. */
static inline void ga_pci_init(GaTest *t)
{
    t->bus = qpci_new_pc(t->qts, NULL);
    t->edu = qpci_device_find(t->bus, EDU_DEVFN);
    g_assert_nonnull(t->edu);
    qpci_device_enable(t->edu);
    t->edu_bar = qpci_iomap(t->edu, 0, NULL);
    t->edu_msi = qpci_find_capability(t->edu, PCI_CAP_ID_MSI, 0);
    g_assert_cmpint(t->edu_msi, !=, 0);
    t->iommu_pci = find_iommu_pci(t->bus);
    t->iommu_msi = qpci_find_capability(t->iommu_pci, PCI_CAP_ID_MSI, 0);
    g_assert_cmpint(t->iommu_msi, !=, 0);
}

static inline void ga_pci_fini(GaTest *t)
{
    g_free(t->edu);
    g_free(t->iommu_pci);
    qpci_free_pc(t->bus);
}

/*
 * The vectors pending in a local APIC's IRR, as "info lapic" reports
 * them: the qtest accelerator runs no vCPU, so nothing takes them.
 */
static inline bool lapic_irr_has(GaTest *t, int apic_id, int vector)
{
    g_autofree char *out = qtest_hmp(t->qts, "info lapic %d", apic_id);
    g_auto(GStrv) lines = g_strsplit(out, "\n", -1);

    for (int i = 0; lines[i]; i++) {
        if (g_str_has_prefix(lines[i], "IRR")) {
            g_auto(GStrv) words = g_strsplit_set(lines[i] + 3, " \t", -1);
            for (int j = 0; words[j]; j++) {
                if (*words[j] && atoi(words[j]) == vector) {
                    return true;
                }
            }
            return false;
        }
    }
    g_assert_not_reached();
}

/* Append one command and let the IOMMU run up to it. */
static inline void iommu_command(GaTest *t, uint64_t q0, uint64_t q1)
{
    qtest_writeq(t->qts, CMDBUF_GPA + t->cmd_tail, q0);
    qtest_writeq(t->qts, CMDBUF_GPA + t->cmd_tail + 8, q1);
    t->cmd_tail = (t->cmd_tail + AMD_IOMMU_CMD_SIZE) % 4096;
    iommu_writeq(t, AMD_IOMMU_MMIO_CMDBUF_TAIL, t->cmd_tail);
}

static inline void iommu_completion_wait(GaTest *t, uint64_t token)
{
    qtest_writeq(t->qts, CW_STORE_GPA, 0);
    iommu_command(t, CW_STORE_GPA | AMD_IOMMU_CW_STORE |
                  ((uint64_t)AMD_IOMMU_CMD_COMPLETION_WAIT <<
                   AMD_IOMMU_CMD_OPCODE_SHIFT), token);
    g_assert_cmphex(qtest_readq(t->qts, CW_STORE_GPA), ==, token);
}

/* INVALIDATE_INTERRUPT_TABLE for edu, then COMPLETION_WAIT. */
static inline void iommu_flush_irt(GaTest *t)
{
    iommu_command(t, (uint64_t)AMD_IOMMU_CMD_INVAL_INTR_TABLE <<
                  AMD_IOMMU_CMD_OPCODE_SHIFT | EDU_DEVID, 0);
    iommu_completion_wait(t, 0x600d);
}

/* GA log, its tail buffer and pointers, then GALogEn and GAIntEn. */
static inline void ga_log_setup(GaTest *t)
{
    qtest_memset(t->qts, GALOG_GPA, 0, GALOG_BYTES);
    qtest_writeq(t->qts, GALOG_TAIL_GPA, 0xdeadbeef);
    iommu_writeq(t, AMD_IOMMU_MMIO_GALOG_BASE, GALOG_GPA |
                 ((uint64_t)AMD_IOMMU_GALOG_LEN_512 <<
                  AMD_IOMMU_RING_LEN_SHIFT));
    iommu_writeq(t, AMD_IOMMU_MMIO_GALOG_TAIL_ADDR, GALOG_TAIL_GPA);
    iommu_writeq(t, AMD_IOMMU_MMIO_GALOG_HEAD, 0);
    iommu_writeq(t, AMD_IOMMU_MMIO_GALOG_TAIL, 0);
    iommu_control_set(t, AMD_IOMMU_CTRL_GAINT_EN | AMD_IOMMU_CTRL_GALOG_EN,
                      0);
}

/* The IOMMU of most tests: x2APIC-capable, guest vAPIC mode asked for. */
#define GA_IOMMU        "amd-iommu,id=iommu,intremap=on,xtsup=on,vapic=on"

/*
 * The device table (one 4 KiB page: device IDs 0..127) with edu's DTE
 * remapping through IRT_GPA, and the command buffer.
 */
static inline void iommu_program_tables(GaTest *t)
{
    uint64_t dte2 = AMD_IOMMU_DTE_Q2_IV |
                    ((uint64_t)IRT_LEN_LOG2 <<
                     AMD_IOMMU_DTE_Q2_INTTABLEN_SHIFT) |
                    IRT_GPA |
                    ((uint64_t)AMD_IOMMU_DTE_INTCTL_REMAP <<
                     AMD_IOMMU_DTE_Q2_INTCTL_SHIFT);

    t->cmd_tail = 0;
    iommu_writeq(t, AMD_IOMMU_MMIO_DEVTAB_BASE, DEVTAB_GPA);
    iommu_writeq(t, AMD_IOMMU_MMIO_CMDBUF_BASE,
                 CMDBUF_GPA | (8ULL << AMD_IOMMU_RING_LEN_SHIFT));
    qtest_writeq(t->qts, DEVTAB_GPA + EDU_DEVID * AMD_IOMMU_DTE_SIZE,
                 AMD_IOMMU_DTE_Q0_V);
    qtest_writeq(t->qts, DEVTAB_GPA + EDU_DEVID * AMD_IOMMU_DTE_SIZE + 16,
                 dte2);
}

/*
 * Program the IOMMU for vAPIC mode (GAEn, XTEn, GAMEn = 1) with its
 * device table, command buffer, event log and GA log.
 */
static inline void ga_program(GaTest *t)
{
    iommu_program_tables(t);
    qtest_memset(t->qts, EVTLOG_GPA, 0, 4096);
    iommu_writeq(t, AMD_IOMMU_MMIO_EVTLOG_BASE,
                 EVTLOG_GPA | (8ULL << AMD_IOMMU_RING_LEN_SHIFT));

    iommu_writeq(t, AMD_IOMMU_MMIO_CONTROL,
                 AMD_IOMMU_CTRL_IOMMU_EN | AMD_IOMMU_CTRL_CMDBUF_EN |
                 AMD_IOMMU_CTRL_EVTLOG_EN | AMD_IOMMU_CTRL_GA_EN |
                 AMD_IOMMU_CTRL_XT_EN | AMD_IOMMU_CTRL_GAM_VAPIC);
    ga_log_setup(t);
}

/* A machine with @device (id "iommu") and edu, programmed. */
static inline void ga_start(GaTest *t, const char *device)
{
    memset(t, 0, sizeof(*t));
    t->qts = qtest_initf("-M q35 -smp 2 -device %s -device edu,addr=%d.0",
                         device, EDU_SLOT);
    ga_pci_init(t);
    ga_program(t);
}

static inline void ga_stop(GaTest *t)
{
    ga_pci_fini(t);
    qtest_quit(t->qts);
}

/* A guest-mode IRTE.  @lo_flags: GALogIntr, IsRun, SupIOPF, ... */
typedef struct GaIrte {
    uint64_t lo_flags;
    uint32_t dest;
    uint32_t tag;
    uint8_t vector;
    uint64_t backing;
    uint64_t hi_extra;
} GaIrte;

/*
 * Write IRTE @index and, as a driver must once the IOMMU is running,
 * invalidate it (INVALIDATE_INTERRUPT_TABLE + COMPLETION_WAIT): the
 * IOMMU may cache it.  Not with t->no_flush, nor before the command
 * buffer runs.
 */
static inline void write_irte_raw(GaTest *t, int index, uint64_t lo,
                                  uint64_t hi)
{
    qtest_writeq(t->qts, IRT_GPA + index * AMD_IOMMU_IRTE_GA_SIZE, lo);
    qtest_writeq(t->qts, IRT_GPA + index * AMD_IOMMU_IRTE_GA_SIZE + 8, hi);
    if (!t->no_flush && (iommu_readq(t, AMD_IOMMU_MMIO_CONTROL) &
                         AMD_IOMMU_CTRL_CMDBUF_EN)) {
        iommu_flush_irt(t);
    }
}

static inline void write_irte_guest(GaTest *t, int index, const GaIrte *e)
{
    uint64_t lo = AMD_IOMMU_IRTE_LO_REMAP_EN | AMD_IOMMU_IRTE_LO_GUEST_MODE |
                  e->lo_flags |
                  ((uint64_t)(e->dest & 0xffffff) <<
                   AMD_IOMMU_IRTE_LO_DEST_SHIFT) |
                  ((uint64_t)e->tag << AMD_IOMMU_IRTE_LO_GA_TAG_SHIFT);
    uint64_t hi = e->vector | e->backing | e->hi_extra |
                  ((uint64_t)(e->dest >> 24) <<
                   AMD_IOMMU_IRTE_HI_DEST_HI_SHIFT);

    write_irte_raw(t, index, lo, hi);
}

static inline void write_irte_remapped(GaTest *t, int index, uint32_t dest,
                                       uint8_t vector)
{
    write_irte_raw(t, index, AMD_IOMMU_IRTE_LO_REMAP_EN |
                   ((uint64_t)(dest & 0xffffff) <<
                    AMD_IOMMU_IRTE_LO_DEST_SHIFT),
                   vector | ((uint64_t)(dest >> 24) <<
                             AMD_IOMMU_IRTE_HI_DEST_HI_SHIFT));
}

/* The IRR word of @vector in the backing page at @page. */
static inline uint32_t backing_irr(GaTest *t, uint64_t page, uint8_t vector)
{
    return qtest_readl(t->qts, page + APIC_VEC_REG_OFFSET(APIC_REG_IRR,
                                                          vector));
}

static inline bool backing_irr_has(GaTest *t, uint64_t page, uint8_t vector)
{
    return backing_irr(t, page, vector) & APIC_VEC_BIT(vector);
}

/* The vCPU took everything pending: the whole IRR of @page is clear. */
static inline void backing_irr_clear(GaTest *t, uint64_t page)
{
    for (int vec = 0; vec < 256; vec += 32) {
        qtest_writel(t->qts, page + APIC_VEC_REG_OFFSET(APIC_REG_IRR, vec), 0);
    }
}

/* The GA log entry at byte offset @off. */
static inline uint64_t galog_entry(GaTest *t, uint32_t off)
{
    return qtest_readq(t->qts, GALOG_GPA + off);
}

static inline uint64_t galog_expect(uint32_t tag, uint16_t devid)
{
    return tag | (uint64_t)devid << AMD_IOMMU_GALOG_DEVID_SHIFT |
           (uint64_t)AMD_IOMMU_GALOG_TYPE_GUEST_NR <<
           AMD_IOMMU_GALOG_TYPE_SHIFT;
}

/* ---- Migration: the QMP status polls of the migration tests ---- */

static inline const char *query_str(QTestState *qts, const char *cmd,
                                    const char *key, char *buf, size_t len)
{
    QDict *rsp = qtest_qmp(qts, "{'execute': %s}", cmd);
    QDict *ret = qdict_get_qdict(rsp, "return");

    g_assert(ret);
    g_strlcpy(buf, qdict_haskey(ret, key) ? qdict_get_str(ret, key) : "",
              len);
    qobject_unref(rsp);
    return buf;
}

/* Wait until "query-migrate" on @qts reports completed. */
static inline void wait_migration(QTestState *qts)
{
    char status[32];

    for (int i = 0; i < 6000; i++) {
        query_str(qts, "query-migrate", "status", status, sizeof(status));
        g_assert_cmpstr(status, !=, "failed");
        if (!strcmp(status, "completed")) {
            return;
        }
        g_usleep(10 * 1000);
    }
    g_assert_not_reached();
}

static inline void wait_running(QTestState *qts)
{
    char status[32];

    for (int i = 0; i < 6000; i++) {
        query_str(qts, "query-status", "status", status, sizeof(status));
        if (!strcmp(status, "running")) {
            return;
        }
        g_usleep(10 * 1000);
    }
    g_assert_not_reached();
}

/* amd-iommu migrates only with its PCI function created apart. */
#define MIG_IOMMU(opts) \
    "AMDVI-PCI,id=iommupci -device amd-iommu,id=iommu,pci-id=iommupci," opts

static inline void migrate_out(GaTest *t, const char *uri)
{
    qtest_qmp_assert_success(t->qts, "{'execute': 'migrate', "
                             "'arguments': {'uri': %s}}", uri);
    wait_migration(t->qts);
}

static inline QTestState *start_incoming(const char *device)
{
    return qtest_initf("-M q35 -smp 2 -device %s -device edu,addr=%d.0 "
                       "-incoming defer", device, EDU_SLOT);
}

#endif /* TESTS_QTEST_AMD_IOMMU_GA_QTEST_H */
