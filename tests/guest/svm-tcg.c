/*
 * svm-tcg: the fixes to TCG's SVM and x86 emulation that this project
 * carries beyond AVIC (docs/specs/amd-avic.rst, "TCG SVM fixes this
 * project carries"), each checked the way Linux's KVM selftests see an
 * AMD CPU:
 *
 *   - an exception injected with EVENTINJ whose delivery faults goes
 *     through the double-fault rules, and the #DF that results is
 *     intercepted like any other exception (nested_exceptions_test);
 *   - SYSENTER_ESP, SYSENTER_EIP and TSC_AUX keep bits 31:0 only on an
 *     AMD CPU (msrs_test);
 *   - WRMSR of a non-canonical address to FS_BASE, GS_BASE,
 *     KERNEL_GS_BASE, LSTAR or CSTAR raises #GP (msrs_test);
 *   - INT3 and INTO are intercepted as the exceptions #BP and #OF, not
 *     as INTn; INT 3 (CD 03) is an INTn (debug_regs' software
 *     breakpoints).
 *
 * NRIP_SAVE, the last of these fixes, has its own test: svm-nrips.c.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "svm.h"

#define VEC_DF      8
#define VEC_SS      12
#define VEC_GP      13
#define SS_ERR      0xdeadbeefu
/* The #GP raised by a missing IDT entry: the IDT index, IDT flag set. */
#define GP_ERR_IDT(v)   ((v) * 8 | 2)

#define EVTINJ_TYPE_EXCEPT  (3 << 8)
#define EVTINJ_EV           BIT(11)
#define VMCB_EVENT_INJ_ERR  0x0ac
#define VMCB_IDTR_LIMIT     (VMCB_IDTR + 4)

#define VEC_BP      3
#define INTERCEPT_INTN      BIT(21)
#define SVM_EXIT_SWINT      0x075


#define MSR_SYSENTER_ESP    0x175
#define MSR_SYSENTER_EIP    0x176
#define MSR_TSC_AUX         0xc0000103
#define MSR_LSTAR           0xc0000082
#define MSR_CSTAR           0xc0000083
#define MSR_FS_BASE         0xc0000100
#define MSR_KERNEL_GS_BASE  0xc0000102

static void l2_never_runs(void *arg)
{
}

extern char l2_int3_insn[], l2_int_3_insn[];

/* INT3 (CC), then INT 3 (CD 03). */
static void l2_int3_then_int_3(void *arg)
{
    asm volatile("l2_int3_insn: int3\n\t"
                 "l2_int_3_insn: .byte 0xcd, 0x03" ::: "memory");
}

static void count_only(struct frame *f)
{
    this_cpu()->guest_irq_count[f->vector]++;
}

static int stop_on_any_exit(struct vcpu *v)
{
    return VCPU_STOP;
}

/*
 * Run an L2 with no IDT (limit 0) whose VMRUN injects #SS, with these
 * exceptions intercepted: delivering #SS faults (#GP on the IDT), and
 * delivering that #GP faults again.  Returns the exit code.
 */
static uint64_t run_ss_without_idt(struct vm *vm, unsigned id,
                                   uint32_t intercepts, struct vcpu **out)
{
    struct vcpu *v = vcpu_create(vm, id, l2_never_runs, NULL);

    v->on_exit = stop_on_any_exit;
    vmcb_write32(v, VMCB_IDTR_LIMIT, 0);
    vmcb_write32(v, VMCB_INTERCEPT_EXC, intercepts);
    vmcb_write32(v, VMCB_INTERCEPT_MISC1,
                 vmcb_read32(v, VMCB_INTERCEPT_MISC1) | INTERCEPT_SHUTDOWN);
    vmcb_write32(v, VMCB_EVENT_INJ_ERR, SS_ERR);
    vmcb_write32(v, VMCB_EVENT_INJ, EVTINJ_VALID | EVTINJ_TYPE_EXCEPT |
                 EVTINJ_EV | VEC_SS);
    *out = v;
    return vcpu_run(v);
}

/* WRMSR of a value with bits 63:32 set, then RDMSR: what is kept? */
static bool msr_keeps_low_half(uint32_t msr)
{
    uint64_t val = 0;
    uint64_t old = rdmsr(msr);
    int w = wrmsr_safe(msr, 0xa5a5a5a512345678ULL);
    int r = rdmsr_safe(msr, &val);

    wrmsr(msr, old);
    printf("# msr %#x: wrmsr %d, rdmsr %d, read %#llx\n", msr, w, r,
           (unsigned long long)val);
    return w == -1 && r == -1 && val == 0x12345678ULL;
}

/*
 * A non-canonical address raises #GP and leaves the MSR as it was; a
 * canonical one with the top bits set is taken.
 */
static bool msr_takes_canonical_only(uint32_t msr)
{
    uint64_t old = rdmsr(msr), val = 0;
    int bad = wrmsr_safe(msr, 0xaaaaaaaaaaaaaaaaULL);
    bool kept = rdmsr(msr) == old;
    int good = wrmsr_safe(msr, 0xffff800000001000ULL);

    rdmsr_safe(msr, &val);
    wrmsr(msr, old);
    printf("# msr %#x: non-canonical %d (kept %d), canonical %d read %#llx\n",
           msr, bad, kept, good, (unsigned long long)val);
    return bad == 13 && kept && good == -1 && val == 0xffff800000001000ULL;
}

int main(void)
{
    struct vcpu *v;
    uint64_t code, intinfo;

    tap_group("svm-tcg");
    tap_plan(10);

    if (!report(npt_supported(), "CPUID: SVM and NPT offered")) {
        tap_finish();
    }
    svm_enable();
    struct vm *vm = vm_create();

    /* 1. #GP intercepted: the #GP of the #SS delivery exits, with the
     *    #SS in EXITINTINFO. */
    code = run_ss_without_idt(vm, 0, BIT(VEC_SS) | BIT(VEC_GP) | BIT(VEC_DF),
                              &v);
    intinfo = vmcb_read64(v, VMCB_EXIT_INT_INFO);
    report(code == SVM_EXIT_EXCP(VEC_GP) &&
           v->exit_info1 == GP_ERR_IDT(VEC_SS),
           "eventinj #SS, no IDT, #GP intercepted: exit %#llx info1 %#llx",
           (unsigned long long)code, (unsigned long long)v->exit_info1);
    report((uint32_t)intinfo == (EVTINJ_VALID | EVTINJ_TYPE_EXCEPT |
                                 EVTINJ_EV | VEC_SS) &&
           intinfo >> 32 == SS_ERR,
           "eventinj #SS, no IDT: EXITINTINFO holds the #SS (%#llx)",
           (unsigned long long)intinfo);

    /* 2. #GP not intercepted: #SS then #GP make a #DF, which is. */
    code = run_ss_without_idt(vm, 1, BIT(VEC_SS) | BIT(VEC_DF), &v);
    report(code == SVM_EXIT_EXCP(VEC_DF) && v->exit_info1 == 0,
           "eventinj #SS, no IDT, #DF intercepted: exit %#llx (want %#x) "
           "info1 %#llx", (unsigned long long)code, SVM_EXIT_EXCP(VEC_DF),
           (unsigned long long)v->exit_info1);

    /* 3. Neither: delivering the #DF faults too, a shutdown. */
    code = run_ss_without_idt(vm, 2, BIT(VEC_SS), &v);
    report(code == SVM_EXIT_SHUTDOWN,
           "eventinj #SS, no IDT, nothing intercepted: shutdown exit "
           "(got %#llx)", (unsigned long long)code);

    /* 4. The MSRs an AMD CPU keeps 32 bits of. */
    report(msr_keeps_low_half(MSR_SYSENTER_ESP) &&
           msr_keeps_low_half(MSR_SYSENTER_EIP),
           "SYSENTER_ESP/EIP keep bits 31:0 only (AMD)");
    report(msr_keeps_low_half(MSR_TSC_AUX), "TSC_AUX keeps bits 31:0 only (AMD)");
    /* GS_BASE has the same check, but this kernel's per-CPU data is at
     * %gs: a write that wrongly went through would crash it. */
    report(msr_takes_canonical_only(MSR_FS_BASE) &&
           msr_takes_canonical_only(MSR_KERNEL_GS_BASE) &&
           msr_takes_canonical_only(MSR_LSTAR) &&
           msr_takes_canonical_only(MSR_CSTAR),
           "FS/KERNEL_GS_BASE, LSTAR, CSTAR: #GP on a non-canonical address");

    /* 5. #BP intercepted: INT3 exits before delivery, RIP at the INT3. */
    set_guest_irq_handler(VEC_BP, count_only);
    v = vcpu_create(vm, 3, l2_int3_then_int_3, NULL);
    v->on_exit = stop_on_any_exit;
    vmcb_write32(v, VMCB_INTERCEPT_EXC, BIT(VEC_BP));
    code = vcpu_run(v);
    report(code == SVM_EXIT_EXCP(VEC_BP) &&
           v->exit_rip == (uint64_t)l2_int3_insn,
           "int3, #BP intercepted: exit %#llx at rip %#llx (want %#x at %p)",
           (unsigned long long)code, (unsigned long long)v->exit_rip,
           SVM_EXIT_EXCP(VEC_BP), l2_int3_insn);

    /* 6. INTn intercepted: INT3 is delivered to the L2, INT 3 exits. */
    this_cpu()->guest_irq_count[VEC_BP] = 0;
    v = vcpu_create(vm, 4, l2_int3_then_int_3, NULL);
    v->on_exit = stop_on_any_exit;
    vmcb_write32(v, VMCB_INTERCEPT_MISC1,
                 vmcb_read32(v, VMCB_INTERCEPT_MISC1) | INTERCEPT_INTN);
    code = vcpu_run(v);
    report(code == SVM_EXIT_SWINT && v->exit_rip == (uint64_t)l2_int_3_insn &&
           this_cpu()->guest_irq_count[VEC_BP] == 1,
           "INTn intercepted: int3 reaches the L2 (%llu), int $3 exits %#llx "
           "at rip %#llx",
           (unsigned long long)this_cpu()->guest_irq_count[VEC_BP],
           (unsigned long long)code, (unsigned long long)v->exit_rip);

    return 0;
}
