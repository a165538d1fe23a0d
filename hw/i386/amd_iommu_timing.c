/*
 * AMD IOMMU guest virtual APIC mode: the timing model
 *
 * The functional model does every effect of a posted interrupt at the
 * moment of the MSI write.  With timing=on the IRR bit is still set at
 * once (so nothing a vCPU reads changes), but the notification that
 * follows it, amdvi_ga_notify(), runs on QEMU_CLOCK_VIRTUAL after the
 * modelled cost of the path it takes:
 *
 *   doorbell   IRTE fetch + IRR write + doorbell
 *   GAPPI      IRTE fetch + IRR write + GAPPI interrupt
 *   GA log     IRTE fetch + IRR write + entry write + GA log interrupt
 *   none       IRTE fetch + IRR write (counted as unnotified then)
 *
 * Notifications leave in the order their MSIs arrived (the IOMMU is
 * modelled as one in-order engine): an effect is due at the later of
 * its own time and the previous effect's.  Each one runs whole in one
 * timer callback under the BQL, so its writes (entry, tail, status,
 * interrupt) stay as atomic as in the functional model.
 *
 * Every step is traced with its virtual time (amdvi_timing_step);
 * scripts/timing-report.py turns a trace into a timeline CSV and
 * latency percentiles.  docs/specs/amd-iommu-timing.rst has the rest.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qapi/visitor.h"
#include "qemu/error-report.h"
#include "qom/object.h"
#include "migration/vmstate.h"
#include "hw/qdev-core.h"
#include "hw/i386/amd-avic-bits.h"
#include "amd_iommu.h"
#include "trace.h"

/* ------------------------------------------------------------------ */
/* The parameters: the one table                                      */
/* ------------------------------------------------------------------ */

/*
 * Defaults are assumptions (AMD publishes none of these latencies but
 * the #VMEXIT/VMRUN round trip); docs/specs/amd-iommu-timing.rst gives
 * the reasoning for each.  Those marked "not used yet" are there for
 * the comparison (docs), the model does not schedule with them.
 */
static const struct {
    const char *name;
    uint32_t dflt;
    const char *what;
} amdvi_timing_params[AMDVI_TIMING__MAX] = {
    [AMDVI_TIMING_MHZ] = { "timing-mhz", 2400,
        "modelled clock in MHz (cycles to ns)" },
    [AMDVI_TIMING_IRTE_FETCH] = { "timing-irte-fetch", 240,
        "cycles: IRTE fetch (one memory read; no IRT cache yet)" },
    [AMDVI_TIMING_IRR_WRITE] = { "timing-irr-write", 240,
        "cycles: atomic OR into the backing page's IRR" },
    [AMDVI_TIMING_DOORBELL] = { "timing-doorbell", 120,
        "cycles: doorbell from the IOMMU to the CPU" },
    [AMDVI_TIMING_GALOG_ENTRY] = { "timing-galog-entry", 240,
        "cycles: GA log entry and tail write" },
    [AMDVI_TIMING_GALOG_INTR] = { "timing-galog-intr", 240,
        "cycles: GA log interrupt to the CPU" },
    [AMDVI_TIMING_GAPPI_INTR] = { "timing-gappi-intr", 240,
        "cycles: GAPPI interrupt to the CPU" },
    [AMDVI_TIMING_REMAP] = { "timing-remap", 240,
        "cycles: remapped (not posted) MSI to the APIC (not used yet)" },
    [AMDVI_TIMING_VMEXIT_VMRUN] = { "timing-vmexit-vmrun", 1350,
        "CPU cycles: #VMEXIT plus VMRUN (not used yet)" },
    [AMDVI_TIMING_AVIC_DELIVERY] = { "timing-avic-delivery", 120,
        "CPU cycles: AVIC takes a vector from the IRR (not used yet)" },
};

static const char *const amdvi_timing_path_name[AMDVI_TIMING_PATH__MAX] = {
    [AMDVI_TIMING_PATH_DOORBELL] = "doorbell",
    [AMDVI_TIMING_PATH_GAPPI] = "gappi",
    [AMDVI_TIMING_PATH_GALOG] = "galog",
    [AMDVI_TIMING_PATH_NONE] = "none",
};

static void amdvi_timing_get_param(Object *obj, Visitor *v, const char *name,
                                   void *opaque, Error **errp)
{
    AMDVIState *s = AMD_IOMMU_DEVICE(obj);

    visit_type_uint32(v, name, &s->timing.param[(uintptr_t)opaque], errp);
}

static void amdvi_timing_set_param(Object *obj, Visitor *v, const char *name,
                                   void *opaque, Error **errp)
{
    AMDVIState *s = AMD_IOMMU_DEVICE(obj);
    uint32_t val;

    if (DEVICE(obj)->realized) {
        error_setg(errp, "%s cannot be changed after realize", name);
        return;
    }
    if (visit_type_uint32(v, name, &val, errp)) {
        s->timing.param[(uintptr_t)opaque] = val;
    }
}

static bool amdvi_timing_get_on(Object *obj, Error **errp)
{
    return AMD_IOMMU_DEVICE(obj)->timing.on;
}

static void amdvi_timing_set_on(Object *obj, bool on, Error **errp)
{
    if (DEVICE(obj)->realized) {
        error_setg(errp, "timing cannot be changed after realize");
        return;
    }
    AMD_IOMMU_DEVICE(obj)->timing.on = on;
}

/* The properties, from amd-iommu's class_init. */
void amdvi_timing_class_init(ObjectClass *oc)
{
    ObjectProperty *op;

    op = object_class_property_add_bool(oc, "timing", amdvi_timing_get_on,
                                        amdvi_timing_set_on);
    object_property_set_default_bool(op, false);
    object_class_property_set_description(oc, "timing",
        "schedule posted-interrupt notifications on the virtual clock "
        "after modelled delays (docs/specs/amd-iommu-timing.rst)");

    for (uintptr_t i = 0; i < AMDVI_TIMING__MAX; i++) {
        op = object_class_property_add(oc, amdvi_timing_params[i].name,
                                       "uint32", amdvi_timing_get_param,
                                       amdvi_timing_set_param, NULL,
                                       (void *)i);
        object_property_set_default_uint(op, amdvi_timing_params[i].dflt);
        object_class_property_set_description(oc,
                                              amdvi_timing_params[i].name,
                                              amdvi_timing_params[i].what);
    }
}

/* ------------------------------------------------------------------ */
/* Delays                                                             */
/* ------------------------------------------------------------------ */

static int64_t amdvi_timing_ns(AMDVITimingState *t, uint64_t cycles)
{
    uint32_t mhz = t->param[AMDVI_TIMING_MHZ];

    return (cycles * 1000 + mhz / 2) / mhz;
}

static uint64_t amdvi_timing_cycles(AMDVITimingState *t,
                                    AMDVITimingParam a, AMDVITimingParam b)
{
    return (uint64_t)t->param[AMDVI_TIMING_IRTE_FETCH] +
           t->param[AMDVI_TIMING_IRR_WRITE] +
           (a < AMDVI_TIMING__MAX ? t->param[a] : 0) +
           (b < AMDVI_TIMING__MAX ? t->param[b] : 0);
}

static void amdvi_timing_fire(void *opaque);

bool amdvi_timing_realize(AMDVIState *s, Error **errp)
{
    AMDVITimingState *t = &s->timing;
    static const AMDVITimingParam path_params[AMDVI_TIMING_PATH__MAX][2] = {
        [AMDVI_TIMING_PATH_DOORBELL] = { AMDVI_TIMING_DOORBELL,
                                         AMDVI_TIMING__MAX },
        [AMDVI_TIMING_PATH_GAPPI] = { AMDVI_TIMING_GAPPI_INTR,
                                      AMDVI_TIMING__MAX },
        [AMDVI_TIMING_PATH_GALOG] = { AMDVI_TIMING_GALOG_ENTRY,
                                      AMDVI_TIMING_GALOG_INTR },
        [AMDVI_TIMING_PATH_NONE] = { AMDVI_TIMING__MAX, AMDVI_TIMING__MAX },
    };

    if (!t->on) {
        return true;
    }
    if (!s->ga.vapic) {
        error_setg(errp, "timing=on times the guest virtual APIC mode, "
                   "which is off: add vapic=on (or gappi=on)");
        return false;
    }
    if (t->param[AMDVI_TIMING_MHZ] == 0) {
        error_setg(errp, "timing-mhz must be at least 1");
        return false;
    }
    for (int p = 0; p < AMDVI_TIMING_PATH__MAX; p++) {
        t->path_ns[p] = amdvi_timing_ns(t, amdvi_timing_cycles(t,
                                        path_params[p][0],
                                        path_params[p][1]));
        trace_amdvi_timing_config(amdvi_timing_path_name[p], t->path_ns[p]);
    }
    t->irr_ns = amdvi_timing_ns(t, amdvi_timing_cycles(t, AMDVI_TIMING__MAX,
                                                       AMDVI_TIMING__MAX));
    t->timer = timer_new_ns(QEMU_CLOCK_VIRTUAL, amdvi_timing_fire, s);
    return true;
}

/* ------------------------------------------------------------------ */
/* The queue                                                          */
/* ------------------------------------------------------------------ */

/*
 * The path amdvi_ga_notify() will take for (@lo, @ctrl); the same
 * order of tests as there.
 */
static AMDVITimingPath amdvi_timing_path(uint64_t lo, uint64_t ctrl)
{
    if (lo & AMD_IOMMU_IRTE_LO_IS_RUN) {
        return AMDVI_TIMING_PATH_DOORBELL;
    } else if (ctrl & AMD_IOMMU_CTRL_GAPPI_EN) {
        return AMDVI_TIMING_PATH_GAPPI;
    } else if (lo & AMD_IOMMU_IRTE_LO_GA_LOG_INTR) {
        return AMDVI_TIMING_PATH_GALOG;
    }
    return AMDVI_TIMING_PATH_NONE;
}

static void amdvi_timing_step(AMDVITimingEffect *e, const char *step,
                              int64_t ns)
{
    trace_amdvi_timing_step(e->id, step, amdvi_timing_path_name[e->path], ns);
}

/* Run the head of the queue now, tracing what it did. */
static void amdvi_timing_run_head(AMDVIState *s, int64_t now)
{
    AMDVITimingState *t = &s->timing;
    AMDVITimingEffect e = t->queue[t->head];
    AMDVIGAStats before = s->ga.stats;
    AMDVIGAStats *after = &s->ga.stats;

    t->head = (t->head + 1) % AMDVI_TIMING_QUEUE_LEN;
    t->count--;

    amdvi_timing_step(&e, now < e.due ? "early" : "notify", now);
    amdvi_ga_notify(s, e.lo, e.hi, e.ctrl, e.devid, e.irr_was_clear);

    /* What the notification did, read from the counters it keeps. */
    if (after->doorbells != before.doorbells) {
        amdvi_timing_step(&e, "doorbell", now);
    }
    if (after->log_entries != before.log_entries) {
        amdvi_timing_step(&e, "galog-entry", now);
    }
    if (after->log_overflows != before.log_overflows) {
        amdvi_timing_step(&e, "galog-overflow", now);
    }
    if (after->log_interrupts != before.log_interrupts) {
        amdvi_timing_step(&e, "galog-intr", now);
    }
    if (after->gappi_interrupts != before.gappi_interrupts) {
        amdvi_timing_step(&e, "gappi-intr", now);
    }
    if (after->unnotified != before.unnotified) {
        amdvi_timing_step(&e, "unnotified", now);
    }
}

static void amdvi_timing_arm(AMDVITimingState *t)
{
    if (t->count) {
        timer_mod(t->timer, t->queue[t->head].due);
    } else {
        timer_del(t->timer);
    }
}

static void amdvi_timing_fire(void *opaque)
{
    AMDVIState *s = opaque;
    AMDVITimingState *t = &s->timing;
    int64_t now = qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL);

    while (t->count && t->queue[t->head].due <= now) {
        amdvi_timing_run_head(s, now);
    }
    amdvi_timing_arm(t);
}

void amdvi_timing_defer(AMDVIState *s, uint64_t lo, uint64_t hi,
                        uint64_t ctrl, uint16_t devid, bool irr_was_clear)
{
    AMDVITimingState *t = &s->timing;
    int64_t now = qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL);
    AMDVITimingEffect *e;

    if (t->count == AMDVI_TIMING_QUEUE_LEN) {
        amdvi_timing_run_head(s, now);
    }
    e = &t->queue[(t->head + t->count) % AMDVI_TIMING_QUEUE_LEN];
    *e = (AMDVITimingEffect) {
        .lo = lo, .hi = hi, .ctrl = ctrl, .devid = devid,
        .irr_was_clear = irr_was_clear,
        .id = t->next_id++,
        .path = amdvi_timing_path(lo, ctrl),
    };
    e->due = MAX(now + t->path_ns[e->path], t->last_due);
    t->last_due = e->due;
    t->count++;

    trace_amdvi_timing_msi(e->id, devid, hi & AMD_IOMMU_IRTE_HI_VECTOR_MASK,
                           t->count);
    amdvi_timing_step(e, "msi", now);
    amdvi_timing_step(e, "irr", now + t->irr_ns);
    amdvi_timing_step(e, "due", e->due);
    if (t->count == 1) {
        amdvi_timing_arm(t);
    }
}

/*
 * A reset drops what is in flight, as hardware loses the notifications
 * of a reset IOMMU (the IRR bits stay: they were written).
 */
void amdvi_timing_reset(AMDVIState *s)
{
    AMDVITimingState *t = &s->timing;

    if (t->count) {
        trace_amdvi_timing_reset_drop(t->count);
    }
    t->head = 0;
    t->count = 0;
    t->last_due = 0;
    if (t->timer) {
        timer_del(t->timer);
    }
}

/* ------------------------------------------------------------------ */
/* Migration                                                          */
/* ------------------------------------------------------------------ */

/*
 * Sent only while notifications are in flight; the virtual clock
 * migrates, so their due times stay valid on the destination.
 */
static bool amdvi_timing_vmstate_needed(void *opaque)
{
    AMDVIState *s = opaque;

    return s->timing.count != 0;
}

static int amdvi_timing_post_load(void *opaque, int version_id)
{
    AMDVIState *s = opaque;
    AMDVITimingState *t = &s->timing;

    if (!t->timer) {
        error_report("amd-iommu: %u timed notifications in flight, but "
                     "this side has timing=off", t->count);
        return -EINVAL;
    }
    if (t->head >= AMDVI_TIMING_QUEUE_LEN ||
        t->count > AMDVI_TIMING_QUEUE_LEN) {
        error_report("amd-iommu: timing queue state out of range");
        return -EINVAL;
    }
    for (uint32_t i = 0; i < t->count; i++) {
        AMDVITimingEffect *e = &t->queue[(t->head + i) %
                                         AMDVI_TIMING_QUEUE_LEN];

        if (e->path >= AMDVI_TIMING_PATH__MAX) {
            error_report("amd-iommu: timing queue entry out of range");
            return -EINVAL;
        }
    }
    amdvi_timing_arm(t);
    return 0;
}

static const VMStateDescription vmstate_amdvi_timing_effect = {
    .name = "amd-iommu/timing/effect",
    .version_id = 1,
    .minimum_version_id = 1,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT64(lo, AMDVITimingEffect),
        VMSTATE_UINT64(hi, AMDVITimingEffect),
        VMSTATE_UINT64(ctrl, AMDVITimingEffect),
        VMSTATE_INT64(due, AMDVITimingEffect),
        VMSTATE_UINT64(id, AMDVITimingEffect),
        VMSTATE_UINT16(devid, AMDVITimingEffect),
        VMSTATE_UINT8(path, AMDVITimingEffect),
        VMSTATE_BOOL(irr_was_clear, AMDVITimingEffect),
        VMSTATE_END_OF_LIST()
    }
};

const VMStateDescription vmstate_amdvi_timing = {
    .name = "amd-iommu/timing",
    .version_id = 1,
    .minimum_version_id = 1,
    .needed = amdvi_timing_vmstate_needed,
    .post_load = amdvi_timing_post_load,
    .fields = (const VMStateField[]) {
        VMSTATE_STRUCT_ARRAY(timing.queue, AMDVIState,
                             AMDVI_TIMING_QUEUE_LEN, 1,
                             vmstate_amdvi_timing_effect, AMDVITimingEffect),
        VMSTATE_UINT32(timing.head, AMDVIState),
        VMSTATE_UINT32(timing.count, AMDVIState),
        VMSTATE_UINT64(timing.next_id, AMDVIState),
        VMSTATE_INT64(timing.last_due, AMDVIState),
        VMSTATE_END_OF_LIST()
    }
};
