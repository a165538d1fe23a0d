/*
 * The AVIC guest-APIC doorbell: see include/hw/i386/amd-avic-doorbell.h
 *
 * Rings come from vCPU threads (accelerated IPIs, the doorbell MSR) and
 * from device emulation (the IOMMU posting an interrupt), concurrently.
 * This file only finds the target CPU and hands the ring to the CPU
 * side's receiver; what a ring does to a CPU is decided there.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/atomic.h"
#include "qemu/rcu.h"
#include "hw/core/cpu.h"
#include "hw/i386/amd-avic-doorbell.h"
#include "trace.h"

static AmdAvicDoorbellReceiver *doorbell_receiver;
static uint64_t doorbell_rings[AMD_AVIC_DOORBELL__MAX];

static const char *const doorbell_source_name[AMD_AVIC_DOORBELL__MAX] = {
    [AMD_AVIC_DOORBELL_IOMMU] = "iommu",
    [AMD_AVIC_DOORBELL_IPI] = "ipi",
    [AMD_AVIC_DOORBELL_MSR] = "msr",
};

void amd_avic_doorbell_set_receiver(AmdAvicDoorbellReceiver *fn)
{
    qatomic_set(&doorbell_receiver, fn);
}

bool amd_avic_doorbell_ring(uint32_t apic_id, AmdAvicDoorbellSource source)
{
    AmdAvicDoorbellReceiver *fn = qatomic_read(&doorbell_receiver);
    CPUState *cs;

    assert(source < AMD_AVIC_DOORBELL__MAX);
    qatomic_inc(&doorbell_rings[source]);

    /* The CPU list is RCU-protected; ringers need not hold the BQL. */
    WITH_RCU_READ_LOCK_GUARD() {
        cs = cpu_by_arch_id(apic_id);
        if (!cs) {
            trace_amd_avic_doorbell_drop(apic_id,
                                         doorbell_source_name[source]);
            return false;
        }
        trace_amd_avic_doorbell_ring(apic_id, doorbell_source_name[source],
                                     fn != NULL);
        if (fn) {
            fn(cs);
        }
    }
    return true;
}

uint64_t amd_avic_doorbell_count(AmdAvicDoorbellSource source)
{
    assert(source < AMD_AVIC_DOORBELL__MAX);
    return qatomic_read(&doorbell_rings[source]);
}
