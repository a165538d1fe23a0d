/*
 * AMD IOMMU guest virtual APIC (GA) mode: GAPPI
 *
 * Guest APIC Physical Processor Interrupt (IOMMU spec rev 3.11), as
 * Linux's GAPPI RFC (v3, July 2026) programs it: support is EFR bit 5,
 * enable is Control bit 55 (GAPPIEn, writable with gappi=on only).
 * With GAPPIEn = 1 it replaces GA logging: a guest-mode interrupt for a
 * vCPU that is not running (IsRun = 0) is posted to the backing page
 * as always, and then, instead of a GA log entry, the IOMMU sends the
 * physical CPU named by the IRTE's Destination an ordinary fixed,
 * edge-triggered interrupt in physical destination mode, with the
 * vector in GATag[7:0].  The hypervisor's handler wakes the vCPUs it
 * parked on that CPU.  IRTE bit 5 (GAPPI disable) suppresses it for one
 * entry: the vector then just waits in the IRR.
 *
 * The interrupt is only for the first pending interrupt (spec 48882
 * §2.2.5.5): it is sent only if the backing page's IRR was all clear
 * before this post; a vCPU with a vector already pending was told
 * then.  "gappi-spurious=on" (a testing knob, default off) sends it on
 * every post instead, as the spec allows.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/log.h"
#include "hw/i386/amd-avic-bits.h"
#include "amd_iommu.h"
#include "trace.h"

/*
 * Send the GAPPI interrupt for guest-mode IRTE low half @lo to @dest;
 * @irr_was_clear: the backing page's IRR was all clear before this
 * post.  Returns false if the vCPU was not told (nor before).
 */
bool amdvi_gappi_notify(AMDVIState *s, uint64_t lo, uint32_t dest,
                        uint16_t devid, bool irr_was_clear)
{
    uint32_t tag = lo >> AMD_IOMMU_IRTE_LO_GA_TAG_SHIFT;
    uint8_t vector = tag & AMD_IOMMU_GA_TAG_GAPPI_VECTOR_MASK;

    if (lo & AMD_IOMMU_IRTE_LO_GAPPI_DIS) {
        trace_amdvi_ga_unnotified(devid, tag, "GAPPI disabled in the IRTE");
        return false;
    }
    if (vector < 16) {
        s->ga.stats.errors++;
        trace_amdvi_ga_unnotified(devid, tag, "GAPPI vector below 16");
        qemu_log_mask(LOG_GUEST_ERROR, "amd-iommu: GAPPI interrupt for "
                      "device 0x%04x not sent: GATag 0x%08x names vector "
                      "%u\n", devid, tag, vector);
        return false;
    }
    if (!irr_was_clear && !s->ga.gappi_spurious) {
        s->ga.stats.gappi_suppressed++;
        trace_amdvi_ga_unnotified(devid, tag, "GAPPI: an interrupt was "
                                  "already pending");
        return true;
    }
    amdvi_ga_send_irq(vector, dest, false);
    s->ga.stats.gappi_interrupts++;
    trace_amdvi_gappi_interrupt(devid, dest, vector);
    return true;
}
