/*
 * Fuzz target for the AMD IOMMU's guest virtual APIC mode
 *
 * generic-fuzz (on the mission's line, scripts/fuzz.sh) writes the
 * IOMMU's registers and answers its DMA reads with patterns, but it
 * rarely builds the chain an interrupt needs to reach our code: a valid
 * device table entry for edu, an interrupt table the entry points at, a
 * guest-mode IRTE with a backing page, a running GA log, then edu's MSI.
 * This target builds that chain as a correct driver would, then lets
 * the input misprogram any link of it and fire interrupts:
 *
 *   - every input starts from a good setup (device table, 128-bit IRTEs,
 *     backing pages, GA log, command buffer, event log, Control);
 *   - then a sequence of operations, one opcode byte each followed by
 *     its operands: rewrite an IRTE (guest mode or remapped, any bits),
 *     the DTE's interrupt fields, a ring base, the GA log head, tail,
 *     tail address, Control, Status, an XT interrupt register, any MMIO
 *     register; queue a command; rewrite a backing page; fire edu's MSI
 *     or a DMA write into the interrupt range; step the clock;
 *   - guest-physical addresses in operands are picked from a table of
 *     good and bad ones (aligned RAM, unaligned, the last page of RAM,
 *     above RAM, the IOMMU's own MMIO, the APIC page, above 2^52), never
 *     from raw bytes, so that the invariants below can be checked.
 *
 * Invariants checked after every input (a failure aborts, which
 * libFuzzer reports as a crash with its reproducer):
 *   - the canary pages, which no address in the table points into,
 *     are untouched: the IOMMU writes only where the guest told it to
 *     (rings, tail copy, completion store, backing pages);
 *   - the GA log head and tail registers have no bits outside 18:3 and
 *     Status has no bits we do not define;
 *   - after the reset between inputs, Control, Status and the GA log
 *     registers read 0 (no state leaks from one input to the next).
 * The sanitizers (ASan, UBSan) and libFuzzer's timeout catch the rest.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "tests/qtest/libqtest.h"
#include "tests/qtest/libqos/pci-pc.h"
#include "hw/pci/pci_regs.h"
#include "hw/i386/amd-avic-bits.h"
#include "fuzz.h"

#define IOMMU_MMIO      0xfed80000ULL
#define EDU_SLOT        4
#define EDU_DEVFN       QPCI_DEVFN(EDU_SLOT, 0)
#define EDU_DEVID       EDU_DEVFN
#define EDU_RAISE_IRQ   0x60
#define EDU_ACK_IRQ     0x64
#define EDU_DMA_SRC     0x80
#define EDU_DMA_DST     0x88
#define EDU_DMA_CNT     0x90
#define EDU_DMA_CMD     0x98
#define EDU_DMA_BUF     0x40000

/* Guest-physical layout (RAM is 128 MiB). */
#define RAM_SIZE        0x08000000ULL
#define DEVTAB_GPA      0x00100000ULL
#define IRT_GPA         0x00200000ULL
#define CMDBUF_GPA      0x00300000ULL
#define CW_STORE_GPA    0x00310000ULL
#define EVTLOG_GPA      0x00320000ULL
#define GALOG_GPA       0x00400000ULL
#define GALOG_TAIL_GPA  0x00480000ULL
#define BACKING_GPA     0x00500000ULL   /* four backing pages */
#define SCRATCH_GPA     0x00600000ULL   /* edu's DMA source */
/*
 * Canaries: no address of the table reaches them, not even with the
 * largest ring (GALogLen 15: 512 KiB; event log 32 KiB) at its base.
 */
#define CANARY_A_GPA    0x01000000ULL
#define CANARY_B_GPA    0x07000000ULL
#define CANARY_BYTES    0x2000
#define CANARY_BYTE     0x5a

#define IRT_LEN_LOG2    8
#define MSI_ADDR        0xfee00000ULL
#define MAX_OPS         64

/* Addresses an operand may name: index = operand % ARRAY_SIZE. */
static const uint64_t fuzz_addrs[] = {
    GALOG_GPA,
    IRT_GPA,
    DEVTAB_GPA,
    BACKING_GPA,
    BACKING_GPA + 0x1000,
    BACKING_GPA + 0x2000,
    BACKING_GPA + 0x3000,
    EVTLOG_GPA,
    CMDBUF_GPA,
    GALOG_TAIL_GPA,
    0,
    0x00000ff8ULL,              /* unaligned for a page, low RAM */
    RAM_SIZE - 0x1000,          /* last page: a big ring runs off RAM */
    RAM_SIZE,                   /* just above RAM: unassigned */
    0x40000000ULL,              /* far above RAM */
    IOMMU_MMIO,                 /* the IOMMU's own registers */
    MSI_ADDR,                   /* the interrupt range */
    0x000ff00000000000ULL,      /* below 2^52, nothing there */
    0xfff0000000000000ULL,      /* above 2^52: reserved bits */
};

typedef struct Input {
    const uint8_t *p;
    size_t left;
} Input;

static uint64_t take(Input *in, int bytes)
{
    uint64_t v = 0;

    for (int i = 0; i < bytes && in->left; i++, in->left--) {
        v |= (uint64_t)*in->p++ << (8 * i);
    }
    return v;
}

static uint64_t take_addr(Input *in)
{
    return fuzz_addrs[take(in, 1) % ARRAY_SIZE(fuzz_addrs)];
}

typedef struct AvicFuzz {
    QTestState *qts;
    QPCIBus *bus;
    QPCIDevice *edu;
    QPCIBar edu_bar;
    uint32_t edu_bar_addr;
    uint8_t edu_msi;
    QPCIDevice *iommu_pci;
    uint8_t iommu_msi;
    uint32_t cmd_tail;
    bool raw_write;     /* an operand wrote an address register raw */
} AvicFuzz;

static AvicFuzz fz;

static void iommu_wq(uint64_t reg, uint64_t val)
{
    qtest_writeq(fz.qts, IOMMU_MMIO + reg, val);
}

static uint64_t iommu_rq(uint64_t reg)
{
    return qtest_readq(fz.qts, IOMMU_MMIO + reg);
}

static void pci_msi(QPCIDevice *dev, uint8_t cap, uint64_t addr,
                    uint16_t data)
{
    uint16_t flags = qpci_config_readw(dev, cap + PCI_MSI_FLAGS);

    qpci_config_writel(dev, cap + PCI_MSI_ADDRESS_LO, (uint32_t)addr);
    qpci_config_writel(dev, cap + PCI_MSI_ADDRESS_HI, addr >> 32);
    qpci_config_writew(dev, cap + PCI_MSI_DATA_64, data);
    qpci_config_writew(dev, cap + PCI_MSI_FLAGS, flags | PCI_MSI_FLAGS_ENABLE);
}

static QPCIDevice *find_iommu_pci(QPCIBus *bus)
{
    for (int devfn = 0; devfn < 256; devfn += 8) {
        QPCIDevice *d = qpci_device_find(bus, devfn);

        if (d && qpci_config_readw(d, PCI_VENDOR_ID) == AMD_IOMMU_PCI_VENDOR &&
            qpci_config_readw(d, PCI_DEVICE_ID) == AMD_IOMMU_PCI_DEVICE) {
            return d;
        }
        g_free(d);
    }
    return NULL;
}

/*
 * qtest_memset() through the fuzz build's in-process wrapper leaks its
 * buffer (qtest_wrappers.c), which LeakSanitizer reports: fill from a
 * static page instead.
 */
static void fill(uint64_t gpa, uint8_t byte, size_t len)
{
    static uint8_t page[4096];

    memset(page, byte, sizeof(page));
    for (size_t off = 0; off < len; off += sizeof(page)) {
        qtest_memwrite(fz.qts, gpa + off, page,
                       MIN(sizeof(page), len - off));
    }
}

static void command(uint64_t q0, uint64_t q1)
{
    qtest_writeq(fz.qts, CMDBUF_GPA + fz.cmd_tail, q0);
    qtest_writeq(fz.qts, CMDBUF_GPA + fz.cmd_tail + 8, q1);
    fz.cmd_tail = (fz.cmd_tail + AMD_IOMMU_CMD_SIZE) % 4096;
    iommu_wq(AMD_IOMMU_MMIO_CMDBUF_TAIL, fz.cmd_tail);
}

static void inval_irt(uint16_t devid)
{
    command((uint64_t)AMD_IOMMU_CMD_INVAL_INTR_TABLE <<
            AMD_IOMMU_CMD_OPCODE_SHIFT | devid, 0);
}

static uint64_t good_dte2(void)
{
    return AMD_IOMMU_DTE_Q2_IV |
           ((uint64_t)IRT_LEN_LOG2 << AMD_IOMMU_DTE_Q2_INTTABLEN_SHIFT) |
           IRT_GPA |
           ((uint64_t)AMD_IOMMU_DTE_INTCTL_REMAP <<
            AMD_IOMMU_DTE_Q2_INTCTL_SHIFT);
}

static void write_irte(int index, uint64_t lo, uint64_t hi)
{
    uint64_t at = IRT_GPA + (index & 0x7ff) * AMD_IOMMU_IRTE_GA_SIZE;

    qtest_writeq(fz.qts, at, lo);
    qtest_writeq(fz.qts, at + 8, hi);
}

/* Guest-mode IRTE @index posting @vector to backing page @page. */
static void good_irte(int index, int page, uint8_t vector, bool is_run,
                      bool galog)
{
    write_irte(index, AMD_IOMMU_IRTE_LO_REMAP_EN |
               AMD_IOMMU_IRTE_LO_GUEST_MODE |
               (is_run ? AMD_IOMMU_IRTE_LO_IS_RUN : 0) |
               (galog ? AMD_IOMMU_IRTE_LO_GA_LOG_INTR : 0) |
               ((uint64_t)(index & 1) << AMD_IOMMU_IRTE_LO_DEST_SHIFT) |
               ((uint64_t)(0x100 + index) << AMD_IOMMU_IRTE_LO_GA_TAG_SHIFT),
               vector | (BACKING_GPA + page * 0x1000));
}

/* What a correct driver does: the chain every input starts from. */
static void good_setup(void)
{
    fz.cmd_tail = 0;
    fz.raw_write = false;
    fill(CANARY_A_GPA, CANARY_BYTE, CANARY_BYTES);
    fill(CANARY_B_GPA, CANARY_BYTE, CANARY_BYTES);
    fill(DEVTAB_GPA, 0, 4096);
    fill(IRT_GPA, 0, 0x8000);
    fill(BACKING_GPA, 0, 0x4000);
    fill(GALOG_GPA, 0, 4096);
    fill(EVTLOG_GPA, 0, 4096);
    qtest_writeq(fz.qts, DEVTAB_GPA + EDU_DEVID * AMD_IOMMU_DTE_SIZE,
                 AMD_IOMMU_DTE_Q0_V);
    qtest_writeq(fz.qts, DEVTAB_GPA + EDU_DEVID * AMD_IOMMU_DTE_SIZE + 16,
                 good_dte2());
    for (int i = 0; i < 4; i++) {
        good_irte(i, i, 0x40 + i, i & 1, true);
    }

    iommu_wq(AMD_IOMMU_MMIO_DEVTAB_BASE, DEVTAB_GPA);
    iommu_wq(AMD_IOMMU_MMIO_CMDBUF_BASE,
             CMDBUF_GPA | (AMD_IOMMU_RING_LEN_256 << AMD_IOMMU_RING_LEN_SHIFT));
    iommu_wq(AMD_IOMMU_MMIO_EVTLOG_BASE,
             EVTLOG_GPA | (AMD_IOMMU_RING_LEN_256 << AMD_IOMMU_RING_LEN_SHIFT));
    iommu_wq(AMD_IOMMU_MMIO_GALOG_BASE,
             GALOG_GPA | ((uint64_t)AMD_IOMMU_GALOG_LEN_512 <<
                          AMD_IOMMU_RING_LEN_SHIFT));
    iommu_wq(AMD_IOMMU_MMIO_GALOG_TAIL_ADDR, GALOG_TAIL_GPA);
    iommu_wq(AMD_IOMMU_MMIO_CONTROL,
             AMD_IOMMU_CTRL_IOMMU_EN | AMD_IOMMU_CTRL_CMDBUF_EN |
             AMD_IOMMU_CTRL_EVTLOG_EN | AMD_IOMMU_CTRL_GA_EN |
             AMD_IOMMU_CTRL_XT_EN | AMD_IOMMU_CTRL_GAM_VAPIC |
             AMD_IOMMU_CTRL_GALOG_EN | AMD_IOMMU_CTRL_GAINT_EN);

    pci_msi(fz.edu, fz.edu_msi, MSI_ADDR, 0);
    pci_msi(fz.iommu_pci, fz.iommu_msi, MSI_ADDR, 0x30);
}

/* ---- operations ---- */

static void op_fire(Input *in)
{
    uint16_t data = take(in, 2);
    uint32_t dest = take(in, 1);

    /* MSI data 10:0 index the IRT; the address carries a destination. */
    pci_msi(fz.edu, fz.edu_msi, MSI_ADDR | (dest << 12), data);
    qpci_io_writel(fz.edu, fz.edu_bar, EDU_RAISE_IRQ, 1);
    qpci_io_writel(fz.edu, fz.edu_bar, EDU_ACK_IRQ, 1);
}

/* A DMA write of edu into the interrupt range: an MSI of any shape. */
static void op_dma_msi(Input *in)
{
    uint32_t off = take(in, 4) & 0xffffc;
    uint32_t data = take(in, 4);
    uint32_t cnt = 1 + take(in, 1) % 8;

    qtest_writel(fz.qts, SCRATCH_GPA, data);
    qtest_writel(fz.qts, SCRATCH_GPA + 4, take(in, 4));
    /* RAM to edu's buffer, then edu's buffer to the MSI address. */
    qpci_io_writeq(fz.edu, fz.edu_bar, EDU_DMA_SRC, SCRATCH_GPA);
    qpci_io_writeq(fz.edu, fz.edu_bar, EDU_DMA_DST, EDU_DMA_BUF);
    qpci_io_writeq(fz.edu, fz.edu_bar, EDU_DMA_CNT, cnt);
    qpci_io_writeq(fz.edu, fz.edu_bar, EDU_DMA_CMD, 1);
    qtest_clock_step(fz.qts, 200 * 1000 * 1000);
    qpci_io_writeq(fz.edu, fz.edu_bar, EDU_DMA_SRC, EDU_DMA_BUF);
    qpci_io_writeq(fz.edu, fz.edu_bar, EDU_DMA_DST, MSI_ADDR | off);
    qpci_io_writeq(fz.edu, fz.edu_bar, EDU_DMA_CNT, cnt);
    qpci_io_writeq(fz.edu, fz.edu_bar, EDU_DMA_CMD, 1 | 2);
    qtest_clock_step(fz.qts, 200 * 1000 * 1000);
}

/* A guest-mode IRTE with chosen fields (any flag bits, any vector). */
static void op_irte_guest(Input *in)
{
    uint16_t index = take(in, 2);
    uint64_t flags = take(in, 1);
    uint64_t dest = take(in, 4);
    uint64_t tag = take(in, 4);
    uint64_t vector = take(in, 1);
    uint64_t root = take_addr(in);
    uint64_t hi_rsvd = take(in, 1);

    write_irte(index % 16 == 15 ? index : index % 16,
               (flags & 0x7f) | AMD_IOMMU_IRTE_LO_GUEST_MODE |
               ((dest & 0xffffff) << AMD_IOMMU_IRTE_LO_DEST_SHIFT) |
               (tag << AMD_IOMMU_IRTE_LO_GA_TAG_SHIFT),
               vector | (root & ~0xfffULL) | (root & 0xff8) |
               ((hi_rsvd & 0xf) << 8) | ((hi_rsvd >> 4) << 52) |
               ((dest >> 24) << AMD_IOMMU_IRTE_HI_DEST_HI_SHIFT));
    if (flags & 0x80) {
        inval_irt(EDU_DEVID);
    }
}

/* Any low quadword (remapped or 32-bit format); the root is from the table. */
static void op_irte_raw(Input *in)
{
    uint16_t index = take(in, 2);
    uint64_t lo = take(in, 8);
    uint64_t hi = take(in, 8);
    uint64_t root = take_addr(in);

    hi = (hi & ~AMD_IOMMU_IRTE_HI_GA_ROOT_MASK) |
         (root & AMD_IOMMU_IRTE_HI_GA_ROOT_MASK);
    write_irte(index % 32, lo, hi);
    if (index & 0x8000) {
        inval_irt(EDU_DEVID);
    }
}

/* The DTE's interrupt fields (and V/TV), then INVALIDATE_DEVTAB_ENTRY. */
static void op_dte(Input *in)
{
    uint64_t bits = take(in, 8);
    uint64_t root = take_addr(in);
    uint8_t q0 = take(in, 1);
    uint64_t dte = DEVTAB_GPA + EDU_DEVID * AMD_IOMMU_DTE_SIZE;

    qtest_writeq(fz.qts, dte, q0 & 3);
    qtest_writeq(fz.qts, dte + 16,
                 (bits & ~AMD_IOMMU_DTE_Q2_IRT_ROOT_MASK) |
                 (root & AMD_IOMMU_DTE_Q2_IRT_ROOT_MASK) | (root & 0x3f));
    command((uint64_t)AMD_IOMMU_CMD_INVAL_DEVTAB << AMD_IOMMU_CMD_OPCODE_SHIFT |
            EDU_DEVID, 0);
    if (q0 & 4) {
        inval_irt(EDU_DEVID);
    }
}

/* A ring's base: address from the table, the length code and the rest raw. */
static void op_ring_base(Input *in)
{
    static const uint64_t regs[] = {
        AMD_IOMMU_MMIO_GALOG_BASE, AMD_IOMMU_MMIO_GALOG_TAIL_ADDR,
        AMD_IOMMU_MMIO_EVTLOG_BASE, AMD_IOMMU_MMIO_DEVTAB_BASE,
    };
    uint8_t which = take(in, 1);
    uint64_t addr = take_addr(in);
    uint64_t rest = take(in, 8);
    uint64_t reg = regs[which % ARRAY_SIZE(regs)];

    if (reg == AMD_IOMMU_MMIO_GALOG_TAIL_ADDR) {
        iommu_wq(reg, addr | (rest & 0xff8));
    } else if (reg == AMD_IOMMU_MMIO_DEVTAB_BASE) {
        /* A bigger table could reach a canary: only sizes 0 and 1. */
        iommu_wq(reg, (addr & ~0xfffULL) | (rest & 1));
    } else {
        /* 60:52 and 11:0 raw, 59:56 the length; 51:12 from the table */
        iommu_wq(reg, (addr & AMD_AVIC_MASK(63, 12)) |
                 (rest & (AMD_AVIC_MASK(63, 52) | 0xfff)));
    }
}

static void op_reg(Input *in)
{
    static const uint64_t regs[] = {
        AMD_IOMMU_MMIO_CONTROL, AMD_IOMMU_MMIO_STATUS,
        AMD_IOMMU_MMIO_GALOG_HEAD, AMD_IOMMU_MMIO_GALOG_TAIL,
        AMD_IOMMU_MMIO_XT_EVT_INTCTL, AMD_IOMMU_MMIO_XT_PPR_INTCTL,
        AMD_IOMMU_MMIO_XT_GA_INTCTL, AMD_IOMMU_MMIO_EVTLOG_HEAD,
        AMD_IOMMU_MMIO_EVTLOG_TAIL, AMD_IOMMU_MMIO_EFR,
        AMD_IOMMU_MMIO_EFR2, AMD_IOMMU_MMIO_CMDBUF_HEAD,
    };
    uint8_t which = take(in, 1);
    uint64_t val = take(in, 8);
    uint64_t reg = regs[which % ARRAY_SIZE(regs)];

    if (which & 0x80) {
        /* Toggle bits of the current value rather than replace it. */
        val ^= iommu_rq(reg);
    }
    iommu_wq(reg, val);
}

/* Any MMIO register, raw: the canary check is off for this input. */
static void op_mmio_raw(Input *in)
{
    uint16_t off = take(in, 2) & 0x3ff8;
    uint64_t val = take(in, 8);

    fz.raw_write = true;
    if (off & 0x8) {
        qtest_writel(fz.qts, IOMMU_MMIO + off - 4, val);
    } else {
        iommu_wq(off, val);
    }
    qtest_readq(fz.qts, IOMMU_MMIO + (val & 0x3ff8));
}

static void op_command(Input *in)
{
    uint64_t q0 = take(in, 8);
    uint64_t q1 = take(in, 8);
    uint64_t store = take_addr(in);
    unsigned op = (q0 >> AMD_IOMMU_CMD_OPCODE_SHIFT);

    if (op == AMD_IOMMU_CMD_COMPLETION_WAIT) {
        q0 = (q0 & ~AMD_IOMMU_CW_ADDR_MASK) |
             (store & AMD_IOMMU_CW_ADDR_MASK);
    } else if (op == 0x7 || op == 0xe || op == 0xf) {
        /* Opcodes with addresses we cannot vet (e.g. PPR): keep them. */
        fz.raw_write = true;
    }
    command(q0, q1);
}

/* Software touches a backing page (takes vectors, sets garbage). */
static void op_backing(Input *in)
{
    uint8_t page = take(in, 1) % 4;
    uint16_t off = take(in, 2) & 0xffc;
    uint32_t val = take(in, 4);

    qtest_writel(fz.qts, BACKING_GPA + page * 0x1000 + off, val);
}

static void op_clock(Input *in)
{
    /* At least 1 ns: the qtest server refuses a step of 0. */
    qtest_clock_step(fz.qts, 1 + take(in, 3) * 1000);
}

static void op_iommu_msi(Input *in)
{
    uint8_t dest = take(in, 1);
    uint16_t data = take(in, 2);

    pci_msi(fz.iommu_pci, fz.iommu_msi, MSI_ADDR | (dest << 12), data);
}

/* ---- invariants ---- */

static void check_canary(uint64_t gpa)
{
    uint8_t buf[CANARY_BYTES];

    qtest_memread(fz.qts, gpa, buf, sizeof(buf));
    for (size_t i = 0; i < sizeof(buf); i++) {
        if (buf[i] != CANARY_BYTE) {
            fprintf(stderr, "amd-avic-fuzz: the IOMMU wrote 0x%02x at "
                    "0x%" PRIx64 ", which no guest structure names\n",
                    buf[i], gpa + i);
            abort();
        }
    }
}

#define STATUS_DEFINED  (AMD_AVIC_MASK(10, 0) | AMD_AVIC_MASK(18, 11))

static void check_invariants(void)
{
    uint64_t head = iommu_rq(AMD_IOMMU_MMIO_GALOG_HEAD);
    uint64_t tail = iommu_rq(AMD_IOMMU_MMIO_GALOG_TAIL);
    uint64_t status = iommu_rq(AMD_IOMMU_MMIO_STATUS);

    if (!fz.raw_write) {
        check_canary(CANARY_A_GPA);
        check_canary(CANARY_B_GPA);
    }
    if ((head | tail) & ~AMD_IOMMU_GALOG_PTR_MASK) {
        fprintf(stderr, "amd-avic-fuzz: GA log head 0x%" PRIx64 " tail 0x%"
                PRIx64 " have bits outside 18:3\n", head, tail);
        abort();
    }
    if (status & ~STATUS_DEFINED) {
        fprintf(stderr, "amd-avic-fuzz: Status 0x%" PRIx64 " has undefined "
                "bits\n", status);
        abort();
    }
}

static void check_reset(void)
{
    static const uint64_t regs[] = {
        AMD_IOMMU_MMIO_CONTROL, AMD_IOMMU_MMIO_STATUS,
        AMD_IOMMU_MMIO_GALOG_BASE, AMD_IOMMU_MMIO_GALOG_TAIL_ADDR,
        AMD_IOMMU_MMIO_GALOG_HEAD, AMD_IOMMU_MMIO_GALOG_TAIL,
    };

    for (size_t i = 0; i < ARRAY_SIZE(regs); i++) {
        uint64_t v = iommu_rq(regs[i]);

        if (v) {
            fprintf(stderr, "amd-avic-fuzz: register 0x%" PRIx64 " is 0x%"
                    PRIx64 " after reset\n", regs[i], v);
            abort();
        }
    }
}

/* ---- the target ---- */

static void avic_fuzz(QTestState *s, const unsigned char *data, size_t size)
{
    static void (*const ops[])(Input *) = {
        op_fire, op_dma_msi, op_irte_guest, op_irte_raw, op_dte,
        op_ring_base, op_reg, op_mmio_raw, op_command, op_backing,
        op_clock, op_iommu_msi,
    };
    Input in = { data, size };

    check_reset();
    /*
     * The reset cleared the PCI functions too: edu's BAR back where
     * pre_fuzz put it (a new qpci_iomap would take fresh space each
     * time), bus mastering on.
     */
    qpci_config_writel(fz.edu, PCI_BASE_ADDRESS_0, fz.edu_bar_addr);
    qpci_device_enable(fz.edu);
    qpci_device_enable(fz.iommu_pci);
    good_setup();

    for (int n = 0; in.left && n < MAX_OPS; n++) {
        ops[take(&in, 1) % ARRAY_SIZE(ops)](&in);
        flush_events(s);
    }
    check_invariants();
    fuzz_reset(s);
}

static void avic_pre_fuzz(QTestState *s)
{
    fz.qts = s;
    fz.bus = qpci_new_pc(s, NULL);
    fz.edu = qpci_device_find(fz.bus, EDU_DEVFN);
    fz.iommu_pci = find_iommu_pci(fz.bus);
    if (!fz.edu || !fz.iommu_pci) {
        fprintf(stderr, "amd-avic-fuzz: no edu or IOMMU function\n");
        abort();
    }
    qpci_device_enable(fz.edu);
    fz.edu_bar = qpci_iomap(fz.edu, 0, NULL);
    fz.edu_bar_addr = qpci_config_readl(fz.edu, PCI_BASE_ADDRESS_0);
    fz.edu_msi = qpci_find_capability(fz.edu, PCI_CAP_ID_MSI, 0);
    fz.iommu_msi = qpci_find_capability(fz.iommu_pci, PCI_CAP_ID_MSI, 0);
}

static GString *avic_cmdline(FuzzTarget *t)
{
    /* The mission's line; edu at a known slot, able to DMA anywhere. */
    return g_string_new(TARGET_NAME " -machine q35,accel=qtest -m 128M "
                        "-display none -nodefaults -smp 2 "
                        "-cpu EPYC-Genoa,+svm,+avic,+x2avic "
                        "-device amd-iommu,intremap=on,xtsup=on,gappi=on "
                        "-device edu,addr=4.0,dma_mask=0xffffffffffffffff");
}

static void register_amd_avic_fuzz_targets(void)
{
    fuzz_add_target(&(FuzzTarget){
        .name = "amd-avic-fuzz",
        .description = "Fuzz the AMD IOMMU's guest virtual APIC mode: "
                       "device table, guest-mode IRTEs, backing pages, GA "
                       "log, edu MSIs (tests/qtest/fuzz/amd_avic_fuzz.c)",
        .get_init_cmdline = avic_cmdline,
        .pre_fuzz = avic_pre_fuzz,
        .fuzz = avic_fuzz,
    });
}

fuzz_target_init(register_amd_avic_fuzz_targets);
