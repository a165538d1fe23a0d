/*
 * Per-CPU state, interrupt handlers, SMP calls, local APIC.
 *
 * CPU numbers are APIC IDs: QEMU's q35 with -smp n gives the CPUs the
 * APIC IDs 0..n-1 and the boot code checks that.  CPU 0 (the BSP) runs
 * main(); the others wait for work from on_cpu().
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef GUEST_CPU_H
#define GUEST_CPU_H

#include "lib.h"

/* Vectors the library reserves. */
#define VEC_SPURIOUS    0xef
#define VEC_CALL        0xf0    /* wake-up IPI for on_cpu() */
#define VEC_DONE        0xf1    /* "your call finished" IPI */

struct frame {
    uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
    uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
    uint64_t vector, error;
    uint64_t rip, cs, rflags, rsp, ss;
};

typedef void (*irq_handler_t)(struct frame *f);

struct percpu {
    struct percpu *self;        /* %gs:0 */
    uint64_t fixup_rip;         /* %gs:8, set by the *_safe() helpers */
    uint64_t fault_vector;      /* %gs:16, vector taken under a fixup */
    uint32_t cpu;               /* == APIC ID */
    volatile uint32_t online;
    /* on_cpu() mailbox */
    void (*volatile call_fn)(void *);
    void *volatile call_arg;
    volatile uint32_t call_pending;
    volatile uint32_t call_done;
    volatile uint32_t call_waiter;      /* CPU to IPI when done, or -1 */
    /* interrupt state */
    volatile uint32_t in_guest;         /* an L2 runs on this CPU */
    bool apic_x2;                       /* L1's APIC mode on this CPU */
    bool guest_apic_x2;                 /* the L2's (x2AVIC) view */
    volatile uint64_t irq_count[256];   /* L1 (host) interrupts taken */
    volatile uint64_t guest_irq_count[256];     /* L2 interrupts taken */
    volatile uint64_t guest_irq_last_isr;       /* L2: ISR word seen */
    void *vcpu;                         /* the SVM vCPU this CPU runs */
    uint8_t *stack_top;
};

extern struct percpu percpu[MAX_CPUS];
extern int nr_cpus;

static inline struct percpu *this_cpu(void)
{
    struct percpu *p;
    asm volatile("mov %%gs:0, %0" : "=r"(p));
    return p;
}
static inline int smp_id(void) { return this_cpu()->cpu; }

/* Interrupt handlers: one table for the host (L1), one used while the
 * CPU runs an L2 (percpu.in_guest), so that both can share one IDT. */
void set_irq_handler(int vec, irq_handler_t h);
void set_guest_irq_handler(int vec, irq_handler_t h);
/* Default handler that counts in percpu.irq_count / guest_irq_count
 * and sends EOI to the APIC of the current mode. */
void count_and_eoi(struct frame *f);

/* SMP */
void on_cpu(int cpu, void (*fn)(void *), void *arg);         /* waits */
void on_cpu_async(int cpu, void (*fn)(void *), void *arg);
void on_cpu_wait(int cpu);
bool on_cpu_done(int cpu);

/* ---- local APIC ---- */
#define APIC_MMIO_BASE  0xfee00000UL
#define APIC_BASE_EN    BIT(11)
#define APIC_BASE_EXTD  BIT(10)

#define APIC_DM_FIXED   0x000
#define APIC_DM_LOWEST  0x100
#define APIC_DM_SMI     0x200
#define APIC_DM_NMI     0x400
#define APIC_DM_INIT    0x500
#define APIC_DM_SIPI    0x600
#define APIC_DEST_LOGICAL   0x800
#define APIC_ICR_BUSY   0x1000
#define APIC_ICR_ASSERT 0x4000
#define APIC_ICR_LEVEL  0x8000
#define APIC_SH_SELF    0x40000
#define APIC_SH_ALL     0x80000
#define APIC_SH_OTHERS  0xc0000

/* In the current context (host or L2, per this_cpu()->in_guest). */
uint32_t apic_read(uint32_t reg);
void apic_write(uint32_t reg, uint32_t val);
void apic_icr_write(uint32_t lo, uint32_t dest);  /* dest: APIC ID */
void apic_eoi(void);
uint32_t apic_id(void);
void apic_enable_x2(void);      /* this CPU's L1 APIC to x2APIC mode */
void apic_enable_xapic(void);   /* back to xAPIC (via disable) */
void apic_setup(void);          /* SVR on, LVTs masked, TPR 0 */
static inline bool apic_x2_supported(void) { return cpuid_ecx(1) & BIT(21); }

/* IDT/GDT */
void desc_init(void);           /* BSP: build IDT */
void desc_load(void);           /* every CPU */
extern uint64_t gdt64[];

#endif
