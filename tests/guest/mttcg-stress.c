/*
 * mttcg-stress: device posting, IPIs between L2 vCPUs and vCPU moves
 * all at once, on every CPU QEMU gives us (MTTCG: one host thread
 * each), in GA log mode and in GAPPI mode.
 *
 *   CPU 0      the device: edu raises one interrupt at a time per vCPU
 *              (MSI data = that vCPU's IRTE index; the next one after
 *              the vCPU has taken the last), the GA log interrupt's
 *              handler (wakes the vCPU an entry names) and a watchdog
 *              that counts lost wake-ups
 *   CPUs 1..   L1 schedulers, one run queue each, as KVM drives a vCPU:
 *              load = physical table entry (host ID, IsRunning) and IRTE
 *              (Destination = this CPU, IsRun = 1) by one 128-bit
 *              cmpxchg without invalidation (amd_iommu_update_ga());
 *              put = IsRun = 0, then IsRunning = 0.  Blocking: put, a
 *              full barrier, a last look at the vIRR, sleep until a wake-up
 *              (GA log entry, GAPPI interrupt, or the 401h "target not
 *              running" exit of an IPI's sender).  Moving a vCPU to
 *              another CPU's run queue; preempting on a wake-up IPI
 *   L2 vCPUs   nr_cpus - 1 of them (APIC IDs 0..): each interrupt taken
 *              makes the vCPU IPI a random other vCPU (vector 0x70 +
 *              sender, sent only when the last one to that target was
 *              taken, so that no IPI merges in the IRR), and now and then
 *              ask to move; when idle it either halts in L2 (the doorbell
 *              wakes it) or blocks in L1 (VMMCALL, as KVM's HLT exit)
 *
 * Counted by the guest: device interrupts and IPIs, delivered == sent;
 * lost wake-ups == 0, where a vCPU with a vector in its IRR that stays
 * blocked (one sleep) or in guest mode (one VMRUN) for LOST_US is one
 * (the watchdog then wakes it and goes on).
 *
 * Run-time knobs (for the long run and the benchmark, see
 * tests/guest/mttcg-stress.sh) in fw_cfg file opt/qemu-avic/mttcg, e.g.
 * -fw_cfg name=opt/qemu-avic/mttcg,string=target=1000000:budget=900
 * (knobs separated by ':'):
 *   target=N   interrupts (device + IPI) per mode      (default MT_TARGET)
 *   budget=S   seconds of host time per mode           (default MT_BUDGET)
 *   x2=0|1     x2AVIC for the L2s when offered          (default MT_X2)
 *   block=N    when idle, block in L1 1 time in N       (default 2)
 *   move=N     after an interrupt, move 1 time in N     (default 32)
 *   progress=S a progress line every S seconds          (default 0: none)
 *   modes=galog|gappi|both                              (default both)
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "fwcfg.h"
#include "post.h"

#ifndef MT_TARGET
#define MT_TARGET       20000           /* per mode, device + IPI */
#endif
#ifndef MT_BUDGET
#define MT_BUDGET       60              /* seconds per mode */
#endif
#ifndef MT_X2
#define MT_X2           0
#endif
#ifndef MT_GROUP
#define MT_GROUP        "mttcg-stress"
#endif
#define MAX_VCPUS       (MAX_CPUS - 1)
#define APIC_LVTT       0x320
#define APIC_LVTT_PERIODIC BIT(17)
#define APIC_TMICT      0x380
#define APIC_TDCR       0x3e0
#define LOST_US         2000000         /* blocked with a pending vector */
#define STUCK_US        20000000        /* no progress at all: give up */
#define IRTE_IDX0       16              /* vCPU i's IRTE: IRTE_IDX0 + i */
#define VEC_DEV         0x60
#define VEC_IPI0        0x70            /* + sender's APIC ID */
#define VEC_TICK        0xc0            /* L1's time slice (APIC timer) */
#define SLICE_TICKS     2000000         /* about 2 ms at QEMU's 1 GHz */
#define VEC_GAPPI0      0xb0            /* GAPPI: GATag[7:0] = 0xb0 + vCPU */
#define MT_TAG(i)       ((POST_TAG & ~0xffu) | (VEC_GAPPI0 + (i)))
#define HC_BLOCK        (HC_USER + 1)
#define HC_MOVE         (HC_USER + 2)

enum { ST_READY, ST_BLOCKED };
enum { WHY_NONE, WHY_BLOCK, WHY_MOVE, WHY_PREEMPT, WHY_QUIT, WHY_BAD };

static struct {
    uint64_t target, budget_us, progress_us;
    unsigned block_n, move_n;
    bool x2, galog, gappi;
} K = { MT_TARGET, MT_BUDGET * 1000000ULL, 0, 2, 32, MT_X2, true, true };

static int nv, npc;                     /* L2 vCPUs, L1 scheduler CPUs */
static struct vcpu *V[MAX_VCPUS];

/* Per vCPU, shared by every CPU. */
static struct {
    volatile int owner;                 /* scheduler CPU (run queue) */
    volatile int state;
    volatile uint32_t wake;
    volatile int why;                   /* why the last run stopped */
    volatile uint64_t block_seq;        /* sleeps begun */
    volatile uint64_t dev_sent;
    volatile uint64_t gappi;            /* GAPPI interrupts naming it */
    volatile uint64_t ipi_sent[MAX_VCPUS];      /* to each target */
    volatile uint32_t sending;          /* between stop_ipi's check and the ICR */
    /* the watchdog's view */
    uint64_t wd_seq, wd_since;
    bool wd_on;
} Q[MAX_VCPUS];

/* Per mode, shared. */
static struct {
    volatile uint32_t quit, stop_ipi;
    volatile uint64_t blocks, slept, caught, woken, moves, preempts, loads;
    volatile uint64_t ipi_401, bad_401, bad_exits;
    volatile uint64_t galog_entries, galog_bad, galog_overflow, gappi_irqs;
    volatile uint64_t lost, lost_post;
} S;

/* ---- run-time knobs: fw_cfg file opt/qemu-avic/mttcg ---- */

static void read_knobs(void)
{
    char buf[256], mode[8];
    const char *m;

    if (fwcfg_read_file("opt/qemu-avic/mttcg", buf, sizeof(buf)) < 0)
        return;
    diag("knobs: %s", buf);
    m = param_str(buf, "modes", mode, sizeof(mode), NULL);
    if (m) {
        K.galog = !strcmp(m, "galog") || !strcmp(m, "both");
        K.gappi = !strcmp(m, "gappi") || !strcmp(m, "both");
    }
    K.target = param_u64(buf, "target", K.target);
    K.budget_us = param_u64(buf, "budget", K.budget_us / 1000000ULL) *
                  1000000ULL;
    K.progress_us = param_u64(buf, "progress", K.progress_us / 1000000ULL) *
                    1000000ULL;
    K.x2 = param_u64(buf, "x2", K.x2);
    K.block_n = param_u64(buf, "block", K.block_n) ?: K.block_n;
    K.move_n = param_u64(buf, "move", K.move_n) ?: K.move_n;
}

/* ---- helpers ---- */

static bool irr_any(struct vcpu *v)
{
    for (int w = 0; w < 8; w++)
        if (*avic_reg(v, APIC_REG_IRR + 0x10 * w))
            return true;
    return false;
}

static uint64_t dev_got(int i)
{
    return V[i]->irq_count[VEC_DEV];
}

static uint64_t ipi_got(int from, int to)
{
    return V[to]->irq_count[VEC_IPI0 + from];
}

/* Wake vCPU i (KVM's kvm_vcpu_kick()): its run queue's CPU looks again.
 * True when that is this CPU, which must then stop what it runs. */
static bool kick(int i)
{
    int c = Q[i].owner;
    __atomic_store_n(&Q[i].wake, 1, __ATOMIC_SEQ_CST);
    if (c == smp_id())
        return true;
    apic_icr_write(VEC_WAKE, c);
    return false;
}

/* ---- the L2 ---- */

static void l2_fn(void *arg)
{
    int me = (int)(uintptr_t)arg;
    struct vcpu *v = V[me];
    uint32_t rng = 0x9e3779b9u * (me + 1);
    uint64_t seen = 0;

    for (;;) {
        cli();
        if (S.quit)
            break;
        uint64_t t = v->irq_total;
        if (t == seen) {
            if (rng_next(&rng) % K.block_n == 0) {
                vmmcall(HC_BLOCK, 0);   /* IF=0: L1 wakes us on an IRR bit */
                sti();
            } else
                safe_halt();            /* the doorbell ends it */
            continue;
        }
        sti();
        seen = t;
        uint32_t r = rng_next(&rng);
        /* Dekker with the drain: sending is set before stop_ipi is read,
         * so once the drain sees every sending clear, no IPI is begun. */
        __atomic_store_n(&Q[me].sending, 1, __ATOMIC_SEQ_CST);
        if (!S.stop_ipi && nv > 1) {
            int to = (me + 1 + r % (nv - 1)) % nv;
            if (Q[me].ipi_sent[to] == ipi_got(me, to)) {
                Q[me].ipi_sent[to]++;
                apic_icr_write(VEC_IPI0 + me, to);
            }
        }
        __atomic_store_n(&Q[me].sending, 0, __ATOMIC_SEQ_CST);
        if ((r >> 12) % K.move_n == 0)
            vmmcall(HC_MOVE, 0);
    }
    sti();
    vmmcall(HC_YIELD, 0);
}

/* ---- the L1 schedulers ---- */

static int cur_index(struct vcpu *v)
{
    return v->id;
}

static bool other_runnable(int me, int except)
{
    for (int i = 0; i < nv; i++)
        if (i != except && Q[i].owner == me &&
            (Q[i].state == ST_READY || Q[i].wake))
            return true;
    return false;
}

static int mt_exit(struct vcpu *v)
{
    int me = smp_id(), i = cur_index(v);

    switch (v->exit_code) {
    case SVM_EXIT_VMMCALL: {
        uint64_t nr = vmcb_read64(v, VMCB_RAX);
        if (nr == HC_BLOCK || nr == HC_MOVE) {
            Q[i].why = nr == HC_BLOCK ? WHY_BLOCK : WHY_MOVE;
            vcpu_advance_rip(v, 3);
            return VCPU_STOP;
        }
        if (nr == HC_YIELD) {
            Q[i].why = WHY_QUIT;
            return VCPU_CONTINUE;       /* the default handling stops */
        }
        break;
    }
    case SVM_EXIT_INTR:
        if (S.quit) {
            Q[i].why = WHY_QUIT;
            return VCPU_STOP;
        }
        if (other_runnable(me, i)) {
            Q[i].why = WHY_PREEMPT;
            return VCPU_STOP;
        }
        return VCPU_CONTINUE;
    case AVIC_EXIT_INCOMPLETE_IPI: {
        unsigned id = v->exit_info2 >> AVIC_IPI_EXITINFO2_ID_SHIFT;
        unsigned to = v->exit_info2 & AVIC_IPI_EXITINFO2_INDEX_MASK;
        if (id != AVIC_IPI_TARGET_NOT_RUNNING || to >= (unsigned)nv) {
            atomic_inc(&S.bad_401);
            return VCPU_CONTINUE;
        }
        atomic_inc(&S.ipi_401);
        if (kick(to)) {
            Q[i].why = WHY_PREEMPT;
            return VCPU_STOP;
        }
        return VCPU_CONTINUE;
    }
    }
    atomic_inc(&S.bad_exits);
    diag("  vCPU %d: unexpected exit %#llx info1 %#llx info2 %#llx rip %#llx", i,
         (unsigned long long)v->exit_code, (unsigned long long)v->exit_info1,
         (unsigned long long)v->exit_info2, (unsigned long long)v->exit_rip);
    Q[i].why = WHY_BAD;
    return VCPU_STOP;
}

static void vcpu_load(int i, int me)
{
    avic_set_running(V[i], me);
    irte_cmpxchg_run(&P.irt[IRTE_IDX0 + i], true, me);
    atomic_inc(&S.loads);
}

static void vcpu_put(int i, int me)
{
    /* Destination stays: GAPPI's target */
    irte_cmpxchg_run(&P.irt[IRTE_IDX0 + i], false, me);
    avic_set_running(V[i], -1);
}

/* The next vCPU of this run queue that can run, after @last; -1: none. */
static int pick(int me, int last)
{
    for (int k = 1; k <= nv; k++) {
        int i = (last + k) % nv;
        if (Q[i].owner != me)
            continue;
        if (Q[i].state == ST_READY)
            return i;
        if (Q[i].state == ST_BLOCKED && Q[i].wake) {
            Q[i].state = ST_READY;
            atomic_inc(&S.woken);
            return i;
        }
    }
    return -1;
}

static void block(int i, int me)
{
    atomic_inc(&S.blocks);
    /* KVM's order: not running, full barrier, one last look. */
    Q[i].wake = 0;
    vcpu_put(i, me);
    mb();
    if (irr_any(V[i])) {
        atomic_inc(&S.caught);
        return;
    }
    Q[i].block_seq++;
    Q[i].state = ST_BLOCKED;
    atomic_inc(&S.slept);
}

static void tick_handler(struct frame *f)
{
    apic_eoi();
}

static void timer_off(void *arg)
{
    apic_write(APIC_TMICT, 0);
    apic_write(APIC_LVTT, 0x10000);     /* masked */
}

static void sched(void *arg)
{
    int me = smp_id(), last = -1;
    uint32_t rng = 0x2545f491u * me;

    /*
     * The time slice: a periodic tick, so that a vCPU made runnable on
     * this run queue (a wake-up handled in L1 just before VMRUN, say)
     * never waits behind one that halts in L2 for more than a slice.
     */
    apic_write(APIC_TDCR, 0xb);         /* divide by 1 */
    apic_write(APIC_LVTT, VEC_TICK | APIC_LVTT_PERIODIC);
    apic_write(APIC_TMICT, SLICE_TICKS);

    while (!S.quit) {
        int i = pick(me, last);
        if (i < 0) {
            cli();
            if (pick(me, last) < 0 && !S.quit)
                safe_halt();
            sti();
            continue;
        }
        last = i;
        Q[i].why = WHY_NONE;
        vcpu_load(i, me);
        vcpu_run(V[i]);
        int why = Q[i].why;
        if (why == WHY_BLOCK) {
            block(i, me);
            continue;
        }
        vcpu_put(i, me);
        if (why == WHY_MOVE && npc > 1) {
            int to = 1 + (me - 1 + 1 + rng_next(&rng) % (npc - 1)) % npc;
            Q[i].owner = to;
            atomic_inc(&S.moves);
            apic_icr_write(VEC_WAKE, to);
        } else if (why == WHY_PREEMPT) {
            atomic_inc(&S.preempts);
        } else if (why == WHY_BAD) {
            break;
        }
    }
}

/* ---- CPU 0: the host side ---- */

static void galog_handler(struct frame *f)
{
    uint64_t st = iommu_read(&P.io, AMD_IOMMU_MMIO_STATUS), e;

    this_cpu()->irq_count[f->vector]++;
    iommu_write(&P.io, AMD_IOMMU_MMIO_STATUS, st & AMD_IOMMU_STATUS_GALOG_INT);
    if (st & AMD_IOMMU_STATUS_GALOG_OVERFLOW)
        S.galog_overflow++;
    while (iommu_galog_pop(&P.io, &e)) {
        uint32_t tag = e & AMD_IOMMU_GALOG_TAG_MASK;
        uint16_t dev = (e & AMD_IOMMU_GALOG_DEVID_MASK) >> AMD_IOMMU_GALOG_DEVID_SHIFT;
        unsigned type = e >> AMD_IOMMU_GALOG_TYPE_SHIFT;
        int i = (int)(tag & 0xff) - VEC_GAPPI0;
        S.galog_entries++;
        if (i < 0 || i >= nv || tag != MT_TAG(i) || dev != P.devid ||
            type != AMD_IOMMU_GALOG_TYPE_GUEST_NR) {
            S.galog_bad++;
            continue;
        }
        kick(i);
    }
    apic_eoi();
}

/* GAPPI: vector GATag[7:0] at the IRTE's Destination, the CPU whose run
 * queue holds the vCPU; the interrupt itself ends its safe_halt(). */
static void gappi_handler(struct frame *f)
{
    int i = f->vector - VEC_GAPPI0;
    this_cpu()->irq_count[f->vector]++;
    atomic_inc(&S.gappi_irqs);
    if (i >= 0 && i < nv) {
        __atomic_store_n(&Q[i].wake, 1, __ATOMIC_SEQ_CST);
        atomic_inc(&Q[i].gappi);
    }
    apic_eoi();
}

static int msi_data_off;
static bool mode_gappi;

/* The IRR holds our device vector and nothing else. */
static bool irr_only_dev(struct vcpu *v)
{
    for (int w = 0; w < 8; w++) {
        uint32_t want = w == VEC_DEV / 32 ? APIC_VEC_BIT(VEC_DEV) : 0;
        if (*avic_reg(v, APIC_REG_IRR + 0x10 * w) != want)
            return false;
    }
    return true;
}

/*
 * The exact check, for the post just made (it is synchronous: the IOMMU
 * has written the IRR and notified when the MMIO write returns).
 * GA log mode: a vCPU that is blocked after the post with our vector in
 * its IRR made its last look before the IRR write, so it had cleared
 * IsRun before it too: the IOMMU must have seen IsRun = 0 and written
 * an entry: the log's tail moved by one, now.  GAPPI mode: the same,
 * and if its IRR holds only our vector, seen within one sleep that no
 * wake-up has ended, it was clear when the IOMMU wrote it (a blocked
 * vCPU takes nothing): its GAPPI interrupt must reach the Destination
 * (the CPU the vCPU blocks on) soon.
 * IPIs wake such a vCPU anyway (401h), often before the watchdog would
 * see it: these checks do not depend on that.
 */
static void show_stuck(void);

static void check_post(int i, uint32_t tail0, uint64_t gappi0)
{
    if (Q[i].state != ST_BLOCKED || !avic_irr_test(V[i], VEC_DEV))
        return;
    if (!mode_gappi) {
        if (iommu_galog_tail(&P.io) != tail0)
            return;
    } else {
        /*
         * Only a snapshot taken within one sleep counts: the vCPU may
         * have been woken (by an IPI's 401h) before we looked and have
         * taken that IPI since, whose pending bit then made the IOMMU
         * rightly hold its GAPPI interrupt back.
         */
        uint64_t seq = Q[i].block_seq;
        bool snap;
        mb();
        snap = Q[i].state == ST_BLOCKED && !Q[i].wake && irr_only_dev(V[i]);
        mb();
        if (!snap || Q[i].wake || Q[i].state != ST_BLOCKED || Q[i].block_seq != seq)
            return;
        if (wait_until(Q[i].gappi != gappi0, LOST_US))
            return;
    }
    S.lost_post++;
    if (S.lost_post <= 5) {
        diag("  lost wake-up: device interrupt %llu to vCPU %d, blocked on CPU %d: no %s",
             (unsigned long long)Q[i].dev_sent, i, Q[i].owner,
             mode_gappi ? "GAPPI interrupt" : "GA log entry");
        diag("    IRTE %#llx:%#llx phys %#llx state %d wake %u gappi %llu (before %llu) "
             "per CPU %llu %llu %llu", (unsigned long long)P.irt[IRTE_IDX0 + i].hi,
             (unsigned long long)P.irt[IRTE_IDX0 + i].lo,
             (unsigned long long)P.vm->phys_table[i], Q[i].state, Q[i].wake,
             (unsigned long long)Q[i].gappi, (unsigned long long)gappi0,
             (unsigned long long)percpu[1].irq_count[VEC_GAPPI0 + i],
             (unsigned long long)percpu[2].irq_count[VEC_GAPPI0 + i],
             (unsigned long long)percpu[3 % nr_cpus].irq_count[VEC_GAPPI0 + i]);
        show_stuck();
    }
}

static void dev_post(int i)
{
    static int last = -1;
    uint32_t tail0 = 0;
    uint64_t gappi0 = Q[i].gappi;

    if (i != last) {
        pci_write16(P.edu.bdf, msi_data_off, IRTE_IDX0 + i);
        last = i;
    }
    Q[i].dev_sent++;
    if (!mode_gappi)
        tail0 = iommu_galog_tail(&P.io);
    post_send();
    check_post(i, tail0, gappi0);
}

static uint64_t total_sent(void)
{
    uint64_t n = 0;
    for (int i = 0; i < nv; i++) {
        n += Q[i].dev_sent;
        for (int j = 0; j < nv; j++)
            n += Q[i].ipi_sent[j];
    }
    return n;
}

static uint64_t total_got(uint64_t *dev, uint64_t *ipi)
{
    uint64_t d = 0, p = 0;
    for (int i = 0; i < nv; i++) {
        d += dev_got(i);
        for (int j = 0; j < nv; j++)
            if (j != i)
                p += ipi_got(j, i);
    }
    if (dev)
        *dev = d;
    if (ipi)
        *ipi = p;
    return d + p;
}

/*
 * A vCPU with a vector in its IRR that stays blocked (the same sleep)
 * or in guest mode (the same VMRUN) for LOST_US was not told: no GA log
 * entry, GAPPI interrupt or 401h woke it, or no doorbell reached it
 * where it halts.  That is a lost wake-up: count it, wake the vCPU.
 */
static void show_stuck(void);

static void watchdog(uint64_t now)
{
    for (int i = 0; i < nv; i++) {
        struct vcpu *v = V[i];
        uint64_t seq;
        if (Q[i].state == ST_BLOCKED)
            seq = Q[i].block_seq << 1;
        else if (v->in_l2)
            seq = v->vmruns << 1 | 1;
        else
            seq = 0;
        if (!seq || !irr_any(v)) {
            Q[i].wd_on = false;
            continue;
        }
        if (!Q[i].wd_on || Q[i].wd_seq != seq) {
            Q[i].wd_on = true;
            Q[i].wd_seq = seq;
            Q[i].wd_since = now;
            continue;
        }
        if (now - Q[i].wd_since < LOST_US)
            continue;
        S.lost++;
        diag("  lost wake-up: vCPU %d %s on CPU %d with IRR set for %llu ms, wake %u, "
             "IRTE lo %#llx", i, seq & 1 ? "in guest mode" : "blocked", Q[i].owner,
             (unsigned long long)(now - Q[i].wd_since) / 1000, Q[i].wake,
             (unsigned long long)P.irt[IRTE_IDX0 + i].lo);
        show_stuck();
        Q[i].wd_on = false;
        kick(i);
    }
}

static void show_stuck(void)
{
    for (int c = 1; c <= npc; c++) {
        struct vcpu *r = percpu[c].vcpu;
        diag("  CPU %d runs vCPU %d, GAPPI irqs here %llu", c, r ? (int)r->id : -1,
             (unsigned long long)percpu[c].irq_count[VEC_GAPPI0]);
    }
    for (int i = 0; i < nv; i++) {
        uint32_t w[8];
        for (int k = 0; k < 8; k++)
            w[k] = *avic_reg(V[i], APIC_REG_IRR + 0x10 * k);
        diag("  vCPU %d IRR %08x %08x %08x %08x why %d", i, w[3], w[4], w[5], w[6], Q[i].why);
    }
    for (int i = 0; i < nv; i++)
        diag("  vCPU %d: owner %d state %d wake %u in_l2 %d pcpu %d IRR %d (dev %d) ISR(dev) %d "
             "dev %llu/%llu, IRTE lo %#llx, phys %#llx", i, Q[i].owner, Q[i].state, Q[i].wake,
             V[i]->in_l2, V[i]->pcpu, irr_any(V[i]), avic_irr_test(V[i], VEC_DEV),
             avic_isr_test(V[i], VEC_DEV),
             (unsigned long long)dev_got(i), (unsigned long long)Q[i].dev_sent,
             (unsigned long long)P.irt[IRTE_IDX0 + i].lo,
             (unsigned long long)P.vm->phys_table[i]);
}

static void setup_mode(bool gappi)
{
    mode_gappi = gappi;
    memset((void *)&S, 0, sizeof(S));
    memset((void *)Q, 0, sizeof(Q));
    if (gappi)
        iommu_ctrl(&P.io, AMD_IOMMU_CTRL_GAPPI_EN, 0);
    for (int i = 0; i < nv; i++) {
        struct vcpu *v = V[i];
        struct irte_ga n;
        Q[i].owner = 1 + i % npc;
        Q[i].state = ST_READY;
        avic_clear_irr_isr(v);
        memset((void *)v->irq_count, 0, sizeof(v->irq_count));
        v->irq_total = 0;
        v->fn = l2_fn;
        v->arg = (void *)(uintptr_t)i;
        vcpu_reset_guest(v);
        irte_guest(&n, VEC_DEV, virt_to_phys(v->backing), Q[i].owner, MT_TAG(i), false, true);
        irte_update(&P.io, P.devid, &P.irt[IRTE_IDX0 + i], n);
    }
}

static void print_line(const char *what, const char *m, uint64_t us)
{
    uint64_t dev, ipi, got = total_got(&dev, &ipi);
    printf("# mttcg-stress: %s mode=%s cpus=%d vcpus=%d t=%llu.%03llu s delivered=%llu "
           "(dev %llu ipi %llu) = %llu/s sent=%llu lost=%llu+%llu blocks=%llu slept=%llu "
           "caught=%llu woken=%llu moves=%llu preempts=%llu ipi_401=%llu "
           "galog_entries=%llu gappi_irqs=%llu\n", what, m, nr_cpus, nv,
           (unsigned long long)(us / 1000000), (unsigned long long)(us / 1000 % 1000),
           (unsigned long long)got, (unsigned long long)dev, (unsigned long long)ipi,
           (unsigned long long)(us ? got * 1000000 / us : 0),
           (unsigned long long)total_sent(), (unsigned long long)S.lost,
           (unsigned long long)S.lost_post,
           (unsigned long long)S.blocks, (unsigned long long)S.slept,
           (unsigned long long)S.caught, (unsigned long long)S.woken,
           (unsigned long long)S.moves, (unsigned long long)S.preempts,
           (unsigned long long)S.ipi_401, (unsigned long long)S.galog_entries,
           (unsigned long long)S.gappi_irqs);
}

static void run_mode(bool gappi)
{
    const char *m = gappi ? "gappi" : "galog";
    uint64_t us = 0, dev = 0, ipi = 0, dev_s = 0, ipi_s = 0;
    bool stuck = false, drained = false;

    if (!TODO_ACTIVE) {
        setup_mode(gappi);
        for (int c = 1; c <= npc; c++)
            on_cpu_async(c, sched, NULL);

        uint64_t t0 = now_us(), last_prog = 0, last_got = 0, last_move = t0;
        for (uint64_t k = 0;; k++) {
            uint64_t now = now_us();
            if (total_got(NULL, NULL) >= K.target || now - t0 > K.budget_us)
                break;
            for (int i = 0; i < nv; i++)
                if (Q[i].dev_sent == dev_got(i))
                    dev_post(i);
            if ((k & 63) == 0) {
                uint64_t got = total_got(NULL, NULL);
                watchdog(now);
                if (got != last_got) {
                    last_got = got;
                    last_move = now;
                } else if (now - last_move > STUCK_US) {
                    diag("  %s: no interrupt taken for %llu s", m,
                         (unsigned long long)STUCK_US / 1000000);
                    show_stuck();
                    stuck = true;
                    break;
                }
                if (K.progress_us && now - t0 - last_prog >= K.progress_us) {
                    last_prog = now - t0;
                    print_line("progress", m, last_prog);
                }
            }
        }
        /* Quiesce: no new IPIs (none half-sent), then everything sent
         * must arrive. */
        __atomic_store_n(&S.stop_ipi, 1, __ATOMIC_SEQ_CST);
        uint64_t dl = deadline_us(STUCK_US);
        while (!expired(dl)) {
            bool quiet = true;
            for (int i = 0; i < nv; i++)
                quiet &= !READ_ONCE(Q[i].sending);
            if (quiet && total_got(NULL, NULL) == total_sent()) {
                drained = true;
                break;
            }
            watchdog(now_us());
        }
        if (!drained) {
            diag("  %s: sent %llu, delivered %llu after the drain", m,
                 (unsigned long long)total_sent(), (unsigned long long)total_got(NULL, NULL));
            show_stuck();
        }
        us = now_us() - t0;
        print_line("result", m, us);
        S.quit = 1;
        mb();
        for (int c = 1; c <= npc; c++)
            apic_icr_write(VEC_WAKE, c);
        for (int c = 1; c <= npc; c++)
            on_cpu_wait(c);
        for (int c = 1; c <= npc; c++)
            on_cpu(c, timer_off, NULL);
        if (gappi)
            iommu_ctrl(&P.io, 0, AMD_IOMMU_CTRL_GAPPI_EN);
        total_got(&dev, &ipi);
        for (int i = 0; i < nv; i++) {
            dev_s += Q[i].dev_sent;
            for (int j = 0; j < nv; j++)
                ipi_s += Q[i].ipi_sent[j];
        }
        counts.sent += dev_s + ipi_s;
        counts.delivered += dev + ipi;
        counts.galog_entries += S.galog_entries;
        counts.gappi_irqs += S.gappi_irqs;
        counts.other_exits += S.bad_exits;
    }
    report(!TODO_ACTIVE && !stuck && drained && dev + ipi >= K.target && dev == dev_s &&
           ipi == ipi_s, "%s: %llu interrupts, delivered == sent (device %llu of %llu, "
           "IPI %llu of %llu)", m, (unsigned long long)K.target, (unsigned long long)dev,
           (unsigned long long)dev_s, (unsigned long long)ipi, (unsigned long long)ipi_s);
    report(!TODO_ACTIVE && S.lost == 0 && S.lost_post == 0,
           "%s: 0 lost wake-ups (saw %llu by the watchdog, %llu at the post)", m,
           (unsigned long long)S.lost, (unsigned long long)S.lost_post);
    report(!TODO_ACTIVE && S.slept > 0 && S.woken > 0 && (npc < 2 || S.moves > 0) &&
           (nv < 2 || (ipi > 0 && S.ipi_401 > 0)) && S.bad_exits == 0 && S.bad_401 == 0,
           "%s: vCPUs blocked, were woken, moved, took IPIs (401h: %llu), no other exit", m,
           (unsigned long long)S.ipi_401);
    bool wakes = gappi ? S.gappi_irqs > 0 && S.galog_entries == 0
                       : S.galog_entries > 0 && S.galog_bad == 0 && S.galog_overflow == 0;
    report(!TODO_ACTIVE && wakes, "%s: wake-ups came only from %s, all well-formed", m,
           gappi ? "GAPPI interrupts (no GA log entry)" : "GA log entries");
}

int main(void)
{
    tap_group(MT_GROUP);
    tap_plan(10);
    read_knobs();

    bool have = post_init(K.x2, l2_fn, NULL);
    if (!report(have, "IOMMU and edu found"))
        tap_finish();
    nv = nr_cpus - 1 < MAX_VCPUS ? nr_cpus - 1 : MAX_VCPUS;
    npc = nv;
    report(nr_cpus >= 2, "%d CPUs: %d L2 vCPUs on %d L1 run queues (%s)", nr_cpus, nv, npc,
           P.vm->x2avic ? "x2AVIC" : "xAVIC");
    if (nr_cpus < 2)
        tap_finish();

    /* One IRTE, backing page and physical table entry per vCPU. */
    P.vm->max_index = nv - 1;
    vcpu_avic_init(P.v);
    V[0] = P.v;
    for (int i = 1; i < nv; i++)
        V[i] = vcpu_create(P.vm, i, l2_fn, (void *)(uintptr_t)i);
    for (int i = 0; i < nv; i++) {
        V[i]->manage_is_running = false;
        V[i]->on_exit = mt_exit;
    }
    int cap = pci_find_cap(P.edu.bdf, 0x05);
    msi_data_off = cap + ((pci_read16(P.edu.bdf, cap + 2) & 0x80) ? 12 : 8);
    set_irq_handler(VEC_GALOG, galog_handler);
    set_irq_handler(VEC_TICK, tick_handler);
    set_guest_irq_handler(VEC_DEV, avic_guest_handler);
    for (int i = 0; i < nv; i++) {
        set_guest_irq_handler(VEC_IPI0 + i, avic_guest_handler);
        set_irq_handler(VEC_GAPPI0 + i, gappi_handler);
    }

    if (K.galog) {
        tap_todo(post_todo(true, false));
        run_mode(false);
        tap_todo(NULL);
    } else {
        for (int k = 0; k < 4; k++)
            report_skip("modes=gappi", "galog: not run");
    }
    if (K.gappi) {
        tap_todo(post_todo(true, true));
        run_mode(true);
        tap_todo(NULL);
    } else {
        for (int k = 0; k < 4; k++)
            report_skip("modes=galog", "gappi: not run");
    }
    return 0;
}
