/*
 * avic-access: accesses to the virtual APIC that are not one aligned
 * 32-bit MOV or a 2-byte WRMSR still follow the register table:
 *
 *   - xAVIC: a byte write to TMICT traps (402h, RIP after the 3-byte
 *     instruction, the byte merged into the register); a word write to
 *     TPR is accelerated (V_TPR follows, no exit); a byte write to EOI
 *     retires the in-service vector (docs/specs/amd-avic.rst: the APM
 *     leaves partial accesses undefined; they act on the register);
 *   - x2AVIC: a WRMSR with a REX prefix (3 bytes) to TMICT traps with
 *     RIP after all 3 bytes.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "svm.h"

#define BAR         AVIC_DEFAULT_APIC_BAR
#define VEC_EDGE    0x75

/* Fixed encodings, so that the RIP checks know each length. */
extern char l2_movb_insn[], l2_movw_insn[], l2_wrmsr_rex_insn[];
void l2_movb(void *addr);       /* movb $val, (addr): 40 88 37 */
void l2_movw(void *addr);       /* movw $val, (addr): 66 89 37 */
void l2_wrmsr_rex(void *msr);   /* REX.W WRMSR: 48 0f 30 */
uint32_t acc_val;
asm(".globl l2_movb, l2_movb_insn, l2_movw, l2_movw_insn\n"
    ".globl l2_wrmsr_rex, l2_wrmsr_rex_insn\n"
    "l2_movb:\n"
    "    mov acc_val(%rip), %esi\n"
    "l2_movb_insn:\n"
    "    .byte 0x40, 0x88, 0x37\n"
    "    ret\n"
    "l2_movw:\n"
    "    mov acc_val(%rip), %esi\n"
    "l2_movw_insn:\n"
    "    .byte 0x66, 0x89, 0x37\n"
    "    ret\n"
    "l2_wrmsr_rex:\n"
    "    mov %edi, %ecx\n"
    "    mov acc_val(%rip), %eax\n"
    "    xor %edx, %edx\n"
    "l2_wrmsr_rex_insn:\n"
    "    .byte 0x48, 0x0f, 0x30\n"
    "    ret\n");

static int on_exit_402(struct vcpu *v)
{
    if (v->exit_code == AVIC_EXIT_NOACCEL)
        counts.exit_402++;
    else
        counts.other_exits++;
    return VCPU_CONTINUE;       /* 402h traps: RIP is already past */
}

struct res {
    bool done;
    uint64_t exits, e402, info1, rip;
};

static struct res run(struct vcpu *v, void (*fn)(void *), uint64_t arg, uint32_t val)
{
    struct res r;
    uint64_t e0 = v->nr_exits, a0 = v->exit_402;

    acc_val = val;
    v->last_402_rip = 0;
    v->last_402_info1 = ~0ULL;
    v->fn = fn;
    v->arg = (void *)arg;
    vcpu_reset_guest(v);
    vcpu_run(v);
    r.done = v->done;
    r.exits = v->nr_exits - e0;
    r.e402 = v->exit_402 - a0;
    r.info1 = v->last_402_info1;
    r.rip = v->last_402_rip;
    return r;
}

static void explain(const struct res *r)
{
    diag("  done %d exits %llu 402h %llu info1 %#llx rip %#llx", r->done,
         (unsigned long long)r->exits, (unsigned long long)r->e402,
         (unsigned long long)r->info1, (unsigned long long)r->rip);
}

static void xavic_checks(void)
{
    struct vcpu *v = NULL;
    struct res r = { 0 };
    bool ok;

    if (!TODO_ACTIVE) {
        struct vm *vm = vm_create();
        vm_avic_init(vm, false, 1);
        v = vcpu_create(vm, 0, l2_movb, NULL);
        v->on_exit = on_exit_402;
    }

    ok = false;
    if (!TODO_ACTIVE) {
        avic_backing_reset(v);
        *avic_reg(v, APIC_REG_TMICT) = 0x11223344;
        r = run(v, l2_movb, BAR + APIC_REG_TMICT, 0x99);
        ok = r.done && r.e402 == 1 && r.info1 == (AVIC_NOACCEL_WRITE | APIC_REG_TMICT) &&
             r.rip == (uint64_t)l2_movb_insn + 3 && *avic_reg(v, APIC_REG_TMICT) == 0x11223399;
        if (!ok) {
            explain(&r);
            diag("  TMICT %#x", *avic_reg(v, APIC_REG_TMICT));
        }
    }
    report(ok, "xavic/byte write to TMICT: merged, 402h trap, RIP after the 3-byte insn");

    ok = false;
    if (!TODO_ACTIVE) {
        avic_backing_reset(v);
        vmcb_write32(v, VMCB_INT_CTL, vmcb_read32(v, VMCB_INT_CTL) & ~AVIC_INT_CTL_V_TPR_MASK);
        r = run(v, l2_movw, BAR + APIC_REG_TPR, 0x60);
        uint32_t vtpr = vmcb_read32(v, VMCB_INT_CTL) & AVIC_INT_CTL_V_TPR_MASK;
        ok = r.done && r.exits == 1 && *avic_reg(v, APIC_REG_TPR) == 0x60 && vtpr == 6;
        vmcb_write32(v, VMCB_INT_CTL, vmcb_read32(v, VMCB_INT_CTL) & ~AVIC_INT_CTL_V_TPR_MASK);
        if (!ok) {
            explain(&r);
            diag("  TPR %#x V_TPR %u", *avic_reg(v, APIC_REG_TPR), vtpr);
        }
    }
    report(ok, "xavic/word write to TPR: accelerated, V_TPR follows, no exit");

    ok = false;
    if (!TODO_ACTIVE) {
        avic_backing_reset(v);
        *avic_reg(v, APIC_VEC_REG_OFFSET(APIC_REG_ISR, VEC_EDGE)) = APIC_VEC_BIT(VEC_EDGE);
        r = run(v, l2_movb, BAR + APIC_REG_EOI, 0);
        ok = r.done && r.exits == 1 && !avic_isr_test(v, VEC_EDGE);
        if (!ok)
            explain(&r);
    }
    report(ok, "xavic/byte write to EOI: edge vector %#x retired, no exit", VEC_EDGE);
}

static void x2avic_checks(void)
{
    struct vcpu *v = NULL;
    struct res r = { 0 };
    bool ok = false;

    if (!TODO_ACTIVE) {
        apic_enable_x2();
        struct vm *vm = vm_create();
        vm_avic_init(vm, true, 1);
        v = vcpu_create(vm, 0, l2_wrmsr_rex, NULL);
        v->on_exit = on_exit_402;
        r = run(v, l2_wrmsr_rex, AVIC_X2APIC_MSR_BASE + (APIC_REG_TMICT >> 4), 1000);
        ok = r.done && r.e402 == 1 && r.info1 == (AVIC_NOACCEL_WRITE | APIC_REG_TMICT) &&
             r.rip == (uint64_t)l2_wrmsr_rex_insn + 3 && *avic_reg(v, APIC_REG_TMICT) == 1000;
        if (!ok)
            explain(&r);
    }
    report(ok, "x2avic/REX-prefixed WRMSR 838h: 402h trap, RIP after all 3 bytes");
}

int main(void)
{
    tap_group("avic-access");
    tap_plan(6);

    if (!avic_supported())
        tap_todo("issue 4 (AVIC not offered by this CPU)");
    report(avic_supported(), "CPUID: AVIC");
    if (!TODO_ACTIVE)
        svm_enable();
    xavic_checks();
    tap_todo(NULL);
    if (!x2avic_supported())
        tap_todo("issue 4 (x2AVIC not offered by this CPU)");
    report(x2avic_supported(), "CPUID: x2AVIC");
    x2avic_checks();
    tap_todo(NULL);
    return 0;
}
