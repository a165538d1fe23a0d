/*
 * smoke: the harness itself.  Boot, every CPU checks in with APIC ID ==
 * CPU number, on_cpu() runs code everywhere, self-IPIs and cross-CPU
 * IPIs are delivered exactly once each (xAPIC and x2APIC), and the
 * exception fixup used by the *_safe helpers works.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "lib.h"
#include "cpu.h"

#define VEC_SELF    0x50
#define VEC_CROSS   0x51
#define N_SELF      100

extern int cpus_checked_in(void);

static volatile uint32_t seen_id[MAX_CPUS];

static void record_id(void *arg)
{
    seen_id[smp_id()] = apic_id() + 1;
}

static int self_ipis(void)
{
    struct percpu *p = this_cpu();
    uint64_t before = p->irq_count[VEC_SELF];
    for (int i = 0; i < N_SELF; i++) {
        uint64_t want = p->irq_count[VEC_SELF] + 1;
        apic_icr_write(APIC_SH_SELF | APIC_DM_FIXED | VEC_SELF, 0);
        if (!wait_until(READ_ONCE(p->irq_count[VEC_SELF]) >= want, 100000))
            break;
    }
    return p->irq_count[VEC_SELF] - before;
}

static void to_x2(void *arg)
{
    apic_enable_x2();
}

static void to_xapic(void *arg)
{
    apic_enable_xapic();
}

static int cross_ipis(int n)
{
    int ok = 0;
    for (int cpu = 1; cpu < nr_cpus; cpu++) {
        uint64_t before = READ_ONCE(percpu[cpu].irq_count[VEC_CROSS]);
        for (int i = 0; i < n; i++) {
            apic_icr_write(APIC_DM_FIXED | VEC_CROSS, cpu);
            wait_until(READ_ONCE(percpu[cpu].irq_count[VEC_CROSS]) >= before + i + 1, 100000);
        }
        if (READ_ONCE(percpu[cpu].irq_count[VEC_CROSS]) - before == (uint64_t)n)
            ok++;
        counts.sent += n;
        counts.delivered += READ_ONCE(percpu[cpu].irq_count[VEC_CROSS]) - before;
    }
    return ok;
}

int main(void)
{
    tap_group("smoke");
    tap_plan(9);

    report(true, "boot");
    report(nr_cpus >= 2, "fw_cfg reports %d CPUs (need >= 2)", nr_cpus);

    int online = 0;
    for (int i = 0; i < nr_cpus; i++)
        online += percpu[i].online;
    if (!report(online == nr_cpus && cpus_checked_in() == nr_cpus, "smp: all CPUs check in"))
        diag("online %d of %d", online, nr_cpus);

    for (int i = 0; i < nr_cpus; i++)
        if (percpu[i].online)
            on_cpu(i, record_id, NULL);
    int good = 0;
    for (int i = 0; i < nr_cpus; i++)
        good += seen_id[i] == (uint32_t)i + 1;
    report(good == nr_cpus, "on_cpu: every CPU runs with APIC ID == CPU number");

    set_irq_handler(VEC_SELF, count_and_eoi);
    set_irq_handler(VEC_CROSS, count_and_eoi);

    int n = self_ipis();
    counts.sent += N_SELF;
    counts.delivered += n;
    report_eq(n, N_SELF, "xapic: self-IPI delivered once each");

    report_eq(cross_ipis(20), nr_cpus - 1, "xapic: IPI to every AP delivered once each");

    uint64_t v = 0;
    int exc = rdmsr_safe(0x802, &v);    /* x2APIC MSR in xAPIC mode */
    report_eq(exc, 13, "exception fixup: RDMSR 0x802 in xAPIC mode takes #GP");

    if (apic_x2_supported()) {
        for (int i = 0; i < nr_cpus; i++)
            on_cpu(i, to_x2, NULL);
        int m = self_ipis();
        counts.sent += N_SELF;
        counts.delivered += m;
        report(m == N_SELF && apic_id() == 0, "x2apic: self-IPI delivered once each");
        report_eq(cross_ipis(20), nr_cpus - 1, "x2apic: IPI to every AP delivered once each");
        for (int i = 0; i < nr_cpus; i++)
            on_cpu(i, to_xapic, NULL);
    } else {
        report(false, "x2apic: CPU does not offer x2APIC");
        report(false, "x2apic: IPI to every AP");
    }
    extern volatile uint64_t unexpected_irqs;
    if (unexpected_irqs)
        diag("unexpected interrupts: %llu", (unsigned long long)unexpected_irqs);
    return 0;
}
