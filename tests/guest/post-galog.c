/*
 * post-galog: a device interrupt for a vCPU that is not running, GA log
 * mode (amd-iommu-ga.md, "Posting an interrupt", step 3).  IRTE:
 * GuestMode=1, IsRun=0, GALogIntr=1; Control: GAMEn=vAPIC, GALogEn,
 * GAIntEn; the GA log interrupt is the IOMMU's MSI to CPU 0.
 *
 * The IOMMU sets the IRR bit in the backing page, appends one 8-byte
 * entry (GATag, device ID, type 1 = GA_GUEST_NR), writes the tail to the
 * tail address buffer, sets Status.GALogInt and interrupts the L1.  The
 * L1 (as Linux's handler: W1C GALogInt, walk head to tail) maps the tag
 * to the vCPU and runs it again; the L2 takes the vector at VMRUN.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "post.h"

#define VEC_G       0x92
#define RUN_CPU     2
#define ROUNDS      20
#define VEC_XT      0xd2
#define XT_CPU      1

static void l2_wait_irq(void *arg)
{
    /* Entered with IF=1: a pending vector is taken right at VMRUN. */
    wait_until(((struct vcpu *)this_cpu()->vcpu)->irq_count[VEC_G] > (uint64_t)arg, 200000);
}

/* Run the vCPU once on RUN_CPU; it returns after taking VEC_G. */
static uint64_t run_once(void)
{
    struct vcpu *v = P.v;
    v->arg = (void *)(uint64_t)v->irq_count[VEC_G];
    vcpu_reset_guest(v);
    vmcb_write64(v, VMCB_RFLAGS, 0x202);
    uint64_t e0 = v->nr_exits;
    vcpu_run_on(RUN_CPU, v);
    return v->nr_exits - e0;        /* 1: the final VMMCALL only */
}

int main(void)
{
    bool ok;

    tap_group("post-galog");
    tap_plan(13);

    bool have = post_init(false, l2_wait_irq, NULL);
    if (!report(have, "IOMMU and edu found"))
        tap_finish();
    set_guest_irq_handler(VEC_G, avic_guest_handler);

    /* ---- IOMMU only ---- */
    tap_todo(post_todo(false, false));
    bool irr = false, entry = false, intr = false, status = false, tailbuf = false;
    bool quiet = false;
    uint64_t e = 0;
    if (!TODO_ACTIVE) {
        diag("GA log: base %#llx, tail address %#llx, status %#llx",
             (unsigned long long)iommu_read(&P.io, AMD_IOMMU_MMIO_GALOG_BASE),
             (unsigned long long)iommu_read(&P.io, AMD_IOMMU_MMIO_GALOG_TAIL_ADDR),
             (unsigned long long)iommu_read(&P.io, AMD_IOMMU_MMIO_STATUS));
        post_irte(false, RUN_CPU, true, VEC_G, P.tag, false);
        uint64_t e0 = P.galog_entries, g0 = P.galog_irqs;
        P.galog_status = 0;
        post_send();
        counts.sent++;
        wait_until(P.galog_entries > e0, 500000);
        udelay(3000);
        irr = avic_irr_test(P.v, VEC_G);
        e = P.last_entry;
        entry = P.galog_entries - e0 == 1 && P.galog_bad == 0;
        intr = P.galog_irqs - g0 == 1;
        status = P.galog_status & AMD_IOMMU_STATUS_GALOG_INT;
        tailbuf = *P.io.galog_tail_buf == iommu_galog_tail(&P.io) &&
                  iommu_galog_tail(&P.io) == P.io.galog_head;
        quiet = post_host_irqs(VEC_G) == 0;
        counts.galog_entries += P.galog_entries - e0;
        if (!entry)
            diag("  entries %llu (bad %llu), last %#llx",
                 (unsigned long long)(P.galog_entries - e0),
                 (unsigned long long)P.galog_bad, (unsigned long long)e);
    }
    report(irr, "IsRun=0: IRR bit set in the backing page");
    report(entry, "one GA log entry: GATag %#x, device ID %#x, type 1", POST_TAG, P.devid);
    report(intr, "the GA log interrupt reached the L1 once");
    report(status, "Status.GALogInt was set when the L1 looked");
    report(tailbuf, "GA log tail written to the tail address buffer");
    report(quiet, "the guest vector was not sent to any L1 CPU");

    /* ---- the L1 wakes the vCPU ---- */
    tap_todo(post_todo(true, false));
    ok = false;
    if (!TODO_ACTIVE) {
        uint32_t base = P.v->irq_count[VEC_G];
        uint64_t exits = run_once();
        ok = P.v->irq_count[VEC_G] - base == 1 && exits == 1 && !avic_irr_test(P.v, VEC_G);
        counts.delivered += P.v->irq_count[VEC_G] - base;
    }
    report(ok, "L1 re-enters the vCPU: the L2 takes the vector at VMRUN, no other exit");

    uint64_t entries = 0, delivered = 0, irqs = 0;
    if (!TODO_ACTIVE) {
        uint64_t e0 = P.galog_entries, g0 = P.galog_irqs;
        uint32_t base = P.v->irq_count[VEC_G];
        for (int r = 0; r < ROUNDS; r++) {
            uint64_t before = P.galog_entries;
            P.wake = 0;
            post_send();
            counts.sent++;
            if (!wait_until(P.wake && P.galog_entries > before, 500000))
                break;
            run_once();
        }
        entries = P.galog_entries - e0;
        irqs = P.galog_irqs - g0;
        delivered = P.v->irq_count[VEC_G] - base;
        counts.delivered += delivered;
        counts.galog_entries += entries;
    }
    if (!report(entries == ROUNDS && delivered == ROUNDS && irqs == ROUNDS,
                "%d rounds (post, GA log wake-up, VMRUN): entries = interrupts = delivered",
                ROUNDS) && !TODO_ACTIVE)
        diag("  entries %llu, GA log interrupts %llu, delivered %llu",
             (unsigned long long)entries, (unsigned long long)irqs,
             (unsigned long long)delivered);

    /* ---- GALogIntr=0: posted, but nobody is told ---- */
    tap_todo(post_todo(false, false));
    ok = irr = false;
    if (!TODO_ACTIVE) {
        post_irte(false, RUN_CPU, false, VEC_G, P.tag, false);
        uint64_t e0 = P.galog_entries, g0 = P.galog_irqs;
        post_send();
        counts.sent++;
        wait_until(avic_irr_test(P.v, VEC_G), 500000);
        udelay(3000);
        irr = avic_irr_test(P.v, VEC_G);
        ok = P.galog_entries == e0 && P.galog_irqs == g0 && iommu_galog_tail(&P.io) == P.io.galog_head;
    }
    report(irr, "GALogIntr=0: IRR bit set");
    report(ok, "GALogIntr=0: no GA log entry, no interrupt");

    tap_todo(post_todo(true, false));
    ok = false;
    if (!TODO_ACTIVE) {
        uint32_t base = P.v->irq_count[VEC_G];
        run_once();
        ok = P.v->irq_count[VEC_G] - base == 1;
        counts.delivered += P.v->irq_count[VEC_G] - base;
    }
    report(ok, "GALogIntr=0: the vector is still taken at the next VMRUN");

    /* IntCapXTEn: the GA log interrupt comes from the XT register 0x180
     * instead of the MSI capability (what Linux uses with x2APIC). */
    tap_todo(post_todo(false, false));
    ok = false;
    if (!TODO_ACTIVE && iommu_xt_supported(&P.io)) {
        set_irq_handler(VEC_XT, post_galog_handler);
        iommu_write(&P.io, AMD_IOMMU_MMIO_XT_GA_INTCTL,
                    ((uint64_t)VEC_XT << AMD_IOMMU_XT_INT_VECTOR_SHIFT) |
                    ((uint64_t)XT_CPU << AMD_IOMMU_XT_INT_DEST_LO_SHIFT));
        iommu_ctrl(&P.io, AMD_IOMMU_CTRL_INTCAPXT_EN, 0);
        post_irte(false, RUN_CPU, true, VEC_G, P.tag, false);
        uint64_t e0 = P.galog_entries, x0 = percpu[XT_CPU].irq_count[VEC_XT];
        uint64_t m0 = post_host_irqs(VEC_GALOG);
        post_send();
        counts.sent++;
        wait_until(P.galog_entries > e0, 500000);
        udelay(3000);
        ok = P.galog_entries - e0 == 1 && post_host_irqs(VEC_GALOG) == m0 &&
             percpu[XT_CPU].irq_count[VEC_XT] - x0 == 1;
        iommu_ctrl(&P.io, 0, AMD_IOMMU_CTRL_INTCAPXT_EN);
        counts.galog_entries += P.galog_entries - e0;
        avic_clear_irr_isr(P.v);
        if (!ok)
            diag("  entries %llu, XT-path interrupts %llu, MSI-path interrupts %llu",
                 (unsigned long long)(P.galog_entries - e0),
                 (unsigned long long)(percpu[XT_CPU].irq_count[VEC_XT] - x0),
                 (unsigned long long)(post_host_irqs(VEC_GALOG) - m0));
    }
    report(ok, "IntCapXTEn: GA log interrupt from XT register 180h (vector %#x, CPU %d)",
           VEC_XT, XT_CPU);
    tap_todo(NULL);
    return 0;
}
