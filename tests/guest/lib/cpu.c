/*
 * CPU bring-up: IDT and interrupt dispatch, local APIC, SMP boot of the
 * APs (INIT-SIPI-SIPI to the trampoline at 0x8000) and on_cpu().
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "cpu.h"

#define TRAMP_BASE      0x8000
#define STACK_SIZE      16384

struct percpu percpu[MAX_CPUS];
int nr_cpus;
static volatile int cpus_online;
extern bool percpu_ready;
extern char isr_stubs[], tramp_start[], tramp_end[], stacks[];

/* ---------------- IDT ---------------- */

struct idt_entry {
    uint16_t off0, sel;
    uint8_t ist, type;
    uint16_t off1;
    uint32_t off2, rsvd;
} __attribute__((packed));

static struct idt_entry idt[256] __attribute__((aligned(16)));
static irq_handler_t host_handlers[256], guest_handlers[256];
volatile uint64_t unexpected_irqs;

void desc_init(void)
{
    for (int v = 0; v < 256; v++) {
        uint64_t a = (uint64_t)isr_stubs + 16 * v;
        idt[v].off0 = a;
        idt[v].sel = 0x08;
        idt[v].ist = 0;
        idt[v].type = 0x8e;     /* present, DPL 0, 64-bit interrupt gate */
        idt[v].off1 = a >> 16;
        idt[v].off2 = a >> 32;
        idt[v].rsvd = 0;
    }
}

void desc_load(void)
{
    struct { uint16_t limit; uint64_t base; } __attribute__((packed)) d = {
        sizeof(idt) - 1, (uint64_t)idt
    };
    asm volatile("lidt %0" :: "m"(d));
}

void set_irq_handler(int vec, irq_handler_t h)
{
    host_handlers[vec] = h;
}

void set_guest_irq_handler(int vec, irq_handler_t h)
{
    guest_handlers[vec] = h;
}

void count_and_eoi(struct frame *f)
{
    struct percpu *p = this_cpu();
    if (p->in_guest)
        p->guest_irq_count[f->vector]++;
    else
        p->irq_count[f->vector]++;
    apic_eoi();
}

static void eoi_only(struct frame *f)
{
    (void)f;
    apic_eoi();
}

static const char *exc_name(int v)
{
    static const char *n[32] = {
        "#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM", "#DF", "?9",
        "#TS", "#NP", "#SS", "#GP", "#PF", "?15", "#MF", "#AC", "#MC", "#XM",
        "#VE", "#CP",
    };
    return v < 32 && n[v] ? n[v] : "?";
}

void isr_dispatch(struct frame *f)
{
    struct percpu *p = this_cpu();
    int vec = f->vector;
    irq_handler_t h = p->in_guest ? guest_handlers[vec] : host_handlers[vec];

    if (vec < 32) {
        if (p->fixup_rip) {
            p->fault_vector = vec;
            f->rip = p->fixup_rip;
            p->fixup_rip = 0;
            return;
        }
        if (h) {
            h(f);
            return;
        }
        uint64_t cr2;
        asm volatile("mov %%cr2, %0" : "=r"(cr2));
        printf("# exception %d %s err=%#llx rip=%#llx rsp=%#llx rflags=%#llx "
               "cr2=%#llx in_guest=%d\n", vec, exc_name(vec),
               (unsigned long long)f->error, (unsigned long long)f->rip,
               (unsigned long long)f->rsp, (unsigned long long)f->rflags,
               (unsigned long long)cr2, p->in_guest);
        panic("unexpected exception %s", exc_name(vec));
    }
    if (h) {
        h(f);
        return;
    }
    if (vec == VEC_SPURIOUS)
        return;
    /* Not expected by the test: count it, acknowledge it. */
    unexpected_irqs++;
    count_and_eoi(f);
}

/* ---------------- local APIC ---------------- */

static inline bool cur_x2(void)
{
    struct percpu *p = this_cpu();
    return p->in_guest ? p->guest_apic_x2 : p->apic_x2;
}

uint32_t apic_read(uint32_t reg)
{
    if (cur_x2())
        return rdmsr(0x800 + (reg >> 4));
    return mmio_read32(APIC_MMIO_BASE + reg);
}

void apic_write(uint32_t reg, uint32_t val)
{
    if (cur_x2())
        wrmsr(0x800 + (reg >> 4), val);
    else
        mmio_write32(APIC_MMIO_BASE + reg, val);
}

void apic_eoi(void)
{
    apic_write(0xb0, 0);
}

uint32_t apic_id(void)
{
    if (cur_x2())
        return rdmsr(0x802);
    return mmio_read32(APIC_MMIO_BASE + 0x20) >> 24;
}

void apic_icr_write(uint32_t lo, uint32_t dest)
{
    if (cur_x2()) {
        wrmsr(0x830, ((uint64_t)dest << 32) | lo);
        return;
    }
    uint64_t fl = read_rflags();
    cli();
    mmio_write32(APIC_MMIO_BASE + 0x310, dest << 24);
    mmio_write32(APIC_MMIO_BASE + 0x300, lo);
    if (!this_cpu()->in_guest)
        for (int i = 0; i < 1000000 && (mmio_read32(APIC_MMIO_BASE + 0x300) & APIC_ICR_BUSY); i++)
            cpu_relax();
    if (fl & X86_EFLAGS_IF)
        sti();
}

void apic_setup(void)
{
    struct percpu *p = this_cpu();
    uint64_t base = rdmsr(MSR_APIC_BASE);
    if (!(base & APIC_BASE_EN))
        wrmsr(MSR_APIC_BASE, base | APIC_BASE_EN);
    apic_write(0xf0, 0x100 | VEC_SPURIOUS);
    apic_write(0x80, 0);
    apic_write(0x320, 0x10000);
    apic_write(0x340, 0x10000);
    apic_write(0x350, 0x10000);
    apic_write(0x360, 0x10000);
    apic_write(0x370, 0x10000);
    if (!p->apic_x2) {
        apic_write(0xe0, 0xffffffff);
        apic_write(0xd0, p->cpu < 8 ? (1u << p->cpu) << 24 : 0);
    }
}

void apic_enable_x2(void)
{
    struct percpu *p = this_cpu();
    uint64_t base = rdmsr(MSR_APIC_BASE);
    wrmsr(MSR_APIC_BASE, base | APIC_BASE_EN | APIC_BASE_EXTD);
    p->apic_x2 = true;
    apic_setup();
}

void apic_enable_xapic(void)
{
    struct percpu *p = this_cpu();
    uint64_t base = rdmsr(MSR_APIC_BASE);
    if (!(base & APIC_BASE_EXTD))
        return;
    /* x2APIC -> xAPIC goes through the disabled state. */
    wrmsr(MSR_APIC_BASE, base & ~(APIC_BASE_EN | APIC_BASE_EXTD));
    wrmsr(MSR_APIC_BASE, (base & ~APIC_BASE_EXTD) | APIC_BASE_EN);
    p->apic_x2 = false;
    apic_setup();
}

/* ---------------- SMP ---------------- */

static void ap_loop(void) __attribute__((noreturn));
static void ap_loop(void)
{
    struct percpu *p = this_cpu();
    for (;;) {
        cli();
        while (!p->call_pending) {
            safe_halt();
            cli();
        }
        void (*fn)(void *) = p->call_fn;
        void *arg = p->call_arg;
        p->call_pending = 0;
        sti();
        fn(arg);
        cli();
        int waiter = p->call_waiter;
        __atomic_store_n(&p->call_done, 1, __ATOMIC_SEQ_CST);
        if (waiter >= 0)
            apic_icr_write(VEC_DONE, waiter);
    }
}

static void percpu_init(int id)
{
    struct percpu *p = &percpu[id];
    p->self = p;
    p->cpu = id;
    p->call_done = 1;
    p->call_waiter = -1;
    p->stack_top = (uint8_t *)stacks + (id + 1) * STACK_SIZE;
    wrmsr(MSR_GS_BASE, (uint64_t)p);
}

void ap_main(int id)
{
    percpu_init(id);
    desc_load();
    apic_setup();
    percpu[id].online = 1;
    atomic_inc(&cpus_online);
    ap_loop();
}

void on_cpu_async(int cpu, void (*fn)(void *), void *arg)
{
    struct percpu *p = &percpu[cpu];
    if (!p->online)
        panic("on_cpu: CPU %d is not online", cpu);
    while (!READ_ONCE(p->call_done))
        cpu_relax();
    p->call_fn = fn;
    p->call_arg = arg;
    p->call_waiter = smp_id();
    p->call_done = 0;
    __atomic_store_n(&p->call_pending, 1, __ATOMIC_SEQ_CST);
    apic_icr_write(VEC_CALL, cpu);
}

bool on_cpu_done(int cpu)
{
    return READ_ONCE(percpu[cpu].call_done);
}

void on_cpu_wait(int cpu)
{
    struct percpu *p = &percpu[cpu];
    uint64_t fl = read_rflags();
    cli();
    while (!READ_ONCE(p->call_done)) {
        safe_halt();
        cli();
    }
    if (fl & X86_EFLAGS_IF)
        sti();
}

void on_cpu(int cpu, void (*fn)(void *), void *arg)
{
    if (cpu == smp_id()) {
        fn(arg);
        return;
    }
    on_cpu_async(cpu, fn, arg);
    on_cpu_wait(cpu);
}

static int fw_cfg_nb_cpus(void)
{
    outw(0x510, 0x05);          /* FW_CFG_NB_CPUS */
    int lo = inb(0x511);
    int hi = inb(0x511);
    return lo | (hi << 8);
}

static void smp_boot(void)
{
    memcpy((void *)TRAMP_BASE, tramp_start, tramp_end - tramp_start);
    apic_icr_write(APIC_SH_OTHERS | APIC_DM_INIT | APIC_ICR_ASSERT, 0);
    udelay(10000);
    for (int i = 0; i < 2; i++) {
        apic_icr_write(APIC_SH_OTHERS | APIC_DM_SIPI | (TRAMP_BASE >> 12), 0);
        udelay(200);
    }
    wait_until(READ_ONCE(cpus_online) >= nr_cpus - 1, 3000000);
}

int cpus_checked_in(void)
{
    return READ_ONCE(cpus_online) + 1;
}

void bsp_main(void)
{
    uint32_t id = cpuid_ebx(1) >> 24;
    serial_init();
    if (id != 0)
        printf("# warning: BSP APIC ID is %u\n", id);
    percpu_init(0);
    percpu_ready = true;
    desc_init();
    desc_load();
    outb(0x21, 0xff);           /* mask the 8259s */
    outb(0xa1, 0xff);
    apic_setup();
    percpu[0].online = 1;
    time_init();
    set_irq_handler(VEC_CALL, eoi_only);
    set_irq_handler(VEC_DONE, eoi_only);
    nr_cpus = fw_cfg_nb_cpus();
    if (nr_cpus < 1 || nr_cpus > MAX_CPUS)
        panic("fw_cfg reports %d CPUs (max %d)", nr_cpus, MAX_CPUS);
    if (nr_cpus > 1)
        smp_boot();
    sti();
    printf("# boot: %d CPUs configured, %d checked in, TSC %llu kHz\n", nr_cpus,
           cpus_checked_in(), (unsigned long long)tsc_khz);
    main();
    tap_finish();
}
