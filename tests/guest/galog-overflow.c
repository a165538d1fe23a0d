/*
 * galog-overflow: fill the GA log, overflow, restart.
 *
 * The GA log has 512 entries (size code 8, what Linux programs); with
 * head and tail pointers one slot always stays free, so 511 entries fit
 * and the 512th post overflows: Status.GALogOverflow is set, logging
 * stops (GALogRun clears) and the entry is dropped (amd-iommu-ga.md,
 * step 5; docs/specs/amd-iommu-ga.rst).  The interrupt itself is not
 * lost: its IRR bit is set.  The L1 then does what Linux does: its
 * handler consumes the log (head catches up with tail), then
 * amd_iommu_restart_ga_log() turns GALogEn and GAIntEn off, clears
 * GALogOverflow (W1C) and turns GAIntEn and GALogEn on again.  Head and
 * tail are not reset (Linux does not; the brief's "reset head/tail" is
 * not what Linux does), so the next entry lands in the last slot and the
 * tail wraps to 0.  Then the vCPU runs and takes every vector that was
 * posted, before, during and after the overflow.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "post.h"

#define V1          0x94
#define V2          0x95
#define V3          0x96
#define SLOTS       AMD_IOMMU_GALOG_ENTRIES_512
#define ESZ         AMD_IOMMU_GALOG_ENTRY_SIZE

static void l2_take_all(void *arg)
{
    struct vcpu *v = this_cpu()->vcpu;
    wait_until(v->irq_count[V1] && v->irq_count[V2] && v->irq_count[V3], 200000);
}

static uint64_t status(void)
{
    return iommu_read(&P.io, AMD_IOMMU_MMIO_STATUS);
}

int main(void)
{
    bool ok;

    tap_group("galog-overflow");
    tap_plan(10);

    bool have = post_init(false, l2_take_all, NULL);
    if (!report(have, "IOMMU and edu found"))
        tap_finish();
    for (int v = V1; v <= V3; v++)
        set_guest_irq_handler(v, avic_guest_handler);

    tap_todo(post_todo(false, false));
    uint32_t tail = 0;
    uint64_t st = 0;
    int posted = 0;
    if (!TODO_ACTIVE) {
        P.autodrain = false;            /* the handler leaves the ring alone */
        post_irte(false, 1, true, V1, P.tag, false);
        for (posted = 0; posted < SLOTS - 1; posted++) {
            post_send();
            counts.sent++;
            if (!wait_until(iommu_galog_tail(&P.io) == (uint32_t)(posted + 1) * ESZ, 500000))
                break;
        }
        tail = iommu_galog_tail(&P.io);
        st = status();
        counts.galog_entries += tail / ESZ;
        diag("after %d posts: tail %#x, status %#llx, GA log interrupts %llu", posted, tail,
             (unsigned long long)st, (unsigned long long)P.galog_irqs);
    }
    report(posted == SLOTS - 1 && tail == (SLOTS - 1) * ESZ,
           "%d posts: %d entries, tail = %d x 8", SLOTS - 1, SLOTS - 1, SLOTS - 1);
    report(!(st & AMD_IOMMU_STATUS_GALOG_OVERFLOW) && (st & AMD_IOMMU_STATUS_GALOG_RUN),
           "ring full, not overflowed: GALogRun set, GALogOverflow clear");

    ok = false;
    if (!TODO_ACTIVE) {
        post_send();
        counts.sent++;
        wait_until(status() & AMD_IOMMU_STATUS_GALOG_OVERFLOW, 500000);
        st = status();
        ok = (st & AMD_IOMMU_STATUS_GALOG_OVERFLOW) && !(st & AMD_IOMMU_STATUS_GALOG_RUN) &&
             iommu_galog_tail(&P.io) == tail;
        if (!ok)
            diag("  status %#llx tail %#x", (unsigned long long)st, iommu_galog_tail(&P.io));
    }
    report(ok, "post %d: GALogOverflow set, GALogRun clear, entry dropped", SLOTS);

    bool irr = false;
    ok = false;
    if (!TODO_ACTIVE) {
        post_irte(false, 1, true, V2, P.tag, false);
        post_send();
        counts.sent++;
        wait_until(avic_irr_test(P.v, V2), 500000);
        irr = avic_irr_test(P.v, V1) && avic_irr_test(P.v, V2);
        ok = irr && iommu_galog_tail(&P.io) == tail;
    }
    report(ok, "while stopped: the next interrupt still sets its IRR bit, no entry");

    ok = false;
    if (!TODO_ACTIVE) {
        uint64_t e0 = P.galog_entries;
        P.galog_bad = 0;
        int n = post_galog_drain();         /* as Linux's handler: head -> tail */
        ok = n == SLOTS - 1 && P.galog_bad == 0 && P.io.galog[SLOTS - 1] == 0 &&
             (iommu_read(&P.io, AMD_IOMMU_MMIO_GALOG_HEAD) & AMD_IOMMU_GALOG_PTR_MASK) == tail;
        if (!ok)
            diag("  drained %d (bad %llu), slot 511 %#llx", n,
                 (unsigned long long)P.galog_bad, (unsigned long long)P.io.galog[SLOTS - 1]);
        P.galog_entries = e0;               /* counted above already */
    }
    report(ok, "the L1 consumes %d entries, all with GATag, device ID and type 1",
           SLOTS - 1);

    /* Restart, as amd_iommu_restart_ga_log(). */
    ok = false;
    if (!TODO_ACTIVE) {
        iommu_ctrl(&P.io, 0, AMD_IOMMU_CTRL_GALOG_EN);
        iommu_ctrl(&P.io, 0, AMD_IOMMU_CTRL_GAINT_EN);
        iommu_write(&P.io, AMD_IOMMU_MMIO_STATUS, AMD_IOMMU_STATUS_GALOG_OVERFLOW);
        iommu_ctrl(&P.io, AMD_IOMMU_CTRL_GAINT_EN, 0);
        iommu_ctrl(&P.io, AMD_IOMMU_CTRL_GALOG_EN, 0);
        wait_until(status() & AMD_IOMMU_STATUS_GALOG_RUN, 100000);
        st = status();
        ok = (st & AMD_IOMMU_STATUS_GALOG_RUN) && !(st & AMD_IOMMU_STATUS_GALOG_OVERFLOW) &&
             iommu_galog_tail(&P.io) == tail &&
             (iommu_read(&P.io, AMD_IOMMU_MMIO_GALOG_HEAD) & AMD_IOMMU_GALOG_PTR_MASK) == tail;
        if (!ok)
            diag("  status %#llx head %#llx tail %#x", (unsigned long long)st,
                 (unsigned long long)iommu_read(&P.io, AMD_IOMMU_MMIO_GALOG_HEAD),
                 iommu_galog_tail(&P.io));
    }
    report(ok, "restart: GALogRun set again, overflow clear, head = tail kept");

    ok = false;
    if (!TODO_ACTIVE) {
        P.autodrain = true;
        uint64_t e0 = P.galog_entries;
        post_irte(false, 1, true, V3, P.tag, false);
        post_send();
        counts.sent++;
        wait_until(P.galog_entries > e0, 500000);
        udelay(2000);
        ok = P.galog_entries - e0 == 1 && P.galog_bad == 0 && iommu_galog_tail(&P.io) == 0 &&
             *P.io.galog_tail_buf == 0;
        counts.galog_entries += P.galog_entries - e0;
        if (!ok)
            diag("  entries %llu, tail %#x", (unsigned long long)(P.galog_entries - e0),
                 iommu_galog_tail(&P.io));
    }
    report(ok, "after the restart: the next entry takes slot %d, the tail wraps to 0",
           SLOTS - 1);

    tap_todo(post_todo(true, false));
    ok = false;
    if (!TODO_ACTIVE) {
        vcpu_reset_guest(P.v);
        vmcb_write64(P.v, VMCB_RFLAGS, 0x202);
        vcpu_run_on(1, P.v);
        ok = P.v->irq_count[V1] == 1 && P.v->irq_count[V2] == 1 && P.v->irq_count[V3] == 1 &&
             P.v->done;
        counts.delivered += P.v->irq_count[V1] + P.v->irq_count[V2] + P.v->irq_count[V3];
        if (!ok)
            diag("  V1 %u V2 %u V3 %u", P.v->irq_count[V1], P.v->irq_count[V2],
                 P.v->irq_count[V3]);
    }
    report(ok, "nothing lost: the vCPU takes %#x, %#x and %#x once each", V1, V2, V3);

    tap_todo(post_todo(false, false));
    report(!TODO_ACTIVE && (status() & AMD_IOMMU_STATUS_GALOG_RUN) &&
           !(status() & AMD_IOMMU_STATUS_EVT_OVERFLOW),
           "the IOMMU keeps running (GALogRun, no event log overflow)");
    tap_todo(NULL);
    return 0;
}
