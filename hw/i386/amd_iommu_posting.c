/*
 * AMD IOMMU guest virtual APIC (GA) mode: posting guest-mode IRTEs
 *
 * A fixed or arbitrated interrupt whose 128-bit IRTE has GuestMode = 1
 * is not sent to a local APIC.  The IOMMU sets the IRTE's vector in the
 * IRR of the vAPIC backing page the GA root pointer names, and then:
 *
 *   IsRun = 1                  rings the doorbell of the CPU whose
 *                              physical APIC ID is the Destination;
 *   IsRun = 0, GAPPIEn = 1     sends the GAPPI wake-up interrupt
 *                              (amd_iommu_gappi.c);
 *   IsRun = 0, GALogIntr = 1   appends a GA log entry (amd_iommu_galog.c);
 *   otherwise                  nothing: the vector waits in the IRR.
 *
 * The IRR bit is set with an atomic OR on the host pointer, so that it
 * cannot lose a concurrent vCPU update of the same word, and it is
 * visible before the doorbell, log entry or interrupt that follows.
 * The IRTE itself is read as one 128-bit unit: Linux rewrites live
 * IRTEs (IsRun, Destination) with CMPXCHG16B.
 *
 * The IO_PAGE_FAULT events of the IOMMU live here too, for interrupt
 * remapping faults (amdvi_ir_fault) and DMA faults (amdvi_dma_fault):
 * one encoder, the spec's flags and the DTE's domain ID.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/atomic.h"
#include "qemu/int128.h"
#include "qemu/atomic128.h"
#include "qemu/log.h"
#include "qemu/rcu.h"
#include "system/dma.h"
#include "system/memory.h"
#include "system/address-spaces.h"
#include "hw/i386/amd-avic-bits.h"
#include "hw/i386/amd-avic-doorbell.h"
#include "amd_iommu.h"
#include "trace.h"

/* ------------------------------------------------------------------ */
/* Reading the IRTE                                                   */
/* ------------------------------------------------------------------ */

static Int128 amdvi_ga_load16(void *p)
{
    if (HAVE_ATOMIC128_RO) {
        return atomic16_read_ro(p);
    }
    if (HAVE_ATOMIC128_RW) {
        return atomic16_read_rw(p);
    }
    /* No 16-byte atomics on this host: as good as TCG's own fallback. */
    return int128_make128(ldq_he_p(p), ldq_he_p((char *)p + 8));
}

/*
 * Read the 16-byte IRTE at @addr as one unit when it is in RAM (the
 * table is 64-byte and the entry 16-byte aligned); fall back to an
 * ordinary DMA read otherwise, as upstream always did.  A read needs
 * no mapping reference or dirty logging: the RCU critical section
 * keeps the RAM block alive while we load from it.
 */
bool amdvi_ga_read_irte(hwaddr addr, uint64_t *lo, uint64_t *hi)
{
    MemTxAttrs attrs = MEMTXATTRS_UNSPECIFIED;
    union {
        Int128 v;
        uint64_t q[2];
    } u;

    if (!(addr & (AMD_IOMMU_IRTE_GA_SIZE - 1))) {
        MemoryRegion *mr;
        hwaddr xlat, len = AMD_IOMMU_IRTE_GA_SIZE;

        RCU_READ_LOCK_GUARD();
        mr = address_space_translate(&address_space_memory, addr, &xlat,
                                     &len, false, attrs);
        if (len == AMD_IOMMU_IRTE_GA_SIZE &&
            memory_access_is_direct(mr, false, attrs)) {
            u.v = amdvi_ga_load16((char *)memory_region_get_ram_ptr(mr) +
                                  xlat);
            goto done;
        }
    }
    trace_amdvi_ga_irte_read_slow(addr);
    if (dma_memory_read(&address_space_memory, addr, u.q, sizeof(u.q),
                        attrs) != MEMTX_OK) {
        return false;
    }
done:
    *lo = le64_to_cpu(u.q[0]);
    *hi = le64_to_cpu(u.q[1]);
    return true;
}

/* ------------------------------------------------------------------ */
/* Errors                                                             */
/* ------------------------------------------------------------------ */

/*
 * Log an IO_PAGE_FAULT: the DTE's domain ID, @flags (AMD_IOMMU_EVT_IOPF_*)
 * and the address of the faulting request.
 */
static void amdvi_log_io_page_fault(AMDVIState *s, uint16_t devid,
                                    const uint64_t *dte, uint64_t addr,
                                    uint64_t flags)
{
    uint64_t domid = dte[1] & AMD_IOMMU_DTE_Q1_DOMID_MASK;
    uint64_t evt[2];

    evt[0] = cpu_to_le64(devid | flags |
                         domid << AMD_IOMMU_EVT_DOMID_SHIFT |
                         ((uint64_t)AMD_IOMMU_EVT_IO_PAGE_FAULT <<
                          AMD_IOMMU_EVT_CODE_SHIFT));
    evt[1] = cpu_to_le64(addr);
    amdvi_log_event(s, evt);
}

/*
 * An interrupt remapping fault, guest mode or not: the interrupt is
 * dropped (target abort: PCI Signaled Target Abort in the IOMMU's
 * status) and, unless the IRTE has SupIOPF = 1, an IO_PAGE_FAULT with
 * I = 1 and the DTE's domain ID is logged, as the AMD IOMMU does.
 * @lo: the IRTE's low half (0 if it could not be read).
 */
int amdvi_ir_fault(AMDVIState *s, uint16_t devid, const uint64_t *dte,
                   uint64_t lo, uint64_t addr, uint64_t flags,
                   const char *why)
{
    s->ga.stats.errors++;
    trace_amdvi_ga_error(devid, why, addr);
    qemu_log_mask(LOG_GUEST_ERROR, "amd-iommu: interrupt from device "
                  "0x%04x dropped: %s (address 0x%" PRIx64 ")\n",
                  devid, why, addr);
    pci_word_test_and_set_mask(s->pci->dev.config + PCI_STATUS,
                               PCI_STATUS_SIG_TARGET_ABORT);
    if (!(lo & AMD_IOMMU_IRTE_LO_SUP_IOPF)) {
        amdvi_log_io_page_fault(s, devid, dte, addr,
                                AMD_IOMMU_EVT_IOPF_I | flags);
    }
    return -AMDVI_IR_TARGET_ABORT;
}

/*
 * A DMA request the page tables do not allow (patch 0053 calls this
 * from upstream's page walk): an IO_PAGE_FAULT for a memory request,
 * I = 0, RW = 1 for a write, PR = 1 if the PTE was present (then the
 * permissions refused it: PE = 1), with the DTE's domain ID and the
 * request's address, and PCI Signaled Target Abort as upstream sets.
 */
void amdvi_dma_fault(AMDVIState *s, uint16_t devid, const uint64_t *dte,
                     uint64_t addr, bool write, bool present)
{
    uint64_t flags = (write ? AMD_IOMMU_EVT_IOPF_RW : 0) |
                     (present ? AMD_IOMMU_EVT_IOPF_PR |
                                AMD_IOMMU_EVT_IOPF_PE : 0);

    qemu_log_mask(LOG_GUEST_ERROR, "amd-iommu: DMA %s by device 0x%04x "
                  "at 0x%" PRIx64 " refused: %s\n", write ? "write" : "read",
                  devid, addr, present ? "permission" : "not mapped");
    amdvi_log_io_page_fault(s, devid, dte, addr, flags);
    pci_word_test_and_set_mask(s->pci->dev.config + PCI_STATUS,
                               PCI_STATUS_SIG_TARGET_ABORT);
}

/* ------------------------------------------------------------------ */
/* Posting                                                            */
/* ------------------------------------------------------------------ */

/* Destination[31:0] with XT (xtsup=on and Control.XTEn), else [7:0]. */
static uint32_t amdvi_ga_dest(AMDVIState *s, uint64_t lo, uint64_t hi,
                              uint64_t ctrl)
{
    uint32_t dest = (lo & AMD_IOMMU_IRTE_LO_DEST_MASK) >>
                    AMD_IOMMU_IRTE_LO_DEST_SHIFT;

    if (s->xtsup && (ctrl & AMD_IOMMU_CTRL_XT_EN)) {
        return dest | (uint32_t)((hi & AMD_IOMMU_IRTE_HI_DEST_HI_MASK) >>
                                 AMD_IOMMU_IRTE_HI_DEST_HI_SHIFT) << 24;
    }
    return dest & 0xff;
}

/*
 * The IRTE's fields that the IOMMU does not cache, as they are in
 * memory now: @lo and @hi keep their other (cached) fields.  Linux
 * rewrites these in a live entry without invalidating it.  GAPPIDis is
 * one of them only where it exists (EFR2.GAPPIDisSup); elsewhere bit 5
 * is reserved, and was checked in the entry the interrupt started with.
 */
static void amdvi_ga_reread(AMDVIState *s, const uint64_t *dte,
                            const MSIMessage *origin, uint16_t devid,
                            uint64_t *lo, uint64_t *hi)
{
    uint64_t mask_lo = AMD_IOMMU_IRTE_LO_GA_UNCACHED;
    hwaddr addr = (dte[2] & AMDVI_IR_PHYS_ADDR_MASK) +
                  ((origin->data & AMDVI_IRTE_OFFSET) << 4);
    uint64_t now_lo, now_hi;

    if (!amdvi_ga_read_irte(addr, &now_lo, &now_hi)) {
        /* It was readable a moment ago; act on what was read then. */
        trace_amdvi_ga_reread(devid, addr, false);
        return;
    }
    if (amdvi_ga_has_gappi_dis(s)) {
        mask_lo |= AMD_IOMMU_IRTE_LO_GAPPI_DIS;
    }
    *lo = (*lo & ~mask_lo) | (now_lo & mask_lo);
    *hi = (*hi & ~AMD_IOMMU_IRTE_HI_GA_UNCACHED) |
          (now_hi & AMD_IOMMU_IRTE_HI_GA_UNCACHED);
    trace_amdvi_ga_reread(devid, addr, true);
}

/*
 * After the IRR write: tell whoever must know, from the IRTE (@lo, @hi)
 * as read after that write and Control (@ctrl).  The one place that
 * picks doorbell, GAPPI or GA log; with timing=on, amd_iommu_timing.c
 * calls it when the modelled delay has passed.  @irr_was_clear: the
 * backing page's IRR was all clear before this post (GAPPI is only for
 * the first pending interrupt).
 */
void amdvi_ga_notify(AMDVIState *s, uint64_t lo, uint64_t hi, uint64_t ctrl,
                     uint16_t devid, bool irr_was_clear)
{
    AMDVIGAStats *st = &s->ga.stats;
    uint32_t tag = lo >> AMD_IOMMU_IRTE_LO_GA_TAG_SHIFT;
    uint32_t dest = amdvi_ga_dest(s, lo, hi, ctrl);

    if (lo & AMD_IOMMU_IRTE_LO_IS_RUN) {
        bool reached = amd_avic_doorbell_ring(dest, AMD_AVIC_DOORBELL_IOMMU);

        st->posted_running++;
        st->doorbell_last_dest = dest;
        st->doorbells += reached;
        trace_amdvi_ga_doorbell(devid, dest, reached);
    } else if (ctrl & AMD_IOMMU_CTRL_GAPPI_EN) {
        if (!amdvi_gappi_notify(s, lo, dest, devid, irr_was_clear)) {
            st->unnotified++;
        }
    } else if (lo & AMD_IOMMU_IRTE_LO_GA_LOG_INTR) {
        if (!amdvi_galog_append(s, tag, devid)) {
            st->unnotified++;
        }
    } else {
        st->unnotified++;
        trace_amdvi_ga_unnotified(devid, tag, "GALogIntr = 0");
    }
}

/* The entry may post: vAPIC mode is on and no reserved bit is set. */
static int amdvi_ga_validate(AMDVIState *s, const uint64_t *dte,
                             uint64_t lo, uint64_t hi, uint16_t devid,
                             const MSIMessage *origin)
{
    uint64_t ctrl = amdvi_ga_reg(s, AMD_IOMMU_MMIO_CONTROL);
    uint64_t rsvd_lo = AMD_IOMMU_IRTE_LO_GA_RSVD;
    const uint64_t rz = AMD_IOMMU_EVT_IOPF_PR | AMD_IOMMU_EVT_IOPF_RW |
                        AMD_IOMMU_EVT_IOPF_RZ;

    if ((ctrl & AMD_IOMMU_CTRL_GAM_MASK) != AMD_IOMMU_CTRL_GAM_VAPIC) {
        /* GuestMode is reserved unless GAMEn selects the vAPIC mode. */
        return amdvi_ir_fault(s, devid, dte, lo, origin->address, rz,
                              "GuestMode = 1 but Control.GAMEn is not vAPIC");
    }
    if (!amdvi_ga_has_gappi_dis(s)) {
        rsvd_lo |= AMD_IOMMU_IRTE_LO_GAPPI_DIS;     /* no EFR2.GAPPIDisSup */
    }
    if ((lo & rsvd_lo) || (hi & AMD_IOMMU_IRTE_HI_GA_RSVD)) {
        return amdvi_ir_fault(s, devid, dte, lo, origin->address, rz,
                              "reserved bits set in a guest-mode IRTE");
    }
    return 0;
}

/*
 * Deliver a fixed or arbitrated interrupt through the guest-mode IRTE
 * (@lo, @hi) read for device @devid through its DTE @dte.  Returns
 * AMDVI_IR_POSTED when the interrupt was consumed, a negative AMDVI_IR_*
 * when it was aborted.
 *
 * The order is the hardware's, and KVM depends on it: write the IRR
 * bit, then read IsRun (and Destination, GATag, GALogIntr, GAPPIDis)
 * from memory and act on that.  KVM's blocking path clears IsRun, has a
 * full barrier and looks at the IRR one last time; with this order
 * either that look sees our bit or we see IsRun = 0 and notify.
 */
int amdvi_ga_post(AMDVIState *s, const uint64_t *dte, uint64_t lo,
                  uint64_t hi, uint16_t devid, const MSIMessage *origin)
{
    uint64_t backing = hi & AMD_IOMMU_IRTE_HI_GA_ROOT_MASK;
    uint8_t vector = hi & AMD_IOMMU_IRTE_HI_VECTOR_MASK;
    hwaddr irr = backing + APIC_VEC_REG_OFFSET(APIC_REG_IRR, vector);
    bool irr_was_clear;
    uint64_t ctrl;
    int ret;

    trace_amdvi_ga_post(devid, lo, hi);

    ret = amdvi_ga_validate(s, dte, lo, hi, devid, origin);
    if (ret < 0) {
        return ret;
    }

    /* The IRR bit, visible (full barrier) before we look at IsRun. */
    if (!amd_avic_post_irr(backing, vector, &irr_was_clear)) {
        return amdvi_ir_fault(s, devid, dte, lo, irr, AMD_IOMMU_EVT_IOPF_RW,
                              "vAPIC backing page is not RAM");
    }
    s->ga.stats.posted++;
    trace_amdvi_ga_irr(devid, irr, vector);

    amdvi_ga_reread(s, dte, origin, devid, &lo, &hi);
    ctrl = amdvi_ga_reg(s, AMD_IOMMU_MMIO_CONTROL);
    if (unlikely(s->timing.on)) {
        /* The timing model: the notification, after its delay. */
        amdvi_timing_defer(s, lo, hi, ctrl, devid, irr_was_clear);
    } else {
        amdvi_ga_notify(s, lo, hi, ctrl, devid, irr_was_clear);
    }
    return AMDVI_IR_POSTED;
}
