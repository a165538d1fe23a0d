/*
 * compare: the GA log versus GAPPI workloads of `make compare` (issue
 * 12; docs/specs/amd-iommu-timing.rst, "Workloads").
 *
 * CPU 0 is the device's driver: it raises edu's MSI at a set rate (or
 * one request at a time), each time to the next vCPU's IRTE.  The
 * vCPUs are L2s of this test hypervisor, spread over CPUs 1..pcpus;
 * the last CPU (-smp pcpus + 2) takes the GA log interrupt.  In
 * the halting modes each L2 halts at once after taking its interrupt,
 * and its L1 CPU blocks it as KVM does: the vCPU goes on a per-CPU list
 * of blocked vCPUs, the IRTE's IsRun is cleared (IRTE update plus
 * INVALIDATE_INTERRUPT_TABLE and COMPLETION_WAIT), the IRR is checked
 * once more, and the CPU halts.  What wakes it:
 *
 *   galog    the GA log interrupt goes to the last CPU, whose handler (as
 *            Linux's: W1C the status bits, read head and tail, one
 *            entry at a time, restart on overflow) looks the GATag up
 *            in a global hash table and kicks the vCPU's CPU (IPI);
 *   gappi    the IOMMU sends the GAPPI vector (GATag[7:0]) to the CPU
 *            in the IRTE's Destination, whose handler scans its list of
 *            blocked vCPUs' IRRs and wakes those with a pending bit;
 *   running  baseline: the L2 spins, IsRun=1, the doorbell delivers;
 *   remap    baseline: a remapped (not posted) IRTE to the vCPU's CPU;
 *            the L2 spins, the interrupt makes a #VMEXIT and the L1
 *            injects the vector (EVENTINJ) at the next VMRUN.
 *
 * The Linux work that a TCG L1 does not have is charged in
 * instructions (a counted loop), so that under -icount shift=0 one
 * instruction is 1 ns of virtual time: the costs are parameters
 * (irq, thread, entry, wake, scan, sched, exit, inject below), and
 * every one is an assumption documented with its reasoning.
 *
 * wakedelay=NS models an overcommitted host: a kicked CPU first spends
 * NS elsewhere (halted on its APIC timer) before it runs the vCPU; the
 * vCPU stays blocked, so every MSI for it makes one more GA log entry.
 *
 * Parameters come from fw_cfg, "-fw_cfg name=opt/qemu-avic/compare,
 * string=mode=galog:rate=100000:..." (or file=).  The result is one
 * "# compare: key=value ..." line that scripts/timing-report.py
 * --workload reads, and a few checks that can fail: every interrupt
 * delivered unless the GA log overflowed, each mode on its own path.
 * Latency: TSC ticks (= ns of virtual time under icount) from the
 * generator's MSI write to the L2's handler for the oldest interrupt
 * that the delivery served; interrupts that arrive while one is still
 * pending in the IRR coalesce into it ("coalesced").
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "svm.h"
#include "iommu.h"
#include "fwcfg.h"

#define VEC_G           0x94    /* the L2's device vector */
#define VEC_GALOG       0xd0    /* GA log interrupt, to the last CPU */
#define VEC_KICK        0xd1    /* L1 IPI: a vCPU of yours is runnable */
#define VEC_GAPPI       0xb2    /* GATag[7:0]: the GAPPI vector */
#define VEC_REMAP       0xc4    /* remapped baseline: to the L1 */
#define VEC_TIMER       0xc8    /* CPU 0's APIC timer (the generator) */
#define IRTE_BASE       16
#define MAX_VCPUS       8
#define MAX_SAMPLES     32768
#define TAG_HASH        16

enum mode { M_GALOG, M_GAPPI, M_RUNNING, M_REMAP };
static const char *const mode_name[] = { "galog", "gappi", "running", "remap" };

static struct {
    enum mode mode;
    uint32_t vcpus, pcpus, burst, rr, galog_entries;
    uint64_t n, rate, think, wakedelay;
    /* L1 costs, instructions */
    uint64_t irq, thread, entry, wake, scan, sched, exit, inject;
} cfg;

enum { ST_RUNNING, ST_BLOCKED };

struct wvcpu {
    struct vcpu *v;
    struct wvcpu *hash_next;
    uint32_t idx, pcpu, tag;
    struct irte_ga *irte;
    volatile uint64_t t_first;          /* oldest undelivered send */
    volatile uint32_t runnable, state, inject;
    volatile uint64_t delivered, served;
};

/* Per L1 CPU: its vCPUs and the list of those blocked on it. */
struct pq {
    struct wvcpu *mine[MAX_VCPUS];
    uint32_t nmine;
    struct wvcpu *volatile blocked[MAX_VCPUS];
    volatile uint32_t nblocked;
};

static struct iommu io;
static struct edu edu;
static struct irte_ga *irt;
static struct vm *vm;
static struct wvcpu wv[MAX_VCPUS];
static struct pq pq[MAX_CPUS];
static struct wvcpu *tag_hash[TAG_HASH];
static int msi_data_off;
static volatile uint32_t stop;

/* GA log ring, sized by the galog= parameter */
static uint64_t *ring;
static uint32_t ring_bytes, ring_head;
static volatile uint64_t *tail_buf;

/* Results */
static uint32_t lat[MAX_SAMPLES];
static volatile uint32_t nlat;
static struct {
    volatile uint64_t sent, coalesced, galog_irqs, entries, overflows, stale, bad, max_batch;
    volatile uint64_t gappi_irqs, spurious, scanned, scan_max, scan_hist[MAX_VCPUS + 1];
    volatile uint64_t kicks, remap_irqs, intr_exits, hlt_exits, l1_ns, wakeups_self;
    volatile uint64_t suppressed;
} R;

/* ---- time ---- */

/*
 * Under icount the TSC counts virtual ns (the boot calibration reads
 * 999,99x kHz): use it as is, so that no calibration rounding enters a
 * result.  Without icount convert with the calibrated rate.
 */
static bool tsc_is_ns(void)
{
    return tsc_khz > 990000 && tsc_khz < 1010000;
}

static uint64_t tsc_ns(uint64_t ticks)
{
    return tsc_is_ns() ? ticks : ticks * 1000000 / tsc_khz;
}

static uint64_t ns_tsc(uint64_t ns)
{
    return tsc_is_ns() ? ns : ns * tsc_khz / 1000000;
}

/* ---- charged work ---- */

/* About @n instructions (two per iteration: dec, jnz). */
static void burn(uint64_t n)
{
    uint64_t i = n / 2;
    if (!i)
        return;
    asm volatile("1: dec %0; jnz 1b" : "+r"(i) :: "cc");
}

static void l1_account(uint64_t t0)
{
    atomic_add(&R.l1_ns, rdtsc() - t0);
}

/* ---- the L2 ---- */

static void l2_irq(struct frame *f)
{
    struct vcpu *v = this_cpu()->vcpu;
    struct wvcpu *w = v ? v->user : NULL;

    if (w) {
        uint64_t t0 = __atomic_exchange_n(&w->t_first, 0, __ATOMIC_SEQ_CST);
        /* Read after the exchange: a send in between must not come out later. */
        uint64_t t = rdtsc();
        w->delivered++;
        if (t0) {
            uint32_t i = atomic_inc(&nlat) - 1;
            if (i < MAX_SAMPLES)
                lat[i] = t - t0 > 0xffffffffu ? 0xffffffffu : t - t0;
            w->served++;
        }
    }
    if (cfg.mode == M_REMAP) {
        /* Injected with EVENTINJ: no virtual ISR bit to end. */
        this_cpu()->guest_irq_count[f->vector]++;
        return;
    }
    avic_guest_handler(f);
}

static void l2_main(void *arg)
{
    if (cfg.mode == M_RUNNING || cfg.mode == M_REMAP) {
        while (!READ_ONCE(stop))
            cpu_relax();
        return;
    }
    while (!READ_ONCE(stop))
        asm volatile("sti; hlt" ::: "memory");
}

/* ---- the L1: blocking and waking vCPUs ---- */

static bool irr_pending(struct wvcpu *w)
{
    for (int i = 0; i < 8; i++)
        if (*avic_reg(w->v, APIC_REG_IRR + 0x10 * i))
            return true;
    return false;
}

/* kvm_vcpu_wake_up(): make a blocked vCPU runnable, kick its CPU. */
static void wake(struct wvcpu *w)
{
    if (READ_ONCE(w->state) != ST_BLOCKED) {
        atomic_inc(&R.stale);
        return;
    }
    if (__atomic_exchange_n(&w->runnable, 1, __ATOMIC_SEQ_CST))
        return;
    burn(cfg.wake);
    if ((int)w->pcpu != smp_id()) {
        atomic_inc(&R.kicks);
        apic_icr_write(VEC_KICK, w->pcpu);
    }
}

static void set_is_run(struct wvcpu *w, bool run)
{
    if (cfg.mode == M_GALOG || cfg.mode == M_GAPPI)
        irte_set_running(&io, edu.bdf, w->irte, run, w->pcpu);
}

/* The vCPU halted: block it (avic_vcpu_blocking, then the last look). */
static void block(struct pq *q, struct wvcpu *w)
{
    cli();
    WRITE_ONCE(w->state, ST_BLOCKED);
    q->blocked[q->nblocked] = w;
    WRITE_ONCE(q->nblocked, q->nblocked + 1);
    sti();
    set_is_run(w, false);
    if (irr_pending(w) && !__atomic_exchange_n(&w->runnable, 1, __ATOMIC_SEQ_CST))
        atomic_inc(&R.wakeups_self);
}

static void unblock(struct pq *q, struct wvcpu *w)
{
    cli();
    for (uint32_t i = 0; i < q->nblocked; i++) {
        if (q->blocked[i] == w) {
            q->blocked[i] = q->blocked[q->nblocked - 1];
            WRITE_ONCE(q->nblocked, q->nblocked - 1);
            break;
        }
    }
    WRITE_ONCE(w->state, ST_RUNNING);
    WRITE_ONCE(w->runnable, 0);
    sti();
}

/* A runnable vCPU of this CPU; never one whose L2 has returned (HC_DONE). */
static struct wvcpu *pick(struct pq *q)
{
    for (uint32_t i = 0; i < q->nmine; i++)
        if (READ_ONCE(q->mine[i]->runnable) && !q->mine[i]->v->done)
            return q->mine[i];
    return NULL;
}

static int on_exit(struct vcpu *v)
{
    struct wvcpu *w = v->user;
    uint64_t t0;

    switch (v->exit_code) {
    case SVM_EXIT_HLT:
        atomic_inc(&R.hlt_exits);
        vcpu_advance_rip(v, 1);
        return VCPU_STOP;
    case SVM_EXIT_INTR:
        /* The host interrupt was taken at STGI, before this call. */
        t0 = rdtsc();
        atomic_inc(&R.intr_exits);
        burn(cfg.exit);
        if (w->inject) {
            w->inject = 0;
            vmcb_write32(v, VMCB_EVENT_INJ, VEC_G | EVTINJ_VALID | EVTINJ_TYPE_INTR);
        }
        l1_account(t0);
        return VCPU_HANDLED;
    default:
        return VCPU_CONTINUE;
    }
}

/* One L1 CPU's loop: run a runnable vCPU until it halts, else halt. */
static void sleep_until(uint64_t dl);

static void pcpu_loop(void *arg)
{
    struct pq *q = &pq[smp_id()];

    apic_write(0x3e0, 0xb);         /* this CPU's timer, for wakedelay */
    apic_write(0x320, VEC_TIMER);

    for (;;) {
        cli();
        struct wvcpu *w = pick(q);
        if (!w) {
            if (READ_ONCE(stop)) {
                sti();
                break;
            }
            safe_halt();
            continue;
        }
        sti();
        /* An overcommitted host: the CPU is busy elsewhere for a while. */
        if (cfg.wakedelay)
            sleep_until(rdtsc() + ns_tsc(cfg.wakedelay));
        uint64_t t0 = rdtsc();
        unblock(q, w);
        set_is_run(w, true);
        burn(cfg.sched);
        l1_account(t0);
        vcpu_run(w->v);
        if (w->v->done)
            continue;
        t0 = rdtsc();
        burn(cfg.exit);
        block(q, w);
        l1_account(t0);
    }
}

/* The spinning baselines: one vCPU per CPU, run until stop. */
static void pcpu_spin(void *arg)
{
    struct pq *q = &pq[smp_id()];
    for (uint32_t i = 0; i < q->nmine; i++)
        vcpu_run(q->mine[i]->v);
}

/* ---- the L1's interrupt handlers ---- */

static void kick_irq(struct frame *f)
{
    uint64_t t0 = rdtsc();
    this_cpu()->irq_count[f->vector]++;
    burn(cfg.irq);
    l1_account(t0);
    apic_eoi();
}

static struct wvcpu *tag_lookup(uint32_t tag)
{
    for (struct wvcpu *w = tag_hash[(tag >> 8) % TAG_HASH]; w; w = w->hash_next)
        if (w->tag == tag)
            return w;
    return NULL;
}

static void galog_poll(void)
{
    uint32_t tail = iommu_read(&io, AMD_IOMMU_MMIO_GALOG_TAIL) & AMD_IOMMU_GALOG_PTR_MASK;
    uint64_t n = 0;

    while (ring_head != tail) {
        uint64_t e = ring[ring_head / AMD_IOMMU_GALOG_ENTRY_SIZE];
        ring_head = (ring_head + AMD_IOMMU_GALOG_ENTRY_SIZE) % ring_bytes;
        iommu_write(&io, AMD_IOMMU_MMIO_GALOG_HEAD, ring_head);
        n++;
        burn(cfg.entry);
        struct wvcpu *w = NULL;
        if ((e >> AMD_IOMMU_GALOG_TYPE_SHIFT) == AMD_IOMMU_GALOG_TYPE_GUEST_NR)
            w = tag_lookup(e & AMD_IOMMU_GALOG_TAG_MASK);
        if (w)
            wake(w);
        else
            R.bad++;
    }
    R.entries += n;
    if (n > R.max_batch)
        R.max_batch = n;
}

/* As amd_iommu_restart_ga_log(): the entries lost stay lost. */
static void galog_restart(void)
{
    iommu_ctrl(&io, 0, AMD_IOMMU_CTRL_GALOG_EN);
    iommu_ctrl(&io, 0, AMD_IOMMU_CTRL_GAINT_EN);
    iommu_write(&io, AMD_IOMMU_MMIO_STATUS, AMD_IOMMU_STATUS_GALOG_OVERFLOW);
    iommu_ctrl(&io, AMD_IOMMU_CTRL_GAINT_EN, 0);
    iommu_ctrl(&io, AMD_IOMMU_CTRL_GALOG_EN, 0);
}

static void galog_irq(struct frame *f)
{
    uint64_t t0 = rdtsc();
    const uint64_t mask = AMD_IOMMU_STATUS_GALOG_INT | AMD_IOMMU_STATUS_GALOG_OVERFLOW;

    this_cpu()->irq_count[f->vector]++;
    R.galog_irqs++;
    burn(cfg.irq + cfg.thread);
    for (;;) {
        uint64_t st = iommu_read(&io, AMD_IOMMU_MMIO_STATUS) & mask;
        if (!st)
            break;
        iommu_write(&io, AMD_IOMMU_MMIO_STATUS, st);
        galog_poll();
        if (st & AMD_IOMMU_STATUS_GALOG_OVERFLOW) {
            R.overflows++;
            galog_restart();
        }
    }
    l1_account(t0);
    apic_eoi();
}

static void gappi_irq(struct frame *f)
{
    uint64_t t0 = rdtsc();
    struct pq *q = &pq[smp_id()];
    uint32_t woke = 0, n = READ_ONCE(q->nblocked);

    this_cpu()->irq_count[f->vector]++;
    atomic_inc(&R.gappi_irqs);
    burn(cfg.irq);
    for (uint32_t i = 0; i < n; i++) {
        struct wvcpu *w = q->blocked[i];
        burn(cfg.scan);
        if (irr_pending(w) && !READ_ONCE(w->runnable)) {
            wake(w);
            woke++;
        }
    }
    atomic_add(&R.scanned, n);
    atomic_inc(&R.scan_hist[n < MAX_VCPUS ? n : MAX_VCPUS]);
    if (n > R.scan_max)
        R.scan_max = n;
    if (!woke)
        atomic_inc(&R.spurious);
    l1_account(t0);
    apic_eoi();
}

static void remap_irq(struct frame *f)
{
    uint64_t t0 = rdtsc();
    struct vcpu *v = this_cpu()->vcpu;

    this_cpu()->irq_count[f->vector]++;
    atomic_inc(&R.remap_irqs);
    burn(cfg.irq + cfg.inject);
    if (v)
        ((struct wvcpu *)v->user)->inject = 1;
    l1_account(t0);
    apic_eoi();
}

static void timer_irq(struct frame *f)
{
    apic_eoi();
}

/* ---- setup ---- */

static void galog_setup(uint32_t entries)
{
    uint32_t len = 0;
    while ((2u << len) < entries)
        len++;
    ring_bytes = entries * AMD_IOMMU_GALOG_ENTRY_SIZE;
    ring = alloc_pages((ring_bytes + PAGE_SIZE - 1) / PAGE_SIZE);
    tail_buf = alloc_page();
    iommu_msi_set(&io, VEC_GALOG, nr_cpus - 1);
    iommu_ctrl(&io, 0, AMD_IOMMU_CTRL_GALOG_EN | AMD_IOMMU_CTRL_GAINT_EN |
               AMD_IOMMU_CTRL_GAPPI_EN);
    iommu_write(&io, AMD_IOMMU_MMIO_STATUS,
                AMD_IOMMU_STATUS_GALOG_OVERFLOW | AMD_IOMMU_STATUS_GALOG_INT);
    iommu_write(&io, AMD_IOMMU_MMIO_GALOG_BASE,
                virt_to_phys(ring) | (uint64_t)len << AMD_IOMMU_RING_LEN_SHIFT);
    iommu_write(&io, AMD_IOMMU_MMIO_GALOG_TAIL_ADDR,
                virt_to_phys((void *)tail_buf) & AMD_IOMMU_GALOG_TAIL_ADDR_MASK);
    iommu_write(&io, AMD_IOMMU_MMIO_GALOG_HEAD, 0);
    iommu_write(&io, AMD_IOMMU_MMIO_GALOG_TAIL, 0);
    ring_head = 0;
    iommu_ctrl(&io, AMD_IOMMU_CTRL_GAM_VAPIC | AMD_IOMMU_CTRL_GALOG_EN |
               AMD_IOMMU_CTRL_GAINT_EN, AMD_IOMMU_CTRL_GAM_MASK);
    if (cfg.mode == M_GAPPI)
        iommu_ctrl(&io, AMD_IOMMU_CTRL_GAPPI_EN, 0);
}

static void vcpu_setup(struct wvcpu *w, uint32_t i)
{
    struct irte_ga e;

    w->idx = i;
    w->pcpu = 1 + i % cfg.pcpus;
    w->tag = (0x100 + i) << 8 | VEC_GAPPI;
    w->v = vcpu_create(vm, i, l2_main, w);
    w->v->user = w;
    w->v->on_exit = on_exit;
    w->irte = &irt[IRTE_BASE + i];
    vmcb_write64(w->v, VMCB_RFLAGS, 0x202);
    if (cfg.mode == M_GALOG || cfg.mode == M_GAPPI)
        vmcb_write32(w->v, VMCB_INTERCEPT_MISC1,
                     vmcb_read32(w->v, VMCB_INTERCEPT_MISC1) | INTERCEPT_HLT);
    if (cfg.mode == M_REMAP)
        irte_remap(&e, VEC_REMAP, w->pcpu);
    else
        irte_guest(&e, VEC_G, virt_to_phys(w->v->backing), w->pcpu, w->tag,
                   cfg.mode == M_RUNNING, true);
    irte_update(&io, edu.bdf, w->irte, e);
    w->hash_next = tag_hash[(w->tag >> 8) % TAG_HASH];
    tag_hash[(w->tag >> 8) % TAG_HASH] = w;
    struct pq *q = &pq[w->pcpu];
    q->mine[q->nmine++] = w;
    w->state = ST_RUNNING;
    w->runnable = 1;            /* runs once, halts, blocks */
}

/* A group's own parameters (compare-gappi.c ...), unless fw_cfg has some. */
#ifndef COMPARE_DEFAULTS
#define COMPARE_DEFAULTS "mode=galog:vcpus=2:n=200"
#define COMPARE_GROUP "compare"
#endif

static char point_name[48];

static void read_params(const char *s)
{
    static char word[16];
    param_str(s, "name", point_name, sizeof(point_name), "");
    const char *m = param_str(s, "mode", word, sizeof(word), "galog");
    cfg.mode = M_GALOG;
    for (unsigned i = 0; i < ARRAY_SIZE(mode_name); i++)
        if (!strcmp(m, mode_name[i]))
            cfg.mode = i;
    cfg.vcpus = param_u64(s, "vcpus", 1);
    if (cfg.vcpus < 1 || cfg.vcpus > MAX_VCPUS)
        cfg.vcpus = 1;
    cfg.pcpus = param_u64(s, "pcpus", cfg.vcpus);
    if (cfg.pcpus < 1 || cfg.pcpus > cfg.vcpus || (int)cfg.pcpus > nr_cpus - 2)
        cfg.pcpus = cfg.vcpus < (uint32_t)nr_cpus - 2 ? cfg.vcpus : (uint32_t)nr_cpus - 2;
    if (cfg.mode == M_RUNNING || cfg.mode == M_REMAP)
        cfg.vcpus = cfg.pcpus;          /* one spinning vCPU per CPU */
    cfg.n = param_u64(s, "n", 2000);
    cfg.rate = param_u64(s, "rate", 100000);
    cfg.burst = param_u64(s, "burst", 1);
    if (!cfg.burst)
        cfg.burst = 1;
    cfg.rr = param_u64(s, "rr", 0);
    cfg.think = param_u64(s, "think", 10000);
    cfg.wakedelay = param_u64(s, "wakedelay", 0);
    cfg.galog_entries = param_u64(s, "galog", AMD_IOMMU_GALOG_ENTRIES_512);
    if (cfg.galog_entries < 512 || cfg.galog_entries > 65536 ||
        (cfg.galog_entries & (cfg.galog_entries - 1)))
        cfg.galog_entries = AMD_IOMMU_GALOG_ENTRIES_512;
    cfg.irq = param_u64(s, "irq", 300);
    cfg.thread = param_u64(s, "thread", 2000);
    cfg.entry = param_u64(s, "entry", 200);
    cfg.wake = param_u64(s, "wake", 1000);
    cfg.scan = param_u64(s, "scan", 60);
    cfg.sched = param_u64(s, "sched", 1500);
    cfg.exit = param_u64(s, "exit", 562);
    cfg.inject = param_u64(s, "inject", 1000);
    if (cfg.n > MAX_SAMPLES)
        cfg.n = MAX_SAMPLES;
}

/* ---- the generator (CPU 0) ---- */

static void msi_to(struct wvcpu *w)
{
    uint64_t t = rdtsc();
    uint64_t zero = 0;
    if (!__atomic_compare_exchange_n(&w->t_first, &zero, t, false,
                                     __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
        R.coalesced++;
    /*
     * A GAPPI the IOMMU will not send: IsRun=0 and a bit already in the
     * IRR (amdvi_gappi_notify()'s rule), as the sender sees it.
     */
    if (cfg.mode == M_GAPPI && !(READ_ONCE(w->irte->lo) & AMD_IOMMU_IRTE_LO_IS_RUN) &&
        irr_pending(w))
        R.suppressed++;
    pci_write16(edu.bdf, msi_data_off, IRTE_BASE + w->idx);
    edu_raise(&edu, 1);
    R.sent++;
}

/* Halt until the TSC reaches @dl (the APIC timer counts ns at divide 1). */
static void sleep_until(uint64_t dl)
{
    for (;;) {
        cli();
        uint64_t now = rdtsc();
        if ((int64_t)(dl - now) <= 0) {
            sti();
            return;
        }
        uint64_t ns = tsc_ns(dl - now) + 1;
        apic_write(0x380, ns < 0xffffffffu ? ns : 0xffffffffu);
        safe_halt();
    }
}

static uint64_t pending_vcpus(void)
{
    uint64_t n = 0;
    for (uint32_t i = 0; i < cfg.vcpus; i++)
        n += READ_ONCE(wv[i].t_first) != 0;
    return n;
}

static void generate(void)
{
    uint64_t period = ns_tsc(cfg.rate ? 1000000000ull * cfg.burst / cfg.rate : 0);
    uint64_t dl = rdtsc();
    uint32_t next = 0;

    for (uint64_t i = 0; i < cfg.n; ) {
        if (cfg.rr) {
            struct wvcpu *w = &wv[next++ % cfg.vcpus];
            uint64_t d0 = w->delivered;
            msi_to(w);
            i++;
            uint64_t to = rdtsc() + ns_tsc(10000000);
            while (READ_ONCE(w->delivered) == d0 && (int64_t)(rdtsc() - to) < 0)
                sleep_until(rdtsc() + ns_tsc(1000));
            sleep_until(rdtsc() + ns_tsc(cfg.think));
            continue;
        }
        sleep_until(dl);
        for (uint32_t b = 0; b < cfg.burst && i < cfg.n; b++, i++)
            msi_to(&wv[next++ % cfg.vcpus]);
        dl += period;
    }
    /*
     * Let everything in flight land, then 0.2 ms more: at most 20 ms
     * under icount; 2 s otherwise, where the timing model's timers run
     * in QEMU's main loop thread, which a loaded host can hold up for
     * tens of ms.
     */
    uint64_t end = rdtsc() + ns_tsc(tsc_is_ns() ? 20000000 : 2000000000);
    while (pending_vcpus() && (int64_t)(rdtsc() - end) < 0)
        sleep_until(rdtsc() + ns_tsc(100000));
    sleep_until(rdtsc() + ns_tsc(200000));
}

static void isort(uint32_t *a, uint32_t n)
{
    /* Heap sort: the sample count can be 32768. */
    for (uint32_t start = n / 2; start-- > 0; ) {
        for (uint32_t r = start; 2 * r + 1 < n; ) {
            uint32_t c = 2 * r + 1;
            if (c + 1 < n && a[c + 1] > a[c])
                c++;
            if (a[r] >= a[c])
                break;
            uint32_t t = a[r]; a[r] = a[c]; a[c] = t;
            r = c;
        }
    }
    for (uint32_t end = n; end-- > 1; ) {
        uint32_t t = a[0]; a[0] = a[end]; a[end] = t;
        for (uint32_t r = 0; 2 * r + 1 < end; ) {
            uint32_t c = 2 * r + 1;
            if (c + 1 < end && a[c + 1] > a[c])
                c++;
            if (a[r] >= a[c])
                break;
            t = a[r]; a[r] = a[c]; a[c] = t;
            r = c;
        }
    }
}

static uint32_t pct(uint32_t n, uint32_t p10)    /* p10: per mille */
{
    if (!n)
        return 0;
    uint64_t rank = ((uint64_t)p10 * n + 999) / 1000;
    return lat[(rank ? rank : 1) - 1];
}

/*
 * The points of one run: fw_cfg files opt/qemu-avic/compare/0, /1, ...
 * (make compare runs several points per boot: a boot costs more than a
 * point), else opt/qemu-avic/compare, else this group's defaults.
 */
static int point_params(int i, char *buf, size_t size)
{
    char file[40];
    snprintf(file, sizeof(file), "opt/qemu-avic/compare/%d", i);
    if (fwcfg_read_file(file, buf, size) >= 0)
        return 1;
    if (i)
        return 0;
    if (fwcfg_read_file("opt/qemu-avic/compare", buf, size) < 0)
        snprintf(buf, size, "%s", COMPARE_DEFAULTS);
    return 1;
}

/* What the previous point left: counters, lists, the stop flag. */
static void point_reset(void)
{
    memset((void *)&R, 0, sizeof(R));
    memset(wv, 0, sizeof(wv));
    memset(pq, 0, sizeof(pq));
    memset(tag_hash, 0, sizeof(tag_hash));
    nlat = 0;
    WRITE_ONCE(stop, 0);
}

static void run_point(void);

int main(void)
{
    static char s[512];
    int npoints = 0;

    while (point_params(npoints, s, sizeof(s)))
        npoints++;
    tap_group(COMPARE_GROUP);
    tap_plan(1 + 3 * npoints);
    point_params(0, s, sizeof(s));
    read_params(s);

    bool have = iommu_init(&io) && edu_init(&edu) && nr_cpus >= 3;
    report(have, "IOMMU, edu and 3+ CPUs found");
    if (!have)
        tap_finish();
    if (!iommu_vapic_supported(&io) || !avic_supported() ||
        !iommu_gappi_supported(&io)) {
        tap_todo("issue 3/4 (IOMMU vAPIC mode, GAPPI or AVIC not offered)");
        for (int i = 0; i < 3 * npoints; i++)
            report(false, "workload");
        tap_finish();
    }

    int cap = pci_find_cap(edu.bdf, 0x05);
    msi_data_off = cap + ((pci_read16(edu.bdf, cap + 2) & 0x80) ? 12 : 8);
    irt = iommu_setup_irt(&io, edu.bdf, 8);
    pci_msi_set(edu.bdf, MSI_ADDR(0), IRTE_BASE);
    set_irq_handler(VEC_GALOG, galog_irq);
    set_irq_handler(VEC_KICK, kick_irq);
    set_irq_handler(VEC_GAPPI, gappi_irq);
    set_irq_handler(VEC_REMAP, remap_irq);
    set_irq_handler(VEC_TIMER, timer_irq);
    set_guest_irq_handler(VEC_G, l2_irq);
    svm_enable();
    /* CPU 0's APIC timer: one shot, divide by 1 (1 ns per count). */
    apic_write(0x3e0, 0xb);
    apic_write(0x320, VEC_TIMER);

    for (int i = 0; i < npoints; i++) {
        point_params(i, s, sizeof(s));
        point_reset();
        read_params(s);
        if (!point_name[0])
            snprintf(point_name, sizeof(point_name), "point %d", i);
        run_point();
    }
    return 0;
}

/* One point: set up its vCPUs and GA log, generate, print, check. */
static void run_point(void)
{
    galog_setup(cfg.galog_entries);

    vm = vm_create();
    vm_avic_init(vm, false, cfg.vcpus - 1);
    for (uint32_t i = 0; i < cfg.vcpus; i++)
        vcpu_setup(&wv[i], i);

    bool halting = cfg.mode == M_GALOG || cfg.mode == M_GAPPI;
    for (uint32_t c = 1; c <= cfg.pcpus; c++)
        on_cpu_async(c, halting ? pcpu_loop : pcpu_spin, NULL);
    /* Every vCPU runs once and blocks (or spins) before the first MSI. */
    uint64_t to = rdtsc() + ns_tsc(tsc_is_ns() ? 50000000 : 2000000000);
    for (uint32_t i = 0; i < cfg.vcpus && (int64_t)(rdtsc() - to) < 0; i++)
        while ((halting ? READ_ONCE(wv[i].state) != ST_BLOCKED || wv[i].runnable
                        : !wv[i].v->in_l2) && (int64_t)(rdtsc() - to) < 0)
            sleep_until(rdtsc() + ns_tsc(10000));
    uint64_t l1_0 = R.l1_ns, hlt0 = R.hlt_exits, self0 = R.wakeups_self;
    uint64_t t_start = rdtsc();

    generate();
    uint64_t t_end = rdtsc();
    /* What the run did, before the stop below adds its own kicks. */
    __typeof__(R) S;
    memcpy(&S, (const void *)&R, sizeof(S));

    uint64_t lost = pending_vcpus();
    uint64_t served = 0, delivered = 0;
    for (uint32_t i = 0; i < cfg.vcpus; i++) {
        served += wv[i].served;
        delivered += wv[i].delivered;
    }
    /* Stop: wake every vCPU so that its L2 sees stop and returns. */
    WRITE_ONCE(stop, 1);
    for (uint32_t i = 0; i < cfg.vcpus; i++) {
        WRITE_ONCE(wv[i].runnable, 1);
    }
    for (uint32_t c = 1; c <= cfg.pcpus; c++)
        apic_icr_write(VEC_KICK, c);
    for (uint32_t c = 1; c <= cfg.pcpus; c++)
        on_cpu_wait(c);

    uint32_t n = nlat < MAX_SAMPLES ? nlat : MAX_SAMPLES;
    isort(lat, n);
    uint64_t host_irqs = S.galog_irqs + S.gappi_irqs + S.remap_irqs + S.kicks;
    uint64_t l1 = S.l1_ns - l1_0;
    uint64_t wakeups = served ? served : 1;
    /* Four lines (printf's buffer is 512 bytes); the report joins them. */
    printf("# compare: name=%s\n", point_name);
    printf("# compare: irq=%llu thread=%llu wake=%llu sched=%llu inject=%llu tsc_khz=%llu\n",
           (unsigned long long)cfg.irq, (unsigned long long)cfg.thread,
           (unsigned long long)cfg.wake, (unsigned long long)cfg.sched,
           (unsigned long long)cfg.inject, (unsigned long long)tsc_khz);
    printf("# compare: mode=%s vcpus=%u pcpus=%u rate=%llu burst=%u rr=%llu think=%llu "
           "galog=%u n=%llu entry=%llu scan=%llu exit=%llu wakedelay=%llu virt_ns=%llu\n",
           mode_name[cfg.mode], cfg.vcpus, cfg.pcpus, (unsigned long long)cfg.rate,
           cfg.burst, (unsigned long long)cfg.rr, (unsigned long long)cfg.think,
           cfg.galog_entries, (unsigned long long)cfg.n, (unsigned long long)cfg.entry,
           (unsigned long long)cfg.scan, (unsigned long long)cfg.exit,
           (unsigned long long)cfg.wakedelay, (unsigned long long)tsc_ns(t_end - t_start));
    printf("# compare: sent=%llu coalesced=%llu delivered=%llu wakeups=%llu lost=%llu "
           "p50=%llu p90=%llu p99=%llu p999=%llu max=%llu min=%llu "
           "host_irqs=%llu host_irqs_x100=%llu l1_ns_per_wakeup=%llu\n",
           (unsigned long long)S.sent, (unsigned long long)S.coalesced,
           (unsigned long long)delivered, (unsigned long long)served,
           (unsigned long long)lost,
           (unsigned long long)tsc_ns(pct(n, 500)), (unsigned long long)tsc_ns(pct(n, 900)),
           (unsigned long long)tsc_ns(pct(n, 990)), (unsigned long long)tsc_ns(pct(n, 999)),
           (unsigned long long)tsc_ns(n ? lat[n - 1] : 0),
           (unsigned long long)tsc_ns(n ? lat[0] : 0),
           (unsigned long long)host_irqs, (unsigned long long)(host_irqs * 100 / wakeups),
           (unsigned long long)tsc_ns(l1 / wakeups));
    printf("# compare: galog_irqs=%llu entries=%llu entries_x100=%llu max_batch=%llu "
           "overflows=%llu stale=%llu gappi_irqs=%llu spurious=%llu scan_avg_x100=%llu "
           "scan_max=%llu kicks=%llu remap_irqs=%llu intr_exits=%llu hlt_exits=%llu "
           "self_wakeups=%llu gappi_suppressed=%llu\n",
           (unsigned long long)S.galog_irqs, (unsigned long long)S.entries,
           (unsigned long long)(S.galog_irqs ? S.entries * 100 / S.galog_irqs : 0),
           (unsigned long long)S.max_batch, (unsigned long long)S.overflows,
           (unsigned long long)S.stale, (unsigned long long)S.gappi_irqs,
           (unsigned long long)S.spurious,
           (unsigned long long)(S.gappi_irqs ? S.scanned * 100 / S.gappi_irqs : 0),
           (unsigned long long)S.scan_max, (unsigned long long)S.kicks,
           (unsigned long long)S.remap_irqs, (unsigned long long)S.intr_exits,
           (unsigned long long)(S.hlt_exits - hlt0),
           (unsigned long long)(S.wakeups_self - self0),
           (unsigned long long)S.suppressed);

    report(served > 0 && served + S.coalesced + lost == S.sent,
           "%s: %llu sent: %llu wake-ups + %llu coalesced + %llu still pending",
           point_name, (unsigned long long)S.sent, (unsigned long long)served,
           (unsigned long long)S.coalesced, (unsigned long long)lost);
    if (lost && !S.overflows) {
        /* Where each vCPU was, for whoever debugs a lost wake-up. */
        for (uint32_t i = 0; i < cfg.vcpus; i++) {
            struct wvcpu *w = &wv[i];
            diag("  vCPU %u on CPU %u: state %u runnable %u in_l2 %d pending %d "
                 "vmruns %llu exits %llu (last %#llx) IRTE lo %#llx",
                 i, w->pcpu, w->state, w->runnable, w->v->in_l2, w->t_first != 0,
                 (unsigned long long)w->v->vmruns, (unsigned long long)w->v->nr_exits,
                 (unsigned long long)w->v->exit_code, (unsigned long long)w->irte->lo);
        }
    }
    report(lost == 0 || S.overflows > 0,
           "%s: no interrupt left undelivered unless the GA log overflowed (%llu overflows)",
           point_name, (unsigned long long)S.overflows);
    bool path = false;
    switch (cfg.mode) {
    case M_GALOG:
        path = S.entries > 0 && S.galog_irqs > 0 && S.gappi_irqs == 0 && S.bad == 0;
        break;
    case M_GAPPI:
        path = S.gappi_irqs > 0 && S.entries == 0 && S.galog_irqs == 0;
        break;
    case M_RUNNING:
        path = host_irqs == 0 && S.intr_exits == 0 && S.entries == 0;
        break;
    case M_REMAP:
        path = S.remap_irqs > 0 && S.intr_exits > 0 && S.entries == 0;
        break;
    }
    report(path, "%s: the interrupts took the %s path", point_name,
           mode_name[cfg.mode]);
}
