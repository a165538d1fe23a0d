/*
 * post-running: a device interrupt posted to a running vCPU.  edu's MSI
 * goes through a guest-mode IRTE (GuestMode=1, IsRun=1, Destination =
 * the physical APIC ID of the CPU running the vCPU, GA root = its
 * backing page): the IOMMU sets the IRR bit and rings that CPU's
 * doorbell, and the L2 takes the vector without a VM exit.  No GA log
 * entry, no interrupt to the L1.
 *
 * IOMMU-only part (no AVIC needed): with IsRun=1 but the vCPU not in
 * guest mode, the IRR bit is set and nothing else happens (a doorbell to
 * a CPU in host mode does nothing); the vector is then taken at the next
 * VMRUN.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "post.h"

#define VEC_G       0x90
#define VEC_G2      0x91
#define N_SEND      200

static struct l2_server srv;

static void start(int cpu)
{
    srv.quit = 0;
    srv.running = 0;
    vcpu_reset_guest(P.v);
    vmcb_write64(P.v, VMCB_RFLAGS, 0x202);
    vcpu_run_on_async(cpu, P.v);
    wait_until(srv.running, 2000000);
}

static void stop(int cpu)
{
    srv.quit = 1;
    on_cpu_wait(cpu);
}

/* Send n interrupts, each after the previous one arrived. */
static uint32_t send_paced(int n, int vec)
{
    uint32_t base = P.v->irq_count[vec];
    for (int i = 0; i < n; i++) {
        post_send();
        counts.sent++;
        if (!wait_until(P.v->irq_count[vec] - base == (uint32_t)i + 1, 500000))
            break;
    }
    udelay(2000);
    uint32_t got = P.v->irq_count[vec] - base;
    counts.delivered += got;
    return got;
}

int main(void)
{
    bool ok;

    tap_group("post-running");
    tap_plan(11);

    bool have = post_init(false, l2_server, &srv);
    if (!report(have, "IOMMU and edu found"))
        tap_finish();
    report(nr_cpus >= 3, "at least 3 CPUs");
    set_guest_irq_handler(VEC_G, avic_guest_handler);
    set_guest_irq_handler(VEC_G2, avic_guest_handler);

    /* ---- IOMMU only ---- */
    tap_todo(post_todo(false, false));
    bool irr = false;
    ok = false;
    if (!TODO_ACTIVE) {
        post_irte(true, 2, true, VEC_G, P.tag, false);
        uint64_t e0 = P.galog_entries, h0 = post_host_irqs(VEC_G), g0 = P.galog_irqs;
        post_send();
        wait_until(avic_irr_test(P.v, VEC_G), 500000);
        udelay(3000);
        irr = avic_irr_test(P.v, VEC_G);
        ok = P.galog_entries == e0 && P.galog_irqs == g0 && post_host_irqs(VEC_G) == h0 &&
             iommu_galog_tail(&P.io) == P.io.galog_head;
        counts.galog_entries += P.galog_entries - e0;
    }
    report(irr, "IsRun=1, vCPU not in guest mode: IRR bit set in the backing page");
    report(ok, "IsRun=1: no GA log entry, no L1 interrupt");

    /* ---- with AVIC ---- */
    tap_todo(post_todo(true, false));
    ok = false;
    if (!TODO_ACTIVE) {
        uint64_t e0 = P.v->nr_exits;
        start(2);
        wait_until(P.v->irq_count[VEC_G] == 1, 500000);
        ok = P.v->irq_count[VEC_G] == 1 && !avic_irr_test(P.v, VEC_G) && P.v->nr_exits == e0;
        counts.sent++;
        counts.delivered += P.v->irq_count[VEC_G];
    }
    report(ok, "the pending vector is taken at VMRUN on CPU 2");

    uint32_t got = 0;
    uint64_t exits = ~0ULL, e0 = 0, g0 = 0, h0 = 0;
    if (!TODO_ACTIVE) {
        e0 = P.galog_entries;
        g0 = P.galog_irqs;
        h0 = post_host_irqs(VEC_G);
        uint64_t x0 = P.v->nr_exits;
        got = send_paced(N_SEND, VEC_G);
        exits = P.v->nr_exits - x0;
        counts.galog_entries += P.galog_entries - e0;
    }
    if (!report(got == N_SEND, "running on CPU 2: %d interrupts, each delivered once", N_SEND) &&
        !TODO_ACTIVE)
        diag("  delivered %u, IRR %d, IRTE %#llx:%#llx", got, avic_irr_test(P.v, VEC_G),
             (unsigned long long)P.irt[POST_IRTE_IDX].hi,
             (unsigned long long)P.irt[POST_IRTE_IDX].lo);
    if (!report(exits == 0, "running on CPU 2: no VM exit") && !TODO_ACTIVE)
        diag("  %llu exits, last %#llx", (unsigned long long)exits,
             (unsigned long long)P.v->exit_code);
    report(!TODO_ACTIVE && P.galog_entries == e0 && P.galog_irqs == g0 &&
           post_host_irqs(VEC_G) == h0,
           "running on CPU 2: no GA log entry, no L1 interrupt");

    /* Move the vCPU to CPU 1: the IRTE's Destination follows. */
    ok = false;
    if (!TODO_ACTIVE) {
        stop(2);
        post_irte(true, 1, true, VEC_G, P.tag, false);
        start(1);
        uint64_t x0 = P.v->nr_exits;
        got = send_paced(50, VEC_G);
        ok = got == 50 && P.v->nr_exits == x0;
    }
    report(ok, "moved to CPU 1 (IRTE Destination 1): 50 delivered, no exit");

    /* Change the vector of the live IRTE. */
    ok = false;
    if (!TODO_ACTIVE) {
        post_irte(true, 1, true, VEC_G2, P.tag, false);
        got = send_paced(50, VEC_G2);
        ok = got == 50;
        stop(1);
    }
    report(ok, "IRTE vector changed while running: 50 delivered on the new vector");

    /* Wrong destination: IsRun=1 but Destination names a CPU that does
     * not run the vCPU.  The IRR is still set; the vCPU sees it at its
     * next VMRUN (nothing is lost, it is only late). */
    ok = false;
    if (!TODO_ACTIVE) {
        post_irte(true, 0, true, VEC_G, P.tag, false);
        start(2);
        uint32_t base = P.v->irq_count[VEC_G];
        post_send();
        counts.sent++;
        wait_until(avic_irr_test(P.v, VEC_G), 500000);
        bool set = avic_irr_test(P.v, VEC_G) || P.v->irq_count[VEC_G] != base;
        stop(2);
        start(2);
        wait_until(P.v->irq_count[VEC_G] != base, 500000);
        ok = set && P.v->irq_count[VEC_G] - base == 1;
        counts.delivered += P.v->irq_count[VEC_G] - base;
        stop(2);
    }
    report(ok, "IsRun=1 with a stale Destination: IRR set, taken at the next VMRUN");
    tap_todo(NULL);
    return 0;
}
