/*
 * svm-basic: the SVM/NPT harness on today's TCG.  An L2 function runs
 * under nested paging on the BSP and on the APs; VMMCALL, HLT, #NPF and
 * physical-interrupt exits are counted exactly; V_IRQ and EVENTINJ reach
 * the L2's handler once each.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "svm.h"

#define VEC_HOST    0x52
#define VEC_VIRQ    0x53
#define VEC_INJ     0x54
#define N_CALLS     10
#define N_HLT       5

static volatile uint64_t l2_counter;
static volatile uint32_t release;
static volatile uint64_t npf_value;
static uint64_t *npf_page;

static void l2_inc(void *arg)
{
    atomic_inc(&l2_counter);
}

static void l2_vmmcalls(void *arg)
{
    for (int i = 0; i < N_CALLS; i++)
        vmmcall(HC_USER, i);
}

static void l2_hlt(void *arg)
{
    for (int i = 0; i < N_HLT; i++)
        asm volatile("hlt");
}

static void l2_read_npf(void *arg)
{
    npf_value = READ_ONCE(*npf_page);
}

static void l2_wait_release(void *arg)
{
    wait_until(READ_ONCE(release), 5000000);
}

/* IF=1 for one instruction window: a pending V_IRQ/EVENTINJ is taken. */
static void l2_sti_wait(void *arg)
{
    sti();
    wait_until(this_cpu()->guest_irq_count[(uint64_t)arg] > 0, 2000000);
    cli();
}

static void count_only(struct frame *f)
{
    this_cpu()->guest_irq_count[f->vector]++;
}

static uint64_t hc_user_seen;
static int on_exit_vmmcall(struct vcpu *v)
{
    if (v->exit_code == SVM_EXIT_VMMCALL && vmcb_read64(v, VMCB_RAX) == HC_USER) {
        if (v->regs.rbx == hc_user_seen)
            hc_user_seen++;
    }
    return VCPU_CONTINUE;
}

static uint64_t npf_gpa, npf_info2;
static int on_exit_npf(struct vcpu *v)
{
    if (v->exit_code == SVM_EXIT_NPF) {
        npf_info2 = v->exit_info2;
        npt_map_4k(v->vm->npt, npf_gpa, npf_gpa);   /* fix and retry */
        return VCPU_HANDLED;
    }
    return VCPU_CONTINUE;
}

static struct vcpu *par[MAX_CPUS];

int main(void)
{
    tap_group("svm-basic");
    tap_plan(11);

    if (!report(npt_supported(), "CPUID: SVM and NPT offered")) {
        tap_finish();
    }
    svm_enable();
    struct vm *vm = vm_create();

    /* 1. VMRUN on the BSP, L2 function runs once, one VMMCALL(DONE). */
    struct vcpu *v = vcpu_create(vm, 0, l2_inc, NULL);
    vcpu_run(v);
    report(v->done && l2_counter == 1 && v->nr_exits == 1 && v->exit_vmmcall == 1,
           "vmrun: L2 runs to completion (counter %llu, exits %llu)",
           (unsigned long long)l2_counter, (unsigned long long)v->nr_exits);

    /* 2. Hypercalls: exactly N_CALLS + 1 VMMCALL exits, in order. */
    v = vcpu_create(vm, 1, l2_vmmcalls, NULL);
    v->on_exit = on_exit_vmmcall;
    vcpu_run(v);
    report(v->done && v->exit_vmmcall == N_CALLS + 1 && hc_user_seen == N_CALLS &&
           v->nr_exits == N_CALLS + 1, "vmmcall: %d exits counted", N_CALLS + 1);
    counts.other_exits += v->nr_exits;

    /* 3. HLT intercept. */
    v = vcpu_create(vm, 2, l2_hlt, NULL);
    vmcb_write32(v, VMCB_INTERCEPT_MISC1, vmcb_read32(v, VMCB_INTERCEPT_MISC1) | INTERCEPT_HLT);
    vcpu_run(v);
    report(v->done && v->exit_hlt == N_HLT && v->nr_exits == N_HLT + 1,
           "hlt: %d HLT exits, RIP advanced", N_HLT);
    counts.other_exits += v->nr_exits;

    /* 4. Nested page fault on an unmapped GPA; EXITINFO2 = GPA. */
    npf_page = alloc_page();
    *npf_page = 0x1234abcd5678ef00ULL;
    npf_gpa = virt_to_phys(npf_page);
    v = vcpu_create(vm, 3, l2_read_npf, NULL);
    npt_map_4k(vm->npt, npf_gpa, ~0ULL);
    v->on_exit = on_exit_npf;
    vcpu_run(v);
    report(v->done && v->exit_npf == 1 && npf_info2 == npf_gpa &&
           npf_value == 0x1234abcd5678ef00ULL,
           "npf: one #NPF exit with EXITINFO2 = GPA, retry succeeds");

    /* 5. L2 on an AP. */
    l2_counter = 0;
    v = vcpu_create(vm, 4, l2_inc, NULL);
    vcpu_run_on(1, v);
    report(v->done && l2_counter == 1 && v->nr_exits == 1, "vmrun on CPU 1");

    /* 6. A physical interrupt while the L2 runs: INTR exit, then the L1
     *    handler takes it after STGI. */
    set_irq_handler(VEC_HOST, count_and_eoi);
    release = 0;
    v = vcpu_create(vm, 5, l2_wait_release, NULL);
    vcpu_run_on_async(1, v);
    wait_until(v->in_l2, 1000000);
    udelay(1000);
    apic_icr_write(VEC_HOST, 1);
    bool got = wait_until(percpu[1].irq_count[VEC_HOST] == 1, 1000000);
    release = 1;
    on_cpu_wait(1);
    report(got && v->done && v->exit_intr == 1 && percpu[1].guest_irq_count[VEC_HOST] == 0,
           "intr: IPI to CPU 1 exits the L2 once and reaches L1 (exits %llu)",
           (unsigned long long)v->exit_intr);
    counts.sent++;
    counts.delivered += percpu[1].irq_count[VEC_HOST];

    /* 7. V_IRQ: virtual interrupt taken by the L2's handler, V_IRQ cleared. */
    set_guest_irq_handler(VEC_VIRQ, count_only);
    v = vcpu_create(vm, 6, l2_sti_wait, (void *)(uint64_t)VEC_VIRQ);
    vmcb_write32(v, VMCB_INT_CTL, vmcb_read32(v, VMCB_INT_CTL) | V_IRQ |
                 (0xf << V_INTR_PRIO_SHIFT) | V_IGN_TPR);
    vmcb_write32(v, VMCB_INT_VECTOR, VEC_VIRQ);
    vcpu_run(v);
    report(v->done && this_cpu()->guest_irq_count[VEC_VIRQ] == 1 &&
           !(vmcb_read32(v, VMCB_INT_CTL) & V_IRQ),
           "v_irq: vector %#x delivered once to the L2", VEC_VIRQ);

    /* 8. EVENTINJ: external interrupt injected at VMRUN. */
    set_guest_irq_handler(VEC_INJ, count_only);
    v = vcpu_create(vm, 7, l2_sti_wait, (void *)(uint64_t)VEC_INJ);
    vmcb_write32(v, VMCB_EVENT_INJ, EVTINJ_VALID | EVTINJ_TYPE_INTR | VEC_INJ);
    vcpu_run(v);
    report(v->done && this_cpu()->guest_irq_count[VEC_INJ] == 1,
           "eventinj: vector %#x delivered once to the L2", VEC_INJ);

    /* 9. One L2 per AP at the same time. */
    l2_counter = 0;
    int n = 0;
    for (int c = 1; c < nr_cpus; c++) {
        par[c] = vcpu_create(vm, 8 + c, l2_inc, NULL);
        vcpu_run_on_async(c, par[c]);
    }
    for (int c = 1; c < nr_cpus; c++) {
        on_cpu_wait(c);
        n += par[c]->done;
    }
    report(n == nr_cpus - 1 && l2_counter == (uint64_t)nr_cpus - 1,
           "parallel: %d L2s on %d APs", n, nr_cpus - 1);

    /* 10. VMRUN with an invalid VMCB (ASID 0) gives VMEXIT_INVALID. */
    v = vcpu_create(vm, 15, l2_inc, NULL);
    vmcb_write32(v, VMCB_ASID, 0);
    uint64_t code = vcpu_run(v);
    report(code == SVM_EXIT_INVALID && !v->done,
           "vmexit_invalid: ASID 0 gives exit code -1 (got %#llx)", (unsigned long long)code);
    return 0;
}
