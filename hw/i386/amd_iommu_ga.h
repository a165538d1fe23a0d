/*
 * AMD IOMMU guest virtual APIC (GA) mode: what amd_iommu.c and our files
 * share
 *
 * amd_iommu.c calls into our files through the functions below, from
 * thin hooks (patches/0011-0015); our files reach back only through
 * AMDVIState's public fields and amdvi_log_event().  One file per
 * concern:
 *
 *   amd_iommu_ga.c       properties, feature bits, reset, registers,
 *                        counters, migration, guest-RAM helpers
 *   amd_iommu_posting.c  guest-mode IRTEs: validate, set the IRR bit in
 *                        the vAPIC backing page, then doorbell or notify
 *   amd_iommu_galog.c    the GA log ring and its interrupt
 *   amd_iommu_gappi.c    the GAPPI wake-up interrupt
 *   amd_iommu_irtcache.c the interrupt remapping table (IRTE) cache
 *   amd_iommu_xtint.c    the XT interrupt control registers (0x170-0x180)
 *
 * Register and structure layouts: include/hw/i386/amd-avic-bits.h.
 * Behaviour and every choice the specification leaves open:
 * docs/specs/amd-iommu-ga.rst.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef HW_I386_AMD_IOMMU_GA_H
#define HW_I386_AMD_IOMMU_GA_H

#include "qapi/qapi-types-common.h"
#include "exec/hwaddr.h"

typedef struct AMDVIState AMDVIState;

/* Run-time counters, read-only QOM properties "ga-*" of amd-iommu. */
typedef struct AMDVIGAStats {
    uint64_t posted;            /* vectors set in a backing page's IRR */
    uint64_t posted_running;    /* ... of which IsRun = 1 */
    uint64_t doorbells;         /* doorbells that reached a CPU */
    uint64_t doorbell_last_dest; /* APIC ID of the last doorbell */
    uint64_t log_entries;       /* GA log entries written */
    uint64_t log_interrupts;    /* GA log interrupts sent */
    uint64_t log_overflows;     /* entries lost to a full GA log */
    uint64_t gappi_interrupts;  /* GAPPI interrupts sent */
    uint64_t gappi_suppressed;  /* ... not sent: IRR was not clear */
    uint64_t unnotified;        /* IsRun = 0, nobody told: vector waits */
    uint64_t errors;            /* guest programming errors */
    uint64_t irt_hits;          /* IRTE cache: entry found */
    uint64_t irt_misses;        /* ... filled from memory */
    uint64_t irt_stale_hits;    /* ... found, but memory differs */
    uint64_t irt_evictions;     /* ... dropped to make room */
} AMDVIGAStats;

/* The IRTE cache's mode (property "irt-cache"). */
enum {
    AMDVI_IRTC_OFF,             /* read memory for every interrupt */
    AMDVI_IRTC_ON,              /* finite, evicts when full */
    AMDVI_IRTC_STRICT,          /* keeps every entry until invalidated */
};

/* A cached IRTE as it migrates (amd_iommu_irtcache.c). */
typedef struct AMDVIIrtcRecord {
    uint32_t key;               /* devid << 16 | index */
    uint64_t lo, hi;
} AMDVIIrtcRecord;

/* Our part of AMDVIState (its field "ga"). */
typedef struct AMDVIGAState {
    OnOffAuto vapic_prop;       /* property "vapic" */
    bool gappi;                 /* property "gappi" */
    bool gappi_spurious;        /* property "gappi-spurious" */
    bool vapic;                 /* resolved: GAMSup = 1 is advertised */
    char *irtc_prop;            /* property "irt-cache" */
    int irtc_mode;              /* resolved: AMDVI_IRTC_* */
    GHashTable *irtc;           /* (devid << 16 | index) -> cached IRTE */
    int32_t irtc_mig_n;         /* the cache as it migrates */
    AMDVIIrtcRecord *irtc_mig;
    AMDVIGAStats stats;
} AMDVIGAState;

/*
 * amdvi_int_remap_msi() result for an interrupt that a guest-mode IRTE
 * consumed (posted to a backing page): nothing is sent to an APIC.
 */
#define AMDVI_IR_POSTED         4

/* amd_iommu_ga.c */
bool amdvi_ga_realize(AMDVIState *s, Error **errp);
uint64_t amdvi_ga_efr(AMDVIState *s);
uint64_t amdvi_ga_efr2(AMDVIState *s);
bool amdvi_ga_has_gappi_dis(AMDVIState *s);
void amdvi_ga_reset(AMDVIState *s);
void amdvi_ga_control_written(AMDVIState *s);
bool amdvi_ga_mmio_reg(AMDVIState *s, hwaddr reg);
extern const VMStateDescription vmstate_amdvi_ga;

uint64_t amdvi_ga_reg(AMDVIState *s, hwaddr reg);
void amdvi_ga_set_reg(AMDVIState *s, hwaddr reg, uint64_t val);
void *amdvi_ga_map_ram(hwaddr gpa, hwaddr len, bool is_write);
void amdvi_ga_unmap_ram(void *p, hwaddr len, bool is_write);
bool amdvi_ga_store64(hwaddr gpa, uint64_t val);
void amdvi_ga_send_irq(uint8_t vector, uint32_t dest, bool logical);

/* amd_iommu_posting.c */
bool amdvi_ga_read_irte(hwaddr addr, uint64_t *lo, uint64_t *hi);
int amdvi_ga_post(AMDVIState *s, const uint64_t *dte, uint64_t lo,
                  uint64_t hi, uint16_t devid, const MSIMessage *origin);
void amdvi_ga_notify(AMDVIState *s, uint64_t lo, uint64_t hi, uint64_t ctrl,
                     uint16_t devid, bool irr_was_clear);

int amdvi_ir_fault(AMDVIState *s, uint16_t devid, const uint64_t *dte,
                   uint64_t lo, uint64_t addr, uint64_t flags,
                   const char *why);
void amdvi_dma_fault(AMDVIState *s, uint16_t devid, const uint64_t *dte,
                     uint64_t addr, bool write, bool present);

/* amd_iommu_galog.c */
void amdvi_galog_control_written(AMDVIState *s);
bool amdvi_galog_append(AMDVIState *s, uint32_t tag, uint16_t devid);

/* amd_iommu_gappi.c */
bool amdvi_gappi_notify(AMDVIState *s, uint64_t lo, uint32_t dest,
                        uint16_t devid, bool irr_was_clear);

/* amd_iommu_xtint.c */
enum { AMDVI_XT_USE_MSI, AMDVI_XT_MASKED, AMDVI_XT_SENT };
int amdvi_xt_interrupt(AMDVIState *s, hwaddr reg);
bool amdvi_xt_general_interrupt(AMDVIState *s);

/* amd_iommu_irtcache.c */
bool amdvi_irtc_realize(AMDVIState *s, Error **errp);
bool amdvi_irtc_read(AMDVIState *s, uint16_t devid, uint16_t index,
                     hwaddr addr, uint64_t *lo, uint64_t *hi);
bool amdvi_ga_get_irte(AMDVIState *s, const uint64_t *dte,
                       const MSIMessage *origin, uint16_t devid,
                       uint64_t *lo, uint64_t *hi);
bool amdvi_ga_get_irte32(AMDVIState *s, const uint64_t *dte,
                         const MSIMessage *origin, uint16_t devid,
                         uint32_t *irte);
void amdvi_irtc_invalidate_dev(AMDVIState *s, uint16_t devid);
void amdvi_irtc_invalidate_all(AMDVIState *s);
extern const VMStateDescription vmstate_amdvi_irtc;

/* amd_iommu.c, made global for the GA error events */
void amdvi_log_event(AMDVIState *s, uint64_t *evt);

#endif /* HW_I386_AMD_IOMMU_GA_H */
