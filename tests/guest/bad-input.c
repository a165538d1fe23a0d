/*
 * bad-input: the rows of docs/specs/amd-avic-bad-input.rst on the CPU
 * side that bad-programming and the avic-* groups do not cover.
 *
 * VMRUN fails with VMEXIT_INVALID (APM §15.29.4.1; outside RAM is the
 * project's choice, docs/specs/amd-avic.rst) when, in xAVIC mode:
 *   - the physical APIC ID table pointer names no RAM;
 *   - the logical APIC ID table pointer names no RAM;
 *   - AVIC_APIC_BAR is beyond MAXPHYADDR;
 *   - the backing page pointer has reserved bits 11:0 set.
 * In x2AVIC mode AVIC_APIC_BAR and the logical table are not used
 * (APM §15.29.10): the same bad values there let the L2 run.
 * A doorbell (MSR C001_011Bh) to an APIC ID no CPU has is accepted (no
 * #GP: the ID is in range) and delivers nothing.  After every failure
 * the fixed VMCB runs again.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "svm.h"

#define OUTSIDE_RAM     0xf000000000ULL     /* legal (< 2^40), no RAM there */

extern volatile uint64_t unexpected_irqs;
/* Run with VMCB field @off = @val; @want_invalid: VMRUN must fail. */
static bool try_field(struct vcpu *v, unsigned off, uint64_t val, bool want_invalid,
                      bool *back)
{
    uint64_t old = vmcb_read64(v, off);
    bool ok;

    vmcb_write64(v, off, val);
    ok = want_invalid ? vmrun_invalid(v) : vmrun_ok(v);
    vmcb_write64(v, off, old);
    *back = *back && vmrun_ok(v);
    return ok;
}

static void xavic_checks(void)
{
    struct vcpu *v = NULL;
    bool back = true;
    uint64_t bad = cpu_maxphys() < 52 ? 1ULL << cpu_maxphys() : 0;

    tap_todo(avic_supported() ? NULL : "AVIC not offered by this CPU");
    if (!TODO_ACTIVE) {
        struct vm *vm = vm_create();
        vm_avic_init(vm, false, 1);
        v = vcpu_create(vm, 0, l2_mark, NULL);
    }
    report(!TODO_ACTIVE && vmrun_ok(v), "xavic/a well-formed AVIC VMCB runs");
    report(!TODO_ACTIVE &&
           try_field(v, AVIC_VMCB_PHYSICAL_TABLE, OUTSIDE_RAM | 1, true, &back),
           "xavic/physical APIC ID table outside RAM: VMEXIT_INVALID");
    report(!TODO_ACTIVE &&
           try_field(v, AVIC_VMCB_LOGICAL_TABLE, OUTSIDE_RAM, true, &back),
           "xavic/logical APIC ID table outside RAM: VMEXIT_INVALID");
    if (!TODO_ACTIVE && !bad)
        report_skip("MAXPHYADDR is 52", "xavic/AVIC_APIC_BAR beyond MAXPHYADDR: VMEXIT_INVALID");
    else
        report(!TODO_ACTIVE && try_field(v, AVIC_VMCB_APIC_BAR, bad, true, &back),
               "xavic/AVIC_APIC_BAR beyond MAXPHYADDR: VMEXIT_INVALID");
    report(!TODO_ACTIVE &&
           try_field(v, AVIC_VMCB_BACKING_PAGE,
                     TODO_ACTIVE ? 0 : vmcb_read64(v, AVIC_VMCB_BACKING_PAGE) | 0x800,
                     true, &back),
           "xavic/backing page pointer with bit 11 set: VMEXIT_INVALID");
    report(!TODO_ACTIVE && back, "xavic/after every failure the fixed VMCB runs again");
    tap_todo(NULL);
}

static void x2avic_checks(void)
{
    struct vcpu *v = NULL;
    bool back = true;
    uint64_t bad = cpu_maxphys() < 52 ? 1ULL << cpu_maxphys() : 0;

    tap_todo(x2avic_supported() ? NULL : "x2AVIC not offered by this CPU");
    if (!TODO_ACTIVE) {
        struct vm *vm = vm_create();
        vm_avic_init(vm, true, 1);
        v = vcpu_create(vm, 0, l2_mark, NULL);
    }
    report(!TODO_ACTIVE &&
           try_field(v, AVIC_VMCB_LOGICAL_TABLE, OUTSIDE_RAM, false, &back),
           "x2avic/logical table outside RAM is not used: the L2 runs");
    report(!TODO_ACTIVE &&
           try_field(v, AVIC_VMCB_APIC_BAR, bad ? bad : OUTSIDE_RAM, false, &back),
           "x2avic/AVIC_APIC_BAR is not used: a bad one runs");
    tap_todo(NULL);
}

static void doorbell_checks(void)
{
    uint64_t spurious = unexpected_irqs;
    int r1 = 0, r2 = 0;     /* wrmsr_safe: -1 = no fault, else the vector */

    tap_todo(avic_supported() ? NULL : "AVIC not offered by this CPU");
    if (!TODO_ACTIVE) {
        r1 = wrmsr_safe(AVIC_MSR_DOORBELL, 0xfe);
        r2 = wrmsr_safe(AVIC_MSR_DOORBELL, 0xfff);
        udelay(1000);
    }
    report(r1 == -1 && r2 == -1 && unexpected_irqs == spurious,
           "doorbell to APIC IDs FEh and FFFh (no such CPU): no #GP, nothing delivered");
    tap_todo(NULL);
}

int main(void)
{
    tap_group("bad-input");
    tap_plan(6 + 2 + 1);
    if (svm_supported())
        svm_enable();
    xavic_checks();
    x2avic_checks();
    doorbell_checks();
    return 0;
}
