/*
 * avic-fuzz: random AVIC programming and random L2 APIC traffic from a
 * seed, for the CPU side of the model, which QEMU's fuzzers cannot
 * reach (the qtest accelerator runs no guest code).
 *
 * Each iteration, on CPU 0, starts from a well-formed AVIC VM (xAVIC or
 * x2AVIC, as the seed draws; vCPU 0 runs, vCPU 1 has its backing page
 * in the arena and is marked running on CPU 1 or not) and then:
 *   - mutates a few of: the VMCB's AVIC fields (backing page, logical
 *     and physical table pointers, MAX_INDEX, APIC BAR, int_ctl bits,
 *     clean bits), physical and logical APIC ID table entries, and
 *     backing-page registers.  Pointers come from kinds that leave L1's
 *     own memory alone: the right page, a scratch arena page, no RAM,
 *     beyond MAXPHYADDR, reserved low bits set, MMIO (local APIC, I/O
 *     APIC), random above RAM;
 *   - runs an L2 script of random steps: xAPIC MMIO reads and writes,
 *     x2APIC RDMSR/WRMSR (800h-8FFh) with random values, ICR writes
 *     with random vector, type, shorthand and destination, CR8 writes,
 *     short STI windows that take what is pending;
 *   - handles each exit as a hypervisor would: a 402h fault or an MSR
 *     intercept at the access is emulated (a read gets 0, a write is
 *     dropped), 401h and 402h traps resume.
 * Meanwhile CPU 1 rings doorbells at CPU 0 (random values, reserved
 * bits too) and sets random IRR bits in the vCPU's backing page, as an
 * IOMMU would.
 *
 * Checked on every iteration (a failure prints the seed, the iteration
 * and its mutations; "seed=S first=I iters=1" replays it, CPU 1's
 * timing aside):
 *   - every exit is one of those above, or VMEXIT_INVALID at the
 *     script's first VMRUN; no script needs more than MAX_EXITS exits;
 *   - afterwards the well-formed VMCB runs and a self-IPI is delivered
 *     exactly once;
 * and at the end: L1 took no interrupt it did not ask for.
 *
 * Parameters (all optional):
 *   -fw_cfg name=opt/avic-fuzz,string="seed=S iters=N first=I"
 * tests/fuzz/avic-guest.sh runs it over many seeds for a time budget.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "svm.h"
#include "fwcfg.h"

#define MAX_STEPS       24
#define MAX_MUTATIONS   6
#define MAX_EXITS       2000
#define NARENA          4
#define VEC_CHECK       0x61            /* recovery self-IPI; nobody else sends it */
#define OUTSIDE_RAM     0xf000000000ULL /* < 2^40, no RAM there */
#define LAPIC_MMIO      0xfee00000ULL
#define IOAPIC_MMIO     0xfec00000ULL

extern volatile uint64_t unexpected_irqs;

enum { ST_MMIO_RD, ST_MMIO_WR, ST_RDMSR, ST_WRMSR, ST_ICR, ST_CR8, ST_STI, ST__MAX };
struct step {
    uint8_t op;
    uint32_t a;
    uint64_t b;
};

enum { MU_VMCB, MU_PHYS, MU_LOG, MU_REG, MU__MAX };
struct mutation {
    uint8_t kind;
    uint16_t where;
    uint64_t val;
};

static struct {
    struct vm *vm;
    struct vcpu *v;
    uint8_t *arena[NARENA];
    uint64_t rng;
    uint32_t base_ctl;                  /* int_ctl before AVIC */
    unsigned maxphys;                   /* CPUID 8000_0008h.EAX[7:0] */
    bool x2;                            /* this iteration's mode */
    int nsteps, nmut;
    struct step step[MAX_STEPS];
    struct mutation mut[MAX_MUTATIONS];
    /* what happened, over the run (exits: the vCPU's own counters) */
    uint64_t l2_gp, doorbells, doorbell_gp, posts;
    volatile uint32_t quit, pause, paused;
} F;

static const char *const mu_name[MU__MAX] = { "vmcb", "phys", "log", "reg" };

static uint64_t rnd(uint64_t n)
{
    return n ? rng64(&F.rng) % n : rng64(&F.rng);
}

/* ---- random values that keep L1 alive ---- */

static uint64_t rand_ptr(uint64_t good)
{
    switch (rnd(9)) {
    case 0:
    case 1:
        return good;
    case 2:
        return virt_to_phys(F.arena[rnd(NARENA)]);
    case 3:
        return OUTSIDE_RAM + (rnd(256) << 12);
    case 4:
        return F.maxphys < 52 ? 1ULL << F.maxphys | good : OUTSIDE_RAM;
    case 5:
        return good | (1 + rnd(0xfff));
    case 6:
        return rnd(2) ? LAPIC_MMIO : IOAPIC_MMIO;
    case 7:
        return 0;
    default: {
        uint64_t r = rnd(0);
        /* Anywhere but RAM: L1's code and tables live there. */
        return r | 1ULL << 39;
    }
    }
}

static uint32_t rand_max_index(void)
{
    switch (rnd(4)) {
    case 0:
        return rnd(4);
    case 1:
        return AVIC_XAVIC_MAX_INDEX;
    case 2:
        return AVIC_X2AVIC_MAX_INDEX;
    default:
        return rnd(4096);
    }
}

static uint64_t rand_phys_entry(void)
{
    uint64_t e = rand_ptr(virt_to_phys(F.v->backing)) & AVIC_PHYS_ENTRY_BACKING_MASK;

    e |= rnd(4) ? rnd(4) : rnd(0x1000);                 /* host APIC ID */
    e |= rnd(2) ? AVIC_PHYS_ENTRY_VALID : 0;
    e |= rnd(2) ? AVIC_PHYS_ENTRY_IS_RUNNING : 0;
    e |= rnd(8) ? 0 : rnd(0) & AVIC_PHYS_ENTRY_RSVD_MASK;
    return e;
}

/* A vector for IRR bits and ICRs: never 16-31 (the L2's IDT has the
 * exception stubs there, some of which expect an error code). */
static uint32_t rand_vector(void)
{
    return rnd(16) ? 32 + rnd(224) : rnd(16);
}

/* ---- the well-formed VM, and mutations of it ---- */

static void msr_intercepts(uint32_t ctl)
{
    bool pass = (ctl & AVIC_INT_CTL_AVIC_EN) && (ctl & AVIC_INT_CTL_X2AVIC_EN);

    /* Never let the L2 reach L1's own x2APIC. */
    for (uint32_t m = AVIC_X2APIC_MSR_BASE; m <= AVIC_X2APIC_MSR_LAST; m++)
        msrpm_set(F.v, m, !pass, !pass);
}

static void arena_fill(void)
{
    for (int i = 0; i < NARENA; i++) {
        uint64_t *p = (uint64_t *)F.arena[i];
        for (int k = 0; k < 512; k++)
            p[k] = rand_phys_entry();
    }
}

static void vm_restore(bool x2)
{
    struct vcpu *v = F.v;

    F.x2 = x2;
    F.vm->x2avic = x2;
    memset(F.vm->phys_table, 0, PAGE_SIZE);
    memset(F.vm->log_table, 0, PAGE_SIZE);
    vmcb_write32(v, VMCB_INT_CTL, F.base_ctl);
    vcpu_avic_init(v);
    /* A second vCPU (APIC ID 1), its backing page in the arena, now
     * running on CPU 1 and now not: a target accelerated IPIs can reach. */
    F.vm->phys_table[1] = virt_to_phys(F.arena[0]) | AVIC_PHYS_ENTRY_VALID |
                          (rnd(2) ? AVIC_PHYS_ENTRY_IS_RUNNING | 1 : 0);
    vmcb_write32(v, VMCB_CLEAN, 0);
    msr_intercepts(vmcb_read32(v, VMCB_INT_CTL));
}

static const unsigned vmcb_fields[] = {
    AVIC_VMCB_BACKING_PAGE, AVIC_VMCB_LOGICAL_TABLE, AVIC_VMCB_PHYSICAL_TABLE,
    AVIC_VMCB_APIC_BAR, AVIC_VMCB_INT_CTL, AVIC_VMCB_CLEAN,
};

static void mutate_vmcb(struct mutation *m)
{
    unsigned off = vmcb_fields[rnd(ARRAY_SIZE(vmcb_fields))];
    uint64_t old = vmcb_read64(F.v, off), val;

    switch (off) {
    case AVIC_VMCB_PHYSICAL_TABLE:
        val = (rand_ptr(old & AVIC_VMCB_ADDR_MASK) & ~AVIC_VMCB_PHYS_MAX_INDEX_MASK) |
              rand_max_index();
        break;
    case AVIC_VMCB_INT_CTL: {
        static const uint32_t bits[] = {
            AVIC_INT_CTL_AVIC_EN, AVIC_INT_CTL_X2AVIC_EN, AVIC_INT_CTL_V_INTR_MASKING,
        };
        uint32_t ctl = old;
        if (rnd(2))
            ctl ^= bits[rnd(ARRAY_SIZE(bits))];
        else
            ctl = (ctl & ~AVIC_INT_CTL_V_TPR_MASK) | rnd(16);
        val = (old & ~0xffffffffULL) | ctl;
        msr_intercepts(ctl);
        break;
    }
    case AVIC_VMCB_CLEAN:
        val = rnd(0) & 0xffffffff;
        break;
    default:
        val = rand_ptr(old);
    }
    vmcb_write64(F.v, off, val);
    m->where = off;
    m->val = val;
}

static void mutate(struct mutation *m)
{
    m->kind = rnd(MU__MAX);
    switch (m->kind) {
    case MU_VMCB:
        mutate_vmcb(m);
        break;
    case MU_PHYS:
        m->where = rnd(4) ? rnd(4) : rnd(512);
        m->val = rand_phys_entry();
        F.vm->phys_table[m->where] = m->val;
        break;
    case MU_LOG:
        m->where = rnd(1024);
        m->val = rnd(2) ? rnd(0) & 0xffffffff :
                 (rnd(2) ? AVIC_LOG_ENTRY_VALID : 0) | rnd(8);
        F.vm->log_table[m->where] = m->val;
        break;
    default: {
        uint32_t off = rnd(0x54) << 4, val = rnd(0);
        if (off == APIC_REG_IRR)
            val = 0;                    /* vectors 0-31: see rand_vector() */
        else if (off > APIC_REG_IRR && off < APIC_REG_IRR + 0x80 && rnd(2))
            val = 1u << (rand_vector() & 31);
        *avic_reg(F.v, off) = val;
        m->where = off;
        m->val = val;
    }
    }
}

/* ---- the L2 ---- */

static void l2_icr(uint32_t lo, uint32_t dest)
{
    if (F.x2) {
        if (wrmsr_safe(AVIC_X2APIC_MSR_BASE + (APIC_REG_ICR_LO >> 4),
                       (uint64_t)dest << 32 | lo) >= 0)
            F.l2_gp++;
    } else {
        l2_mmio_write32(F.vm->apic_bar + APIC_REG_ICR_HI, dest << 24);
        l2_mmio_write32(F.vm->apic_bar + APIC_REG_ICR_LO, lo);
    }
}

static void l2_script(void *arg)
{
    for (int i = 0; i < F.nsteps; i++) {
        struct step *s = &F.step[i];
        uint64_t x;

        switch (s->op) {
        case ST_MMIO_RD:
            (void)l2_mmio_read32(F.vm->apic_bar + s->a);
            break;
        case ST_MMIO_WR:
            l2_mmio_write32(F.vm->apic_bar + s->a, s->b);
            break;
        case ST_RDMSR:
            F.l2_gp += rdmsr_safe(s->a, &x) >= 0;
            break;
        case ST_WRMSR:
            F.l2_gp += wrmsr_safe(s->a, s->b) >= 0;
            break;
        case ST_ICR:
            l2_icr(s->b, s->a);
            break;
        case ST_CR8:
            asm volatile("mov %0, %%cr8" :: "r"((uint64_t)s->a) : "memory");
            break;
        case ST_STI:
            sti();
            for (volatile uint32_t k = 0; k < s->a; k++)
                ;
            cli();
            break;
        }
    }
}

static void make_script(void)
{
    F.nsteps = 1 + rnd(MAX_STEPS);
    for (int i = 0; i < F.nsteps; i++) {
        struct step *s = &F.step[i];

        s->op = rnd(ST__MAX);
        s->b = rnd(2) ? rnd(0) : rnd(0) & 0xffffffff;
        switch (s->op) {
        case ST_MMIO_RD:
        case ST_MMIO_WR:
            s->a = rnd(0x400) << 2;
            break;
        case ST_RDMSR:
        case ST_WRMSR:
            s->a = AVIC_X2APIC_MSR_BASE + rnd(0x100);
            break;
        case ST_ICR:
            if (rnd(2)) {       /* what AVIC accelerates: fixed, edge, no shorthand */
                s->b = (32 + rnd(224)) | (rnd(4) ? 0 : APIC_DEST_LOGICAL);
                s->a = rnd(3);
                break;
            }
            /* vector, delivery mode, destination mode, level, trigger,
             * shorthand; now and then the reserved bits too */
            s->b = rand_vector() | rnd(8) << 8 | rnd(2) << 11 | rnd(2) << 14 |
                   rnd(2) << 15 | rnd(4) << 18;
            if (!rnd(8))
                s->b |= rnd(0) & 0xfff03000;
            s->a = rnd(4) ? rnd(4) : (F.x2 ? rnd(0) & 0xffffffff : rnd(256));
            break;
        case ST_CR8:
            s->a = rnd(16);
            break;
        case ST_STI:
            s->a = rnd(2000);
            break;
        }
    }
}

/* ---- the L1's exit handling ---- */

static int fuzz_exit(struct vcpu *v)
{
    int where = l2_rip_class(v->exit_rip);

    if (v->nr_exits > MAX_EXITS)
        return VCPU_STOP;
    switch (v->exit_code) {
    case AVIC_EXIT_NOACCEL:
        if (where == RIP_AT_INSN)       /* a fault: emulate it away */
            l2_emulate_skip(v, 0);
        return VCPU_HANDLED;
    case SVM_EXIT_MSR:
        l2_emulate_skip(v, 0);          /* every RDMSR/WRMSR is 2 bytes */
        return VCPU_HANDLED;
    case SVM_EXIT_NPF:
        if (where != RIP_AT_INSN)
            return VCPU_STOP;
        l2_emulate_skip(v, 0);
        return VCPU_HANDLED;
    case AVIC_EXIT_INCOMPLETE_IPI:
    case SVM_EXIT_INTR:
    case SVM_EXIT_VMMCALL:
    case SVM_EXIT_INVALID:
        return VCPU_CONTINUE;
    default:
        return VCPU_STOP;
    }
}

/*
 * Run the current script to its end (HC_DONE).  Returns NULL, or what
 * went wrong.
 */
static const char *run_script(void)
{
    struct vcpu *v = F.v;
    uint64_t runs0 = v->vmruns;

    v->fn = l2_script;
    vcpu_reset_guest(v);
    v->on_exit = fuzz_exit;
    v->nr_exits = 0;
    if (vcpu_run(v) == SVM_EXIT_INVALID)
        return v->vmruns == runs0 + 1 ? NULL : "VMEXIT_INVALID after the first VMRUN";
    if (v->done)
        return NULL;
    return v->nr_exits > MAX_EXITS ? "more than MAX_EXITS exits" :
           "an exit no hypervisor expects here";
}

/* The well-formed VM again: runs, and delivers one self-IPI once. */
static void l2_check(void *arg)
{
    apic_icr_write(APIC_SH_SELF | VEC_CHECK, 0);
    sti();
    for (volatile int k = 0; k < 1000; k++)
        ;
    cli();
}

static const char *recover(void)
{
    struct vcpu *v = F.v;
    uint32_t before = v->irq_count[VEC_CHECK];

    vm_restore(F.x2);
    v->fn = l2_check;
    vcpu_reset_guest(v);
    v->on_exit = NULL;                  /* any exit but INTR/VMMCALL stops */
    vcpu_run(v);
    if (!v->done)
        return "the well-formed VMCB did not run to its end";
    if (v->irq_count[VEC_CHECK] != before + 1)
        return "the self-IPI was not delivered exactly once";
    return NULL;
}

/* ---- CPU 1: doorbells and IOMMU-like IRR writes ---- */

static void noise(void *arg)
{
    uint64_t s = F.rng ^ 0x5a5a5a5a5a5a5a5aULL;

    while (!READ_ONCE(F.quit)) {
        if (READ_ONCE(F.pause)) {
            __atomic_store_n(&F.paused, 1, __ATOMIC_SEQ_CST);
            cpu_relax();
            continue;
        }
        __atomic_store_n(&F.paused, 0, __ATOMIC_SEQ_CST);
        uint64_t r = rng64(&s);
        switch (r % 4) {
        case 0:
        case 1: {
            uint64_t val = r % 3 ? 0 : rng64(&s);   /* APIC ID 0: CPU 0 */
            F.doorbell_gp += wrmsr_safe(AVIC_MSR_DOORBELL, val) >= 0;
            F.doorbells++;
            break;
        }
        default: {
            uint32_t vec = 32 + (r >> 8) % 224;
            if (vec == VEC_CHECK)
                break;
            __atomic_fetch_or((uint32_t *)avic_reg(F.v, APIC_REG_IRR + (vec >> 5) * 0x10),
                              1u << (vec & 31), __ATOMIC_SEQ_CST);
            F.posts++;
            wrmsr_safe(AVIC_MSR_DOORBELL, 0);
        }
        }
        udelay((r >> 32) % 64);
    }
}

/* Both ways wait for CPU 1 to see it: after set_noise(false) returns,
 * CPU 1 does nothing until set_noise(true). */
static void set_noise(bool on)
{
    __atomic_store_n(&F.pause, !on, __ATOMIC_SEQ_CST);
    if (!wait_until(READ_ONCE(F.paused) == !on, 1000000))
        panic("CPU 1 does not answer");
}

/* ---- main ---- */

static void print_iteration(uint64_t seed, uint64_t it, const char *what)
{
    printf("# FAIL seed=%llu iteration %llu (%s): %s; exit %#llx info1 %#llx info2 %#llx "
           "rip %#llx\n", (unsigned long long)seed, (unsigned long long)it,
           F.x2 ? "x2avic" : "xavic", what, (unsigned long long)F.v->exit_code,
           (unsigned long long)F.v->exit_info1, (unsigned long long)F.v->exit_info2,
           (unsigned long long)F.v->exit_rip);
    for (int i = 0; i < F.nmut; i++)
        printf("#   mutation %s %#x = %#llx\n", mu_name[F.mut[i].kind], F.mut[i].where,
               (unsigned long long)F.mut[i].val);
    for (int i = 0; i < F.nsteps; i++)
        printf("#   step %d: op %u a %#x b %#llx\n", i, F.step[i].op, F.step[i].a,
               (unsigned long long)F.step[i].b);
}

int main(void)
{
    char params[128] = "";
    uint64_t seed, iters, first, bad = 0, bad_recover = 0, t0;
    const char *why;

    fwcfg_read_file("opt/avic-fuzz", params, sizeof(params));
    seed = param_u64(params, "seed", 1);
    iters = param_u64(params, "iters", 400);
    first = param_u64(params, "first", 0);

    tap_group("avic-fuzz");
    tap_plan(3);
    tap_todo(avic_supported() ? NULL : "AVIC not offered by this CPU");
    if (TODO_ACTIVE || nr_cpus < 2) {
        report(false, "every exit of every random script is one a hypervisor handles");
        report(false, "after every iteration the well-formed VMCB runs and delivers once");
        report(false, "L1 took no interrupt it did not ask for");
        return 0;
    }
    svm_enable();
    F.vm = vm_create();
    vm_avic_init(F.vm, false, 1);
    F.v = vcpu_create(F.vm, 0, l2_script, NULL);
    F.base_ctl = vmcb_read32(F.v, VMCB_INT_CTL);
    F.maxphys = cpu_maxphys();
    for (int i = 0; i < NARENA; i++)
        F.arena[i] = alloc_page();
    for (int vec = 32; vec < 256; vec++)
        set_guest_irq_handler(vec, avic_guest_handler);

    on_cpu_async(1, noise, NULL);
    t0 = now_us();
    for (uint64_t it = first; it < first + iters; it++) {
        /* Each iteration draws from its own stream: "first=" replays one. */
        F.rng = seed * 0x100000001b3ULL ^ it;
        rng64(&F.rng);
        set_noise(false);
        vm_restore(x2avic_supported() && rnd(2));
        arena_fill();
        F.nmut = rnd(MAX_MUTATIONS + 1);
        for (int i = 0; i < F.nmut; i++)
            mutate(&F.mut[i]);
        make_script();
        set_noise(true);
        why = run_script();
        /*
         * With V_INTR_MASKING clear, the L2's CR8 writes went to this
         * CPU's own TPR (APM 15.21.1): a hypervisor that allows that
         * restores it, or the next IPI to L1 waits behind it.
         */
        asm volatile("mov %0, %%cr8" :: "r"(0ULL) : "memory");
        set_noise(false);
        if (why && bad++ < 3)
            print_iteration(seed, it, why);
        why = recover();
        if (why && bad_recover++ < 3)
            print_iteration(seed, it, why);
        if ((it - first + 1) % 1000 == 0)
            diag("%llu iterations, %llu s", (unsigned long long)(it - first + 1),
                 (unsigned long long)((now_us() - t0) / 1000000));
    }
    F.quit = 1;
    on_cpu_wait(1);

    /* The scripts' exits and the recovery runs' together; "other" is the
     * MSR intercepts (any other exit fails the first check). */
    struct vcpu *v = F.v;
    diag("seed %llu, iterations %llu-%llu in %llu ms: %llu VMRUNs (%llu VMEXIT_INVALID), "
         "exits intr %llu vmmcall %llu npf %llu 401h %llu 402h %llu other %llu; "
         "L2 #GPs %llu, L2 interrupts %llu; CPU 1: %llu doorbells (%llu #GP), %llu IRR posts",
         (unsigned long long)seed, (unsigned long long)first,
         (unsigned long long)(first + iters - 1), (unsigned long long)((now_us() - t0) / 1000),
         (unsigned long long)v->vmruns, (unsigned long long)v->exit_invalid,
         (unsigned long long)v->exit_intr, (unsigned long long)v->exit_vmmcall,
         (unsigned long long)v->exit_npf, (unsigned long long)v->exit_401,
         (unsigned long long)v->exit_402, (unsigned long long)v->exit_other,
         (unsigned long long)F.l2_gp, (unsigned long long)v->irq_total,
         (unsigned long long)F.doorbells, (unsigned long long)F.doorbell_gp,
         (unsigned long long)F.posts);
    counts.exit_401 += v->exit_401;
    counts.exit_402 += v->exit_402;
    counts.doorbells += F.doorbells;
    report(bad == 0, "every exit of every random script is one a hypervisor handles "
           "(%llu of %llu iterations bad)", (unsigned long long)bad, (unsigned long long)iters);
    report(bad_recover == 0, "after every iteration the well-formed VMCB runs and delivers "
           "once (%llu of %llu iterations bad)", (unsigned long long)bad_recover,
           (unsigned long long)iters);
    report(unexpected_irqs == 0, "L1 took no interrupt it did not ask for (%llu)",
           (unsigned long long)unexpected_irqs);
    return 0;
}
