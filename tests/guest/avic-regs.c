/*
 * avic-regs: the AVIC register access table (svm-avic.md section 3.2,
 * APM vol. 2 table 15-22) row by row, for xAVIC (MMIO at the APIC BAR
 * through NPT) and x2AVIC (MSRs 800h+, MSR permission map clear).
 *
 * Every access runs in a fresh L2 on the BSP.  Before it, the backing
 * page holds the reset values plus a pattern in the register under
 * test.  The L1 handles AVIC_NOACCEL (402h): an exit with RIP at the
 * access instruction is a fault (the L1 emulates: reads get EMUL, writes
 * are dropped, RIP += 2); RIP after the instruction is a trap.
 *
 *   allowed read   no exit, the backing page's 32 bits come back
 *   fault          exit 402h, EXITINFO1 = write << 32 | offset, RIP at the
 *                  instruction, nothing written
 *   trap write     value in the backing page, exit 402h, RIP after
 *   accelerated    TPR (V_TPR follows), edge EOI (ISR bit cleared),
 *                  ICR low / SELF_IPI (IPI delivered): no exit
 *   level EOI      exit 402h, EXITINFO2[7:0] = vector, ISR left set (the
 *                  project's decision, what KVM and Xen rely on)
 *
 * x2AVIC [UNC in svm-avic.md, decided here from section 3.1's order
 * "MSR intercept, then x2APIC checks, then AVIC"]: accesses that x2APIC
 * itself forbids raise #GP in the L2 without an exit: writes to the
 * read-only ID, version, PPR, LDR, ISR/TMR/IRR and current-count MSRs,
 * reads of the write-only EOI and SELF_IPI, and any access to 80Ch
 * (RRR), 80Eh (DFR) and 831h (ICR high), which x2APIC does not have.
 * x2APIC's read-only rule also makes writes to 809h (APR) and 840h (ext
 * APIC feature) #GP, and 842h (SEOI) reads; 82Fh does not exist on AMD.
 * WRMSR values with reserved bits set #GP too (issue 9): ICR bits 31:20,
 * 17:16, 13 and 12 (AMD requires Delivery Status to be zero), bits 63:32
 * of every other MSR, and any non-zero ESR (or EOI) value.
 *
 * Unlisted xAPIC offsets (010h, 430h, 470h here) are plain read/write
 * ([APM] p.568).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "svm.h"

#define EMUL        0xe5e5e5e5u     /* what the L1 returns for a fault read */
#define VEC_SELF    0x72
#define VEC_SELF2   0x73
#define VEC_EOI     0x70
#define VEC_LEVEL   0x71

enum kind { K_NONE, K_ALLOW, K_ALLOW_NOVAL, K_FAULT, K_TRAP, K_ACCEL, K_GP };
static const char *const kind_name[] = {
    "-", "allowed", "allowed", "fault", "trap", "accelerated", "#GP",
};

struct row {
    uint16_t off;
    const char *name;
    uint8_t rd, wr;
    uint64_t wval;          /* value written for allowed/trap writes,
                             * and for #GP writes if not 0 */
};

#define LVT_W   0x10041     /* masked, fixed, vector 41h: legal everywhere */
static struct row xrows[] = {
    { 0x010, "unlisted 010h", K_ALLOW, K_ALLOW, 0x1234 },
    { 0x020, "APIC ID", K_ALLOW, K_TRAP, 0x07000000 },
    { 0x030, "version", K_ALLOW, K_FAULT },
    { 0x080, "TPR", K_ALLOW, K_ACCEL },
    { 0x090, "APR", K_FAULT, K_FAULT },
    { 0x0a0, "PPR", K_ALLOW_NOVAL, K_FAULT },
    { 0x0b0, "EOI", K_ALLOW, K_ACCEL },
    { 0x0c0, "RRR", K_ALLOW, K_TRAP, 0x12345 },
    { 0x0d0, "LDR", K_ALLOW, K_TRAP, 0x02000000 },
    { 0x0e0, "DFR", K_ALLOW, K_TRAP, 0x0fffffff },
    { 0x0f0, "SVR", K_ALLOW, K_TRAP, 0x1ff },
    { 0x100, "ISR0", K_ALLOW, K_FAULT },
    { 0x170, "ISR7", K_ALLOW, K_FAULT },
    { 0x180, "TMR0", K_ALLOW, K_FAULT },
    { 0x1f0, "TMR7", K_ALLOW, K_FAULT },
    { 0x200, "IRR0", K_ALLOW, K_FAULT },
    { 0x270, "IRR7", K_ALLOW, K_FAULT },
    { 0x280, "ESR", K_ALLOW, K_TRAP, 0 },
    { 0x300, "ICR low", K_ALLOW, K_ACCEL },
    { 0x310, "ICR high", K_ALLOW, K_ALLOW, 0x03000000 },
    { 0x320, "LVT timer", K_ALLOW, K_TRAP, LVT_W },
    { 0x330, "LVT thermal", K_ALLOW, K_TRAP, LVT_W },
    { 0x340, "LVT perf", K_ALLOW, K_TRAP, LVT_W },
    { 0x350, "LVT LINT0", K_ALLOW, K_TRAP, LVT_W },
    { 0x360, "LVT LINT1", K_ALLOW, K_TRAP, LVT_W },
    { 0x370, "LVT error", K_ALLOW, K_TRAP, LVT_W },
    { 0x380, "timer initial count", K_ALLOW, K_TRAP, 1000 },
    { 0x390, "timer current count", K_FAULT, K_FAULT },
    { 0x3e0, "timer divide", K_ALLOW, K_TRAP, 0xb },
    { 0x400, "ext APIC feature", K_FAULT, K_FAULT },
    { 0x410, "ext APIC control", K_FAULT, K_FAULT },
    { 0x420, "SEOI", K_FAULT, K_FAULT },
    { 0x430, "unlisted 430h", K_ALLOW, K_ALLOW, 0x4321 },
    { 0x470, "unlisted 470h", K_ALLOW, K_ALLOW, 0x4765 },
    { 0x480, "IER0", K_FAULT, K_FAULT },
    { 0x500, "ext LVT0", K_FAULT, K_FAULT, LVT_W },     /* fixed up from EDX[27] */
    { 0x540, "reserved 540h", K_FAULT, K_FAULT },
    { 0xff0, "reserved ff0h", K_FAULT, K_FAULT },
};

static struct row x2rows[] = {
    { 0x020, "802h ID", K_ALLOW, K_GP },
    { 0x030, "803h version", K_ALLOW, K_GP },
    { 0x080, "808h TPR", K_ALLOW, K_ACCEL },
    { 0x090, "809h APR", K_FAULT, K_GP },
    { 0x0a0, "80Ah PPR", K_ALLOW_NOVAL, K_GP },
    { 0x0b0, "80Bh EOI", K_GP, K_ACCEL },
    { 0x0c0, "80Ch (no RRR in x2APIC)", K_GP, K_GP },
    { 0x0d0, "80Dh LDR", K_ALLOW, K_GP },
    { 0x0e0, "80Eh (no DFR in x2APIC)", K_GP, K_GP },
    { 0x0f0, "80Fh SVR", K_ALLOW, K_TRAP, 0x1ff },
    { 0x100, "810h ISR0", K_ALLOW, K_GP },
    { 0x170, "817h ISR7", K_ALLOW, K_GP },
    { 0x180, "818h TMR0", K_ALLOW, K_GP },
    { 0x200, "820h IRR0", K_ALLOW, K_GP },
    { 0x270, "827h IRR7", K_ALLOW, K_GP },
    { 0x280, "828h ESR", K_ALLOW, K_TRAP, 0 },
    { 0x280, "828h ESR, non-zero", K_NONE, K_GP, 1 },
    { 0x2f0, "82Fh (no LVT CMCI on AMD)", K_GP, K_GP },
    { 0x300, "830h ICR", K_ALLOW, K_ACCEL },
    { 0x300, "830h ICR, reserved bits 31:20", K_NONE, K_GP, 0xa5a5a5a5a5a5a0a5ull },
    { 0x300, "830h ICR, Delivery Status set", K_NONE, K_GP, APIC_ICR_BUSY | APIC_SH_SELF | VEC_SELF },
    { 0x300, "830h ICR, reserved bit 13", K_NONE, K_GP, BIT(13) | APIC_SH_SELF | VEC_SELF },
    { 0x300, "830h ICR, reserved bit 16", K_NONE, K_GP, BIT(16) | APIC_SH_SELF | VEC_SELF },
    { 0x310, "831h (no ICR high in x2APIC)", K_GP, K_GP },
    { 0x320, "832h LVT timer", K_ALLOW, K_TRAP, LVT_W },
    { 0x330, "833h LVT thermal", K_ALLOW, K_TRAP, LVT_W },
    { 0x340, "834h LVT perf", K_ALLOW, K_TRAP, LVT_W },
    { 0x350, "835h LVT LINT0", K_ALLOW, K_TRAP, LVT_W },
    { 0x360, "836h LVT LINT1", K_ALLOW, K_TRAP, LVT_W },
    { 0x370, "837h LVT error", K_ALLOW, K_TRAP, LVT_W },
    { 0x380, "838h timer initial count", K_ALLOW, K_TRAP, 1000 },
    { 0x390, "839h timer current count", K_FAULT, K_GP },
    { 0x3e0, "83Eh timer divide", K_ALLOW, K_TRAP, 0xb },
    { 0x3f0, "83Fh SELF_IPI", K_GP, K_ACCEL },
    { 0x3f0, "83Fh SELF_IPI, bit 32", K_NONE, K_GP, BIT(32) | VEC_SELF },
    { 0x080, "808h TPR, bit 32", K_NONE, K_GP, BIT(32) },
    { 0x0f0, "80Fh SVR, bit 63", K_NONE, K_GP, BIT(63) | 0x1ff },
    { 0x380, "838h timer initial count, bit 32", K_NONE, K_GP, BIT(32) | 1000 },
    { 0x400, "840h ext APIC feature (read-only)", K_FAULT, K_GP },
    { 0x410, "841h ext APIC control", K_FAULT, K_FAULT },
    { 0x420, "842h SEOI (write-only)", K_GP, K_FAULT },
    { 0x430, "843h (no such x2APIC MSR)", K_GP, K_GP },
    { 0x480, "848h IER0", K_FAULT, K_FAULT },
    { 0x500, "850h ext LVT0", K_FAULT, K_FAULT, LVT_W },
};

/* ---- one access in a fresh L2 ---- */

struct acc {
    uint16_t off;
    bool write, x2;
    uint64_t val;
    uint64_t result;
    int exc;
};
static struct acc A;
static struct vcpu *cur;

static void l2_access(void *arg)
{
    if (A.x2) {
        uint32_t msr = AVIC_X2APIC_MSR_BASE + (A.off >> 4);
        A.exc = A.write ? wrmsr_safe(msr, A.val) : rdmsr_safe(msr, (uint64_t *)&A.result);
    } else {
        uint64_t addr = AVIC_DEFAULT_APIC_BAR + A.off;
        A.exc = -1;
        if (A.write)
            l2_mmio_write32(addr, A.val);
        else
            A.result = l2_mmio_read32(addr);
    }
}

struct outcome {
    bool done;
    uint64_t exits, e402, e401, emsr;
    uint64_t info1, info2;
    int rip;
    uint64_t result;
    int exc;
    uint32_t after;
};

static int emsr_count;
static int regs_on_exit(struct vcpu *v)
{
    if (v->exit_code == AVIC_EXIT_NOACCEL) {
        if (l2_rip_class(v->exit_rip) == RIP_AT_INSN)
            l2_emulate_skip(v, EMUL);
        return VCPU_HANDLED;
    }
    if (v->exit_code == SVM_EXIT_MSR) {
        emsr_count++;
        l2_emulate_skip(v, EMUL);
        return VCPU_HANDLED;
    }
    return VCPU_CONTINUE;
}

static uint32_t pattern(uint16_t off)
{
    return 0x00a50000u | off;
}

/* Run fn in the L2 with the backing page reset and "off" = pattern. */
static void run_l2(struct vcpu *v, void (*fn)(void *), uint16_t off, struct outcome *o)
{
    avic_backing_reset(v);
    if (off < 0x1000) {
        *avic_reg(v, off) = pattern(off);
        if (off == APIC_REG_ICR_LO)
            *avic_reg(v, APIC_REG_ICR_HI) = pattern(APIC_REG_ICR_HI);
    }
    uint64_t e0 = v->nr_exits, a0 = v->exit_402, b0 = v->exit_401;
    v->last_402_info1 = v->last_402_info2 = ~0ULL;
    v->last_402_rip = 0;
    emsr_count = 0;
    v->fn = fn;
    vcpu_reset_guest(v);
    vcpu_run(v);
    o->done = v->done;
    o->exits = v->nr_exits - e0;
    o->e402 = v->exit_402 - a0;
    o->e401 = v->exit_401 - b0;
    o->emsr = emsr_count;
    o->info1 = v->last_402_info1;
    o->info2 = v->last_402_info2;
    o->rip = l2_rip_class(v->last_402_rip);
    o->result = A.result;
    o->exc = A.exc;
    o->after = off < 0x1000 ? *avic_reg(v, off) : 0;
    counts.exit_402 += o->e402;
    counts.exit_401 += o->e401;
    counts.other_exits += o->exits - o->e402 - o->e401;
}

static void explain(const struct outcome *o)
{
    diag("  done=%d exits=%llu 402h=%llu info1=%#llx rip=%s result=%#llx exc=%d after=%#x",
         o->done, (unsigned long long)o->exits, (unsigned long long)o->e402,
         (unsigned long long)o->info1,
         o->rip == RIP_AT_INSN ? "at" : o->rip == RIP_AFTER_INSN ? "after" : "?",
         (unsigned long long)o->result, o->exc, o->after);
}

/*
 * "Nothing written": the pattern is still there.  PPR is maintained by
 * the CPU (recomputed from TPR and ISR at VMRUN), so for it only check
 * that the value written did not land.
 */
static bool unchanged(const struct row *r, const struct outcome *o)
{
    if (r->rd == K_ALLOW_NOVAL)
        return o->after != (uint32_t)A.val;
    return o->after == pattern(r->off);
}

static void check_row(bool x2, const struct row *r, bool write)
{
    int k = write ? r->wr : r->rd;
    const char *mode = x2 ? "x2avic" : "xavic";
    struct outcome o = { 0 };
    bool ok = false;
    uint64_t expect_info1 = (write ? AVIC_NOACCEL_WRITE : 0) | r->off;

    if (k == K_NONE || (write && k == K_ACCEL))
        return;
    if (!TODO_ACTIVE) {
        A = (struct acc){ .off = r->off, .write = write, .x2 = x2,
                          .val = (k == K_FAULT || k == K_GP) && !r->wval ?
                                 ~pattern(r->off) : r->wval };
        A.result = 0;
        run_l2(cur, l2_access, r->off, &o);
        uint64_t want = pattern(r->off);
        if (x2 && r->off == APIC_REG_ICR_LO)
            want |= (uint64_t)pattern(APIC_REG_ICR_HI) << 32;
        switch (k) {
        case K_ALLOW:
            ok = o.done && o.e402 == 0 && o.exits == 1 && (write ? o.after == A.val : o.result == want);
            break;
        case K_ALLOW_NOVAL:
            ok = o.done && o.e402 == 0 && o.exits == 1;
            break;
        case K_FAULT:
            ok = o.done && o.e402 == 1 && o.info1 == expect_info1 && o.rip == RIP_AT_INSN &&
                 (write ? unchanged(r, &o) : (uint32_t)o.result == EMUL);
            break;
        case K_TRAP:
            ok = o.done && o.e402 == 1 && o.info1 == expect_info1 && o.rip == RIP_AFTER_INSN &&
                 o.after == (uint32_t)A.val;
            break;
        case K_GP:
            ok = o.done && o.e402 == 0 && o.exc == 13 && (!write || unchanged(r, &o));
            break;
        }
    }
    if (!report(ok, "%s/%03xh %s: %s %s", mode, r->off, r->name, write ? "write" : "read",
                kind_name[k]))
        if (!TODO_ACTIVE)
            explain(&o);
}

static int count_row_checks(const struct row *rows, int n)
{
    int c = 0;
    for (int i = 0; i < n; i++) {
        c += rows[i].rd != K_NONE;
        c += rows[i].wr != K_NONE && rows[i].wr != K_ACCEL;
    }
    return c;
}

/* ---- accelerated paths ---- */

static volatile uint64_t l2_cr8;

static void l2_tpr(void *arg)
{
    if (A.x2)
        wrmsr(0x808, 0x60);
    else
        l2_mmio_write32(AVIC_DEFAULT_APIC_BAR + APIC_REG_TPR, 0x50);
    l2_cr8 = read_cr8();
}

static void l2_cr8_write(void *arg)
{
    write_cr8(3);
}

static void l2_eoi(void *arg)
{
    if (A.x2)
        wrmsr_safe(0x80b, 0);
    else
        l2_mmio_write32(AVIC_DEFAULT_APIC_BAR + APIC_REG_EOI, 0);
}

static void l2_self_ipi(void *arg)
{
    uint32_t vec = (uint64_t)arg;
    sti();
    if (A.x2 && vec == VEC_SELF2)
        wrmsr(0x83f, vec);
    else if (A.x2)
        wrmsr(0x830, APIC_SH_SELF | vec);
    else
        l2_mmio_write32(AVIC_DEFAULT_APIC_BAR + APIC_REG_ICR_LO, APIC_SH_SELF | vec);
    wait_until(this_cpu()->vcpu && ((struct vcpu *)this_cpu()->vcpu)->irq_count[vec], 200000);
    cli();
}

static void special_checks(bool x2)
{
    const char *mode = x2 ? "x2avic" : "xavic";
    struct vcpu *v = cur;
    struct outcome o = { 0 };
    bool ok = false;
    A.x2 = x2;

    /* TPR write: accelerated, V_TPR follows; CR8 reads V_TPR. */
    uint32_t vtpr = 0;
    if (!TODO_ACTIVE) {
        vmcb_write32(v, VMCB_INT_CTL, vmcb_read32(v, VMCB_INT_CTL) & ~AVIC_INT_CTL_V_TPR_MASK);
        run_l2(v, l2_tpr, 0x1000, &o);
        vtpr = vmcb_read32(v, VMCB_INT_CTL) & AVIC_INT_CTL_V_TPR_MASK;
        ok = o.done && o.exits == 1 && *avic_reg(v, APIC_REG_TPR) == (x2 ? 0x60u : 0x50u) &&
             vtpr == (x2 ? 6u : 5u);
    }
    if (!report(ok, "%s/TPR write accelerated: backing TPR and V_TPR updated, no exit", mode) &&
        !TODO_ACTIVE)
        diag("  exits=%llu TPR=%#x V_TPR=%u", (unsigned long long)o.exits,
             *avic_reg(v, APIC_REG_TPR), vtpr);
    if (!x2) {
        if (!report(!TODO_ACTIVE && l2_cr8 == 5, "%s/CR8 read returns V_TPR", mode) &&
            !TODO_ACTIVE)
            diag("  CR8 = %llu", (unsigned long long)l2_cr8);
        ok = false;
        if (!TODO_ACTIVE) {
            run_l2(v, l2_cr8_write, 0x1000, &o);
            vtpr = vmcb_read32(v, VMCB_INT_CTL) & AVIC_INT_CTL_V_TPR_MASK;
            ok = o.done && o.exits == 1 && *avic_reg(v, APIC_REG_TPR) == 0x30 && vtpr == 3;
        }
        report(ok, "%s/CR8 write: V_TPR = 3 and backing TPR = 30h", mode);
    }
    if (!TODO_ACTIVE)
        vmcb_write32(v, VMCB_INT_CTL, vmcb_read32(v, VMCB_INT_CTL) & ~AVIC_INT_CTL_V_TPR_MASK);

    /* Edge EOI: accelerated, the highest ISR bit is cleared. */
    ok = false;
    if (!TODO_ACTIVE) {
        avic_backing_reset(v);
        run_l2(v, l2_eoi, 0x1000, &o);      /* warm-up: nothing in ISR */
        A.x2 = x2;
        avic_backing_reset(v);
        *avic_reg(v, APIC_VEC_REG_OFFSET(APIC_REG_ISR, VEC_EOI)) = APIC_VEC_BIT(VEC_EOI);
        v->fn = l2_eoi;
        vcpu_reset_guest(v);
        uint64_t e0 = v->nr_exits;
        vcpu_run(v);
        ok = v->done && v->nr_exits - e0 == 1 && !avic_isr_test(v, VEC_EOI);
    }
    report(ok, "%s/EOI write, edge: accelerated, ISR bit %#x cleared, no exit", mode, VEC_EOI);

    /* Level EOI: 402h trap, EXITINFO2 = vector, ISR left set. */
    ok = false;
    bool isr_kept = false;
    if (!TODO_ACTIVE) {
        avic_backing_reset(v);
        *avic_reg(v, APIC_VEC_REG_OFFSET(APIC_REG_ISR, VEC_LEVEL)) = APIC_VEC_BIT(VEC_LEVEL);
        *avic_reg(v, APIC_VEC_REG_OFFSET(APIC_REG_TMR, VEC_LEVEL)) = APIC_VEC_BIT(VEC_LEVEL);
        uint64_t e0 = v->nr_exits, a0 = v->exit_402;
        v->fn = l2_eoi;
        vcpu_reset_guest(v);
        vcpu_run(v);
        counts.exit_402 += v->exit_402 - a0;
        ok = v->done && v->exit_402 - a0 == 1 && v->nr_exits - e0 == 2 &&
             v->last_402_info1 == (AVIC_NOACCEL_WRITE | APIC_REG_EOI) &&
             (v->last_402_info2 & AVIC_NOACCEL_VECTOR_MASK) == VEC_LEVEL &&
             l2_rip_class(v->last_402_rip) == RIP_AFTER_INSN;
        isr_kept = avic_isr_test(v, VEC_LEVEL);
        if (!ok)
            diag("  402h=%llu info1=%#llx info2=%#llx rip class %d",
                 (unsigned long long)(v->exit_402 - a0), (unsigned long long)v->last_402_info1,
                 (unsigned long long)v->last_402_info2, l2_rip_class(v->last_402_rip));
    }
    report(ok, "%s/EOI write, level: exit 402h (write, B0h), EXITINFO2 vector %#x, RIP after",
           mode, VEC_LEVEL);
    report(isr_kept, "%s/EOI write, level: ISR bit left set for the L1's emulation", mode);

    /* ICR: a self-IPI is accelerated and taken by the L2. */
    ok = false;
    if (!TODO_ACTIVE) {
        memset((void *)v->irq_count, 0, sizeof(v->irq_count));
        run_l2(v, l2_self_ipi, 0x1000, &o);
        ok = o.done && o.exits == 1 && v->irq_count[VEC_SELF] == 1;
        (void)l2_self_ipi;
    }
    if (!report(ok, "%s/ICR%s write: self-IPI accelerated, delivered once, no exit", mode,
                x2 ? "" : " low") && !TODO_ACTIVE)
        explain(&o);

    if (x2) {
        ok = false;
        if (!TODO_ACTIVE) {
            v->arg = (void *)(uint64_t)VEC_SELF2;
            run_l2(v, l2_self_ipi, 0x1000, &o);
            v->arg = (void *)(uint64_t)VEC_SELF;
            ok = o.done && o.exits == 1 && v->irq_count[VEC_SELF2] == 1;
        }
        report(ok, "%s/SELF_IPI write: accelerated, delivered once, no exit", mode);

        /* The MSR permission map comes before AVIC. */
        ok = false;
        if (!TODO_ACTIVE) {
            msrpm_set(v, 0x808, false, true);
            A = (struct acc){ .off = APIC_REG_TPR, .write = true, .x2 = true, .val = 0x20 };
            run_l2(v, l2_access, APIC_REG_TPR, &o);
            msrpm_set(v, 0x808, false, false);
            ok = o.done && o.emsr == 1 && o.e402 == 0 && o.after == pattern(APIC_REG_TPR);
        }
        report(ok, "%s/MSR intercept wins: WRMSR 808h exits 7Ch, backing TPR untouched", mode);
    } else {
        ok = !TODO_ACTIVE;
        for (int i = 0; i < 1024 && ok; i++)
            ok = ((uint32_t *)v->vm->decoy)[i] == (0xdec0de00u | (i & 0xff));
        report(ok, "%s/NPT target of the APIC BAR page never touched", mode);
    }
}

static int special_count(bool x2)
{
    return x2 ? 7 : 8;
}

static void l2_nop(void *arg)
{
}

int main(void)
{
    int nx = ARRAY_SIZE(xrows), nx2 = ARRAY_SIZE(x2rows);
    bool avic = avic_supported(), x2avic = x2avic_supported();
    bool extlvt = cpuid_edx(0x8000000a) & AVIC_CPUID_EDX_EXTLVT_ACCESS;

    tap_group("avic-regs");
    tap_plan(2 + count_row_checks(xrows, nx) + special_count(false) +
             count_row_checks(x2rows, nx2) + special_count(true));

    if (extlvt) {   /* ExtLvtAvicAccessChg: read allowed, write trap */
        xrows[nx - 3].rd = x2rows[nx2 - 1].rd = K_ALLOW;
        xrows[nx - 3].wr = x2rows[nx2 - 1].wr = K_TRAP;
    }
    set_guest_irq_handler(VEC_SELF, avic_guest_handler);
    set_guest_irq_handler(VEC_SELF2, avic_guest_handler);

    /* ---- xAVIC ---- */
    if (!avic)
        tap_todo("issue 4 (AVIC not offered by this CPU)");
    diag("CPUID Fn8000_000A EDX = %#x", cpuid_edx(0x8000000a));
    report(avic, "CPUID Fn8000_000A EDX[13] AVIC");
    struct vm *vm = NULL;
    if (!TODO_ACTIVE) {
        svm_enable();
        vm = vm_create();
        vm_avic_init(vm, false, 1);
        cur = vcpu_create(vm, 0, l2_nop, (void *)(uint64_t)VEC_SELF);
        cur->on_exit = regs_on_exit;
    }
    for (int i = 0; i < nx; i++) {
        check_row(false, &xrows[i], false);
        check_row(false, &xrows[i], true);
    }
    special_checks(false);

    /* ---- x2AVIC (the L1 switches its own APIC to x2APIC mode) ---- */
    tap_todo(NULL);
    if (!avic)
        tap_todo("issue 4 (AVIC not offered by this CPU)");
    else if (!x2avic)
        tap_todo("issue 4 (x2AVIC not offered by this CPU)");
    report(x2avic, "CPUID Fn8000_000A EDX[18] x2AVIC");
    if (!TODO_ACTIVE) {
        apic_enable_x2();
        vm = vm_create();
        vm_avic_init(vm, true, 1);
        cur = vcpu_create(vm, 0, l2_nop, (void *)(uint64_t)VEC_SELF);
        cur->on_exit = regs_on_exit;
    }
    for (int i = 0; i < nx2; i++) {
        check_row(true, &x2rows[i], false);
        check_row(true, &x2rows[i], true);
    }
    special_checks(true);
    tap_todo(NULL);
    return 0;
}
