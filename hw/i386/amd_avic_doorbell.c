/*
 * The AVIC guest-APIC doorbell, and setting the IRR bit that comes
 * before it: see include/hw/i386/amd-avic-doorbell.h
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
#include "hw/i386/amd-avic-bits.h"
#include "hw/i386/amd-avic-doorbell.h"
#include "system/address-spaces.h"
#include "system/memory.h"
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

/* The IRR: eight 32-bit words, 16 bytes apart, from backing + 0x200. */
#define IRR_SPAN    (APIC_VEC_REG_OFFSET(0, 255) + 4)

bool amd_avic_post_irr(uint64_t backing, uint8_t vector, bool *irr_was_clear)
{
    hwaddr word_off = APIC_VEC_REG_OFFSET(0, vector);
    hwaddr start = backing + APIC_REG_IRR + (irr_was_clear ? 0 : word_off);
    hwaddr want = irr_was_clear ? IRR_SPAN : 4;
    hwaddr len = want, xlat;
    uint32_t bit = cpu_to_le32(APIC_VEC_BIT(vector));
    MemoryRegion *mr;
    uint8_t *irr;
    uint32_t old;

    RCU_READ_LOCK_GUARD();
    mr = address_space_translate(&address_space_memory, start, &xlat, &len,
                                 true, MEMTXATTRS_UNSPECIFIED);
    if (len < want || !memory_region_is_ram(mr) || mr->readonly ||
        memory_region_is_romd(mr)) {
        return false;
    }
    irr = qemu_map_ram_ptr(mr->ram_block, xlat);
    if (irr_was_clear) {
        irr += word_off;
        xlat += word_off;
    }
    old = qatomic_fetch_or((uint32_t *)irr, bit);
    /*
     * The IRR write is visible before the caller reads IsRunning, rings
     * or logs; pairs with the barrier of the target's VMRUN.
     */
    smp_mb();
    memory_region_set_dirty(mr, xlat, 4);
    if (irr_was_clear) {
        /* The other words as they are now: no lock orders them. */
        uint8_t *first = irr - word_off;

        *irr_was_clear = !old;
        for (hwaddr off = 0; off < IRR_SPAN && *irr_was_clear; off += 0x10) {
            if (off != word_off && qatomic_read((uint32_t *)(first + off))) {
                *irr_was_clear = false;
            }
        }
    }
    return true;
}

bool amd_avic_set_irr(uint64_t backing, uint8_t vector)
{
    return amd_avic_post_irr(backing, vector, NULL);
}

uint64_t amd_avic_doorbell_count(AmdAvicDoorbellSource source)
{
    assert(source < AMD_AVIC_DOORBELL__MAX);
    return qatomic_read(&doorbell_rings[source]);
}
