/*
 * qtests for the rows of docs/specs/amd-avic-bad-input.rst that no other
 * test covered: the DTE's interrupt fields (IV, IntCtl, IntTabLen),
 * GAMEn values other than vAPIC, the guest-mode IRTE's Destination
 * width and a Destination with no CPU, a vector below 16, the GA log
 * tail beyond the log and a tail address of 0, and writes to the
 * read-only EFR and Status bits.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "amd-iommu-ga-qtest.h"

#define VEC_A           0x41
#define PAGE_A          (BACKING_GPA)
#define DTE2_GPA        (DEVTAB_GPA + EDU_DEVID * AMD_IOMMU_DTE_SIZE + 16)

/* The event log's entry @n is an IO_PAGE_FAULT with I = 1 for edu. */
static void check_iopf(GaTest *t, int n, uint64_t flags, uint64_t addr)
{
    uint64_t q0 = qtest_readq(t->qts, EVTLOG_GPA + n * AMD_IOMMU_EVT_SIZE);
    uint64_t q1 = qtest_readq(t->qts,
                              EVTLOG_GPA + n * AMD_IOMMU_EVT_SIZE + 8);

    g_assert_cmphex(q0 >> AMD_IOMMU_EVT_CODE_SHIFT, ==,
                    AMD_IOMMU_EVT_IO_PAGE_FAULT);
    g_assert_cmphex(q0 & AMD_IOMMU_EVT_DEVID_MASK, ==, EDU_DEVID);
    g_assert_cmphex(q0 & (AMD_IOMMU_EVT_IOPF_I | AMD_IOMMU_EVT_IOPF_PR |
                          AMD_IOMMU_EVT_IOPF_RW | AMD_IOMMU_EVT_IOPF_RZ), ==,
                    AMD_IOMMU_EVT_IOPF_I | flags);
    g_assert_cmphex(q1, ==, addr);
    g_assert_cmphex(iommu_readq(t, AMD_IOMMU_MMIO_EVTLOG_TAIL), ==,
                    (n + 1) * AMD_IOMMU_EVT_SIZE);
}

static uint64_t evtlog_entries(GaTest *t)
{
    return iommu_readq(t, AMD_IOMMU_MMIO_EVTLOG_TAIL) / AMD_IOMMU_EVT_SIZE;
}

/* Rewrite edu's DTE quadword 2 and invalidate the entry. */
static void set_dte2(GaTest *t, uint64_t dte2)
{
    qtest_writeq(t->qts, DTE2_GPA, dte2);
    iommu_command(t, (uint64_t)AMD_IOMMU_CMD_INVAL_DEVTAB <<
                  AMD_IOMMU_CMD_OPCODE_SHIFT | EDU_DEVID, 0);
    iommu_completion_wait(t, 0xd7e);
}

static uint64_t dte2_with(uint64_t dte2, uint64_t mask, uint64_t val)
{
    return (dte2 & ~mask) | val;
}

/*
 * DTE IV, IntCtl and IntTabLen.  IV = 0: the interrupt fields are not
 * valid and the interrupt is forwarded as it came; IntCtl = 0: target
 * abort; 1: forwarded unmapped; 3 (reserved): aborted; IntTabLen > 11
 * (reserved): IO_PAGE_FAULT, the entry not read.
 */
static void test_dte_interrupt_fields(void)
{
    const uint8_t vec = 0x52;       /* MSI data = vector, fixed */
    uint64_t good;
    GaTest t;

    ga_start(&t, GA_IOMMU);
    good = qtest_readq(t.qts, DTE2_GPA);
    /* A guest-mode IRTE at the index the MSI data names. */
    write_irte_guest(&t, vec, &(GaIrte) {
        .lo_flags = AMD_IOMMU_IRTE_LO_IS_RUN, .dest = 1, .vector = VEC_A,
        .backing = PAGE_A });
    edu_set_irte(&t, vec);

    /* IV = 0: not remapped; the MSI reaches APIC 0 with its vector. */
    set_dte2(&t, good & ~AMD_IOMMU_DTE_Q2_IV);
    edu_fire(&t);
    g_assert_true(lapic_irr_has(&t, 0, vec));
    g_assert_false(backing_irr_has(&t, PAGE_A, VEC_A));
    g_assert_cmpuint(ga_counter(&t, "ga-posted"), ==, 0);

    /* IntCtl = 1: forwarded unmapped too (APIC 0 already holds vec). */
    set_dte2(&t, dte2_with(good, AMD_IOMMU_DTE_Q2_INTCTL_MASK,
                           (uint64_t)AMD_IOMMU_DTE_INTCTL_PASS <<
                           AMD_IOMMU_DTE_Q2_INTCTL_SHIFT));
    edu_fire(&t);
    g_assert_false(backing_irr_has(&t, PAGE_A, VEC_A));

    /* IntCtl = 0 (abort) and 3 (reserved): nothing delivered or posted. */
    for (uint64_t ctl = 0; ctl <= 3; ctl += 3) {
        set_dte2(&t, dte2_with(good, AMD_IOMMU_DTE_Q2_INTCTL_MASK,
                               ctl << AMD_IOMMU_DTE_Q2_INTCTL_SHIFT));
        edu_fire(&t);
        g_assert_false(backing_irr_has(&t, PAGE_A, VEC_A));
        g_assert_false(lapic_irr_has(&t, 1, VEC_A));
        g_assert_cmpuint(ga_counter(&t, "ga-posted"), ==, 0);
        g_assert_cmpuint(evtlog_entries(&t), ==, 0);
    }

    /* IntTabLen 12..15 (reserved): IO_PAGE_FAULT, I = 1, not posted. */
    for (uint64_t len = 12; len <= 15; len++) {
        set_dte2(&t, dte2_with(good, AMD_IOMMU_DTE_Q2_INTTABLEN_MASK,
                               len << AMD_IOMMU_DTE_Q2_INTTABLEN_SHIFT));
        edu_fire(&t);
        g_assert_false(backing_irr_has(&t, PAGE_A, VEC_A));
        check_iopf(&t, len - 12, 0, MSI_ADDR);
    }

    /* The good DTE again: it posts. */
    set_dte2(&t, good);
    edu_fire(&t);
    g_assert_true(backing_irr_has(&t, PAGE_A, VEC_A));
    ga_stop(&t);
}

/* GAMEn 2..7 are not the vAPIC mode: a guest-mode IRTE faults. */
static void test_gamen_reserved(void)
{
    const uint64_t rz = AMD_IOMMU_EVT_IOPF_PR | AMD_IOMMU_EVT_IOPF_RW |
                        AMD_IOMMU_EVT_IOPF_RZ;
    GaTest t;

    ga_start(&t, GA_IOMMU);
    write_irte_guest(&t, 4, &(GaIrte) {
        .lo_flags = AMD_IOMMU_IRTE_LO_IS_RUN, .dest = 1, .vector = VEC_A,
        .backing = PAGE_A });
    edu_set_irte(&t, 4);
    for (uint64_t gam = 2; gam <= 7; gam++) {
        iommu_control_set(&t, gam << AMD_IOMMU_CTRL_GAM_SHIFT,
                          AMD_IOMMU_CTRL_GAM_MASK);
        edu_fire(&t);
        g_assert_false(backing_irr_has(&t, PAGE_A, VEC_A));
        check_iopf(&t, gam - 2, rz, MSI_ADDR);
    }
    iommu_control_set(&t, AMD_IOMMU_CTRL_GAM_VAPIC, AMD_IOMMU_CTRL_GAM_MASK);
    edu_fire(&t);
    g_assert_true(backing_irr_has(&t, PAGE_A, VEC_A));
    ga_stop(&t);
}

/*
 * Destination: 8 bits without Control.XTEn (bits 31:8 ignored), 32 bits
 * with it; a Destination no CPU has: the IRR is written, the doorbell
 * goes nowhere (counted in ga-posted-running, not in ga-doorbells).
 */
static void test_irte_destination(void)
{
    GaTest t;

    ga_start(&t, GA_IOMMU);
    edu_set_irte(&t, 4);
    write_irte_guest(&t, 4, &(GaIrte) {
        .lo_flags = AMD_IOMMU_IRTE_LO_IS_RUN, .dest = 0x12345601,
        .vector = VEC_A, .backing = PAGE_A });

    /* XTEn = 1: APIC ID 0x12345601, which no CPU has. */
    edu_fire(&t);
    g_assert_true(backing_irr_has(&t, PAGE_A, VEC_A));
    g_assert_cmpuint(ga_counter(&t, "ga-posted-running"), ==, 1);
    g_assert_cmpuint(ga_counter(&t, "ga-doorbells"), ==, 0);
    g_assert_cmphex(ga_counter(&t, "ga-doorbell-last-dest"), ==, 0x12345601);

    /* XTEn = 0: only Destination[7:0] = 1, CPU 1's APIC ID. */
    iommu_control_set(&t, 0, AMD_IOMMU_CTRL_XT_EN);
    backing_irr_clear(&t, PAGE_A);
    edu_fire(&t);
    g_assert_true(backing_irr_has(&t, PAGE_A, VEC_A));
    g_assert_cmpuint(ga_counter(&t, "ga-doorbells"), ==, 1);
    g_assert_cmphex(ga_counter(&t, "ga-doorbell-last-dest"), ==, 1);
    ga_stop(&t);
}

/*
 * A guest vector below 16: the IOMMU checks no vector (48882 lists no
 * such check for guest mode); the IRR bit is set like any other and no
 * event is logged.
 */
static void test_irte_low_vector(void)
{
    GaTest t;

    ga_start(&t, GA_IOMMU);
    edu_set_irte(&t, 4);
    write_irte_guest(&t, 4, &(GaIrte) {
        .lo_flags = AMD_IOMMU_IRTE_LO_GA_LOG_INTR, .dest = 1, .tag = 5,
        .vector = 5, .backing = PAGE_A });
    edu_fire(&t);
    g_assert_true(backing_irr_has(&t, PAGE_A, 5));
    g_assert_cmphex(galog_entry(&t, 0), ==, galog_expect(5, EDU_DEVID));
    g_assert_cmpuint(evtlog_entries(&t), ==, 0);
    ga_stop(&t);
}

/*
 * GA log tail register beyond the log: the next entry stops the log
 * (GALogRun = 0, Received Master Abort) and nothing is written outside
 * it.  A tail address of 0: entries logged, no copy written anywhere.
 */
static void test_galog_tail(void)
{
    GaTest t;

    ga_start(&t, GA_IOMMU);
    edu_set_irte(&t, 6);
    write_irte_guest(&t, 6, &(GaIrte) {
        .lo_flags = AMD_IOMMU_IRTE_LO_GA_LOG_INTR, .dest = 1, .tag = 0x66,
        .vector = VEC_A, .backing = PAGE_A });

    /* Tail address 0: the entry is logged, guest address 0 untouched. */
    qtest_writeq(t.qts, 0, 0x5a5a5a5a5a5a5a5aULL);
    iommu_writeq(&t, AMD_IOMMU_MMIO_GALOG_TAIL_ADDR, 0);
    edu_fire(&t);
    g_assert_cmphex(galog_entry(&t, 0), ==, galog_expect(0x66, EDU_DEVID));
    g_assert_cmphex(iommu_readq(&t, AMD_IOMMU_MMIO_GALOG_TAIL), ==, 8);
    g_assert_cmphex(qtest_readq(t.qts, 0), ==, 0x5a5a5a5a5a5a5a5aULL);

    /* The tail moved past the 4 KiB log. */
    iommu_writeq(&t, AMD_IOMMU_MMIO_GALOG_TAIL, GALOG_BYTES + 0x100);
    g_assert_false(qpci_config_readw(t.iommu_pci, PCI_STATUS) &
                   PCI_STATUS_REC_MASTER_ABORT);
    edu_fire(&t);
    g_assert_false(iommu_readq(&t, AMD_IOMMU_MMIO_STATUS) &
                   AMD_IOMMU_STATUS_GALOG_RUN);
    g_assert_true(qpci_config_readw(t.iommu_pci, PCI_STATUS) &
                  PCI_STATUS_REC_MASTER_ABORT);
    g_assert_cmphex(qtest_readq(t.qts, GALOG_GPA + GALOG_BYTES + 0x100), ==,
                    0);
    /* The interrupt itself was still posted. */
    g_assert_true(backing_irr_has(&t, PAGE_A, VEC_A));
    ga_stop(&t);
}

/*
 * 32-bit IRTEs (Control.GAEn = 0), upstream's handling: a reserved
 * IntType or GuestMode = 1 aborts the interrupt; a good entry delivers.
 */
static void test_irte_legacy_reserved(void)
{
    GaTest t;

    ga_start(&t, GA_IOMMU);
    iommu_control_set(&t, 0, AMD_IOMMU_CTRL_GA_EN);
    edu_set_irte(&t, 4);
    /* RemapEn, IntType 3, Destination 1, vector 0x63 */
    qtest_writel(t.qts, IRT_GPA + 4 * 4, 1 | 3 << 2 | 1 << 8 | 0x63 << 16);
    iommu_flush_irt(&t);
    edu_fire(&t);
    g_assert_false(lapic_irr_has(&t, 1, 0x63));
    /* GuestMode = 1 in the 32-bit format */
    qtest_writel(t.qts, IRT_GPA + 4 * 4, 1 | 1 << 7 | 1 << 8 | 0x64 << 16);
    iommu_flush_irt(&t);
    edu_fire(&t);
    g_assert_false(lapic_irr_has(&t, 1, 0x64));
    /* Fixed: delivered to APIC 1. */
    qtest_writel(t.qts, IRT_GPA + 4 * 4, 1 | 1 << 8 | 0x65 << 16);
    iommu_flush_irt(&t);
    edu_fire(&t);
    g_assert_true(lapic_irr_has(&t, 1, 0x65));
    ga_stop(&t);
}

/* EFR is read-only; Status bits the IOMMU owns or that are reserved too. */
static void test_read_only_registers(void)
{
    GaTest t;
    uint64_t efr;

    ga_start(&t, GA_IOMMU);
    efr = iommu_readq(&t, AMD_IOMMU_MMIO_EFR);
    iommu_writeq(&t, AMD_IOMMU_MMIO_EFR, ~efr);
    g_assert_cmphex(iommu_readq(&t, AMD_IOMMU_MMIO_EFR), ==, efr);

    /* Status: the log runs; writing every bit changes nothing we own. */
    g_assert_cmphex(iommu_readq(&t, AMD_IOMMU_MMIO_STATUS), ==,
                    AMD_IOMMU_STATUS_GALOG_RUN | AMD_IOMMU_STATUS_EVT_RUN |
                    AMD_IOMMU_STATUS_CMDBUF_RUN);
    iommu_writeq(&t, AMD_IOMMU_MMIO_STATUS, ~0ULL);
    g_assert_cmphex(iommu_readq(&t, AMD_IOMMU_MMIO_STATUS), ==,
                    AMD_IOMMU_STATUS_GALOG_RUN | AMD_IOMMU_STATUS_EVT_RUN |
                    AMD_IOMMU_STATUS_CMDBUF_RUN);
    ga_stop(&t);
}

/*
 * A command-buffer tail past the end of the (4 KiB) buffer: nothing
 * runs, and QEMU answers.  Before patch 0055 the head, wrapping at the
 * end, never met such a tail and QEMU spun with the BQL held (found by
 * make fuzz's generic-fuzz); this test then hung.  A sane tail written
 * afterwards runs the commands.
 */
static void test_cmdbuf_tail_beyond(void)
{
    GaTest t;

    ga_start(&t, GA_IOMMU);
    iommu_writeq(&t, AMD_IOMMU_MMIO_CMDBUF_TAIL, 0x2000);
    g_assert_cmphex(iommu_readq(&t, AMD_IOMMU_MMIO_CMDBUF_HEAD), ==,
                    t.cmd_tail);
    iommu_writeq(&t, AMD_IOMMU_MMIO_CMDBUF_TAIL, t.cmd_tail);
    iommu_completion_wait(&t, 0x6055);
    ga_stop(&t);
}

/*
 * edu (on the mission's line): a DMA whose range leaves edu's 4 KiB
 * buffer is refused (guest error), not done.  Before patch 0054 edu
 * logged it and copied anyway, past the buffer into the rest of its
 * state: here into dma_mask, which follows the buffer (found by make
 * fuzz's generic-fuzz, an ASan heap-buffer-overflow).
 */
static void test_edu_dma_out_of_range(void)
{
    const uint64_t src = 0x00600000ULL;
    GaTest t;

    memset(&t, 0, sizeof(t));
    t.qts = qtest_initf("-M q35 -device edu,id=edu,addr=%d.0", EDU_SLOT);
    t.bus = qpci_new_pc(t.qts, NULL);
    t.edu = qpci_device_find(t.bus, EDU_DEVFN);
    g_assert_nonnull(t.edu);
    qpci_device_enable(t.edu);
    t.edu_bar = qpci_iomap(t.edu, 0, NULL);
    g_assert_cmphex(qom_get_uint(t.qts, "/machine/peripheral/edu",
                                 "dma_mask"), ==, (1ULL << 28) - 1);
    qtest_memset(t.qts, src, 0x41, 64);
    /* RAM to edu's buffer, 16 bytes at its last 8. */
    qpci_io_writeq(t.edu, t.edu_bar, 0x80, src);
    qpci_io_writeq(t.edu, t.edu_bar, 0x88, 0x40000 + 4096 - 8);
    qpci_io_writeq(t.edu, t.edu_bar, 0x90, 16);
    qpci_io_writeq(t.edu, t.edu_bar, 0x98, 1);
    qtest_clock_step(t.qts, 200 * 1000 * 1000);
    g_assert_cmphex(qpci_io_readq(t.edu, t.edu_bar, 0x98) & 1, ==, 0);
    g_assert_cmphex(qom_get_uint(t.qts, "/machine/peripheral/edu",
                                 "dma_mask"), ==, (1ULL << 28) - 1);
    /* The other direction, from past the buffer to RAM: nothing copied. */
    qtest_memset(t.qts, src, 0, 64);
    qpci_io_writeq(t.edu, t.edu_bar, 0x80, 0x40000 + 4096 - 8);
    qpci_io_writeq(t.edu, t.edu_bar, 0x88, src);
    qpci_io_writeq(t.edu, t.edu_bar, 0x90, 16);
    qpci_io_writeq(t.edu, t.edu_bar, 0x98, 1 | 2);
    qtest_clock_step(t.qts, 200 * 1000 * 1000);
    g_assert_cmphex(qtest_readq(t.qts, src + 8), ==, 0);
    g_free(t.edu);
    qpci_free_pc(t.bus);
    qtest_quit(t.qts);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    qtest_add_func("/amd-avic-bad-input/dte/interrupt-fields",
                   test_dte_interrupt_fields);
    qtest_add_func("/amd-avic-bad-input/control/gamen-reserved",
                   test_gamen_reserved);
    qtest_add_func("/amd-avic-bad-input/irte/destination",
                   test_irte_destination);
    qtest_add_func("/amd-avic-bad-input/irte/low-vector",
                   test_irte_low_vector);
    qtest_add_func("/amd-avic-bad-input/irte/legacy-reserved",
                   test_irte_legacy_reserved);
    qtest_add_func("/amd-avic-bad-input/galog/tail", test_galog_tail);
    qtest_add_func("/amd-avic-bad-input/registers/cmdbuf-tail-beyond",
                   test_cmdbuf_tail_beyond);
    qtest_add_func("/amd-avic-bad-input/registers/read-only",
                   test_read_only_registers);
    qtest_add_func("/amd-avic-bad-input/edu/dma-out-of-range",
                   test_edu_dma_out_of_range);
    return g_test_run();
}
