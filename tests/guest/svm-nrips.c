/*
 * svm-nrips: NRIPS, the next sequential RIP that #VMEXIT saves at VMCB
 * C8h (APM vol. 2 §15.7.1, CPUID Fn8000_000A EDX[3]), which KVM uses to
 * skip intercepted instructions and to inject software interrupts:
 *
 *   - instruction, MSR and IOIO intercepts save the RIP after the
 *     instruction, prefixes included (CPUID, RDMSR, REX RDMSR, OUT, HLT,
 *     VMMCALL); the L1 resumes the L2 at nRIP and the sequence goes on;
 *   - any other exit (#NPF here) sets it to 0;
 *   - an EVENTINJ of INTn (type 4) or #BP (type 3) returns to nRIP, not
 *     to RIP: the injected event is taken once and the L2 goes on after
 *     the instruction.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "svm.h"

#define INTERCEPT_CPUID     BIT(18)
#define VEC_INJ             0x82
#define MSR_PROBE           0x1b

extern char n_cpuid[], n_rdmsr[], n_rdmsr3[], n_out[], n_hlt[], n_load[];
extern char inj_int[], inj_int3[];
void l2_nrip_seq(void *npf_addr);
asm(".globl l2_nrip_seq, n_cpuid, n_rdmsr, n_rdmsr3, n_out, n_hlt, n_load\n"
    "l2_nrip_seq:\n"
    "    push %rbx\n"
    "n_cpuid:\n"
    "    cpuid\n"                       /* 0f a2 */
    "    mov $0x1b, %ecx\n"
    "n_rdmsr:\n"
    "    rdmsr\n"                       /* 0f 32 */
    "n_rdmsr3:\n"
    "    .byte 0x48, 0x0f, 0x32\n"      /* REX.W rdmsr */
    "n_out:\n"
    "    out %al, $0x80\n"              /* e6 80 */
    "n_hlt:\n"
    "    hlt\n"                         /* f4 */
    "n_load:\n"
    "    mov (%rdi), %eax\n"            /* #NPF */
    "    pop %rbx\n"
    "    ret\n"
    ".globl inj_int, inj_int3\n"
    "inj_int:\n"
    "    .byte 0xcd, 0x82\n"            /* int $0x82: injected, skipped */
    "    xor %eax, %eax\n"
    "    vmmcall\n"
    "    ud2\n"
    "inj_int3:\n"
    "    int3\n"                        /* injected as #BP, skipped */
    "    xor %eax, %eax\n"
    "    vmmcall\n"
    "    ud2\n");

#define MAX_LOG 16
static struct { uint64_t code, rip, nrip, info2; } ex[MAX_LOG];
static int nex;
static uint64_t *npt, npf_page;

static uint64_t find(uint64_t code, uint64_t rip)
{
    for (int i = 0; i < nex; i++)
        if (ex[i].code == code && (!rip || ex[i].rip == rip))
            return ex[i].nrip;
    return ~0ULL;
}

static int on_exit(struct vcpu *v)
{
    uint64_t nrip = vmcb_read64(v, VMCB_NRIP);
    int len = 0;

    if (nex < MAX_LOG)
        ex[nex++] = (typeof(ex[0])){ v->exit_code, v->exit_rip, nrip, v->exit_info2 };
    switch (v->exit_code) {
    case SVM_EXIT_NPF:
        npt_map_4k(npt, npf_page, npf_page);
        return VCPU_HANDLED;
    case 0x072:                 /* CPUID */
    case SVM_EXIT_MSR:
    case 0x07b:                 /* IOIO */
        /* Resume at nRIP, as KVM does; if it is missing, step by hand. */
        len = v->exit_rip == (uint64_t)n_rdmsr3 ? 3 : 2;
        vmcb_write64(v, VMCB_RIP, nrip ? nrip : v->exit_rip + len);
        return VCPU_HANDLED;
    }
    return VCPU_CONTINUE;
}

static volatile uint64_t inj_rip[2];
static volatile int inj_count[2];
static void inj_handler(struct frame *f)
{
    int i = f->vector == 3;
    inj_count[i]++;
    inj_rip[i] = f->rip;
}

static void check_injection(struct vcpu *v, bool sw)
{
    char *at = sw ? inj_int : inj_int3;
    int len = sw ? 2 : 1, i = !sw;
    bool ok = false;

    if (!TODO_ACTIVE) {
        inj_count[i] = 0;
        inj_rip[i] = 0;
        v->fn = l2_nrip_seq;    /* not run: RIP is set below */
        vcpu_reset_guest(v);
        vmcb_write64(v, VMCB_RIP, (uint64_t)at);
        vmcb_write64(v, VMCB_NRIP, (uint64_t)at + len);
        vmcb_write64(v, VMCB_EVENT_INJ, EVTINJ_VALID | (sw ? (4 << 8) | VEC_INJ : (3 << 8) | 3));
        vcpu_run(v);
        ok = v->done && inj_count[i] == 1 && inj_rip[i] == (uint64_t)at + len;
        if (!ok)
            diag("  taken %d times, return RIP %#llx (nRIP %#llx), done %d", inj_count[i],
                 (unsigned long long)inj_rip[i], (unsigned long long)at + len, v->done);
    }
    report(ok, "EVENTINJ %s: taken once, returns to nRIP after the instruction",
           sw ? "INTn (type 4)" : "#BP (type 3)");
}

int main(void)
{
    bool nrips = svm_supported() && (cpuid_edx(0x8000000a) & BIT(3));
    struct vcpu *v = NULL;
    bool ok = false;

    tap_group("svm-nrips");
    tap_plan(8);

    if (!npt_supported())
        tap_todo("issue 9 (SVM with nested paging not offered)");
    report(nrips, "CPUID Fn8000_000A EDX[3] NRIPS offered");
    set_guest_irq_handler(VEC_INJ, inj_handler);
    set_guest_irq_handler(3, inj_handler);
    if (!TODO_ACTIVE) {
        svm_enable();
        struct vm *vm = vm_create();
        npt = vm->npt;
        npf_page = (uint64_t)alloc_page();
        v = vcpu_create(vm, 0, l2_nrip_seq, (void *)npf_page);
        vmcb_write32(v, VMCB_INTERCEPT_MISC1, vmcb_read32(v, VMCB_INTERCEPT_MISC1) |
                     INTERCEPT_CPUID | INTERCEPT_IOIO | INTERCEPT_HLT);
        msrpm_set(v, MSR_PROBE, true, false);
        v->iopm[0x80 / 8] |= 1 << (0x80 % 8);
        npt_map_4k(npt, npf_page, ~0ULL);
        v->on_exit = on_exit;
        vcpu_run(v);
        ok = v->done;
        if (!ok)
            for (int i = 0; i < nex; i++)
                diag("  exit %#llx rip %#llx nrip %#llx", (unsigned long long)ex[i].code,
                     (unsigned long long)ex[i].rip, (unsigned long long)ex[i].nrip);
    }
    report(ok && find(0x072, (uint64_t)n_cpuid) == (uint64_t)n_cpuid + 2,
           "CPUID intercept: nRIP after the 2-byte CPUID");
    report(ok && find(SVM_EXIT_MSR, (uint64_t)n_rdmsr) == (uint64_t)n_rdmsr + 2 &&
           find(SVM_EXIT_MSR, (uint64_t)n_rdmsr3) == (uint64_t)n_rdmsr3 + 3,
           "MSR intercept: nRIP after RDMSR (2 bytes) and REX RDMSR (3 bytes)");
    report(ok && find(0x07b, (uint64_t)n_out) == (uint64_t)n_out + 2,
           "IOIO intercept: nRIP after the 2-byte OUT");
    report(ok && find(SVM_EXIT_HLT, (uint64_t)n_hlt) == (uint64_t)n_hlt + 1 &&
           find(SVM_EXIT_VMMCALL, 0) != ~0ULL &&
           find(SVM_EXIT_VMMCALL, 0) == ex[nex - 1].rip + 3,
           "HLT and VMMCALL intercepts: nRIP after 1 and 3 bytes");
    report(ok && find(SVM_EXIT_NPF, (uint64_t)n_load) == 0, "#NPF: nRIP is 0");
    if (!TODO_ACTIVE)
        v->on_exit = NULL;
    check_injection(v, true);
    check_injection(v, false);
    return 0;
}
