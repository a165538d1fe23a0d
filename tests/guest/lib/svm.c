/*
 * SVM: VMCB setup, nested paging, the VMRUN loop, AVIC state.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "svm.h"

#define L2_STACK_PAGES  4

extern void svm_vmrun(struct guest_regs *regs, uint64_t vmcb_pa);
extern char guest_entry[];
extern uint64_t gdt64[];

static uint8_t *hsave[MAX_CPUS];

bool svm_supported(void)
{
    return cpuid_eax(0x80000000) >= 0x8000000a && (cpuid_ecx(0x80000001) & BIT(2));
}

bool npt_supported(void)
{
    return svm_supported() && (cpuid_edx(0x8000000a) & BIT(0));
}

void svm_enable(void)
{
    int cpu = smp_id();
    if (!hsave[cpu])
        hsave[cpu] = alloc_page();
    wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_SVME);
    wrmsr(MSR_VM_HSAVE_PA, virt_to_phys(hsave[cpu]));
}

/* ---------------- nested paging ---------------- */

#define PTE_P   BIT(0)
#define PTE_RW  BIT(1)
#define PTE_US  BIT(2)
#define PTE_PS  BIT(7)
#define NPT_FLAGS (PTE_P | PTE_RW | PTE_US)
#define PTE_ADDR  AMD_AVIC_MASK(51, 12)

uint64_t *npt_create(void)
{
    uint64_t *pml4 = alloc_page();
    uint64_t *pdpt = alloc_page();
    pml4[0] = virt_to_phys(pdpt) | NPT_FLAGS;
    for (int g = 0; g < 4; g++) {
        uint64_t *pd = alloc_page();
        pdpt[g] = virt_to_phys(pd) | NPT_FLAGS;
        for (int i = 0; i < 512; i++)
            pd[i] = (((uint64_t)g << 30) + ((uint64_t)i << 21)) | NPT_FLAGS | PTE_PS;
    }
    return pml4;
}

void npt_map_4k(uint64_t *npt, uint64_t gpa, uint64_t hpa)
{
    assert(gpa < (4ULL << 30));
    uint64_t *pdpt = phys_to_virt(npt[0] & PTE_ADDR);
    uint64_t *pd = phys_to_virt(pdpt[gpa >> 30] & PTE_ADDR);
    uint64_t *pde = &pd[(gpa >> 21) & 511];
    if (*pde & PTE_PS) {
        uint64_t base = *pde & AMD_AVIC_MASK(51, 21);
        uint64_t *pt = alloc_page();
        for (int i = 0; i < 512; i++)
            pt[i] = (base + ((uint64_t)i << 12)) | NPT_FLAGS;
        *pde = virt_to_phys(pt) | NPT_FLAGS;
    }
    uint64_t *pt = phys_to_virt(*pde & PTE_ADDR);
    pt[(gpa >> 12) & 511] = hpa == ~0ULL ? 0 : ((hpa & PTE_ADDR) | NPT_FLAGS);
}

/* ---------------- VM and vCPU ---------------- */

struct vm *vm_create(void)
{
    struct vm *vm = alloc_page();
    vm->npt = npt_create();
    vm->apic_bar = AVIC_DEFAULT_APIC_BAR;
    return vm;
}

void msrpm_set(struct vcpu *v, uint32_t msr, bool rd, bool wr)
{
    uint32_t base;
    if (msr < 0x2000)
        base = 0;
    else if (msr >= 0xc0000000 && msr < 0xc0002000)
        base = 0x800, msr -= 0xc0000000;
    else if (msr >= 0xc0010000 && msr < 0xc0012000)
        base = 0x1000, msr -= 0xc0010000;
    else
        return;
    uint32_t bit = msr * 2;
    uint8_t *b = v->msrpm + base + bit / 8;
    *b = (*b & ~(3 << (bit % 8))) | ((rd ? 1 : 0) | (wr ? 2 : 0)) << (bit % 8);
}

static void set_seg(struct vcpu *v, unsigned off, uint16_t sel, uint16_t attr)
{
    *(uint16_t *)(v->vmcb + off) = sel;
    *(uint16_t *)(v->vmcb + off + 2) = attr;
    *(uint32_t *)(v->vmcb + off + 4) = 0xffffffff;
    *(uint64_t *)(v->vmcb + off + 8) = 0;
}

void vcpu_reset_guest(struct vcpu *v)
{
    memset(&v->regs, 0, sizeof(v->regs));
    v->regs.rdi = (uint64_t)v->fn;
    v->regs.rsi = (uint64_t)v->arg;
    vmcb_write64(v, VMCB_RIP, (uint64_t)guest_entry);
    vmcb_write64(v, VMCB_RSP, (uint64_t)v->stack);
    vmcb_write64(v, VMCB_RFLAGS, 0x2);
    vmcb_write64(v, VMCB_RAX, 0);
    v->done = false;
}

struct vcpu *vcpu_create(struct vm *vm, unsigned id, void (*fn)(void *), void *arg)
{
    struct vcpu *v = alloc_page();
    v->vm = vm;
    v->id = id;
    v->fn = fn;
    v->arg = arg;
    v->pcpu = -1;
    v->manage_is_running = true;
    v->vmcb = alloc_page();
    v->stack = (uint8_t *)alloc_pages(L2_STACK_PAGES) + L2_STACK_PAGES * PAGE_SIZE;
    v->msrpm = alloc_pages(2);
    v->iopm = alloc_pages(3);
    if (id < ARRAY_SIZE(vm->vcpus))
        vm->vcpus[id] = v;

    vmcb_write32(v, VMCB_INTERCEPT_MISC1, INTERCEPT_INTR | INTERCEPT_NMI |
                 INTERCEPT_SHUTDOWN | INTERCEPT_MSR);
    vmcb_write32(v, VMCB_INTERCEPT_MISC2, INTERCEPT2_VMRUN | INTERCEPT2_VMMCALL);
    vmcb_write64(v, VMCB_IOPM_BASE, virt_to_phys(v->iopm));
    vmcb_write64(v, VMCB_MSRPM_BASE, virt_to_phys(v->msrpm));
    vmcb_write32(v, VMCB_ASID, 1);
    v->vmcb[VMCB_TLB_CONTROL] = 1;      /* flush on every VMRUN */
    vmcb_write32(v, VMCB_INT_CTL, V_INTR_MASKING);
    vmcb_write64(v, VMCB_NP_ENABLE, 1);
    vmcb_write64(v, VMCB_N_CR3, virt_to_phys(vm->npt));
    vmcb_write64(v, VMCB_CLEAN, 0);

    set_seg(v, VMCB_ES, 0x10, 0xc93);
    set_seg(v, VMCB_CS, 0x08, 0xa9b);
    set_seg(v, VMCB_SS, 0x10, 0xc93);
    set_seg(v, VMCB_DS, 0x10, 0xc93);
    struct { uint16_t limit; uint64_t base; } __attribute__((packed)) gd, id_;
    asm volatile("sgdt %0; sidt %1" : "=m"(gd), "=m"(id_));
    *(uint32_t *)(v->vmcb + VMCB_GDTR + 4) = gd.limit;
    *(uint64_t *)(v->vmcb + VMCB_GDTR + 8) = gd.base;
    *(uint32_t *)(v->vmcb + VMCB_IDTR + 4) = id_.limit;
    *(uint64_t *)(v->vmcb + VMCB_IDTR + 8) = id_.base;
    v->vmcb[VMCB_CPL] = 0;
    vmcb_write64(v, VMCB_EFER, rdmsr(MSR_EFER) | EFER_SVME);
    vmcb_write64(v, VMCB_CR0, read_cr0());
    vmcb_write64(v, VMCB_CR3, read_cr3());
    vmcb_write64(v, VMCB_CR4, read_cr4());
    vmcb_write64(v, VMCB_DR7, 0x400);
    vmcb_write64(v, VMCB_DR6, 0xffff0ff0);
    vmcb_write64(v, VMCB_G_PAT, 0x0007040600070406ULL);
    vcpu_reset_guest(v);

    if (vm->avic)
        vcpu_avic_init(v);
    return v;
}

void vcpu_advance_rip(struct vcpu *v, int len)
{
    vmcb_write64(v, VMCB_RIP, vmcb_read64(v, VMCB_RIP) + len);
}

static void clgi(void) { asm volatile("clgi" ::: "memory"); }
static void stgi(void) { asm volatile("stgi" ::: "memory"); }

uint64_t vcpu_run(struct vcpu *v)
{
    struct percpu *p = this_cpu();
    uint64_t vmcb_pa = virt_to_phys(v->vmcb);
    int result;

    svm_enable();
    v->pcpu = p->cpu;
    p->vcpu = v;
    if (v->vm->avic && v->manage_is_running)
        avic_set_running(v, p->cpu);
    do {
        clgi();
        p->in_guest = 1;
        p->guest_apic_x2 = v->vm->x2avic;
        v->exit_rip_before = vmcb_read64(v, VMCB_RIP);
        v->in_l2 = true;
        v->vmruns++;
        svm_vmrun(&v->regs, vmcb_pa);
        v->in_l2 = false;
        p->in_guest = 0;

        uint64_t code = vmcb_read64(v, VMCB_EXIT_CODE);
        v->exit_code = code;
        v->exit_info1 = vmcb_read64(v, VMCB_EXIT_INFO1);
        v->exit_info2 = vmcb_read64(v, VMCB_EXIT_INFO2);
        v->exit_rip = vmcb_read64(v, VMCB_RIP);
        v->nr_exits++;
        stgi();         /* a pending host interrupt is taken here */

        switch (code) {
        case SVM_EXIT_INTR:
            v->exit_intr++;
            break;
        case SVM_EXIT_VMMCALL:
            v->exit_vmmcall++;
            break;
        case SVM_EXIT_HLT:
            v->exit_hlt++;
            break;
        case AVIC_EXIT_INCOMPLETE_IPI:
            v->exit_401++;
            v->last_401_info1 = v->exit_info1;
            v->last_401_info2 = v->exit_info2;
            v->last_401_rip = v->exit_rip;
            break;
        case AVIC_EXIT_NOACCEL:
            v->exit_402++;
            v->last_402_info1 = v->exit_info1;
            v->last_402_info2 = v->exit_info2;
            v->last_402_rip = v->exit_rip;
            break;
        case SVM_EXIT_NPF:
            v->exit_npf++;
            break;
        case SVM_EXIT_INVALID:
            v->exit_invalid++;
            break;
        default:
            v->exit_other++;
        }

        result = VCPU_CONTINUE;
        if (v->on_exit) {
            result = v->on_exit(v);
            if (result == VCPU_STOP)
                break;
            if (result == VCPU_HANDLED) {
                result = VCPU_CONTINUE;
                continue;
            }
        }
        switch (code) {
        case SVM_EXIT_INTR:
        case AVIC_EXIT_INCOMPLETE_IPI:  /* a trap: RIP is already past */
            break;
        case SVM_EXIT_VMMCALL: {
            uint64_t nr = vmcb_read64(v, VMCB_RAX);
            vcpu_advance_rip(v, 3);
            if (nr == HC_DONE) {
                v->done = true;
                result = VCPU_STOP;
            } else if (nr == HC_YIELD) {
                result = VCPU_STOP;
            }
            break;
        }
        case SVM_EXIT_HLT:
            vcpu_advance_rip(v, 1);
            break;
        case SVM_EXIT_INVALID:     /* nothing ran; never retry */
            result = VCPU_STOP;
            break;
        case AVIC_EXIT_NOACCEL:
            if (!v->on_exit) {
                printf("# vcpu %u: unhandled AVIC_NOACCEL info1=%#llx rip=%#llx\n",
                       v->id, (unsigned long long)v->exit_info1,
                       (unsigned long long)v->exit_rip);
                result = VCPU_STOP;
            }
            break;
        default:
            if (!v->on_exit) {
                printf("# vcpu %u: unhandled exit %#llx info1=%#llx info2=%#llx rip=%#llx\n",
                       v->id, (unsigned long long)code,
                       (unsigned long long)v->exit_info1,
                       (unsigned long long)v->exit_info2,
                       (unsigned long long)v->exit_rip);
                result = VCPU_STOP;
            }
        }
    } while (result == VCPU_CONTINUE);

    if (v->vm->avic && v->manage_is_running)
        avic_set_running(v, -1);
    p->vcpu = NULL;
    v->pcpu = -1;
    return v->exit_code;
}

static void run_thunk(void *arg)
{
    vcpu_run(arg);
}

void vcpu_run_on(int cpu, struct vcpu *v)
{
    on_cpu(cpu, run_thunk, v);
}

void vcpu_run_on_async(int cpu, struct vcpu *v)
{
    on_cpu_async(cpu, run_thunk, v);
}

/* ---------------- AVIC ---------------- */

bool avic_supported(void)
{
    return npt_supported() && (cpuid_edx(0x8000000a) & AVIC_CPUID_EDX_AVIC);
}

bool x2avic_supported(void)
{
    return avic_supported() && (cpuid_edx(0x8000000a) & AVIC_CPUID_EDX_X2AVIC);
}

void vm_avic_init(struct vm *vm, bool x2, unsigned max_index)
{
    vm->avic = true;
    vm->x2avic = x2;
    vm->max_index = max_index;
    vm->phys_table = alloc_page();
    vm->log_table = alloc_page();
    /*
     * Like KVM, map the APIC BAR page in the nested page table (AVIC
     * needs a writable translation there), but to a decoy page: AVIC must
     * redirect accesses to the backing page, so reading the decoy's
     * pattern means the redirection did not happen.
     */
    vm->decoy = alloc_page();
    for (int i = 0; i < 1024; i++)
        ((uint32_t *)vm->decoy)[i] = 0xdec0de00 | (i & 0xff);
    npt_map_4k(vm->npt, vm->apic_bar, virt_to_phys(vm->decoy));
}

void avic_backing_reset(struct vcpu *v)
{
    struct vm *vm = v->vm;
    memset(v->backing, 0, PAGE_SIZE);
    /* What an xAPIC/x2APIC looks like after reset, as KVM initializes it. */
    *avic_reg(v, APIC_REG_ID) = vm->x2avic ? v->id : v->id << 24;
    *avic_reg(v, APIC_REG_VERSION) = 0x00050014;
    *avic_reg(v, APIC_REG_SVR) = 0x100 | VEC_SPURIOUS;
    *avic_reg(v, APIC_REG_DFR) = 0xffffffff;
    if (vm->x2avic)     /* x2APIC logical ID: cluster << 16 | 1 << (id & 15) */
        *avic_reg(v, APIC_REG_LDR) = ((v->id >> 4) << 16) | (1u << (v->id & 15));
    for (unsigned r = APIC_REG_LVT_TIMER; r <= APIC_REG_LVT_ERROR; r += 0x10)
        *avic_reg(v, r) = 0x10000;
}

void vcpu_avic_init(struct vcpu *v)
{
    struct vm *vm = v->vm;
    if (!v->backing)
        v->backing = alloc_page();
    avic_backing_reset(v);

    vm->phys_table[v->id] = (virt_to_phys(v->backing) & AVIC_PHYS_ENTRY_BACKING_MASK) |
                            AVIC_PHYS_ENTRY_VALID;

    uint32_t ctl = vmcb_read32(v, VMCB_INT_CTL) | AVIC_INT_CTL_AVIC_EN;
    if (vm->x2avic)
        ctl |= AVIC_INT_CTL_X2AVIC_EN;
    vmcb_write32(v, VMCB_INT_CTL, ctl);
    vmcb_write64(v, AVIC_VMCB_APIC_BAR, vm->apic_bar);
    vmcb_write64(v, AVIC_VMCB_BACKING_PAGE, virt_to_phys(v->backing) & AVIC_VMCB_ADDR_MASK);
    vmcb_write64(v, AVIC_VMCB_LOGICAL_TABLE, virt_to_phys(vm->log_table) & AVIC_VMCB_ADDR_MASK);
    vmcb_write64(v, AVIC_VMCB_PHYSICAL_TABLE,
                 (virt_to_phys(vm->phys_table) & AVIC_VMCB_ADDR_MASK) |
                 (vm->max_index & AVIC_VMCB_PHYS_MAX_INDEX_MASK));
    if (vm->x2avic) {
        /* x2AVIC: let the L2 reach the x2APIC MSRs (KVM keeps LVTT
         * intercepted; we do not use the timer). */
        for (uint32_t m = AVIC_X2APIC_MSR_BASE; m <= AVIC_X2APIC_MSR_LAST; m++)
            msrpm_set(v, m, false, false);
    }
}

void avic_set_running(struct vcpu *v, int host_apic_id)
{
    volatile uint64_t *e = &v->vm->phys_table[v->id];
    uint64_t x = *e;
    if (host_apic_id >= 0) {
        x &= ~AVIC_PHYS_ENTRY_HOST_ID_MASK;
        x |= (uint64_t)host_apic_id & AVIC_PHYS_ENTRY_HOST_ID_MASK;
        x |= AVIC_PHYS_ENTRY_IS_RUNNING;
    } else {
        x &= ~AVIC_PHYS_ENTRY_IS_RUNNING;   /* keep the old host ID, as KVM */
    }
    __atomic_store_n(e, x, __ATOMIC_SEQ_CST);
}

void avic_clear_irr_isr(struct vcpu *v)
{
    for (int i = 0; i < 8; i++) {
        *avic_reg(v, APIC_REG_IRR + 0x10 * i) = 0;
        *avic_reg(v, APIC_REG_ISR + 0x10 * i) = 0;
        *avic_reg(v, APIC_REG_TMR + 0x10 * i) = 0;
    }
}

void avic_guest_handler(struct frame *f)
{
    struct percpu *p = this_cpu();
    struct vcpu *v = p->vcpu;
    p->guest_irq_count[f->vector]++;
    if (v) {
        v->irq_count[f->vector]++;
        v->irq_total++;
    }
    apic_eoi();
}

int l2_rip_class(uint64_t rip)
{
    const char *insn[] = { l2_mmio_read32_insn, l2_mmio_write32_insn,
                           rdmsr_safe_insn, wrmsr_safe_insn };
    for (unsigned i = 0; i < ARRAY_SIZE(insn); i++) {
        if (rip == (uint64_t)insn[i])
            return RIP_AT_INSN;
        if (rip == (uint64_t)insn[i] + 2)
            return RIP_AFTER_INSN;
    }
    return RIP_OTHER;
}

void l2_emulate_skip(struct vcpu *v, uint64_t val)
{
    uint64_t rip = vmcb_read64(v, VMCB_RIP);
    if (rip == (uint64_t)l2_mmio_read32_insn || rip == (uint64_t)rdmsr_safe_insn) {
        vmcb_write64(v, VMCB_RAX, (uint32_t)val);
        v->regs.rdx = val >> 32;
    }
    vcpu_advance_rip(v, 2);
}

void l2_server(void *arg)
{
    struct l2_server *s = arg;
    uint32_t seen = s->seq;
    sti();
    s->running = 1;
    while (!s->quit) {
        uint32_t seq = s->seq;
        if (seq == seen) {
            cpu_relax();
            continue;
        }
        seen = seq;
        switch (s->op) {
        case L2_OP_ICR:
            apic_icr_write(s->a0, s->a1);
            break;
        case L2_OP_WRMSR:
            s->exc = wrmsr_safe(s->a0, s->a1);
            break;
        case L2_OP_RDMSR: {
            uint64_t v = 0;
            s->exc = rdmsr_safe(s->a0, &v);
            s->result = v;
            break;
        }
        case L2_OP_HC:
            s->result = vmmcall(s->a0, s->a1);
            break;
        }
        __atomic_store_n(&s->done, seen, __ATOMIC_SEQ_CST);
    }
    cli();
    s->running = 0;
}

bool l2_call(struct l2_server *s, uint32_t op, uint64_t a0, uint64_t a1)
{
    s->op = op;
    s->a0 = a0;
    s->a1 = a1;
    uint32_t seq = s->seq + 1;
    __atomic_store_n(&s->seq, seq, __ATOMIC_SEQ_CST);
    return wait_until(READ_ONCE(s->done) == seq, 1000000);
}

/* ---- VMRUN consistency checks ---- */

volatile uint64_t l2_marks;

void l2_mark(void *arg)
{
    l2_marks++;
}

unsigned cpu_maxphys(void)
{
    return cpuid_eax(0x80000008) & 0xff;
}

bool vmrun_invalid(struct vcpu *v)
{
    uint64_t r0 = l2_marks;
    vcpu_reset_guest(v);
    uint64_t code = vcpu_run(v);
    if (code != SVM_EXIT_INVALID || l2_marks != r0)
        diag("  exit code %#llx, L2 ran %llu times", (unsigned long long)code,
             (unsigned long long)(l2_marks - r0));
    return code == SVM_EXIT_INVALID && l2_marks == r0 && !v->done;
}

bool vmrun_ok(struct vcpu *v)
{
    uint64_t r0 = l2_marks;
    vcpu_reset_guest(v);
    uint64_t code = vcpu_run(v);
    if (!v->done || l2_marks != r0 + 1)
        diag("  exit code %#llx, L2 ran %llu times", (unsigned long long)code,
             (unsigned long long)(l2_marks - r0));
    return v->done && l2_marks == r0 + 1;
}
