/*
 * AMD IOMMU driver for the tests.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "iommu.h"

#define RING_BYTES      4096    /* 256 x 16-byte commands / events */

bool iommu_init(struct iommu *io)
{
    memset(io, 0, sizeof(*io));
    io->bdf = pci_find(AMD_IOMMU_PCI_VENDOR, AMD_IOMMU_PCI_DEVICE);
    if (io->bdf == PCI_NONE)
        return false;
    io->cap = pci_find_cap(io->bdf, AMD_IOMMU_CAP_ID);
    if (!io->cap)
        return false;
    uint32_t lo = pci_read32(io->bdf, io->cap + AMD_IOMMU_CAP_BAR_LOW);
    uint32_t hi = pci_read32(io->bdf, io->cap + AMD_IOMMU_CAP_BAR_HIGH);
    io->mmio = ((uint64_t)hi << 32) | (lo & 0xffffc000u);
    if (!(lo & AMD_IOMMU_CAP_BAR_ENABLE))
        pci_write32(io->bdf, io->cap + AMD_IOMMU_CAP_BAR_LOW, lo | AMD_IOMMU_CAP_BAR_ENABLE);
    pci_enable(io->bdf);
    io->efr = iommu_read(io, AMD_IOMMU_MMIO_EFR);

    iommu_write(io, AMD_IOMMU_MMIO_CONTROL, 0);

    io->devtab = alloc_pages(512);
    iommu_write(io, AMD_IOMMU_MMIO_DEVTAB_BASE, virt_to_phys(io->devtab) | 0x1ff);

    io->cmdbuf = alloc_page();
    iommu_write(io, AMD_IOMMU_MMIO_CMDBUF_BASE, virt_to_phys(io->cmdbuf) |
                (uint64_t)AMD_IOMMU_RING_LEN_256 << AMD_IOMMU_RING_LEN_SHIFT);
    iommu_write(io, AMD_IOMMU_MMIO_CMDBUF_HEAD, 0);
    iommu_write(io, AMD_IOMMU_MMIO_CMDBUF_TAIL, 0);

    io->evtlog = alloc_page();
    iommu_write(io, AMD_IOMMU_MMIO_EVTLOG_BASE, virt_to_phys(io->evtlog) |
                (uint64_t)AMD_IOMMU_RING_LEN_256 << AMD_IOMMU_RING_LEN_SHIFT);
    iommu_write(io, AMD_IOMMU_MMIO_EVTLOG_HEAD, 0);
    iommu_write(io, AMD_IOMMU_MMIO_EVTLOG_TAIL, 0);

    io->cw_sem = alloc_page();

    uint64_t ctrl = AMD_IOMMU_CTRL_IOMMU_EN | AMD_IOMMU_CTRL_CMDBUF_EN |
                    AMD_IOMMU_CTRL_EVTLOG_EN;
    if (iommu_ga_supported(io))
        ctrl |= AMD_IOMMU_CTRL_GA_EN;
    if (iommu_xt_supported(io))
        ctrl |= AMD_IOMMU_CTRL_XT_EN;
    iommu_write(io, AMD_IOMMU_MMIO_CONTROL, ctrl);
    return true;
}

void iommu_ctrl(struct iommu *io, uint64_t set, uint64_t clear)
{
    spin_lock(&io->lock);
    uint64_t c = iommu_read(io, AMD_IOMMU_MMIO_CONTROL);
    iommu_write(io, AMD_IOMMU_MMIO_CONTROL, (c & ~clear) | set);
    spin_unlock(&io->lock);
}

static void cmd_locked(struct iommu *io, uint64_t q0, uint64_t q1)
{
    uint32_t next = (io->cmd_tail + AMD_IOMMU_CMD_SIZE) % RING_BYTES;
    /* the ring never fills: we wait for every batch */
    while (((uint32_t)iommu_read(io, AMD_IOMMU_MMIO_CMDBUF_HEAD) & AMD_IOMMU_RING_PTR_MASK) == next)
        cpu_relax();
    uint64_t *c = (uint64_t *)(io->cmdbuf + io->cmd_tail);
    c[0] = q0;
    c[1] = q1;
    io->cmd_tail = next;
    mb();
    iommu_write(io, AMD_IOMMU_MMIO_CMDBUF_TAIL, io->cmd_tail);
}

void iommu_cmd(struct iommu *io, uint64_t q0, uint64_t q1)
{
    spin_lock(&io->lock);
    cmd_locked(io, q0, q1);
    spin_unlock(&io->lock);
}

bool iommu_completion_wait(struct iommu *io)
{
    spin_lock(&io->lock);
    uint64_t seq = ++io->cw_seq;
    cmd_locked(io, (virt_to_phys((void *)io->cw_sem) & AMD_IOMMU_CW_ADDR_MASK) |
               AMD_IOMMU_CW_STORE |
               ((uint64_t)AMD_IOMMU_CMD_COMPLETION_WAIT << AMD_IOMMU_CMD_OPCODE_SHIFT), seq);
    bool ok = wait_until(READ_ONCE(*io->cw_sem) == seq, 1000000);
    spin_unlock(&io->lock);
    if (!ok)
        printf("# iommu: COMPLETION_WAIT timed out (status %#llx)\n",
               (unsigned long long)iommu_read(io, AMD_IOMMU_MMIO_STATUS));
    return ok;
}

void iommu_inval_dte(struct iommu *io, uint16_t devid)
{
    iommu_cmd(io, (devid & AMD_IOMMU_CMD_DEVID_MASK) |
              ((uint64_t)AMD_IOMMU_CMD_INVAL_DEVTAB << AMD_IOMMU_CMD_OPCODE_SHIFT), 0);
}

void iommu_inval_irt(struct iommu *io, uint16_t devid)
{
    iommu_cmd(io, (devid & AMD_IOMMU_CMD_DEVID_MASK) |
              ((uint64_t)AMD_IOMMU_CMD_INVAL_INTR_TABLE << AMD_IOMMU_CMD_OPCODE_SHIFT), 0);
}

struct irte_ga *iommu_setup_irt(struct iommu *io, uint16_t devid, int log2)
{
    unsigned pages = ((AMD_IOMMU_IRTE_GA_SIZE << log2) + PAGE_SIZE - 1) / PAGE_SIZE;
    struct irte_ga *irt = alloc_pages(pages);
    uint64_t *dte = &io->devtab[devid * 4];
    dte[2] = AMD_IOMMU_DTE_Q2_IV |
             ((uint64_t)log2 << AMD_IOMMU_DTE_Q2_INTTABLEN_SHIFT) |
             (virt_to_phys(irt) & AMD_IOMMU_DTE_Q2_IRT_ROOT_MASK) |
             ((uint64_t)AMD_IOMMU_DTE_INTCTL_REMAP << AMD_IOMMU_DTE_Q2_INTCTL_SHIFT);
    dte[0] = AMD_IOMMU_DTE_Q0_V;        /* valid, no translation (TV=0) */
    mb();
    iommu_inval_dte(io, devid);
    iommu_inval_irt(io, devid);
    iommu_completion_wait(io);
    return irt;
}

void irte_remap(struct irte_ga *e, uint8_t vector, uint32_t dest)
{
    struct irte_ga n = { 0, 0 };
    n.lo = AMD_IOMMU_IRTE_LO_REMAP_EN;          /* fixed, physical, GuestMode 0 */
    n.hi = vector;
    irte_set_dest(&n, dest);
    *e = n;
}

void irte_guest(struct irte_ga *e, uint8_t vector, uint64_t backing_pa, uint32_t dest,
                uint32_t ga_tag, bool is_run, bool ga_log_intr)
{
    struct irte_ga n;
    n.lo = AMD_IOMMU_IRTE_LO_REMAP_EN | AMD_IOMMU_IRTE_LO_GUEST_MODE |
           (is_run ? AMD_IOMMU_IRTE_LO_IS_RUN : 0) |
           (ga_log_intr ? AMD_IOMMU_IRTE_LO_GA_LOG_INTR : 0) |
           ((uint64_t)ga_tag << AMD_IOMMU_IRTE_LO_GA_TAG_SHIFT);
    n.hi = vector | (backing_pa & AMD_IOMMU_IRTE_HI_GA_ROOT_MASK);
    irte_set_dest(&n, dest);
    *e = n;
}

bool irte_update(struct iommu *io, uint16_t devid, struct irte_ga *live, struct irte_ga val)
{
    volatile uint64_t *p = (volatile uint64_t *)live;
    for (;;) {
        uint64_t lo = p[0], hi = p[1];
        if (cmpxchg16b(p, lo, hi, val.lo, val.hi))
            break;
    }
    iommu_inval_irt(io, devid);
    return iommu_completion_wait(io);
}

bool irte_set_running(struct iommu *io, uint16_t devid, struct irte_ga *live,
                      bool is_run, uint32_t dest)
{
    volatile uint64_t *p = (volatile uint64_t *)live;
    for (;;) {
        struct irte_ga n = { p[0], p[1] };
        struct irte_ga old = n;
        n.lo = is_run ? n.lo | AMD_IOMMU_IRTE_LO_IS_RUN : n.lo & ~AMD_IOMMU_IRTE_LO_IS_RUN;
        irte_set_dest(&n, dest);
        if (cmpxchg16b(p, old.lo, old.hi, n.lo, n.hi))
            break;
    }
    iommu_inval_irt(io, devid);
    return iommu_completion_wait(io);
}

int iommu_evt_pop(struct iommu *io, uint64_t ev[2])
{
    uint32_t tail = iommu_read(io, AMD_IOMMU_MMIO_EVTLOG_TAIL) & AMD_IOMMU_RING_PTR_MASK;
    if (tail == io->evt_head)
        return 0;
    uint64_t *e = (uint64_t *)(io->evtlog + io->evt_head);
    ev[0] = e[0];
    ev[1] = e[1];
    e[0] = e[1] = 0;
    io->evt_head = (io->evt_head + AMD_IOMMU_EVT_SIZE) % RING_BYTES;
    iommu_write(io, AMD_IOMMU_MMIO_EVTLOG_HEAD, io->evt_head);
    return 1;
}

/* Read every pending event, print it; count those naming devid. */
int iommu_evt_drain(struct iommu *io, uint16_t devid, int *matching)
{
    uint64_t ev[2];
    int n = 0;
    if (matching)
        *matching = 0;
    while (iommu_evt_pop(io, ev)) {
        n++;
        unsigned code = ev[0] >> AMD_IOMMU_EVT_CODE_SHIFT;
        printf("#   iommu event: code %#x devid %#llx raw %#018llx %#018llx\n", code,
               (unsigned long long)(ev[0] & AMD_IOMMU_EVT_DEVID_MASK),
               (unsigned long long)ev[0], (unsigned long long)ev[1]);
        if (matching && (ev[0] & AMD_IOMMU_EVT_DEVID_MASK) == devid)
            (*matching)++;
    }
    return n;
}

void iommu_msi_set(struct iommu *io, uint8_t vector, uint32_t dest)
{
    pci_msi_set(io->bdf, MSI_ADDR(dest), vector);
}

void iommu_galog_init(struct iommu *io, bool interrupt)
{
    if (!io->galog) {
        io->galog = alloc_page();
        io->galog_tail_buf = alloc_page();
    }
    iommu_ctrl(io, 0, AMD_IOMMU_CTRL_GALOG_EN | AMD_IOMMU_CTRL_GAINT_EN);
    iommu_write(io, AMD_IOMMU_MMIO_STATUS,
                AMD_IOMMU_STATUS_GALOG_OVERFLOW | AMD_IOMMU_STATUS_GALOG_INT);
    iommu_write(io, AMD_IOMMU_MMIO_GALOG_BASE, virt_to_phys(io->galog) |
                (uint64_t)AMD_IOMMU_GALOG_LEN_512 << AMD_IOMMU_RING_LEN_SHIFT);
    iommu_write(io, AMD_IOMMU_MMIO_GALOG_TAIL_ADDR,
                virt_to_phys((void *)io->galog_tail_buf) & AMD_IOMMU_GALOG_TAIL_ADDR_MASK);
    iommu_write(io, AMD_IOMMU_MMIO_GALOG_HEAD, 0);
    iommu_write(io, AMD_IOMMU_MMIO_GALOG_TAIL, 0);
    io->galog_head = 0;
    iommu_ctrl(io, AMD_IOMMU_CTRL_GAM_VAPIC | AMD_IOMMU_CTRL_GALOG_EN |
               (interrupt ? AMD_IOMMU_CTRL_GAINT_EN : 0), AMD_IOMMU_CTRL_GAM_MASK);
}

uint32_t iommu_galog_tail(struct iommu *io)
{
    return iommu_read(io, AMD_IOMMU_MMIO_GALOG_TAIL) & AMD_IOMMU_GALOG_PTR_MASK;
}

int iommu_galog_pop(struct iommu *io, uint64_t *entry)
{
    if (iommu_galog_tail(io) == io->galog_head)
        return 0;
    *entry = io->galog[io->galog_head / AMD_IOMMU_GALOG_ENTRY_SIZE];
    io->galog[io->galog_head / AMD_IOMMU_GALOG_ENTRY_SIZE] = 0;
    io->galog_head = (io->galog_head + AMD_IOMMU_GALOG_ENTRY_SIZE) %
                     (AMD_IOMMU_GALOG_ENTRIES_512 * AMD_IOMMU_GALOG_ENTRY_SIZE);
    iommu_write(io, AMD_IOMMU_MMIO_GALOG_HEAD, io->galog_head);
    return 1;
}
