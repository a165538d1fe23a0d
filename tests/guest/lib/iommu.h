/*
 * AMD IOMMU driver, just what the tests need: device table, command
 * buffer (COMPLETION_WAIT, INVALIDATE_DEVTAB_ENTRY,
 * INVALIDATE_INTERRUPT_TABLE), event log, 128-bit IRTEs (Control.GAEn),
 * XT, the GA log and GAPPI.  Layouts: hw/i386/amd-avic-bits.h.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef GUEST_IOMMU_H
#define GUEST_IOMMU_H

#include "lib.h"
#include "pci.h"
#include "hw/i386/amd-avic-bits.h"

struct irte_ga {
    uint64_t lo, hi;
} __attribute__((aligned(16)));

struct iommu {
    pcidevaddr_t bdf;
    int cap;
    uint64_t mmio;
    uint64_t efr;
    uint64_t *devtab;           /* 65536 entries, 2 MiB */
    uint8_t *cmdbuf;            /* 256 commands */
    uint32_t cmd_tail;
    uint8_t *evtlog;            /* 256 events */
    uint32_t evt_head;
    uint64_t *galog;            /* 512 entries */
    volatile uint64_t *galog_tail_buf;
    uint32_t galog_head;
    volatile uint64_t *cw_sem;
    uint64_t cw_seq;
    spinlock_t lock;
};

bool iommu_init(struct iommu *io);
#ifdef SOFT_IOMMU       /* development aid, see soft-iommu.c */
uint64_t iommu_read(struct iommu *io, unsigned off);
void iommu_write(struct iommu *io, unsigned off, uint64_t v);
#else
static inline uint64_t iommu_read(struct iommu *io, unsigned off)
{ return mmio_read64(io->mmio + off); }
static inline void iommu_write(struct iommu *io, unsigned off, uint64_t v)
{ mmio_write64(io->mmio + off, v); }
#endif
void iommu_ctrl(struct iommu *io, uint64_t set, uint64_t clear);

static inline bool iommu_ga_supported(struct iommu *io)
{ return io->efr & AMD_IOMMU_EFR_GA_SUP; }
static inline bool iommu_xt_supported(struct iommu *io)
{ return io->efr & AMD_IOMMU_EFR_XT_SUP; }
/* Guest virtual APIC mode: EFR GAMSup (bits 23:21) == 1. */
static inline bool iommu_vapic_supported(struct iommu *io)
{ return ((io->efr & AMD_IOMMU_EFR_GAM_MASK) >> AMD_IOMMU_EFR_GAM_SHIFT) == 1; }
static inline bool iommu_gappi_supported(struct iommu *io)
{ return io->efr & AMD_IOMMU_EFR_GAPPI_SUP; }

/* Commands */
void iommu_cmd(struct iommu *io, uint64_t q0, uint64_t q1);
bool iommu_completion_wait(struct iommu *io);
void iommu_inval_dte(struct iommu *io, uint16_t devid);
void iommu_inval_irt(struct iommu *io, uint16_t devid);

/* Interrupt remapping: a 2^log2-entry 128-bit IRT for devid. */
struct irte_ga *iommu_setup_irt(struct iommu *io, uint16_t devid, int log2);
void irte_remap(struct irte_ga *e, uint8_t vector, uint32_t dest);
void irte_guest(struct irte_ga *e, uint8_t vector, uint64_t backing_pa, uint32_t dest,
                uint32_t ga_tag, bool is_run, bool ga_log_intr);
static inline uint32_t irte_dest(const struct irte_ga *e)
{
    return ((e->lo & AMD_IOMMU_IRTE_LO_DEST_MASK) >> AMD_IOMMU_IRTE_LO_DEST_SHIFT) |
           (uint32_t)((e->hi & AMD_IOMMU_IRTE_HI_DEST_HI_MASK) >> AMD_IOMMU_IRTE_HI_DEST_HI_SHIFT) << 24;
}
static inline void irte_set_dest(struct irte_ga *e, uint32_t dest)
{
    e->lo = (e->lo & ~AMD_IOMMU_IRTE_LO_DEST_MASK) |
            (((uint64_t)dest << AMD_IOMMU_IRTE_LO_DEST_SHIFT) & AMD_IOMMU_IRTE_LO_DEST_MASK);
    e->hi = (e->hi & ~AMD_IOMMU_IRTE_HI_DEST_HI_MASK) |
            ((uint64_t)(dest >> 24) << AMD_IOMMU_IRTE_HI_DEST_HI_SHIFT);
}
/*
 * IsRun and Destination of a live guest-mode IRTE by one 128-bit
 * cmpxchg and no invalidation: what KVM does on vCPU load/put/block
 * (the IOMMU does not cache those fields).
 */
static inline void irte_cmpxchg_run(struct irte_ga *e, bool run, uint32_t dest)
{
    volatile uint64_t *p = (volatile uint64_t *)e;

    for (;;) {
        struct irte_ga n = { p[0], p[1] }, old = n;

        n.lo = run ? n.lo | AMD_IOMMU_IRTE_LO_IS_RUN : n.lo & ~AMD_IOMMU_IRTE_LO_IS_RUN;
        irte_set_dest(&n, dest);
        if (cmpxchg16b(p, old.lo, old.hi, n.lo, n.hi))
            return;
    }
}
/* Replace a live IRTE with one 128-bit cmpxchg (as Linux does), then
 * INVALIDATE_INTERRUPT_TABLE + COMPLETION_WAIT. */
bool irte_update(struct iommu *io, uint16_t devid, struct irte_ga *live, struct irte_ga val);
/* Change IsRun and Destination of a live guest-mode IRTE. */
bool irte_set_running(struct iommu *io, uint16_t devid, struct irte_ga *live,
                      bool is_run, uint32_t dest);

/* Event log */
int iommu_evt_pop(struct iommu *io, uint64_t ev[2]);     /* 1 if one was read */
int iommu_evt_drain(struct iommu *io, uint16_t devid, int *matching);

/* The IOMMU's own interrupt (event log, GA log): its PCI MSI. */
void iommu_msi_set(struct iommu *io, uint8_t vector, uint32_t dest);

/* GA log: 512 entries, tail pointer buffer, GALogEn + GAIntEn (+ GAMEn). */
void iommu_galog_init(struct iommu *io, bool interrupt);
int iommu_galog_pop(struct iommu *io, uint64_t *entry);  /* 1 if one */
uint32_t iommu_galog_tail(struct iommu *io);

#endif
