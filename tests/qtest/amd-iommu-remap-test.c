/*
 * QTest for the AMD IOMMU: what upstream already does and we must keep
 *
 * - the PCI identity and the IOMMU capability block;
 * - the MMIO registers that exist at reset (EFR, control, status, the
 *   ring base registers) and the command buffer (COMPLETION_WAIT);
 * - interrupt remapping with a 128-bit IRTE in remapped mode
 *   (GuestMode = 0): an MSI from the edu device arrives at the local
 *   APIC named by the IRTE, with the IRTE's vector.
 *
 * The guest-mode (vAPIC) features have tests of their own.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "libqtest.h"
#include "libqos/pci.h"
#include "libqos/pci-pc.h"
#include "hw/pci/pci_regs.h"
#include "hw/i386/amd-avic-bits.h"

#define IOMMU_MMIO      0xfed80000ULL

/* edu at a fixed slot so that its device ID (BDF) is known. */
#define EDU_SLOT        4
#define EDU_DEVFN       QPCI_DEVFN(EDU_SLOT, 0)
#define EDU_DEVID       EDU_DEVFN               /* bus 0 */
#define EDU_RAISE_IRQ   0x60
#define EDU_ACK_IRQ     0x64

/* Guest-physical layout of the IOMMU's tables (RAM is 128 MiB). */
#define DEVTAB_GPA      0x00100000ULL
#define IRT_GPA         0x00200000ULL
#define CMDBUF_GPA      0x00300000ULL
#define CW_STORE_GPA    0x00310000ULL

#define IRT_LEN_LOG2    8           /* 256 entries */

/* The edu device and where its MSIs are configured. */
typedef struct EduDev {
    QPCIBus *bus;
    QPCIDevice *dev;
    QPCIBar bar;
    uint8_t msi_cap;
} EduDev;

typedef struct TestCtx {
    QTestState *qts;
    EduDev edu;
    uint32_t cmd_tail;
} TestCtx;

static uint64_t iommu_readq(QTestState *qts, uint64_t reg)
{
    return qtest_readq(qts, IOMMU_MMIO + reg);
}

static void iommu_writeq(QTestState *qts, uint64_t reg, uint64_t val)
{
    qtest_writeq(qts, IOMMU_MMIO + reg, val);
}

static QTestState *start_machine(const char *extra)
{
    /* The IOMMU must come before the PCI devices it translates for. */
    return qtest_initf("-M q35 -smp 2 "
                       "-device amd-iommu,intremap=on,xtsup=on%s "
                       "-device edu,addr=%d.0", extra, EDU_SLOT);
}

static void edu_init(QTestState *qts, EduDev *edu)
{
    edu->bus = qpci_new_pc(qts, NULL);
    edu->dev = qpci_device_find(edu->bus, EDU_DEVFN);
    g_assert_nonnull(edu->dev);
    qpci_device_enable(edu->dev);       /* memory space and bus master */
    edu->bar = qpci_iomap(edu->dev, 0, NULL);
    edu->msi_cap = qpci_find_capability(edu->dev, PCI_CAP_ID_MSI, 0);
    g_assert_cmpint(edu->msi_cap, !=, 0);
}

static void edu_fini(EduDev *edu)
{
    g_free(edu->dev);
    qpci_free_pc(edu->bus);
}

/* Program edu's (64-bit) MSI capability and enable it. */
static void edu_set_msi(EduDev *edu, uint64_t addr, uint16_t data)
{
    uint8_t cap = edu->msi_cap;
    uint16_t flags = qpci_config_readw(edu->dev, cap + PCI_MSI_FLAGS);

    g_assert(flags & PCI_MSI_FLAGS_64BIT);
    qpci_config_writel(edu->dev, cap + PCI_MSI_ADDRESS_LO, (uint32_t)addr);
    qpci_config_writel(edu->dev, cap + PCI_MSI_ADDRESS_HI, addr >> 32);
    qpci_config_writew(edu->dev, cap + PCI_MSI_DATA_64, data);
    qpci_config_writew(edu->dev, cap + PCI_MSI_FLAGS,
                       flags | PCI_MSI_FLAGS_ENABLE);
}

/* Make edu send its MSI once. */
static void edu_fire(EduDev *edu)
{
    qpci_io_writel(edu->dev, edu->bar, EDU_RAISE_IRQ, 1);
    qpci_io_writel(edu->dev, edu->bar, EDU_ACK_IRQ, 1);
}

/*
 * The vectors pending in a local APIC's IRR, as "info lapic" reports
 * them: the qtest accelerator runs no vCPU, so nothing takes them.
 */
static bool lapic_irr_has(QTestState *qts, int apic_id, int vector)
{
    g_autofree char *out = qtest_hmp(qts, "info lapic %d", apic_id);
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

static void test_pci_identity(void)
{
    QTestState *qts = start_machine("");
    QPCIBus *bus = qpci_new_pc(qts, NULL);
    QPCIDevice *dev = NULL;
    uint8_t cap;
    uint32_t hdr;

    for (int devfn = 0; devfn < 256 && !dev; devfn += 8) {
        QPCIDevice *d = qpci_device_find(bus, devfn);
        if (d && qpci_config_readw(d, PCI_VENDOR_ID) == AMD_IOMMU_PCI_VENDOR &&
            qpci_config_readw(d, PCI_DEVICE_ID) == AMD_IOMMU_PCI_DEVICE) {
            dev = d;
        } else {
            g_free(d);
        }
    }
    g_assert_nonnull(dev);
    g_assert_cmphex(qpci_config_readw(dev, PCI_CLASS_DEVICE), ==,
                    AMD_IOMMU_PCI_CLASS);
    g_assert(qpci_config_readw(dev, PCI_STATUS) & PCI_STATUS_CAP_LIST);

    cap = qpci_find_capability(dev, AMD_IOMMU_CAP_ID, 0);
    g_assert_cmpint(cap, !=, 0);
    hdr = qpci_config_readl(dev, cap + AMD_IOMMU_CAP_HEADER);
    g_assert_cmpint((hdr >> AMD_IOMMU_CAP_HDR_TYPE_SHIFT) & 7, ==, 3);
    g_assert(hdr & AMD_IOMMU_CAP_HDR_EFR_SUP);
    g_assert(hdr & AMD_IOMMU_CAP_HDR_IOTLB);

    /* The capability names the MMIO base the registers live at. */
    g_assert_cmphex(qpci_config_readl(dev, cap + AMD_IOMMU_CAP_BAR_LOW) &
                    ~0x3fffU, ==, (uint32_t)IOMMU_MMIO);
    g_assert_cmphex(qpci_config_readl(dev, cap + AMD_IOMMU_CAP_BAR_HIGH), ==,
                    IOMMU_MMIO >> 32);
    g_assert_cmpint(qpci_find_capability(dev, PCI_CAP_ID_MSI, 0), !=, 0);

    g_free(dev);
    qpci_free_pc(bus);
    qtest_quit(qts);
}

static void test_mmio_registers(void)
{
    QTestState *qts = start_machine("");
    uint64_t efr = iommu_readq(qts, AMD_IOMMU_MMIO_EFR);
    uint64_t base;

    /* EFR as Linux 6.12 prints it for upstream 10.2.2 with xtsup=on. */
    g_assert_cmphex(efr & 0xffff, ==, 0x29d7);
    g_assert(efr & AMD_IOMMU_EFR_XT_SUP);
    g_assert(efr & AMD_IOMMU_EFR_GA_SUP);

    /* EFR is read-only. */
    iommu_writeq(qts, AMD_IOMMU_MMIO_EFR, 0);
    g_assert_cmphex(iommu_readq(qts, AMD_IOMMU_MMIO_EFR), ==, efr);

    /* Nothing runs at reset. */
    g_assert_cmphex(iommu_readq(qts, AMD_IOMMU_MMIO_CONTROL), ==, 0);
    g_assert_cmphex(iommu_readq(qts, AMD_IOMMU_MMIO_STATUS), ==, 0);

    /* Ring bases read back as written. */
    base = CMDBUF_GPA | (8ULL << AMD_IOMMU_RING_LEN_SHIFT);
    iommu_writeq(qts, AMD_IOMMU_MMIO_CMDBUF_BASE, base);
    g_assert_cmphex(iommu_readq(qts, AMD_IOMMU_MMIO_CMDBUF_BASE), ==, base);
    iommu_writeq(qts, AMD_IOMMU_MMIO_DEVTAB_BASE, DEVTAB_GPA);
    g_assert_cmphex(iommu_readq(qts, AMD_IOMMU_MMIO_DEVTAB_BASE), ==,
                    DEVTAB_GPA);

    /* Enabling the command buffer sets CmdBufRun; disabling clears it. */
    iommu_writeq(qts, AMD_IOMMU_MMIO_CONTROL,
                 AMD_IOMMU_CTRL_IOMMU_EN | AMD_IOMMU_CTRL_CMDBUF_EN);
    g_assert(iommu_readq(qts, AMD_IOMMU_MMIO_STATUS) &
             AMD_IOMMU_STATUS_CMDBUF_RUN);
    iommu_writeq(qts, AMD_IOMMU_MMIO_CONTROL, 0);
    g_assert_false(iommu_readq(qts, AMD_IOMMU_MMIO_STATUS) &
                   AMD_IOMMU_STATUS_CMDBUF_RUN);

    qtest_quit(qts);
}

/* Append one command and let the IOMMU run up to it. */
static void iommu_command(TestCtx *t, uint64_t q0, uint64_t q1)
{
    qtest_writeq(t->qts, CMDBUF_GPA + t->cmd_tail, q0);
    qtest_writeq(t->qts, CMDBUF_GPA + t->cmd_tail + 8, q1);
    t->cmd_tail = (t->cmd_tail + AMD_IOMMU_CMD_SIZE) % 4096;
    iommu_writeq(t->qts, AMD_IOMMU_MMIO_CMDBUF_TAIL, t->cmd_tail);
}

static void iommu_completion_wait(TestCtx *t, uint64_t token)
{
    qtest_writeq(t->qts, CW_STORE_GPA, 0);
    iommu_command(t, CW_STORE_GPA | AMD_IOMMU_CW_STORE |
                  ((uint64_t)AMD_IOMMU_CMD_COMPLETION_WAIT <<
                   AMD_IOMMU_CMD_OPCODE_SHIFT), token);
    g_assert_cmphex(qtest_readq(t->qts, CW_STORE_GPA), ==, token);
}

/* Device table, command buffer and 128-bit IRTEs, IOMMU enabled. */
static void iommu_setup(TestCtx *t, const char *extra)
{
    uint64_t dte2;

    t->qts = start_machine(extra);
    t->cmd_tail = 0;
    edu_init(t->qts, &t->edu);

    /* One 4 KiB page of device table covers device IDs 0..127. */
    iommu_writeq(t->qts, AMD_IOMMU_MMIO_DEVTAB_BASE, DEVTAB_GPA);
    iommu_writeq(t->qts, AMD_IOMMU_MMIO_CMDBUF_BASE,
                 CMDBUF_GPA | (8ULL << AMD_IOMMU_RING_LEN_SHIFT));

    dte2 = AMD_IOMMU_DTE_Q2_IV |
           ((uint64_t)IRT_LEN_LOG2 << AMD_IOMMU_DTE_Q2_INTTABLEN_SHIFT) |
           IRT_GPA |
           ((uint64_t)AMD_IOMMU_DTE_INTCTL_REMAP <<
            AMD_IOMMU_DTE_Q2_INTCTL_SHIFT);
    qtest_writeq(t->qts, DEVTAB_GPA + EDU_DEVID * AMD_IOMMU_DTE_SIZE,
                 AMD_IOMMU_DTE_Q0_V);
    qtest_writeq(t->qts, DEVTAB_GPA + EDU_DEVID * AMD_IOMMU_DTE_SIZE + 16,
                 dte2);

    iommu_writeq(t->qts, AMD_IOMMU_MMIO_CONTROL,
                 AMD_IOMMU_CTRL_IOMMU_EN | AMD_IOMMU_CTRL_CMDBUF_EN |
                 AMD_IOMMU_CTRL_GA_EN | AMD_IOMMU_CTRL_XT_EN);
}

static void iommu_teardown(TestCtx *t)
{
    edu_fini(&t->edu);
    qtest_quit(t->qts);
}

static void write_irte_remapped(QTestState *qts, int index, uint32_t dest,
                                uint8_t vector, bool enable)
{
    uint64_t lo = (enable ? AMD_IOMMU_IRTE_LO_REMAP_EN : 0) |
                  ((uint64_t)(dest & 0xffffff) <<
                   AMD_IOMMU_IRTE_LO_DEST_SHIFT);
    uint64_t hi = vector |
                  ((uint64_t)(dest >> 24) << AMD_IOMMU_IRTE_HI_DEST_HI_SHIFT);

    qtest_writeq(qts, IRT_GPA + index * AMD_IOMMU_IRTE_GA_SIZE, lo);
    qtest_writeq(qts, IRT_GPA + index * AMD_IOMMU_IRTE_GA_SIZE + 8, hi);
}

static void test_completion_wait(void)
{
    TestCtx t;

    iommu_setup(&t, "");
    iommu_completion_wait(&t, 0x1234567890abcdefULL);
    g_assert_cmphex(iommu_readq(t.qts, AMD_IOMMU_MMIO_CMDBUF_HEAD), ==,
                    AMD_IOMMU_CMD_SIZE);
    iommu_completion_wait(&t, 0x42);
    iommu_teardown(&t);
}

static void test_remap_msi(void)
{
    TestCtx t;
    const int index = 5;

    iommu_setup(&t, "");
    write_irte_remapped(t.qts, index, 1, 0x41, true);
    iommu_command(&t, (uint64_t)AMD_IOMMU_CMD_INVAL_INTR_TABLE <<
                  AMD_IOMMU_CMD_OPCODE_SHIFT | EDU_DEVID, 0);
    iommu_completion_wait(&t, 1);

    /* The MSI data names the IRTE; the IRTE names vector and CPU. */
    edu_set_msi(&t.edu, 0xfee00000, index);
    g_assert_false(lapic_irr_has(t.qts, 1, 0x41));
    edu_fire(&t.edu);
    g_assert_true(lapic_irr_has(t.qts, 1, 0x41));
    g_assert_false(lapic_irr_has(t.qts, 0, 0x41));

    /* Another IRTE, another CPU and vector. */
    write_irte_remapped(t.qts, index + 1, 0, 0x52, true);
    edu_set_msi(&t.edu, 0xfee00000, index + 1);
    edu_fire(&t.edu);
    g_assert_true(lapic_irr_has(t.qts, 0, 0x52));
    g_assert_false(lapic_irr_has(t.qts, 1, 0x52));

    iommu_teardown(&t);
}

static void test_remap_disabled_irte_aborts(void)
{
    TestCtx t;
    const int index = 7;

    iommu_setup(&t, "");
    write_irte_remapped(t.qts, index, 0, 0x61, false);
    edu_set_msi(&t.edu, 0xfee00000, index);
    edu_fire(&t.edu);
    g_assert_false(lapic_irr_has(t.qts, 0, 0x61));
    g_assert_false(lapic_irr_has(t.qts, 1, 0x61));
    iommu_teardown(&t);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    qtest_add_func("/amd-iommu/pci-identity", test_pci_identity);
    qtest_add_func("/amd-iommu/mmio-registers", test_mmio_registers);
    qtest_add_func("/amd-iommu/completion-wait", test_completion_wait);
    qtest_add_func("/amd-iommu/remap/msi", test_remap_msi);
    qtest_add_func("/amd-iommu/remap/disabled-irte-aborts",
                   test_remap_disabled_irte_aborts);
    return g_test_run();
}
