/*
 * AMD IOMMU guest virtual APIC mode: the timing model
 *
 * With the property timing=on, the notification that follows a posted
 * interrupt's IRR write (doorbell, GA log entry and interrupt, GAPPI
 * interrupt) happens on QEMU_CLOCK_VIRTUAL after a modelled delay,
 * instead of at once.  timing=off (the default) is the functional
 * model: no timer exists and posting does what it always did.
 *
 * The parameters (one table, amdvi_timing_params[] in
 * amd_iommu_timing.c) are QOM properties "timing-*" of amd-iommu, in
 * cycles of a modelled clock (timing-mhz).  What they mean, their
 * defaults and why: docs/specs/amd-iommu-timing.rst.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef HW_I386_AMD_IOMMU_TIMING_H
#define HW_I386_AMD_IOMMU_TIMING_H

#include "qemu/timer.h"

typedef struct AMDVIState AMDVIState;

/* The parameters, indexes into AMDVITimingState.param[]. */
typedef enum AMDVITimingParam {
    AMDVI_TIMING_MHZ,           /* the modelled clock */
    AMDVI_TIMING_IRTE_FETCH,    /* IRTE read (no IRT cache yet) */
    AMDVI_TIMING_IRR_WRITE,     /* backing page IRR atomic OR */
    AMDVI_TIMING_DOORBELL,      /* doorbell to delivery at the CPU */
    AMDVI_TIMING_GALOG_ENTRY,   /* GA log entry and tail write */
    AMDVI_TIMING_GALOG_INTR,    /* GA log interrupt */
    AMDVI_TIMING_GAPPI_INTR,    /* GAPPI interrupt */
    AMDVI_TIMING_REMAP,         /* remapped path: MSI to the APIC */
    AMDVI_TIMING_VMEXIT_VMRUN,  /* CPU: #VMEXIT + VMRUN round trip */
    AMDVI_TIMING_AVIC_DELIVERY, /* CPU: backing page IRR to vector taken */
    AMDVI_TIMING__MAX,
} AMDVITimingParam;

/* Which notification a posted interrupt gets (amdvi_ga_notify()). */
typedef enum AMDVITimingPath {
    AMDVI_TIMING_PATH_DOORBELL, /* IsRun = 1 */
    AMDVI_TIMING_PATH_GAPPI,    /* IsRun = 0, Control.GAPPIEn = 1 */
    AMDVI_TIMING_PATH_GALOG,    /* IsRun = 0, GALogIntr = 1 */
    AMDVI_TIMING_PATH_NONE,     /* IsRun = 0: the vector waits in IRR */
    AMDVI_TIMING_PATH__MAX,
} AMDVITimingPath;

/* One notification waiting for its time: amdvi_ga_notify()'s arguments. */
typedef struct AMDVITimingEffect {
    uint64_t lo;
    uint64_t hi;
    uint64_t ctrl;
    int64_t due;                /* QEMU_CLOCK_VIRTUAL, ns */
    uint64_t id;                /* the interrupt's number in the timeline */
    uint16_t devid;
    uint8_t path;               /* AMDVITimingPath */
    bool irr_was_clear;         /* the IRR was empty before the post */
} AMDVITimingEffect;

/*
 * Notifications in flight: a FIFO ring.  When it is full the oldest
 * one happens early (traced), so a guest cannot grow it without bound.
 */
#define AMDVI_TIMING_QUEUE_LEN  64

/* Our part of AMDVIState (its field "timing"). */
typedef struct AMDVITimingState {
    bool on;                                /* property "timing" */
    uint32_t param[AMDVI_TIMING__MAX];      /* properties "timing-*" */
    int64_t path_ns[AMDVI_TIMING_PATH__MAX]; /* resolved at realize */
    int64_t irr_ns;                         /* IRTE fetch + IRR write */
    QEMUTimer *timer;                       /* only with timing=on */
    AMDVITimingEffect queue[AMDVI_TIMING_QUEUE_LEN];
    uint32_t head;
    uint32_t count;
    uint64_t next_id;
    int64_t last_due;
} AMDVITimingState;

/* Called from amd_iommu.c (patches/0019). */
void amdvi_timing_class_init(ObjectClass *oc);
bool amdvi_timing_realize(AMDVIState *s, Error **errp);
void amdvi_timing_reset(AMDVIState *s);
extern const VMStateDescription vmstate_amdvi_timing;

/*
 * The seam, from amdvi_ga_post() with timing=on: do
 * amdvi_ga_notify(s, lo, hi, ctrl, devid, irr_was_clear) when the
 * model says so.
 */
void amdvi_timing_defer(AMDVIState *s, uint64_t lo, uint64_t hi,
                        uint64_t ctrl, uint16_t devid, bool irr_was_clear);

#endif /* HW_I386_AMD_IOMMU_TIMING_H */
