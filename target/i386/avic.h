/*
 * SVM AVIC / x2AVIC for the TCG CPU: per-vCPU state and the hooks the
 * upstream files call (implementation: target/i386/tcg/system/avic.c).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef TARGET_I386_AVIC_H
#define TARGET_I386_AVIC_H

#include "exec/cpu-interrupt.h"
#include "exec/mmu-access-type.h"
#include "exec/vaddr.h"

/*
 * Evaluate the vAPIC backing page, or take a pending AVIC #VMEXIT.
 * Raised on the CPU itself (VMRUN, EOI, TPR writes, trapped writes) and
 * by doorbells from other threads.
 */
#define CPU_INTERRUPT_AVIC      CPU_INTERRUPT_TGT_EXT_0

/* Counters, readable as QOM properties "avic-*" of each CPU. */
typedef struct AvicStats {
    uint64_t deliveries;        /* vectors taken from the page, no exit */
    uint64_t doorbells;         /* doorbells received, any mode */
    uint64_t doorbells_guest;   /* ... that found AVIC guest mode */
    uint64_t ipis;              /* ICR writes accelerated */
    uint64_t exit_ipi[5];       /* #VMEXIT 401h by ID */
    uint64_t exit_trap;         /* #VMEXIT 402h, trap style */
    uint64_t exit_fault;        /* #VMEXIT 402h, fault style */
    uint64_t vmrun_invalid;     /* VMRUNs refused for AVIC fields */
} AvicStats;

typedef struct AvicState {
    /* Valid from a VMRUN with AVIC enabled to the next #VMEXIT. */
    bool active;
    bool x2avic;
    uint64_t apic_bar;          /* guest-physical xAPIC page */
    uint64_t backing;           /* host-physical backing page */
    uint64_t logical_table;
    uint64_t physical_table;
    uint32_t max_index;

    /* A #VMEXIT owed by the instruction that just completed. */
    bool exit_pending;
    uint64_t exit_code;
    uint64_t exit_info1;
    uint64_t exit_info2;

    AvicStats stats;
} AvicState;

extern const VMStateDescription vmstate_avic;

/* Included by cpu.h before CPUX86State exists: CPUArchState is the same. */
void avic_cpu_realize(ArchCPU *cpu);
void avic_vmrun(CPUArchState *env, uintptr_t retaddr);
void avic_vmexit(CPUArchState *env);
void avic_owed_exit_first(CPUArchState *env, uint64_t *exit_code,
                          uint64_t *exit_info_1);
bool avic_tlb_fill(CPUState *cs, vaddr addr, uint64_t gpa,
                   MMUAccessType access_type, int mmu_idx, int prot,
                   bool probe, uintptr_t retaddr);
bool avic_rdmsr(CPUArchState *env, uint32_t msr, uint64_t *val,
                uintptr_t retaddr);
bool avic_wrmsr(CPUArchState *env, uint32_t msr, uint64_t val,
                uintptr_t retaddr);
bool avic_write_cr8(CPUArchState *env, uint64_t val);
bool avic_exit_pending(CPUArchState *env, int interrupt_request);
bool avic_interrupt_pending(CPUArchState *env, int interrupt_request);
void avic_exec_interrupt(CPUArchState *env);

#endif /* TARGET_I386_AVIC_H */
