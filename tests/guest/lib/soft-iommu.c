/*
 * SOFT_IOMMU: a development aid for the tests themselves, NOT a test of
 * QEMU.  Built only with "make SOFT_IOMMU=1"; the images then print a
 * banner saying so.
 *
 * It models, in the guest, what amd-iommu-ga.md says the IOMMU does in
 * guest virtual APIC mode: the GA log registers (base, tail address,
 * head, tail), the XT GA interrupt control register, Control's GA bits, Status's GA bits (W1C), EFR's GAMSup
 * and GAPPI bits, and posting through the IRTE (IRR, doorbell, GA log
 * entry + interrupt through the IOMMU's MSI, GAPPI wake-up, overflow).
 * With it the post-* / galog-overflow / stress groups can be debugged
 * against the real CPU-side AVIC before the IOMMU side exists.  Error
 * paths (event log) are not modelled.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifdef SOFT_IOMMU
#include "post.h"

#define GA_CTRL_BITS (AMD_IOMMU_CTRL_GAM_MASK | AMD_IOMMU_CTRL_GALOG_EN | \
                      AMD_IOMMU_CTRL_GAINT_EN | AMD_IOMMU_CTRL_GAPPI_EN)
#define GA_STATUS_BITS (AMD_IOMMU_STATUS_GALOG_RUN | AMD_IOMMU_STATUS_GALOG_OVERFLOW | \
                        AMD_IOMMU_STATUS_GALOG_INT)

static uint64_t ctrl, status, base, tail_addr, head, tail, xt_ga;

static uint64_t run_bit(void)
{
    return (ctrl & AMD_IOMMU_CTRL_GALOG_EN) && !(status & AMD_IOMMU_STATUS_GALOG_OVERFLOW) &&
           (base & AMD_IOMMU_RING_BASE_MASK) < (192ULL << 20)
           ? AMD_IOMMU_STATUS_GALOG_RUN : 0;
}

uint64_t iommu_read(struct iommu *io, unsigned off)
{
    uint64_t real = mmio_read64(io->mmio + off);
    switch (off) {
    case AMD_IOMMU_MMIO_EFR:
        return real | AMD_IOMMU_EFR_GAM_VAPIC | AMD_IOMMU_EFR_GAPPI_SUP;
    case AMD_IOMMU_MMIO_CONTROL:
        return (real & ~GA_CTRL_BITS) | ctrl;
    case AMD_IOMMU_MMIO_STATUS:
        return (real & ~GA_STATUS_BITS) | status | run_bit();
    case AMD_IOMMU_MMIO_GALOG_BASE:
        return base;
    case AMD_IOMMU_MMIO_GALOG_TAIL_ADDR:
        return tail_addr;
    case AMD_IOMMU_MMIO_GALOG_HEAD:
        return head;
    case AMD_IOMMU_MMIO_GALOG_TAIL:
        return tail;
    case AMD_IOMMU_MMIO_XT_GA_INTCTL:
        return xt_ga;
    }
    return real;
}

void iommu_write(struct iommu *io, unsigned off, uint64_t v)
{
    switch (off) {
    case AMD_IOMMU_MMIO_CONTROL:
        ctrl = v & GA_CTRL_BITS;
        mmio_write64(io->mmio + off, v & ~GA_CTRL_BITS);
        return;
    case AMD_IOMMU_MMIO_STATUS:
        status &= ~(v & (AMD_IOMMU_STATUS_GALOG_OVERFLOW | AMD_IOMMU_STATUS_GALOG_INT));
        mmio_write64(io->mmio + off, v & ~GA_STATUS_BITS);
        return;
    case AMD_IOMMU_MMIO_GALOG_BASE:
        base = v;
        return;
    case AMD_IOMMU_MMIO_GALOG_TAIL_ADDR:
        tail_addr = v;
        return;
    case AMD_IOMMU_MMIO_GALOG_HEAD:
        head = v & AMD_IOMMU_GALOG_PTR_MASK;
        return;
    case AMD_IOMMU_MMIO_GALOG_TAIL:
        tail = v & AMD_IOMMU_GALOG_PTR_MASK;
        return;
    case AMD_IOMMU_MMIO_XT_GA_INTCTL:
        xt_ga = v;
        return;
    }
    mmio_write64(io->mmio + off, v);
}

static void msi(struct iommu *io)
{
    if (mmio_read64(io->mmio + AMD_IOMMU_MMIO_CONTROL) & AMD_IOMMU_CTRL_INTCAPXT_EN) {
        uint64_t x = xt_ga;
        apic_icr_write((x >> AMD_IOMMU_XT_INT_VECTOR_SHIFT) & 0xff,
                       ((x >> AMD_IOMMU_XT_INT_DEST_LO_SHIFT) & 0xffffff) |
                       (uint32_t)(x >> AMD_IOMMU_XT_INT_DEST_HI_SHIFT) << 24);
        return;
    }
    int cap = pci_find_cap(io->bdf, 0x05);
    uint16_t mc = pci_read16(io->bdf, cap + 2);
    if (!(mc & 1))
        return;
    uint32_t addr = pci_read32(io->bdf, cap + 4);
    uint16_t data = pci_read16(io->bdf, cap + ((mc & 0x80) ? 12 : 8));
    apic_icr_write(data & 0xff, (addr >> 12) & 0xff);
}

void soft_iommu_post(void)
{
    static bool banner;
    if (!banner) {
        banner = true;
        printf("# SOFT_IOMMU build: the guest simulates the IOMMU's vAPIC mode itself; "
               "these results say nothing about QEMU\n");
    }
    spin_lock(&P.io.lock);
    struct irte_ga e = P.irt[POST_IRTE_IDX];
    if (!(e.lo & AMD_IOMMU_IRTE_LO_REMAP_EN))
        goto out;
    if (!(e.lo & AMD_IOMMU_IRTE_LO_GUEST_MODE)) {
        spin_unlock(&P.io.lock);
        edu_raise(&P.edu, 1);
        return;
    }
    if ((e.lo & AMD_IOMMU_IRTE_LO_GA_RSVD) || (e.hi & AMD_IOMMU_IRTE_HI_GA_RSVD))
        goto out;               /* real hardware: event log (not modelled) */
    uint8_t vec = e.hi & AMD_IOMMU_IRTE_HI_VECTOR_MASK;
    uint64_t page = e.hi & AMD_IOMMU_IRTE_HI_GA_ROOT_MASK;
    if (page >= (192ULL << 20))
        goto out;               /* outside RAM: event log (not modelled) */
    __atomic_fetch_or((uint32_t *)(page + APIC_VEC_REG_OFFSET(APIC_REG_IRR, vec)),
                      APIC_VEC_BIT(vec), __ATOMIC_SEQ_CST);
    uint32_t dest = irte_dest(&e);
    uint32_t tag = e.lo >> AMD_IOMMU_IRTE_LO_GA_TAG_SHIFT;
    if (e.lo & AMD_IOMMU_IRTE_LO_IS_RUN) {
        wrmsr(AVIC_MSR_DOORBELL, dest);
    } else if (ctrl & AMD_IOMMU_CTRL_GAPPI_EN) {
        if (!(e.lo & AMD_IOMMU_IRTE_LO_GAPPI_DIS))
            apic_icr_write(tag & AMD_IOMMU_GA_TAG_GAPPI_VECTOR_MASK, dest);
    } else if ((e.lo & AMD_IOMMU_IRTE_LO_GA_LOG_INTR) && run_bit()) {
        uint64_t size = AMD_IOMMU_GALOG_ENTRIES_512 * AMD_IOMMU_GALOG_ENTRY_SIZE;
        uint64_t next = (tail + AMD_IOMMU_GALOG_ENTRY_SIZE) % size;
        if (next == head) {
            status |= AMD_IOMMU_STATUS_GALOG_OVERFLOW;
        } else {
            uint64_t *ring = phys_to_virt(base & AMD_IOMMU_RING_BASE_MASK);
            if ((base & AMD_IOMMU_RING_BASE_MASK) >= (192ULL << 20))
                goto out;       /* outside RAM: event log (not modelled) */
            ring[tail / 8] = tag | ((uint64_t)P.devid << AMD_IOMMU_GALOG_DEVID_SHIFT) |
                             ((uint64_t)AMD_IOMMU_GALOG_TYPE_GUEST_NR << AMD_IOMMU_GALOG_TYPE_SHIFT);
            tail = next;
            *(volatile uint64_t *)phys_to_virt(tail_addr & AMD_IOMMU_GALOG_TAIL_ADDR_MASK) = tail;
            status |= AMD_IOMMU_STATUS_GALOG_INT;
            if (ctrl & AMD_IOMMU_CTRL_GAINT_EN)
                msi(&P.io);
        }
    }
out:
    spin_unlock(&P.io.lock);
}
#endif
