/*
 * bad-programming: what the CPU and the IOMMU do with broken AVIC and
 * guest-mode programming, and that the machine keeps running after.
 *
 * CPU (svm-avic.md 2.2): VMRUN fails with VMEXIT_INVALID (exit code -1)
 * and the L2 does not run when an AVIC pointer is beyond MAXPHYADDR
 * (physical table, backing page, logical table; [UNC] exit code, the
 * doc says use VMEXIT_INVALID) or a backing page outside RAM (the
 * project's choice, docs/specs/amd-avic.rst), when AVIC_PHYSICAL_MAX_INDEX > 255 in
 * xAVIC mode or > 511 in x2AVIC mode without x2AVIC_EXT, and when x2AVIC
 * is enabled without AVIC.  After each failure the fixed VMCB runs.
 *
 * IOMMU (docs/specs/amd-iommu-ga.rst, "Errors"): a guest-mode IRTE while
 * GAMEn = 0, with reserved bits set, or with a GA root pointer outside
 * RAM is not posted and is reported as IO_PAGE_FAULT with I = 1 for the
 * device (no event with SupIOPF = 1); a GA log base outside RAM keeps
 * GALogRun at 0 and sets Received Master Abort in the IOMMU's PCI status.
 * Then a good IRTE posts again.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "post.h"

#define VEC_G           0x98
#define OUTSIDE_RAM     0xf000000000ULL     /* legal (< 2^40), no RAM there */

/* The lib's VMRUN checks, each run counted as an exit of ours. */
static bool run_invalid(struct vcpu *v)
{
    counts.other_exits++;
    return vmrun_invalid(v);
}

static bool run_ok(struct vcpu *v)
{
    counts.other_exits++;
    return vmrun_ok(v);
}

static void cpu_checks(void)
{
    bool avic = avic_supported(), x2 = x2avic_supported();
    struct vcpu *v = NULL;
    uint64_t bad = 0;
    bool ok, back = true;

    if (!avic)
        tap_todo("issue 4 (AVIC not offered by this CPU)");
    if (!TODO_ACTIVE) {
        struct vm *vm = vm_create();
        vm_avic_init(vm, false, 1);
        v = vcpu_create(vm, 0, l2_mark, NULL);
        bad = cpu_maxphys() < 52 ? 1ULL << cpu_maxphys() : 0;
        diag("MAXPHYADDR %u, first illegal address %#llx", cpu_maxphys(), (unsigned long long)bad);
    }
    report(!TODO_ACTIVE && run_ok(v), "cpu/a well-formed AVIC VMCB runs");

    static const struct { unsigned off; const char *name; } ptr[] = {
        { AVIC_VMCB_PHYSICAL_TABLE, "physical APIC ID table pointer" },
        { AVIC_VMCB_BACKING_PAGE, "backing page pointer" },
        { AVIC_VMCB_LOGICAL_TABLE, "logical APIC ID table pointer" },
    };
    for (unsigned i = 0; i < ARRAY_SIZE(ptr); i++) {
        ok = false;
        if (!TODO_ACTIVE && bad) {
            uint64_t old = vmcb_read64(v, ptr[i].off);
            vmcb_write64(v, ptr[i].off, bad | (old & AVIC_VMCB_PHYS_MAX_INDEX_MASK));
            ok = run_invalid(v);
            vmcb_write64(v, ptr[i].off, old);
            back = back && run_ok(v);
        }
        if (!TODO_ACTIVE && !bad)
            report_skip("MAXPHYADDR is 52", "cpu/%s beyond MAXPHYADDR: VMEXIT_INVALID", ptr[i].name);
        else
            report(ok, "cpu/%s beyond MAXPHYADDR: VMEXIT_INVALID", ptr[i].name);
    }

    /* A legal address with no RAM behind it (docs/specs/amd-avic.rst:
     * "pointers outside RAM ... make VMRUN fail with VMEXIT_INVALID"). */
    ok = false;
    if (!TODO_ACTIVE) {
        uint64_t old = vmcb_read64(v, AVIC_VMCB_BACKING_PAGE);
        vmcb_write64(v, AVIC_VMCB_BACKING_PAGE, OUTSIDE_RAM);
        ok = run_invalid(v);
        vmcb_write64(v, AVIC_VMCB_BACKING_PAGE, old);
        back = back && run_ok(v);
    }
    report(ok, "cpu/backing page pointer outside RAM: VMEXIT_INVALID");

    ok = false;
    if (!TODO_ACTIVE) {
        uint64_t old = vmcb_read64(v, AVIC_VMCB_PHYSICAL_TABLE);
        vmcb_write64(v, AVIC_VMCB_PHYSICAL_TABLE, (old & AVIC_VMCB_ADDR_MASK) | 256);
        ok = run_invalid(v);
        vmcb_write64(v, AVIC_VMCB_PHYSICAL_TABLE, old);
        back = back && run_ok(v);
    }
    report(ok, "cpu/xAVIC with AVIC_PHYSICAL_MAX_INDEX 256: VMEXIT_INVALID");

    tap_todo(NULL);
    if (!avic)
        tap_todo("issue 4 (AVIC not offered by this CPU)");
    else if (!x2)
        tap_todo("issue 4 (x2AVIC not offered by this CPU)");
    bool ext = cpuid_ecx(0x8000000a) & AVIC_CPUID_ECX_X2AVIC_EXT;
    ok = false;
    if (!TODO_ACTIVE && !ext) {
        uint64_t old = vmcb_read64(v, AVIC_VMCB_PHYSICAL_TABLE);
        uint32_t ctl = vmcb_read32(v, VMCB_INT_CTL);
        vmcb_write32(v, VMCB_INT_CTL, ctl | AVIC_INT_CTL_X2AVIC_EN);
        vmcb_write64(v, AVIC_VMCB_PHYSICAL_TABLE, (old & AVIC_VMCB_ADDR_MASK) | 512);
        ok = run_invalid(v);
        vmcb_write64(v, AVIC_VMCB_PHYSICAL_TABLE, old);
        vmcb_write32(v, VMCB_INT_CTL, ctl);
        back = back && run_ok(v);
    }
    if (!TODO_ACTIVE && ext)
        report_skip("x2AVIC_EXT allows 4095", "cpu/x2AVIC with MAX_INDEX 512: VMEXIT_INVALID");
    else
        report(ok, "cpu/x2AVIC with MAX_INDEX 512: VMEXIT_INVALID");

    ok = false;
    if (!TODO_ACTIVE) {
        uint32_t ctl = vmcb_read32(v, VMCB_INT_CTL);
        vmcb_write32(v, VMCB_INT_CTL, (ctl & ~AVIC_INT_CTL_AVIC_EN) | AVIC_INT_CTL_X2AVIC_EN);
        ok = run_invalid(v);
        vmcb_write32(v, VMCB_INT_CTL, ctl);
        back = back && run_ok(v);
    }
    report(ok, "cpu/x2AVIC enable without AVIC enable: VMEXIT_INVALID");

    tap_todo(NULL);
    if (!avic)
        tap_todo("issue 4 (AVIC not offered by this CPU)");
    report(!TODO_ACTIVE && back, "cpu/after every failure the fixed VMCB runs the L2 again");
    tap_todo(NULL);
}

/*
 * Post one interrupt and read the event log: returns the IO_PAGE_FAULT
 * events with I = 1 (an interrupt request) naming edu; *all = every
 * event.  docs/specs/amd-iommu-ga.rst, "Errors": that is how the IOMMU
 * reports a guest-mode IRTE it cannot use.
 */
static int post_and_events(int *all)
{
    uint64_t e0 = P.galog_entries, ev[2];
    int match = 0, n = 0;
    post_send();
    counts.sent++;
    udelay(20000);
    while (iommu_evt_pop(&P.io, ev)) {
        n++;
        unsigned code = ev[0] >> AMD_IOMMU_EVT_CODE_SHIFT;
        diag("  event: code %#x, device %#llx, raw %#018llx %#018llx", code,
             (unsigned long long)(ev[0] & AMD_IOMMU_EVT_DEVID_MASK),
             (unsigned long long)ev[0], (unsigned long long)ev[1]);
        if (code == AMD_IOMMU_EVT_IO_PAGE_FAULT && (ev[0] & AMD_IOMMU_EVT_IOPF_I) &&
            (ev[0] & AMD_IOMMU_EVT_DEVID_MASK) == P.devid)
            match++;
    }
    *all = n;
    counts.events += n;
    counts.galog_entries += P.galog_entries - e0;
    return match;
}

/* Program a guest-mode IRTE (IsRun=0, GALogIntr=1) with extra bits. */
static void bad_irte(uint64_t root, uint64_t lo_or, uint64_t hi_or)
{
    struct irte_ga n;
    irte_guest(&n, VEC_G, root, 1, P.tag, false, true);
    n.lo |= lo_or;
    n.hi |= hi_or;
    irte_update(&P.io, P.devid, &P.irt[POST_IRTE_IDX], n);
    avic_clear_irr_isr(P.v);
}

#define PCI_STATUS_MASTER_ABORT 0x2000  /* Received Master Abort, W1C */

static void iommu_checks(void)
{
    int all = 0, match = 0;
    bool quiet = false, ok;
    uint64_t e0;

    tap_todo(post_todo(false, false));

    /* Guest mode while Control.GAMEn = 0. */
    ok = false;
    if (!TODO_ACTIVE) {
        iommu_ctrl(&P.io, 0, AMD_IOMMU_CTRL_GAM_MASK);
        bad_irte(virt_to_phys(P.v->backing), 0, 0);
        e0 = P.galog_entries;
        match = post_and_events(&all);
        ok = match == 1 && !avic_irr_test(P.v, VEC_G) && P.galog_entries == e0;
        iommu_ctrl(&P.io, AMD_IOMMU_CTRL_GAM_VAPIC, AMD_IOMMU_CTRL_GAM_MASK);
    }
    report(ok, "iommu/GuestMode=1 with GAMEn=0: not posted, IO_PAGE_FAULT (I=1) for the device");

    /* Reserved bits, low quadword (4:3 in guest mode). */
    if (!TODO_ACTIVE) {
        bad_irte(virt_to_phys(P.v->backing), AMD_IOMMU_IRTE_LO_GA_RSVD, 0);
        e0 = P.galog_entries;
        match = post_and_events(&all);
        quiet = !avic_irr_test(P.v, VEC_G) && P.galog_entries == e0;
    }
    report(quiet, "iommu/IRTE reserved bits 4:3 set: nothing posted, no GA log entry");
    report(match == 1, "iommu/IRTE reserved bits 4:3 set: IO_PAGE_FAULT (I=1) for device %#x",
           P.devid);

    /* Reserved bits, high quadword (11:8). */
    ok = false;
    if (!TODO_ACTIVE) {
        bad_irte(virt_to_phys(P.v->backing), 0, AMD_IOMMU_IRTE_HI_GA_RSVD & AMD_AVIC_MASK(11, 8));
        e0 = P.galog_entries;
        match = post_and_events(&all);
        ok = match == 1 && !avic_irr_test(P.v, VEC_G) && P.galog_entries == e0;
    }
    report(ok, "iommu/IRTE reserved bits 11:8 set: not posted, IO_PAGE_FAULT logged");

    /* The same with SupIOPF = 1: aborted without an event. */
    ok = false;
    if (!TODO_ACTIVE) {
        bad_irte(virt_to_phys(P.v->backing),
                 AMD_IOMMU_IRTE_LO_GA_RSVD | AMD_IOMMU_IRTE_LO_SUP_IOPF, 0);
        e0 = P.galog_entries;
        match = post_and_events(&all);
        ok = all == 0 && !avic_irr_test(P.v, VEC_G) && P.galog_entries == e0;
    }
    report(ok, "iommu/reserved bits with SupIOPF=1: not posted, no event");

    /* GA root pointer outside RAM: the IRR write fails, the post aborts. */
    match = 0;
    quiet = false;
    if (!TODO_ACTIVE) {
        bad_irte(OUTSIDE_RAM, 0, 0);
        e0 = P.galog_entries;
        match = post_and_events(&all);
        quiet = P.galog_entries == e0;
    }
    report(match == 1, "iommu/GA root pointer outside RAM: IO_PAGE_FAULT (I=1) for the device");
    report(quiet, "iommu/GA root pointer outside RAM: no GA log entry");

    /* GA log base outside RAM: the log does not start; the IOMMU, as a bus
     * master, records Received Master Abort in its PCI status. */
    ok = false;
    if (!TODO_ACTIVE) {
        pci_write16(P.io.bdf, 0x06, PCI_STATUS_MASTER_ABORT);
        post_irte(false, 1, true, VEC_G, P.tag, false);
        iommu_ctrl(&P.io, 0, AMD_IOMMU_CTRL_GALOG_EN);
        iommu_write(&P.io, AMD_IOMMU_MMIO_GALOG_BASE, OUTSIDE_RAM |
                    (uint64_t)AMD_IOMMU_GALOG_LEN_512 << AMD_IOMMU_RING_LEN_SHIFT);
        iommu_ctrl(&P.io, AMD_IOMMU_CTRL_GALOG_EN, 0);
        udelay(2000);
        uint64_t st = iommu_read(&P.io, AMD_IOMMU_MMIO_STATUS);
        uint16_t ps = pci_read16(P.io.bdf, 0x06);
        post_and_events(&all);
        ok = !(st & AMD_IOMMU_STATUS_GALOG_RUN) && (ps & PCI_STATUS_MASTER_ABORT);
        if (!ok)
            diag("  IOMMU status %#llx, PCI status %#x", (unsigned long long)st, ps);
        pci_write16(P.io.bdf, 0x06, PCI_STATUS_MASTER_ABORT);
        iommu_galog_init(&P.io, true);      /* put the real one back */
    }
    report(ok, "iommu/GA log base outside RAM: GALogRun stays 0, PCI Received Master Abort");

    /* And everything works again. */
    ok = false;
    if (!TODO_ACTIVE) {
        avic_clear_irr_isr(P.v);
        post_irte(false, 1, true, VEC_G, P.tag, false);
        e0 = P.galog_entries;
        P.galog_bad = 0;
        post_send();
        counts.sent++;
        wait_until(P.galog_entries > e0, 500000);
        ok = avic_irr_test(P.v, VEC_G) && P.galog_entries - e0 == 1 && P.galog_bad == 0 &&
             (iommu_read(&P.io, AMD_IOMMU_MMIO_STATUS) & AMD_IOMMU_STATUS_GALOG_RUN);
        counts.galog_entries += P.galog_entries - e0;
    }
    report(ok, "iommu/after the errors a good IRTE posts again (IRR, GA log entry)");
    tap_todo(NULL);
}

int main(void)
{
    tap_group("bad-programming");
    tap_plan(1 + 9 + 9);

    bool have = post_init(false, l2_mark, NULL);
    if (!report(have, "IOMMU and edu found"))
        tap_finish();
    cpu_checks();
    iommu_checks();
    return 0;
}
