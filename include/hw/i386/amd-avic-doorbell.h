/*
 * The AVIC guest-APIC doorbell
 *
 * The one place where the two halves of AMD interrupt virtualization
 * meet.  Whoever sets a bit in a vAPIC backing page's IRR for a vCPU
 * that may be running (the IOMMU posting a device interrupt with
 * IsRun = 1, a vCPU's accelerated IPI, a WRMSR to the doorbell MSR)
 * rings the doorbell of the physical CPU named by its APIC ID.  On
 * hardware that CPU, if it is in guest mode with AVIC enabled,
 * re-evaluates its backing page and takes the interrupt without a
 * #VMEXIT; in host mode the ring has no architectural effect.
 *
 * The IOMMU (hw/i386/) only calls amd_avic_doorbell_ring().  The CPU
 * side (target/i386/tcg/system/avic.c) installs the receiver with
 * amd_avic_doorbell_set_receiver(); until it does, rings are counted
 * and traced and otherwise do nothing.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef HW_I386_AMD_AVIC_DOORBELL_H
#define HW_I386_AMD_AVIC_DOORBELL_H

/* Who rang: for counters and traces only. */
typedef enum AmdAvicDoorbellSource {
    AMD_AVIC_DOORBELL_IOMMU,    /* IOMMU posted with IsRun = 1 */
    AMD_AVIC_DOORBELL_IPI,      /* a vCPU's accelerated IPI */
    AMD_AVIC_DOORBELL_MSR,      /* WRMSR C001_011Bh */
    AMD_AVIC_DOORBELL__MAX,
} AmdAvicDoorbellSource;

/*
 * The CPU side's handler for a ring that reached an existing CPU.  It
 * runs in the ringer's thread (a vCPU thread, or the device's context
 * with the BQL held) and must only record the ring and kick @cs.
 */
typedef void AmdAvicDoorbellReceiver(CPUState *cs);

void amd_avic_doorbell_set_receiver(AmdAvicDoorbellReceiver *fn);

/*
 * Ring the doorbell of the CPU with physical APIC ID @apic_id.
 * Safe from any thread.  Returns false if no CPU has that APIC ID: the
 * ring is dropped, as hardware drops a doorbell to nowhere.
 */
bool amd_avic_doorbell_ring(uint32_t apic_id, AmdAvicDoorbellSource source);

/*
 * Set @vector's bit in the IRR of the vAPIC backing page at guest-
 * physical @backing, atomically (other vCPUs and the IOMMU post into
 * the same page), followed by a full barrier: the bit is visible before
 * whatever the caller does next, reading IsRunning, ringing, logging.
 * Returns false, changing nothing, if that IRR word is not RAM.
 */
bool amd_avic_set_irr(uint64_t backing, uint8_t vector);

/*
 * The same, and tell in @irr_was_clear whether the whole IRR (all
 * 256 bits) was clear before: the IOMMU's GAPPI interrupt is only for
 * the first pending interrupt.  The eight IRR words must be RAM.
 */
bool amd_avic_post_irr(uint64_t backing, uint8_t vector,
                       bool *irr_was_clear);

/* Rings so far from @source (including dropped ones), for tests. */
uint64_t amd_avic_doorbell_count(AmdAvicDoorbellSource source);

#endif /* HW_I386_AMD_AVIC_DOORBELL_H */
