/*
 * AMD IOMMU guest virtual APIC (GA) mode: the GA log
 *
 * When a guest-mode IRTE with IsRun = 0 and GALogIntr = 1 posts an
 * interrupt, the IOMMU tells the hypervisor which vCPU to wake through
 * the GA log: a ring of 8-byte entries (GATag, device ID, type) in
 * guest memory, with the registers
 *
 *   0x00e0  GA log base: address 51:12, GALogLen 59:56
 *   0x00e8  GA log tail address: where the tail is copied, 51:3
 *   0x2040  GA log head (software's read offset)
 *   0x2048  GA log tail (the IOMMU's write offset)
 *   0x0180  XT GA log interrupt control (with Control.IntCapXTEn)
 *
 * and the Control bits GALogEn and GAIntEn, the Status bits GALogRun,
 * GALogOverflow and GALogInt.  The log runs while IommuEn and GALogEn
 * are set and no overflow has stopped it; a full ring sets
 * GALogOverflow and stops the log until software restarts it (clears
 * GALogEn, clears the overflow, sets GALogEn, as Linux's
 * amd_iommu_restart_ga_log() does).  The interrupt goes out when
 * GALogInt or GALogOverflow goes from 0 to 1 with GAIntEn set: through
 * the 0x180 register with IntCapXTEn, else the IOMMU's MSI.
 *
 * Every register is in mmior[], so head, tail and status migrate with
 * upstream's section and nothing here has state of its own.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/atomic.h"
#include "qemu/log.h"
#include "hw/pci/pci.h"
#include "hw/pci/msi.h"
#include "system/address-spaces.h"
#include "hw/i386/amd-avic-bits.h"
#include "amd_iommu.h"
#include "trace.h"

static void amdvi_galog_set_status(AMDVIState *s, uint64_t set,
                                   uint64_t clear)
{
    uint64_t status = amdvi_ga_reg(s, AMD_IOMMU_MMIO_STATUS);

    amdvi_ga_set_reg(s, AMD_IOMMU_MMIO_STATUS, (status & ~clear) | set);
}

static uint64_t amdvi_galog_bytes(uint64_t base)
{
    unsigned len = (base & AMD_IOMMU_RING_LEN_MASK) >>
                   AMD_IOMMU_RING_LEN_SHIFT;

    return len < AMD_IOMMU_GALOG_LEN_MIN ? 0 : AMD_IOMMU_GALOG_BYTES(len);
}

/*
 * A memory error while the log runs or starts: the log stops (or does
 * not start), the IOMMU's PCI status records the master abort its write
 * got, and the guest error is logged.
 */
static void amdvi_galog_error(AMDVIState *s, const char *why, hwaddr addr)
{
    s->ga.stats.errors++;
    amdvi_galog_set_status(s, 0, AMD_IOMMU_STATUS_GALOG_RUN);
    pci_word_test_and_set_mask(s->pci->dev.config + PCI_STATUS,
                               PCI_STATUS_REC_MASTER_ABORT);
    trace_amdvi_galog_error(why, addr);
    qemu_log_mask(LOG_GUEST_ERROR, "amd-iommu: GA log stopped: %s "
                  "(address 0x%" PRIx64 ")\n", why, addr);
}

/* Start or stop the log after software wrote Control. */
void amdvi_galog_control_written(AMDVIState *s)
{
    uint64_t ctrl = amdvi_ga_reg(s, AMD_IOMMU_MMIO_CONTROL);
    uint64_t status = amdvi_ga_reg(s, AMD_IOMMU_MMIO_STATUS);
    uint64_t base = amdvi_ga_reg(s, AMD_IOMMU_MMIO_GALOG_BASE);
    uint64_t bytes = amdvi_galog_bytes(base);
    hwaddr addr = base & AMD_IOMMU_RING_BASE_MASK;
    void *p;

    if (!(ctrl & AMD_IOMMU_CTRL_IOMMU_EN) ||
        !(ctrl & AMD_IOMMU_CTRL_GALOG_EN)) {
        if (status & AMD_IOMMU_STATUS_GALOG_RUN) {
            trace_amdvi_galog_run(false, addr, bytes);
        }
        amdvi_galog_set_status(s, 0, AMD_IOMMU_STATUS_GALOG_RUN);
        return;
    }
    if (status & (AMD_IOMMU_STATUS_GALOG_RUN |
                  AMD_IOMMU_STATUS_GALOG_OVERFLOW)) {
        return;     /* running, or stopped until software restarts it */
    }
    if (!bytes) {
        amdvi_galog_error(s, "reserved GALogLen", base);
        return;
    }
    p = amdvi_ga_map_ram(addr, bytes, true);
    if (!p) {
        amdvi_galog_error(s, "GA log base is not RAM", addr);
        return;
    }
    amdvi_ga_unmap_ram(p, bytes, false);
    amdvi_galog_set_status(s, AMD_IOMMU_STATUS_GALOG_RUN, 0);
    trace_amdvi_galog_run(true, addr, bytes);
}

/* The GA log interrupt, if GAIntEn: XT register or the IOMMU's MSI. */
static void amdvi_galog_interrupt(AMDVIState *s)
{
    uint64_t ctrl = amdvi_ga_reg(s, AMD_IOMMU_MMIO_CONTROL);

    if (!(ctrl & AMD_IOMMU_CTRL_GAINT_EN)) {
        trace_amdvi_galog_interrupt("GAIntEn = 0", 0, 0);
        return;
    }
    if (ctrl & AMD_IOMMU_CTRL_INTCAPXT_EN) {
        /* amd_iommu_xtint.c; Linux masks it by writing 0 to 0x180. */
        if (amdvi_xt_interrupt(s, AMD_IOMMU_MMIO_XT_GA_INTCTL) !=
            AMDVI_XT_SENT) {
            trace_amdvi_galog_interrupt("XT masked or no xtsup", 0, 0);
            return;
        }
        trace_amdvi_galog_interrupt("XT", 0, 0);
    } else if (msi_enabled(&s->pci->dev)) {
        MSIMessage msg = msi_get_message(&s->pci->dev, 0);
        MemTxAttrs attrs = {
            .requester_id = pci_requester_id(&s->pci->dev),
        };

        address_space_stl_le(&address_space_memory, msg.address, msg.data,
                             attrs, NULL);
        trace_amdvi_galog_interrupt("MSI", msg.address, msg.data);
    } else {
        trace_amdvi_galog_interrupt("MSI disabled", 0, 0);
        return;
    }
    s->ga.stats.log_interrupts++;
}

/*
 * Append a GA_GUEST_NR entry for @tag from @devid.  Returns false if
 * the entry was not logged (log not running, full, or broken).
 */
bool amdvi_galog_append(AMDVIState *s, uint32_t tag, uint16_t devid)
{
    uint64_t status = amdvi_ga_reg(s, AMD_IOMMU_MMIO_STATUS);
    uint64_t base = amdvi_ga_reg(s, AMD_IOMMU_MMIO_GALOG_BASE);
    uint64_t bytes = amdvi_galog_bytes(base);
    hwaddr addr = base & AMD_IOMMU_RING_BASE_MASK;
    uint32_t head = amdvi_ga_reg(s, AMD_IOMMU_MMIO_GALOG_HEAD) &
                    AMD_IOMMU_GALOG_PTR_MASK;
    uint32_t tail = amdvi_ga_reg(s, AMD_IOMMU_MMIO_GALOG_TAIL) &
                    AMD_IOMMU_GALOG_PTR_MASK;
    hwaddr tail_addr = amdvi_ga_reg(s, AMD_IOMMU_MMIO_GALOG_TAIL_ADDR) &
                       AMD_IOMMU_GALOG_TAIL_ADDR_MASK;
    uint64_t entry;
    uint32_t next;

    if (!(status & AMD_IOMMU_STATUS_GALOG_RUN)) {
        trace_amdvi_ga_unnotified(devid, tag, "GA log not running");
        return false;
    }
    if (!bytes || head >= bytes || tail >= bytes) {
        amdvi_galog_error(s, "GA log head or tail outside the log",
                          (uint64_t)head << 32 | tail);
        return false;
    }

    next = (tail + AMD_IOMMU_GALOG_ENTRY_SIZE) % bytes;
    if (next == head) {
        s->ga.stats.log_overflows++;
        trace_amdvi_galog_overflow(tag, devid, head, tail);
        amdvi_galog_set_status(s, AMD_IOMMU_STATUS_GALOG_OVERFLOW,
                               AMD_IOMMU_STATUS_GALOG_RUN);
        if (!(status & AMD_IOMMU_STATUS_GALOG_OVERFLOW)) {
            amdvi_galog_interrupt(s);
        }
        return false;
    }

    entry = (tag & AMD_IOMMU_GALOG_TAG_MASK) |
            (uint64_t)devid << AMD_IOMMU_GALOG_DEVID_SHIFT |
            (uint64_t)AMD_IOMMU_GALOG_TYPE_GUEST_NR <<
            AMD_IOMMU_GALOG_TYPE_SHIFT;
    if (!amdvi_ga_store64(addr + tail, entry)) {
        amdvi_galog_error(s, "GA log is not RAM", addr + tail);
        return false;
    }

    /* The entry before the tail that publishes it. */
    smp_wmb();
    amdvi_ga_set_reg(s, AMD_IOMMU_MMIO_GALOG_TAIL, next);
    if (tail_addr && !amdvi_ga_store64(tail_addr, next)) {
        /* The entry is logged; only the copy of the tail is lost. */
        s->ga.stats.errors++;
        trace_amdvi_galog_error("GA log tail address is not RAM", tail_addr);
        qemu_log_mask(LOG_GUEST_ERROR, "amd-iommu: GA log tail address "
                      "0x%" PRIx64 " is not RAM\n", tail_addr);
    }
    s->ga.stats.log_entries++;
    trace_amdvi_galog_entry(tag, devid, next);

    if (!(status & AMD_IOMMU_STATUS_GALOG_INT)) {
        amdvi_galog_set_status(s, AMD_IOMMU_STATUS_GALOG_INT, 0);
        amdvi_galog_interrupt(s);
    }
    return true;
}
