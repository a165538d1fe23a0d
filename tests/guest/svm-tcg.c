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
 *     breakpoints);
 *   - NRIP_SAVE: instruction, MSR and IOIO exits save the next RIP,
 *     other exits zero; injected INTn and #BP return to the VMCB's
 *     nRIP (svm_nested_soft_inject_test).
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

#define VEC_UD      6
#define VEC_SOFT    0x61
#define INTERCEPT_CPUID     BIT(18)
#define SVM_EXIT_IOIO       0x07b
#define SVM_EXIT_CPUID      0x072
#define EVTINJ_TYPE_SOFT    (4 << 8)
#define IO_PORT             0x510
#define MSR_TSC             0x10

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

static uint64_t *npf_page;
static uint64_t npf_nrip;
static void l2_read_npf(void *arg)
{
    (void)READ_ONCE(*npf_page);
}

static int on_exit_npf(struct vcpu *v)
{
    if (v->exit_code == SVM_EXIT_NPF) {
        npf_nrip = vmcb_read64(v, VMCB_NRIP);
        npt_map_4k(v->vm->npt, v->exit_info2 & ~0xfffULL,
                   v->exit_info2 & ~0xfffULL);
        return VCPU_HANDLED;
    }
    return VCPU_CONTINUE;
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

/* Instructions that exit, with their lengths: CPUID, REX.W CPUID,
 * RDMSR, IN AL,DX, then VMMCALL (done). */
extern char l2_nrip_insns[];
static const uint8_t nrip_lens[] = { 2, 3, 2, 1, 3 };
static const uint64_t nrip_codes[] = {
    SVM_EXIT_CPUID, SVM_EXIT_CPUID, SVM_EXIT_MSR, SVM_EXIT_IOIO,
    SVM_EXIT_VMMCALL,
};
static void l2_exiting_insns(void *arg)
{
    asm volatile("mov %0, %%ecx\n\t"
                 "mov %1, %%edx\n\t"
                 "l2_nrip_insns: cpuid\n\t"
                 ".byte 0x48\n\t"
                 "cpuid\n\t"
                 "mov %0, %%ecx\n\t"
                 "rdmsr\n\t"
                 "mov %1, %%edx\n\t"
                 "in (%%dx), %%al"
                 :: "i"(MSR_TSC), "i"(IO_PORT)
                 : "rax", "rbx", "rcx", "rdx", "memory");
}

static struct { uint64_t code, rip, nrip, info2; } nrip_seen[8];
static unsigned nrip_n;
static int record_nrip(struct vcpu *v)
{
    if (nrip_n < 8) {
        nrip_seen[nrip_n].code = v->exit_code;
        nrip_seen[nrip_n].rip = v->exit_rip;
        nrip_seen[nrip_n].nrip = vmcb_read64(v, VMCB_NRIP);
        nrip_seen[nrip_n].info2 = v->exit_info2;
        nrip_n++;
    }
    if (v->exit_code == SVM_EXIT_CPUID || v->exit_code == SVM_EXIT_MSR ||
        v->exit_code == SVM_EXIT_IOIO) {
        /* Past the instruction whatever nRIP says, so a bad nRIP
         * fails the check instead of derailing the L2. */
        vmcb_write64(v, VMCB_RIP, v->exit_rip + nrip_lens[nrip_n - 1]);
        return VCPU_HANDLED;
    }
    return VCPU_CONTINUE;
}

/*
 * Where an injected event returns: "skip" is a UD2, "land" is right.
 * The L2 is entered at "skip", not through its function's call, so
 * "land" ends the run itself (VMMCALL HC_DONE).
 */
extern char l2_inject_skip[], l2_inject_land[];
static void l2_inject_target(void *arg)
{
    asm volatile("l2_inject_skip: ud2\n\t"
                 "l2_inject_land: xor %%eax, %%eax\n\t"
                 "vmmcall\n\t"
                 "ud2" ::: "rax", "memory");
}
static uint64_t inject_return;
static void record_return(struct frame *f)
{
    inject_return = f->rip;
    if (f->vector == VEC_UD) {
        f->rip += 2;    /* past the UD2 */
    }
}

static bool check_nrips(void)
{
    bool ok = nrip_n == 5 && nrip_seen[0].rip == (uint64_t)l2_nrip_insns;

    for (unsigned i = 0; i < nrip_n && i < 5; i++) {
        printf("# exit %#llx at %#llx: nRIP %#llx (want %#llx)\n",
               (unsigned long long)nrip_seen[i].code,
               (unsigned long long)nrip_seen[i].rip,
               (unsigned long long)nrip_seen[i].nrip,
               (unsigned long long)(nrip_seen[i].rip + nrip_lens[i]));
        ok = ok && nrip_seen[i].code == nrip_codes[i] &&
             nrip_seen[i].nrip == nrip_seen[i].rip + nrip_lens[i];
        if (nrip_codes[i] == SVM_EXIT_IOIO) {
            ok = ok && nrip_seen[i].info2 == nrip_seen[i].nrip;
        }
    }
    return ok;
}

/* Inject @event with nRIP = l2_inject_land at RIP = l2_inject_skip. */
static bool inject_returns_to_nrip(struct vm *vm, unsigned id, uint32_t event)
{
    struct vcpu *v = vcpu_create(vm, id, l2_inject_target, NULL);

    inject_return = 0;
    vmcb_write64(v, VMCB_RIP, (uint64_t)l2_inject_skip);
    vmcb_write64(v, VMCB_NRIP, (uint64_t)l2_inject_land);
    vmcb_write32(v, VMCB_EVENT_INJ, event);
    vcpu_run(v);
    printf("# event %#x returned to %#llx (nRIP %p)\n", event,
           (unsigned long long)inject_return, l2_inject_land);
    return v->done && inject_return == (uint64_t)l2_inject_land;
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
    tap_plan(15);

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

    /* 7. NRIP_SAVE. */
    bool nrips = cpuid_edx(0x8000000a) & BIT(3);
    report(nrips, "CPUID: NRIP_SAVE offered");
    v = vcpu_create(vm, 5, l2_exiting_insns, NULL);
    v->on_exit = record_nrip;
    vmcb_write32(v, VMCB_INTERCEPT_MISC1, vmcb_read32(v, VMCB_INTERCEPT_MISC1) |
                 INTERCEPT_CPUID | INTERCEPT_MSR | INTERCEPT_IOIO);
    msrpm_set(v, MSR_TSC, true, false);
    v->iopm[IO_PORT / 8] |= 1 << (IO_PORT % 8);
    vcpu_run(v);
    report(v->done && check_nrips(),
           "nRIP: CPUID, REX.W CPUID, RDMSR, IN, VMMCALL exits save the next RIP");

    npf_page = alloc_page();
    v = vcpu_create(vm, 6, l2_read_npf, NULL);
    npt_map_4k(vm->npt, virt_to_phys(npf_page), ~0ULL);
    v->on_exit = on_exit_npf;
    vmcb_write64(v, VMCB_NRIP, 0x1234);
    vcpu_run(v);
    report(v->done && v->exit_npf == 1 && npf_nrip == 0,
           "nRIP: a #NPF exit saves zero (got %#llx)",
           (unsigned long long)npf_nrip);

    set_guest_irq_handler(VEC_SOFT, record_return);
    set_guest_irq_handler(VEC_UD, record_return);
    set_guest_irq_handler(VEC_BP, record_return);
    report(inject_returns_to_nrip(vm, 7, EVTINJ_VALID | EVTINJ_TYPE_SOFT |
                                  VEC_SOFT),
           "nRIP: an injected INTn returns to nRIP");
    report(inject_returns_to_nrip(vm, 8, EVTINJ_VALID | EVTINJ_TYPE_EXCEPT |
                                  VEC_BP),
           "nRIP: an injected #BP returns to nRIP");
    return 0;
}
