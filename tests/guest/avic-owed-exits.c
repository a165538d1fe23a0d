/*
 * avic-owed-exits: a #VMEXIT that an instruction owes (trap-style 402h,
 * level EOI, 401h) is not lost when another event is recognized at the
 * same instruction boundary.  Here the L2 single-steps (RFLAGS.TF) and
 * the L1 intercepts #DB, as KVM always does:
 *
 *   - the owed exit is the next exit after the #DB that stopped at the
 *     xAPIC write, with RIP after the write (it is part of the write);
 *   - the #DB trap of that same instruction is not delivered, and
 *     single-stepping goes on from the next instruction
 *     (docs/specs/amd-avic.rst, "Exits owed by an instruction").
 *
 * Cases: a TMICT write (402h trap), an EOI of a level-triggered vector
 * (402h, EXITINFO2 = vector), an ICR write with vector 5 (401h ID 4).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "svm.h"

#define BAR         AVIC_DEFAULT_APIC_BAR
#define VEC_LEVEL   0x74
#define MAX_LOG     64

/* Write step_val to the xAPIC register at rdi with RFLAGS.TF set. */
uint32_t step_val;
void l2_step_write(void *addr);
asm(".globl l2_step_write\n"
    "l2_step_write:\n"
    "    mov step_val(%rip), %esi\n"
    "    pushfq\n"
    "    orq $0x100, (%rsp)\n"
    "    popfq\n"
    "    call l2_mmio_write32\n"
    "    pushfq\n"
    "    andq $~0x100, (%rsp)\n"
    "    popfq\n"
    "    ret\n");

static struct {
    uint64_t code, rip, info1, info2;
} exit_log[MAX_LOG];
static int nlog;

static int log_exit(struct vcpu *v)
{
    if (nlog < MAX_LOG)
        exit_log[nlog++] = (typeof(exit_log[0])){ v->exit_code, v->exit_rip,
                                                  v->exit_info1, v->exit_info2 };
    if (v->exit_code == AVIC_EXIT_NOACCEL)
        counts.exit_402++;
    else if (v->exit_code == AVIC_EXIT_INCOMPLETE_IPI)
        counts.exit_401++;
    else
        counts.other_exits++;
    /* #DB is a trap: RIP is already past the instruction. */
    return v->exit_code == SVM_EXIT_EXCP(1) ? VCPU_HANDLED : VCPU_CONTINUE;
}

static void dump_log(void)
{
    for (int i = 0; i < nlog; i++)
        diag("  exit %d: code %#llx rip %#llx info1 %#llx info2 %#llx", i,
             (unsigned long long)exit_log[i].code, (unsigned long long)exit_log[i].rip,
             (unsigned long long)exit_log[i].info1, (unsigned long long)exit_log[i].info2);
}

struct step_case {
    const char *name;
    uint16_t reg;
    uint32_t val;
    uint64_t code, info1, info2;
};

static void step_across(struct vcpu *v, const struct step_case *c)
{
    bool ok[2] = { 0 };
    uint64_t insn = (uint64_t)l2_mmio_write32_insn;

    if (!TODO_ACTIVE) {
        avic_backing_reset(v);
        if (c->reg == APIC_REG_EOI) {
            *avic_reg(v, APIC_VEC_REG_OFFSET(APIC_REG_ISR, VEC_LEVEL)) = APIC_VEC_BIT(VEC_LEVEL);
            *avic_reg(v, APIC_VEC_REG_OFFSET(APIC_REG_TMR, VEC_LEVEL)) = APIC_VEC_BIT(VEC_LEVEL);
        }
        step_val = c->val;
        nlog = 0;
        v->fn = l2_step_write;
        v->arg = (void *)(BAR + c->reg);
        vcpu_reset_guest(v);
        vcpu_run(v);

        int at = -1, owed = 0, db_after = 0;
        for (int i = 0; i < nlog; i++) {
            if (exit_log[i].code == SVM_EXIT_EXCP(1) && exit_log[i].rip == insn && at < 0)
                at = i;
            if (exit_log[i].code == c->code)
                owed++;
            if (at >= 0 && i > at + 1 && exit_log[i].code == SVM_EXIT_EXCP(1))
                db_after++;
        }
        ok[0] = at >= 0 && at + 1 < nlog && owed == 1 &&
                exit_log[at + 1].code == c->code && exit_log[at + 1].rip == insn + 2 &&
                exit_log[at + 1].info1 == c->info1 &&
                (c->code != AVIC_EXIT_INCOMPLETE_IPI && c->reg != APIC_REG_EOI ?
                 true : exit_log[at + 1].info2 == c->info2);
        ok[1] = v->done && db_after > 0;
        if (!ok[0] || !ok[1]) {
            diag("  write at %#llx, done %d", (unsigned long long)insn, v->done);
            dump_log();
        }
    }
    report(ok[0], "%s: the owed exit %#llx is the next exit after the #DB at the write, "
           "RIP after it", c->name, (unsigned long long)c->code);
    report(ok[1], "%s: single-stepping goes on after it, the L2 completes", c->name);
}

int main(void)
{
    const struct step_case cases[] = {
        { "TMICT write (402h trap)", APIC_REG_TMICT, 1000, AVIC_EXIT_NOACCEL,
          AVIC_NOACCEL_WRITE | APIC_REG_TMICT, 0 },
        { "level EOI (402h)", APIC_REG_EOI, 0, AVIC_EXIT_NOACCEL,
          AVIC_NOACCEL_WRITE | APIC_REG_EOI, VEC_LEVEL },
        { "ICR vector 5 (401h ID 4)", APIC_REG_ICR_LO, 5, AVIC_EXIT_INCOMPLETE_IPI,
          5, (uint64_t)AVIC_IPI_INVALID_VECTOR << AVIC_IPI_EXITINFO2_ID_SHIFT },
    };
    struct vcpu *v = NULL;

    tap_group("avic-owed-exits");
    tap_plan(1 + 2 * ARRAY_SIZE(cases));

    if (!avic_supported())
        tap_todo("issue 4 (AVIC not offered by this CPU)");
    report(avic_supported(), "CPUID: AVIC");
    if (!TODO_ACTIVE) {
        svm_enable();
        struct vm *vm = vm_create();
        vm_avic_init(vm, false, 1);
        v = vcpu_create(vm, 0, l2_step_write, NULL);
        vmcb_write32(v, VMCB_INTERCEPT_EXC, BIT(1));    /* #DB, as KVM */
        v->on_exit = log_exit;
    }
    for (unsigned i = 0; i < ARRAY_SIZE(cases); i++)
        step_across(v, &cases[i]);
    return 0;
}
