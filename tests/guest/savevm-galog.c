/*
 * savevm-galog: GA log bursts for tests/guest/migrate.py --savevm to
 * snapshot (savevm) and restore (loadvm) while they are in flight.
 *
 *   CPUs 1, 2  one L2 vCPU each, blocked in L1 (IsRun = 0 in all its
 *              IRTEs) until a GA log entry names it; loaded (IsRun = 1)
 *              it takes what its IRR holds and blocks again
 *   CPU 0      each round, with interrupts off (so that the GA log
 *              interrupt stays pending): raise NV x NVEC edu interrupts,
 *              one per IRTE (vCPU v, vector VEC0 + k, GATag naming both),
 *              so that the log holds NV x NVEC entries nobody has read;
 *              print "# savevm-point" with the addresses of the GA log,
 *              its tail buffer, the IOMMU's registers and the backing
 *              pages, and wait for a byte on COM1.  Then take the GA log
 *              interrupt, read the entries (each tag exactly once) and
 *              wake the vCPUs; wait until every vector was taken once
 *
 * The driver stops the VM at the point, reads that state, saves it,
 * lets the round run, and at the next point loads the snapshot back and
 * reads the state again: it must be the same.  The guest then runs the
 * round again from the restored state.  Each round prints
 * "# round R: sent N delivered N entries N": the guest's own count,
 * in whichever timeline it ran.
 *
 * After the last round it stops once more ("# savevm-done"), so that the
 * last round can be restored too.
 *
 * Without a driver, the wait for COM1 times out (WAIT_US) and the run
 * goes on, so the image also runs alone.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "post.h"

#define ROUNDS          4
#define NV              2
#define NVEC            16
#define VEC0            0x40
#define IRTE_IDX0       32              /* + v * NVEC + k */
#define TAG(v, k)       (0x5a000000u | (v) << 8 | (k))
#define HC_BLOCK        (HC_USER + 1)
#define WAIT_US         60000000ULL
#define COM1            0x3f8

static struct vcpu *V[NV];
static struct {
    volatile uint32_t wake[NV], blocked[NV], quit;
    volatile uint64_t entries, bad, dup;
    volatile uint32_t seen[NV][NVEC];   /* entries per IRTE this round */
} G;

static struct irte_ga *irte(int v, int k)
{
    return &P.irt[IRTE_IDX0 + v * NVEC + k];
}

static void l2_fn(void *arg)
{
    for (;;) {
        cli();
        if (G.quit)
            break;
        vmmcall(HC_BLOCK, 0);
        sti();                          /* take what the IRR holds */
        asm volatile("nop; nop; nop" ::: "memory");
    }
    sti();
    vmmcall(HC_YIELD, 0);
}

static int sv_exit(struct vcpu *v)
{
    if (v->exit_code == SVM_EXIT_VMMCALL &&
        vmcb_read64(v, VMCB_RAX) == HC_BLOCK) {
        vcpu_advance_rip(v, 3);
        return VCPU_STOP;
    }
    if (v->exit_code == SVM_EXIT_INTR)
        return G.quit ? VCPU_STOP : VCPU_CONTINUE;
    return VCPU_CONTINUE;
}

/* IsRun and Destination of all of vCPU v's IRTEs (KVM's load and put). */
static void set_run(int v, bool run, int cpu)
{
    for (int k = 0; k < NVEC; k++) {
        volatile uint64_t *p = (volatile uint64_t *)irte(v, k);
        for (;;) {
            struct irte_ga n = { p[0], p[1] }, old = n;
            n.lo = run ? n.lo | AMD_IOMMU_IRTE_LO_IS_RUN : n.lo & ~AMD_IOMMU_IRTE_LO_IS_RUN;
            irte_set_dest(&n, cpu);
            if (cmpxchg16b(p, old.lo, old.hi, n.lo, n.hi))
                break;
        }
    }
}

static bool irr_any(struct vcpu *v)
{
    for (int w = 0; w < 8; w++)
        if (*avic_reg(v, APIC_REG_IRR + 0x10 * w))
            return true;
    return false;
}

static void sched(void *arg)
{
    int me = smp_id(), v = me - 1;

    while (!G.quit) {
        avic_set_running(V[v], me);
        set_run(v, true, me);
        vcpu_run(V[v]);
        G.wake[v] = 0;
        set_run(v, false, me);
        avic_set_running(V[v], -1);
        mb();
        if (irr_any(V[v]))
            continue;
        cli();
        G.blocked[v] = 1;
        while (!G.wake[v] && !G.quit) {
            safe_halt();
            cli();
        }
        G.blocked[v] = 0;
        sti();
    }
}

static bool all_blocked(void)
{
    for (int v = 0; v < NV; v++)
        if (!G.blocked[v])
            return false;
    return true;
}

static void galog_handler(struct frame *f)
{
    uint64_t st = iommu_read(&P.io, AMD_IOMMU_MMIO_STATUS), e;

    this_cpu()->irq_count[f->vector]++;
    iommu_write(&P.io, AMD_IOMMU_MMIO_STATUS, st & AMD_IOMMU_STATUS_GALOG_INT);
    while (iommu_galog_pop(&P.io, &e)) {
        uint32_t tag = e & AMD_IOMMU_GALOG_TAG_MASK;
        unsigned v = (tag >> 8) & 0xff, k = tag & 0xff;
        G.entries++;
        if ((tag & 0xffff0000u) != (TAG(0, 0) & 0xffff0000u) || v >= NV || k >= NVEC ||
            ((e & AMD_IOMMU_GALOG_DEVID_MASK) >> AMD_IOMMU_GALOG_DEVID_SHIFT) != P.devid ||
            (e >> AMD_IOMMU_GALOG_TYPE_SHIFT) != AMD_IOMMU_GALOG_TYPE_GUEST_NR) {
            G.bad++;
            continue;
        }
        if (G.seen[v][k]++)
            G.dup++;
        G.wake[v] = 1;
        apic_icr_write(VEC_WAKE, v + 1);
    }
    apic_eoi();
}

static bool com1_wait(uint64_t us)
{
    uint64_t dl = deadline_us(us);
    while (!expired(dl)) {
        if (inb(COM1 + 5) & 1) {
            inb(COM1);
            return true;
        }
    }
    return false;
}

static uint64_t got(int v, int k)
{
    return V[v]->irq_count[VEC0 + k];
}

int main(void)
{
    int cap, data_off, rounds_ok = 0;
    uint64_t sent = 0, delivered = 0, entries = 0;
    bool timeouts = false;

    tap_group("savevm-galog");
    tap_plan(4);
    bool have = post_init(false, l2_fn, NULL);
    if (!report(have, "IOMMU and edu found"))
        tap_finish();
    report(nr_cpus >= 3, "at least 3 CPUs");
    tap_todo(post_todo(true, false));
    if (TODO_ACTIVE || nr_cpus < 3) {
        report(false, "every round: delivered == sent, one GA log entry per interrupt");
        report(false, "the GA log held every round's burst at the point");
        return 0;
    }
    P.vm->max_index = NV - 1;
    vcpu_avic_init(P.v);
    V[0] = P.v;
    V[1] = vcpu_create(P.vm, 1, l2_fn, NULL);
    set_irq_handler(VEC_GALOG, galog_handler);
    for (int v = 0; v < NV; v++) {
        V[v]->manage_is_running = false;
        V[v]->on_exit = sv_exit;
        V[v]->fn = l2_fn;
        vcpu_reset_guest(V[v]);
        for (int k = 0; k < NVEC; k++) {
            struct irte_ga n;
            irte_guest(&n, VEC0 + k, virt_to_phys(V[v]->backing), v + 1, TAG(v, k), false,
                       true);
            irte_update(&P.io, P.devid, irte(v, k), n);
        }
    }
    for (int k = 0; k < NVEC; k++)
        set_guest_irq_handler(VEC0 + k, avic_guest_handler);
    cap = pci_find_cap(P.edu.bdf, 0x05);
    data_off = cap + ((pci_read16(P.edu.bdf, cap + 2) & 0x80) ? 12 : 8);
    on_cpu_async(1, sched, NULL);
    on_cpu_async(2, sched, NULL);
    bool burst_ok = true;
    for (int r = 1; r <= ROUNDS; r++) {
        uint64_t e0 = G.entries;
        /*
         * Each burst starts with both vCPUs blocked (IsRun = 0), or some
         * posts ring doorbells instead of logging: after the previous
         * round a vCPU may still be taking its IRR on a loaded host.
         */
        burst_ok &= wait_until(all_blocked(), 10000000);
        memset((void *)G.seen, 0, sizeof(G.seen));
        cli();                          /* the GA log interrupt waits */
        for (int v = 0; v < NV; v++) {
            for (int k = 0; k < NVEC; k++) {
                pci_write16(P.edu.bdf, data_off, IRTE_IDX0 + v * NVEC + k);
                post_send();
                sent++;
            }
        }
        uint32_t tail = iommu_galog_tail(&P.io);
        uint32_t head = iommu_read(&P.io, AMD_IOMMU_MMIO_GALOG_HEAD);
        uint32_t n = ((tail - head) / AMD_IOMMU_GALOG_ENTRY_SIZE) % AMD_IOMMU_GALOG_ENTRIES_512;
        burst_ok &= n == NV * NVEC && G.entries == e0;
        printf("# savevm-point %d: pending=%u galog=%#llx tailbuf=%#llx mmio=%#llx "
               "backing0=%#llx backing1=%#llx\n", r, n, (unsigned long long)virt_to_phys(P.io.galog),
               (unsigned long long)virt_to_phys((void *)P.io.galog_tail_buf),
               (unsigned long long)P.io.mmio, (unsigned long long)virt_to_phys(V[0]->backing),
               (unsigned long long)virt_to_phys(V[1]->backing));
        if (!com1_wait(WAIT_US))
            timeouts = true;
        sti();
        bool all = wait_until(({
            bool d = true;
            for (int v = 0; v < NV; v++)
                for (int k = 0; k < NVEC; k++)
                    d &= got(v, k) == (uint64_t)r;
            d; }), 10000000);
        uint64_t d = 0;
        for (int v = 0; v < NV; v++)
            for (int k = 0; k < NVEC; k++)
                d += got(v, k);
        d -= delivered;
        delivered += d;
        entries += G.entries - e0;
        bool ok = all && d == NV * NVEC && G.entries - e0 == NV * NVEC && !G.bad && !G.dup;
        rounds_ok += ok;
        printf("# round %d: sent %d delivered %llu entries %llu%s\n", r, NV * NVEC,
               (unsigned long long)d, (unsigned long long)(G.entries - e0), ok ? "" : " BAD");
    }
    printf("# savevm-done\n");
    if (!com1_wait(WAIT_US))
        timeouts = true;
    G.quit = 1;
    for (int c = 1; c <= 2; c++)
        apic_icr_write(VEC_WAKE, c);
    on_cpu_wait(1);
    on_cpu_wait(2);
    counts.sent += sent;
    counts.delivered += delivered;
    counts.galog_entries += entries;
    if (timeouts)
        diag("no driver: the waits at the savevm points timed out");
    report(rounds_ok == ROUNDS, "every round: delivered == sent, one GA log entry per "
           "interrupt (%d of %d rounds, %llu of %llu)", rounds_ok, ROUNDS,
           (unsigned long long)delivered, (unsigned long long)sent);
    report(burst_ok, "the GA log held every round's burst at the point (%d entries, "
           "none read)", NV * NVEC);
    return 0;
}
