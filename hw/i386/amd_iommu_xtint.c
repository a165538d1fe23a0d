/*
 * AMD IOMMU: the XT interrupt control registers
 *
 * With Control.IntCapXTEn = 1 the IOMMU sends its own interrupts not
 * through its PCI MSI capability but as programmed in three registers,
 * each a destination (32-bit APIC ID), a vector and a destination mode:
 * 0x170 for the general interrupt (event log, COMPLETION_WAIT), 0x178
 * for the PPR log, 0x180 for the GA log.  Linux in x2APIC mode
 * (xtsup=on) programs all three and never enables the MSI.  Upstream
 * implements none of them, so such a Linux never hears of an event;
 * 0x170 and 0x178 exist here with xtsup=on, 0x180 with the vAPIC mode.
 * (QEMU has no PPR log: 0x178 is stored, nothing sends through it.)
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "hw/i386/amd-avic-bits.h"
#include "amd_iommu.h"
#include "trace.h"

/*
 * Send the interrupt programmed in XT register @reg (fixed, edge; a
 * vector below 16, which Linux's masking write of 0 leaves, sends
 * nothing).  Returns AMDVI_XT_USE_MSI when Control.IntCapXTEn = 0 (the
 * caller uses the MSI then), else AMDVI_XT_SENT or AMDVI_XT_MASKED.
 */
int amdvi_xt_interrupt(AMDVIState *s, hwaddr reg)
{
    uint64_t ctrl = amdvi_ga_reg(s, AMD_IOMMU_MMIO_CONTROL);
    uint64_t xt = amdvi_ga_reg(s, reg);
    uint8_t vector = (xt & AMD_IOMMU_XT_INT_VECTOR_MASK) >>
                     AMD_IOMMU_XT_INT_VECTOR_SHIFT;
    uint32_t dest = (xt & AMD_IOMMU_XT_INT_DEST_LO_MASK) >>
                    AMD_IOMMU_XT_INT_DEST_LO_SHIFT;

    if (!s->xtsup || !(ctrl & AMD_IOMMU_CTRL_INTCAPXT_EN)) {
        return AMDVI_XT_USE_MSI;
    }
    dest |= (uint32_t)((xt & AMD_IOMMU_XT_INT_DEST_HI_MASK) >>
                       AMD_IOMMU_XT_INT_DEST_HI_SHIFT) << 24;
    if (vector < 16) {
        trace_amdvi_xt_interrupt(reg, dest, vector, false);
        return AMDVI_XT_MASKED;
    }
    amdvi_ga_send_irq(vector, dest, xt & AMD_IOMMU_XT_INT_DM);
    trace_amdvi_xt_interrupt(reg, dest, vector, true);
    return AMDVI_XT_SENT;
}

/*
 * The general interrupt (event log, COMPLETION_WAIT), instead of
 * upstream's MSI: true if it went (or was masked) through 0x170.
 */
bool amdvi_xt_general_interrupt(AMDVIState *s)
{
    return amdvi_xt_interrupt(s, AMD_IOMMU_MMIO_XT_EVT_INTCTL) !=
           AMDVI_XT_USE_MSI;
}
