/*
 * post-gappi: a device interrupt for a vCPU that is not running, GAPPI
 * mode (IOMMU spec rev 3.11, amd-iommu-ga.md step 4).
 *
 * Project decisions encoded here: GAPPI support is EFR bit 5, enabled by
 * Control bit 55; with GAPPI on, a guest-mode IRTE with IsRun=0 makes the
 * IOMMU send a fixed interrupt with vector GATag[7:0] to the physical
 * APIC ID in the IRTE's Destination, and write no GA log entry (even with
 * GALogIntr=1, which this test sets to prove the point).  IRTE bit 5
 * (GAPPI-disable) turns that off for one entry: then nothing is sent and
 * the vector waits in the IRR (docs/specs/amd-iommu-ga.rst, "GAPPI").
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "post.h"

#define VEC_G       0x93        /* the guest's vector */
#define VEC_WAKEUP  0xb0        /* GATag[7:0]: the L1's wake-up vector */
#define VEC_WAKEUP2 0xb1
#define WAKE_CPU    2
#define ROUNDS      20

static void l2_wait_irq(void *arg)
{
    wait_until(((struct vcpu *)this_cpu()->vcpu)->irq_count[VEC_G] > (uint64_t)arg, 200000);
}

static void run_once(void)
{
    struct vcpu *v = P.v;
    v->arg = (void *)(uint64_t)v->irq_count[VEC_G];
    vcpu_reset_guest(v);
    vmcb_write64(v, VMCB_RFLAGS, 0x202);
    vcpu_run_on(WAKE_CPU, v);
}

static uint64_t wakeups(int cpu, int vec)
{
    return percpu[cpu].irq_count[vec];
}

int main(void)
{
    bool ok;

    tap_group("post-gappi");
    tap_plan(12);

    bool have = post_init(false, l2_wait_irq, NULL);
    if (!report(have, "IOMMU and edu found"))
        tap_finish();
    set_guest_irq_handler(VEC_G, avic_guest_handler);
    set_irq_handler(VEC_WAKEUP, post_gappi_handler);
    set_irq_handler(VEC_WAKEUP2, post_gappi_handler);

    tap_todo(post_todo(false, true));
    report(P.gappi, "EFR bit 5: GAPPI supported");
    if (!TODO_ACTIVE) {
        iommu_ctrl(&P.io, AMD_IOMMU_CTRL_GAPPI_EN, 0);
        diag("Control %#llx", (unsigned long long)iommu_read(&P.io, AMD_IOMMU_MMIO_CONTROL));
    }

    /* ---- IOMMU only ---- */
    bool wake = false, only = false, nolog = false, irr = false;
    uint32_t tag = 0x5a5a0000u | VEC_WAKEUP;
    if (!TODO_ACTIVE) {
        P.tag = tag;
        post_irte(false, WAKE_CPU, true, VEC_G, tag, false);
        uint64_t e0 = P.galog_entries, g0 = P.galog_irqs, w0 = wakeups(WAKE_CPU, VEC_WAKEUP);
        uint64_t all0 = post_host_irqs(VEC_WAKEUP);
        post_send();
        counts.sent++;
        wait_until(wakeups(WAKE_CPU, VEC_WAKEUP) > w0, 500000);
        udelay(3000);
        wake = wakeups(WAKE_CPU, VEC_WAKEUP) - w0 == 1;
        only = post_host_irqs(VEC_WAKEUP) - all0 == 1 && post_host_irqs(VEC_G) == 0;
        nolog = P.galog_entries == e0 && P.galog_irqs == g0 &&
                iommu_galog_tail(&P.io) == P.io.galog_head;
        irr = avic_irr_test(P.v, VEC_G);
        counts.gappi_irqs += post_host_irqs(VEC_WAKEUP) - all0;
    }
    report(wake, "IsRun=0: wake-up vector GATag[7:0] = %#x taken once on CPU %d (Destination)",
           VEC_WAKEUP, WAKE_CPU);
    report(only, "no other CPU got it, and the guest vector never reached the L1");
    report(nolog, "no GA log entry, no GA log interrupt (GALogIntr=1 notwithstanding)");
    report(irr, "IRR bit set in the backing page");

    tap_todo(post_todo(true, true));
    ok = false;
    if (!TODO_ACTIVE) {
        uint32_t base = P.v->irq_count[VEC_G];
        run_once();
        ok = P.v->irq_count[VEC_G] - base == 1 && !avic_irr_test(P.v, VEC_G);
        counts.delivered += P.v->irq_count[VEC_G] - base;
    }
    report(ok, "L1 on CPU %d enters the vCPU: the L2 takes the vector at VMRUN", WAKE_CPU);

    uint64_t w = 0, d = 0;
    if (!TODO_ACTIVE) {
        uint64_t w0 = wakeups(WAKE_CPU, VEC_WAKEUP);
        uint32_t base = P.v->irq_count[VEC_G];
        for (int r = 0; r < ROUNDS; r++) {
            uint64_t before = wakeups(WAKE_CPU, VEC_WAKEUP);
            post_send();
            counts.sent++;
            if (!wait_until(wakeups(WAKE_CPU, VEC_WAKEUP) > before, 500000))
                break;
            run_once();
        }
        w = wakeups(WAKE_CPU, VEC_WAKEUP) - w0;
        d = P.v->irq_count[VEC_G] - base;
        counts.gappi_irqs += w;
        counts.delivered += d;
    }
    report(w == ROUNDS && d == ROUNDS, "%d rounds (post, wake-up interrupt, VMRUN): "
           "wake-ups = delivered", ROUNDS);

    /* ---- IOMMU only again ---- */
    tap_todo(post_todo(false, true));
    /* Only GATag[7:0] is the vector. */
    ok = false;
    if (!TODO_ACTIVE) {
        tag = 0xabcdef00u | VEC_WAKEUP2;
        P.tag = tag;
        post_irte(false, 1, true, VEC_G, tag, false);
        uint64_t w0 = wakeups(1, VEC_WAKEUP2), all0 = post_host_irqs(VEC_WAKEUP2);
        post_send();
        counts.sent++;
        wait_until(wakeups(1, VEC_WAKEUP2) > w0, 500000);
        udelay(2000);
        ok = wakeups(1, VEC_WAKEUP2) - w0 == 1 && post_host_irqs(VEC_WAKEUP2) - all0 == 1;
        counts.gappi_irqs += wakeups(1, VEC_WAKEUP2) - w0;
        avic_clear_irr_isr(P.v);
    }
    report(ok, "GATag %#x to Destination 1: vector %#x on CPU 1", 0xabcdef00u | VEC_WAKEUP2,
           VEC_WAKEUP2);

    /* GAPPI-disable in the IRTE: nobody is told for this entry. */
    bool nowake = false, waits = false;
    if (!TODO_ACTIVE) {
        uint64_t e0 = P.galog_entries, all0 = post_host_irqs(VEC_WAKEUP2);
        post_irte(false, 1, true, VEC_G, tag, true);
        post_send();
        counts.sent++;
        wait_until(avic_irr_test(P.v, VEC_G), 500000);
        udelay(3000);
        nowake = post_host_irqs(VEC_WAKEUP2) == all0;
        waits = P.galog_entries == e0 && avic_irr_test(P.v, VEC_G);
        counts.galog_entries += P.galog_entries - e0;
        avic_clear_irr_isr(P.v);
    }
    report(nowake, "IRTE GAPPI-disable (bit 5): no wake-up interrupt");
    report(waits, "IRTE GAPPI-disable (bit 5): no GA log entry either, the vector waits in IRR");

    /* Control bit 55 off: back to the GA log for every entry. */
    ok = false;
    if (!TODO_ACTIVE) {
        iommu_ctrl(&P.io, 0, AMD_IOMMU_CTRL_GAPPI_EN);
        post_irte(false, 1, true, VEC_G, tag, false);
        uint64_t e0 = P.galog_entries, all0 = post_host_irqs(VEC_WAKEUP2);
        post_send();
        counts.sent++;
        wait_until(P.galog_entries > e0, 500000);
        udelay(3000);
        ok = P.galog_entries - e0 == 1 && post_host_irqs(VEC_WAKEUP2) == all0;
        counts.galog_entries += P.galog_entries - e0;
    }
    report(ok, "Control.GAPPIEn=0: GA log entry, no wake-up interrupt");
    tap_todo(NULL);
    return 0;
}
