/*
 * A tiny SVM hypervisor: VMCB setup, nested page tables (identity map of
 * the first 4 GiB), a VMRUN loop that counts exits, and AVIC state
 * (backing page, physical/logical APIC ID tables, APIC BAR).
 *
 * An L2 "vCPU" runs a C function of the test image itself: nested
 * paging is an identity map and the L2 reuses L1's page tables, GDT and
 * IDT, so the same code, data and printf work at both levels.  The IDT
 * dispatcher picks the guest handler table while percpu.in_guest is set.
 * VMRUN does not load GS, so %gs still points at the physical CPU's
 * percpu block inside the L2.
 *
 * Generic VMCB layout: AMD64 APM vol. 2, appendix B.  AVIC offsets and
 * bits come from hw/i386/amd-avic-bits.h.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef GUEST_SVM_H
#define GUEST_SVM_H

#include "lib.h"
#include "cpu.h"
#include "hw/i386/amd-avic-bits.h"

/* ---- VMCB control area ---- */
#define VMCB_INTERCEPT_CR       0x000
#define VMCB_INTERCEPT_DR       0x004
#define VMCB_INTERCEPT_EXC      0x008
#define VMCB_INTERCEPT_MISC1    0x00c
#define VMCB_INTERCEPT_MISC2    0x010
#define VMCB_IOPM_BASE          0x040
#define VMCB_MSRPM_BASE         0x048
#define VMCB_TSC_OFFSET         0x050
#define VMCB_ASID               0x058
#define VMCB_TLB_CONTROL        0x05c
#define VMCB_INT_CTL            0x060   /* 32 bits; 0x064: V_INTR_VECTOR */
#define VMCB_INT_VECTOR         0x064
#define VMCB_INT_STATE          0x068
#define VMCB_EXIT_CODE          0x070
#define VMCB_EXIT_INFO1         0x078
#define VMCB_EXIT_INFO2         0x080
#define VMCB_EXIT_INT_INFO      0x088
#define VMCB_NP_ENABLE          0x090
#define VMCB_EVENT_INJ          0x0a8
#define VMCB_N_CR3              0x0b0
#define VMCB_CLEAN              0x0c0
#define VMCB_NRIP               0x0c8

/* MISC1 (exit codes 0x60..0x7f), MISC2 (0x80..) */
#define INTERCEPT_INTR          BIT(0)
#define INTERCEPT_NMI           BIT(1)
#define INTERCEPT_VINTR         BIT(4)
#define INTERCEPT_HLT           BIT(24)
#define INTERCEPT_IOIO          BIT(27)
#define INTERCEPT_MSR           BIT(28)
#define INTERCEPT_SHUTDOWN      BIT(31)
#define INTERCEPT2_VMRUN        BIT(0)
#define INTERCEPT2_VMMCALL      BIT(1)

#define V_IRQ                   BIT(8)
#define V_INTR_PRIO_SHIFT       16
#define V_IGN_TPR               BIT(20)
#define V_INTR_MASKING          BIT(24)

#define EVTINJ_VALID            BIT(31)
#define EVTINJ_TYPE_INTR        (0 << 8)

/* ---- VMCB save area ---- */
#define VMCB_SAVE               0x400
#define VMCB_ES                 0x400
#define VMCB_CS                 0x410
#define VMCB_SS                 0x420
#define VMCB_DS                 0x430
#define VMCB_GDTR               0x460
#define VMCB_IDTR               0x480
#define VMCB_CPL                0x4cb
#define VMCB_EFER               0x4d0
#define VMCB_CR4                0x548
#define VMCB_CR3                0x550
#define VMCB_CR0                0x558
#define VMCB_DR7                0x560
#define VMCB_DR6                0x568
#define VMCB_RFLAGS             0x570
#define VMCB_RIP                0x578
#define VMCB_RSP                0x5d8
#define VMCB_RAX                0x5f8
#define VMCB_CR2                0x640
#define VMCB_G_PAT              0x668

/* Exit codes */
#define SVM_EXIT_INTR           0x060
#define SVM_EXIT_VINTR          0x064
#define SVM_EXIT_HLT            0x078
#define SVM_EXIT_MSR            0x07c
#define SVM_EXIT_SHUTDOWN       0x07f
#define SVM_EXIT_VMMCALL        0x081
#define SVM_EXIT_NPF            0x400
#define SVM_EXIT_INVALID        ((uint64_t)(int64_t)AVIC_EXIT_INVALID)
#define SVM_EXIT_EXCP(n)        (0x40 + (n))

/* Hypercalls (VMMCALL with RAX = number, RBX = argument) */
#define HC_DONE                 0
#define HC_YIELD                1       /* stop the run loop, L2 resumable */
#define HC_USER                 0x100   /* test-specific */

#define MSR_VM_HSAVE_PA         0xc0010117

struct guest_regs {
    uint64_t rbx, rcx, rdx, rsi, rdi, rbp;
    uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
};

struct vm {
    uint64_t *npt;              /* nested PML4 */
    uint64_t *phys_table;       /* AVIC physical APIC ID table */
    uint32_t *log_table;        /* AVIC logical APIC ID table */
    uint8_t *decoy;             /* NPT target of the APIC BAR page */
    uint64_t apic_bar;
    unsigned max_index;
    bool avic, x2avic;
    struct vcpu *vcpus[16];
};

/* on_exit results: stop the loop; go on with the default handling;
 * or resume the L2 without the default handling. */
enum { VCPU_STOP = 0, VCPU_CONTINUE = 1, VCPU_HANDLED = 2 };

struct vcpu;
typedef int (*exit_handler_t)(struct vcpu *v);

struct vcpu {
    struct vm *vm;
    unsigned id;                /* guest APIC ID, physical table index */
    uint8_t *vmcb;
    uint8_t *backing;           /* AVIC backing page */
    uint8_t *stack;             /* top of the L2 stack */
    uint8_t *msrpm, *iopm;
    struct guest_regs regs;
    void (*fn)(void *);
    void *arg;
    exit_handler_t on_exit;     /* called first for every exit */
    volatile int pcpu;          /* physical CPU running it, -1 if none */
    volatile bool done;         /* L2 function returned */
    volatile bool in_l2;        /* between VMRUN and #VMEXIT */
    bool manage_is_running;     /* set/clear IsRunning around the loop */
    /* exit statistics */
    volatile uint64_t nr_exits, exit_401, exit_402, exit_intr, exit_hlt,
                      exit_vmmcall, exit_npf, exit_invalid, exit_other;
    uint64_t exit_code, exit_info1, exit_info2, exit_rip, exit_rip_before;
    uint64_t vmruns;
    /* the last 401h / 402h exits, for the checks */
    uint64_t last_401_info1, last_401_info2, last_401_rip;
    uint64_t last_402_info1, last_402_info2, last_402_rip;
    void *user;                 /* free for the test */
    /* interrupts the L2 took (avic_guest_handler), by vector */
    volatile uint32_t irq_count[256];
    volatile uint64_t irq_total;
};
_Static_assert(sizeof(struct vcpu) <= 4096, "struct vcpu must fit a page");

static inline uint64_t vmcb_read64(struct vcpu *v, unsigned off)
{ return *(volatile uint64_t *)(v->vmcb + off); }
static inline void vmcb_write64(struct vcpu *v, unsigned off, uint64_t x)
{ *(volatile uint64_t *)(v->vmcb + off) = x; }
static inline uint32_t vmcb_read32(struct vcpu *v, unsigned off)
{ return *(volatile uint32_t *)(v->vmcb + off); }
static inline void vmcb_write32(struct vcpu *v, unsigned off, uint32_t x)
{ *(volatile uint32_t *)(v->vmcb + off) = x; }

bool svm_supported(void);
bool npt_supported(void);
void svm_enable(void);          /* on the current CPU: EFER.SVME, HSAVE */

/* Nested page tables: identity map of 0..4 GiB with 2 MiB pages. */
uint64_t *npt_create(void);
/* Map one 4 KiB GPA page to an HPA (hpa == ~0 for not-present). */
void npt_map_4k(uint64_t *npt, uint64_t gpa, uint64_t hpa);

struct vm *vm_create(void);
struct vcpu *vcpu_create(struct vm *vm, unsigned id, void (*fn)(void *), void *arg);
void vcpu_reset_guest(struct vcpu *v);  /* RIP/RSP back to fn's entry */
/* Run on the current CPU until the L2 function returns, HC_YIELD, or an
 * exit handler returns VCPU_STOP.  Returns the last exit code. */
uint64_t vcpu_run(struct vcpu *v);
void vcpu_run_on(int cpu, struct vcpu *v);      /* on_cpu() + wait */
void vcpu_run_on_async(int cpu, struct vcpu *v);
void vcpu_advance_rip(struct vcpu *v, int len);
void msrpm_set(struct vcpu *v, uint32_t msr, bool rd, bool wr);

/* Inside the L2 */
static inline uint64_t vmmcall(uint64_t nr, uint64_t arg)
{
    uint64_t r = nr;
    asm volatile("vmmcall" : "+a"(r) : "b"(arg) : "memory");
    return r;
}

/* ---- AVIC ---- */
bool avic_supported(void);
bool x2avic_supported(void);
/* Enable AVIC for the VM (tables, APIC BAR at 0xfee00000 mapped in NPT
 * to a decoy page).  x2: x2AVIC for every vCPU created afterwards. */
void vm_avic_init(struct vm *vm, bool x2, unsigned max_index);
/* Backing page, table entry (valid, not running), VMCB AVIC fields. */
void vcpu_avic_init(struct vcpu *v);
void avic_set_running(struct vcpu *v, int host_apic_id);  /* -1: not */
static inline volatile uint32_t *avic_reg(struct vcpu *v, unsigned off)
{ return (volatile uint32_t *)(v->backing + off); }
static inline bool avic_irr_test(struct vcpu *v, int vec)
{ return *avic_reg(v, APIC_VEC_REG_OFFSET(APIC_REG_IRR, vec)) & APIC_VEC_BIT(vec); }
static inline bool avic_isr_test(struct vcpu *v, int vec)
{ return *avic_reg(v, APIC_VEC_REG_OFFSET(APIC_REG_ISR, vec)) & APIC_VEC_BIT(vec); }
static inline void avic_irr_set(struct vcpu *v, int vec)
{ __atomic_fetch_or(avic_reg(v, APIC_VEC_REG_OFFSET(APIC_REG_IRR, vec)), APIC_VEC_BIT(vec), __ATOMIC_SEQ_CST); }
void avic_clear_irr_isr(struct vcpu *v);
/* Zero the backing page and write the reset values again. */
void avic_backing_reset(struct vcpu *v);
/* L2 interrupt handler: count in the running vCPU (this_cpu()->vcpu)
 * and in percpu.guest_irq_count, then EOI through the L2's APIC view. */
void avic_guest_handler(struct frame *f);

/*
 * A generic L2 "server": the L2 spins with IF=1 (so it takes interrupts
 * without any exit) and executes requests that an L1 CPU posts in
 * shared memory.  Stop it with ->quit; the L2 function then returns.
 */
enum { L2_OP_NONE, L2_OP_ICR, L2_OP_WRMSR, L2_OP_RDMSR, L2_OP_HC };
struct l2_server {
    volatile uint32_t seq, done;
    volatile uint32_t op;
    volatile uint64_t a0, a1, result;
    volatile int exc;
    volatile uint32_t quit, running;
};
void l2_server(void *arg);              /* the L2 function; arg = server */
bool l2_call(struct l2_server *s, uint32_t op, uint64_t a0, uint64_t a1);

/* ---- L2 accessors with fixed 2-byte encodings (svm-asm.S) ---- */
uint32_t l2_mmio_read32(uint64_t addr);
void l2_mmio_write32(uint64_t addr, uint32_t val);
extern char l2_mmio_read32_insn[], l2_mmio_write32_insn[];
extern char rdmsr_safe_insn[], wrmsr_safe_insn[];
/* Where did an exit leave RIP, relative to those instructions? */
enum { RIP_OTHER = 0, RIP_AT_INSN = 1, RIP_AFTER_INSN = 2 };
int l2_rip_class(uint64_t rip);
/* Complete a faulting access for the L2: a read gets val (RAX, RDX=0),
 * a write is dropped; RIP moves past the 2-byte instruction. */
void l2_emulate_skip(struct vcpu *v, uint64_t val);

/* ---- VMRUN consistency checks (bad-programming, bad-input) ---- */
/* An L2 entry (vcpu_create's function) that only counts its runs. */
extern volatile uint64_t l2_marks;
void l2_mark(void *arg);
/* CPUID 8000_0008h.EAX[7:0]: MAXPHYADDR. */
unsigned cpu_maxphys(void);
/* Reset the L2 of @v (entry l2_mark) and run it: true if VMRUN failed
 * with VMEXIT_INVALID and no L2 instruction ran (a diag line if not). */
bool vmrun_invalid(struct vcpu *v);
/* ... true if the L2 ran once and finished (a diag line if not). */
bool vmrun_ok(struct vcpu *v);

#endif
