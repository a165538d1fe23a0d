/*
 * AMD IOMMU guest virtual APIC (GA) mode: properties, feature bits,
 * registers, counters, migration
 *
 * The device-level glue of the GA mode (see amd_iommu_ga.h for the
 * files and docs/specs/amd-iommu-ga.rst for the behaviour):
 *
 * - "vapic" (auto, the default: on only with gappi=on; else as given)
 *   advertises GAMSup = 1 and makes the GA log registers and the
 *   Control bits GAMEn, GALogEn and GAIntEn exist.  Without it the
 *   device is upstream's, byte for byte (EFR, IVRS);
 * - "gappi" (default off) advertises GAPPI support and makes
 *   Control.GAPPIEn writable;
 * - the registers live in upstream's mmior[] array (so the main
 *   vmstate section already carries them); reserved and read-only bits
 *   go through upstream's romask/w1cmask machinery;
 * - the counters are read-only QOM properties and ride in a vmstate
 *   subsection.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qemu/error-report.h"
#include "qom/object.h"
#include "migration/vmstate.h"
#include "system/kvm.h"
#include "system/memory.h"
#include "system/address-spaces.h"
#include "hw/i386/apic_internal.h"
#include "hw/i386/x86-iommu.h"
#include "hw/i386/amd-avic-bits.h"
#include "amd_iommu.h"
#include "trace.h"

/* ------------------------------------------------------------------ */
/* Registers                                                          */
/* ------------------------------------------------------------------ */

uint64_t amdvi_ga_reg(AMDVIState *s, hwaddr reg)
{
    return ldq_le_p(&s->mmior[reg]);
}

void amdvi_ga_set_reg(AMDVIState *s, hwaddr reg, uint64_t val)
{
    stq_le_p(&s->mmior[reg], val);
}

static void amdvi_ga_set_masks(AMDVIState *s, hwaddr reg, uint64_t ro,
                               uint64_t w1c)
{
    stq_le_p(&s->romask[reg], ro);
    stq_le_p(&s->w1cmask[reg], w1c);
}

/* Ours, among the registers upstream's MMIO write switch ignores. */
bool amdvi_ga_mmio_reg(AMDVIState *s, hwaddr reg)
{
    if (s->xtsup && (reg == AMD_IOMMU_MMIO_XT_EVT_INTCTL ||
                     reg == AMD_IOMMU_MMIO_XT_PPR_INTCTL)) {
        return true;            /* amd_iommu_xtint.c */
    }
    if (!s->ga.vapic) {
        return false;
    }
    switch (reg) {
    case AMD_IOMMU_MMIO_GALOG_BASE:
    case AMD_IOMMU_MMIO_GALOG_TAIL_ADDR:
    case AMD_IOMMU_MMIO_XT_GA_INTCTL:
    case AMD_IOMMU_MMIO_GALOG_HEAD:
    case AMD_IOMMU_MMIO_GALOG_TAIL:
        return true;
    }
    return false;
}

uint64_t amdvi_ga_efr(AMDVIState *s)
{
    uint64_t efr = 0;

    if (s->ga.vapic) {
        efr |= AMD_IOMMU_EFR_GAM_VAPIC;
    }
    if (s->ga.gappi) {
        efr |= AMD_IOMMU_EFR_GAPPI_SUP;
    }
    return efr;
}

/* EFR2: GAPPIDisSup with GAPPI (Linux's GAPPI series sets GAPPIDis then). */
uint64_t amdvi_ga_efr2(AMDVIState *s)
{
    return s->ga.gappi ? AMD_IOMMU_EFR2_GAPPI_DIS_SUP : 0;
}

/* IRTE bit 5 is GAPPIDis, not reserved. */
bool amdvi_ga_has_gappi_dis(AMDVIState *s)
{
    return amdvi_ga_efr2(s) & AMD_IOMMU_EFR2_GAPPI_DIS_SUP;
}

/*
 * At reset, after upstream has cleared mmior[] and set its own masks:
 * which of our bits software may write, and which it clears with 1.
 */
void amdvi_ga_reset(AMDVIState *s)
{
    uint64_t ctrl_ro = 0;

    amdvi_irtc_invalidate_all(s);
    if (!s->ga.vapic) {
        ctrl_ro |= AMD_IOMMU_CTRL_GAM_MASK | AMD_IOMMU_CTRL_GALOG_EN |
                   AMD_IOMMU_CTRL_GAINT_EN;
    }
    if (!s->ga.gappi) {
        ctrl_ro |= AMD_IOMMU_CTRL_GAPPI_EN;
    }
    amdvi_ga_set_masks(s, AMD_IOMMU_MMIO_CONTROL, ctrl_ro, 0);

    /* EFR2, read-only (0 without GAPPI, as upstream's unused offset). */
    amdvi_ga_set_reg(s, AMD_IOMMU_MMIO_EFR2, amdvi_ga_efr2(s));
    amdvi_ga_set_masks(s, AMD_IOMMU_MMIO_EFR2, ~0ULL, 0);

    /* Status: GALogRun is the IOMMU's, overflow and interrupt are W1C. */
    stq_le_p(&s->romask[AMD_IOMMU_MMIO_STATUS],
             ldq_le_p(&s->romask[AMD_IOMMU_MMIO_STATUS]) |
             AMD_IOMMU_STATUS_GALOG_RUN);
    stq_le_p(&s->w1cmask[AMD_IOMMU_MMIO_STATUS],
             ldq_le_p(&s->w1cmask[AMD_IOMMU_MMIO_STATUS]) |
             AMD_IOMMU_STATUS_GALOG_OVERFLOW | AMD_IOMMU_STATUS_GALOG_INT);

    /*
     * Status bits 63:11 are reserved here (the second PPR and event
     * logs they report are not emulated): read as zero, whatever
     * software writes.  Upstream's masks leave them writable; in vAPIC
     * mode only, as our other changes to upstream's registers.
     */
    if (s->ga.vapic) {
        stq_le_p(&s->romask[AMD_IOMMU_MMIO_STATUS],
                 ldq_le_p(&s->romask[AMD_IOMMU_MMIO_STATUS]) |
                 AMD_AVIC_MASK(63, 11));
    }

    /* Reserved bits of our registers read as zero. */
    amdvi_ga_set_masks(s, AMD_IOMMU_MMIO_GALOG_BASE,
                       ~(AMD_IOMMU_RING_BASE_MASK | AMD_IOMMU_RING_LEN_MASK),
                       0);
    amdvi_ga_set_masks(s, AMD_IOMMU_MMIO_GALOG_TAIL_ADDR,
                       ~AMD_IOMMU_GALOG_TAIL_ADDR_MASK, 0);
    for (hwaddr r = AMD_IOMMU_MMIO_XT_EVT_INTCTL;
         r <= AMD_IOMMU_MMIO_XT_GA_INTCTL; r += 8) {
        amdvi_ga_set_masks(s, r, ~(AMD_IOMMU_XT_INT_DM |
                                   AMD_IOMMU_XT_INT_DEST_LO_MASK |
                                   AMD_IOMMU_XT_INT_VECTOR_MASK |
                                   AMD_IOMMU_XT_INT_DEST_HI_MASK), 0);
    }
    amdvi_ga_set_masks(s, AMD_IOMMU_MMIO_GALOG_HEAD,
                       ~AMD_IOMMU_GALOG_PTR_MASK, 0);
    amdvi_ga_set_masks(s, AMD_IOMMU_MMIO_GALOG_TAIL,
                       ~AMD_IOMMU_GALOG_PTR_MASK, 0);
}

void amdvi_ga_control_written(AMDVIState *s)
{
    trace_amdvi_ga_control(amdvi_ga_reg(s, AMD_IOMMU_MMIO_CONTROL));
    if (s->ga.vapic) {
        amdvi_galog_control_written(s);
    }
}

/* ------------------------------------------------------------------ */
/* Properties and counters                                            */
/* ------------------------------------------------------------------ */

static const struct {
    const char *name;
    size_t offset;
} amdvi_ga_counters[] = {
    { "ga-posted", offsetof(AMDVIGAStats, posted) },
    { "ga-posted-running", offsetof(AMDVIGAStats, posted_running) },
    { "ga-doorbells", offsetof(AMDVIGAStats, doorbells) },
    { "ga-doorbell-last-dest", offsetof(AMDVIGAStats, doorbell_last_dest) },
    { "ga-log-entries", offsetof(AMDVIGAStats, log_entries) },
    { "ga-log-interrupts", offsetof(AMDVIGAStats, log_interrupts) },
    { "ga-log-overflows", offsetof(AMDVIGAStats, log_overflows) },
    { "ga-gappi-interrupts", offsetof(AMDVIGAStats, gappi_interrupts) },
    { "ga-gappi-suppressed", offsetof(AMDVIGAStats, gappi_suppressed) },
    { "ga-unnotified", offsetof(AMDVIGAStats, unnotified) },
    { "ga-errors", offsetof(AMDVIGAStats, errors) },
    { "ga-irt-hits", offsetof(AMDVIGAStats, irt_hits) },
    { "ga-irt-misses", offsetof(AMDVIGAStats, irt_misses) },
    { "ga-irt-stale-hits", offsetof(AMDVIGAStats, irt_stale_hits) },
    { "ga-irt-evictions", offsetof(AMDVIGAStats, irt_evictions) },
};

/*
 * Called first thing in amd-iommu's realize, after x86-iommu resolved
 * intremap=auto: decide what we advertise, refuse what cannot work.
 */
bool amdvi_ga_realize(AMDVIState *s, Error **errp)
{
    AMDVIGAState *ga = &s->ga;
    bool ir = x86_iommu_ir_supported(X86_IOMMU_DEVICE(s));

    if (ga->vapic_prop == ON_OFF_AUTO_ON || ga->gappi) {
        const char *what = ga->gappi ? "gappi=on" : "vapic=on";

        if (kvm_enabled()) {
            error_setg(errp, "%s is only emulated with TCG (-accel tcg): "
                       "KVM routes device interrupts past the emulated "
                       "IOMMU", what);
            return false;
        }
        if (!ir) {
            error_setg(errp, "%s needs interrupt remapping: use "
                       "intremap=on (or leave intremap unset)", what);
            return false;
        }
    }
    if (ga->gappi_spurious && !ga->gappi) {
        error_setg(errp, "gappi-spurious=on needs gappi=on");
        return false;
    }
    if (ga->gappi && ga->vapic_prop == ON_OFF_AUTO_OFF) {
        error_setg(errp, "gappi=on needs the guest virtual APIC mode: "
                   "remove vapic=off");
        return false;
    }

    /* A new guest-visible feature: on only when asked for. */
    ga->vapic = ga->vapic_prop == ON_OFF_AUTO_ON ||
                (ga->vapic_prop == ON_OFF_AUTO_AUTO && ga->gappi);
    trace_amdvi_ga_config(ga->vapic, ga->gappi);
    if (!amdvi_irtc_realize(s, errp)) {
        return false;
    }

    for (int i = 0; i < ARRAY_SIZE(amdvi_ga_counters); i++) {
        object_property_add_uint64_ptr(OBJECT(s), amdvi_ga_counters[i].name,
                                       (uint64_t *)((char *)&ga->stats +
                                                amdvi_ga_counters[i].offset),
                                       OBJ_PROP_FLAG_READ);
    }
    return true;
}

/* ------------------------------------------------------------------ */
/* Guest RAM and interrupts                                           */
/* ------------------------------------------------------------------ */

/*
 * A host pointer to @len bytes of guest RAM at @gpa, or NULL if they
 * are not all plain RAM (MMIO, ROM for writes, unassigned, or split
 * between regions).  The IOMMU's own writes (IRR bits, GA log) must
 * be atomic with respect to vCPUs, which only a host pointer gives.
 * Release with amdvi_ga_unmap_ram(), which marks written pages dirty.
 */
void *amdvi_ga_map_ram(hwaddr gpa, hwaddr len, bool is_write)
{
    AddressSpace *as = &address_space_memory;
    MemTxAttrs attrs = MEMTXATTRS_UNSPECIFIED;
    MemoryRegion *mr;
    hwaddr xlat, plen = len;
    void *p;

    RCU_READ_LOCK_GUARD();
    mr = address_space_translate(as, gpa, &xlat, &plen, is_write, attrs);
    if (plen < len || !memory_access_is_direct(mr, is_write, attrs)) {
        return NULL;
    }
    plen = len;
    p = address_space_map(as, gpa, &plen, is_write, attrs);
    if (p && plen < len) {
        address_space_unmap(as, p, plen, is_write, 0);
        return NULL;
    }
    return p;
}

void amdvi_ga_unmap_ram(void *p, hwaddr len, bool is_write)
{
    address_space_unmap(&address_space_memory, p, len, is_write,
                        is_write ? len : 0);
}

/* An aligned 64-bit store to guest RAM; false if @gpa is not RAM. */
bool amdvi_ga_store64(hwaddr gpa, uint64_t val)
{
    uint64_t *p = amdvi_ga_map_ram(gpa, 8, true);

    if (!p) {
        return false;
    }
    qatomic_set(p, cpu_to_le64(val));
    amdvi_ga_unmap_ram(p, 8, true);
    return true;
}

/*
 * A fixed, edge-triggered interrupt from the IOMMU itself (GAPPI, the
 * GA log through its XT register), delivered like a remapped MSI.
 */
void amdvi_ga_send_irq(uint8_t vector, uint32_t dest, bool logical)
{
    X86IOMMUIrq irq = {
        .vector = vector,
        .dest = dest,
        .dest_mode = logical,
        .delivery_mode = 0,     /* fixed */
        .trigger_mode = 0,      /* edge */
    };
    MSIMessage msg;

    x86_iommu_irq_to_msi_message(&irq, &msg);
    apic_get_class(NULL)->send_msi(&msg);
}

/* ------------------------------------------------------------------ */
/* Migration                                                          */
/* ------------------------------------------------------------------ */

/*
 * The GA registers (and EFR, EFR2, Control) are in mmior[], which the
 * main section carries; the subsection adds the counters and the
 * destination's check.  It is sent whenever this side has the mode:
 * the guest was shown GAMSup (and perhaps GAPPI) in EFR, and must not
 * land where those registers are dead.  (A destination that does not
 * know the subsection at all refuses it too.)
 */
static bool amdvi_ga_vmstate_needed(void *opaque)
{
    AMDVIState *s = opaque;
    uint64_t ctrl = amdvi_ga_reg(s, AMD_IOMMU_MMIO_CONTROL);
    static const AMDVIGAStats zero;

    return s->ga.vapic ||
           (ctrl & (AMD_IOMMU_CTRL_GAM_MASK | AMD_IOMMU_CTRL_GALOG_EN |
                    AMD_IOMMU_CTRL_GAINT_EN | AMD_IOMMU_CTRL_GAPPI_EN)) ||
           memcmp(&s->ga.stats, &zero, sizeof(zero));
}

/* What the stream's EFR, EFR2 and Control say the guest has or uses. */
static const char *amdvi_ga_missing(AMDVIState *s)
{
    uint64_t efr = amdvi_ga_reg(s, AMD_IOMMU_MMIO_EFR);
    uint64_t efr2 = amdvi_ga_reg(s, AMD_IOMMU_MMIO_EFR2);
    uint64_t ctrl = amdvi_ga_reg(s, AMD_IOMMU_MMIO_CONTROL);

    if (!s->ga.vapic &&
        ((efr & AMD_IOMMU_EFR_GAM_MASK) ||
         (ctrl & (AMD_IOMMU_CTRL_GAM_MASK | AMD_IOMMU_CTRL_GALOG_EN)))) {
        return "the guest virtual APIC mode (EFR.GAMSup), which this side "
               "has off (vapic)";
    }
    if (!s->ga.gappi &&
        ((efr & AMD_IOMMU_EFR_GAPPI_SUP) ||
         (ctrl & AMD_IOMMU_CTRL_GAPPI_EN))) {
        return "GAPPI (EFR bit 5), which this side has off (gappi)";
    }
    if (!amdvi_ga_has_gappi_dis(s) &&
        (efr2 & AMD_IOMMU_EFR2_GAPPI_DIS_SUP)) {
        return "GAPPIDis (EFR2.GAPPIDisSup), which this side lacks (gappi)";
    }
    return NULL;
}

static int amdvi_ga_post_load(void *opaque, int version_id)
{
    AMDVIState *s = opaque;
    const char *missing = amdvi_ga_missing(s);

    if (missing) {
        error_report("amd-iommu: the guest was shown %s", missing);
        return -EINVAL;
    }
    return 0;
}

/* Counters added after the first version of the subsection. */
static bool amdvi_ga_stats2_needed(void *opaque)
{
    AMDVIState *s = opaque;

    return s->ga.stats.gappi_suppressed || s->ga.stats.irt_hits ||
           s->ga.stats.irt_misses || s->ga.stats.irt_evictions;
}

static const VMStateDescription vmstate_amdvi_ga_stats2 = {
    .name = "amd-iommu/ga/stats2",
    .version_id = 1,
    .minimum_version_id = 1,
    .needed = amdvi_ga_stats2_needed,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT64(ga.stats.gappi_suppressed, AMDVIState),
        VMSTATE_UINT64(ga.stats.irt_hits, AMDVIState),
        VMSTATE_UINT64(ga.stats.irt_misses, AMDVIState),
        VMSTATE_UINT64(ga.stats.irt_stale_hits, AMDVIState),
        VMSTATE_UINT64(ga.stats.irt_evictions, AMDVIState),
        VMSTATE_END_OF_LIST()
    }
};

const VMStateDescription vmstate_amdvi_ga = {
    .name = "amd-iommu/ga",
    .version_id = 1,
    .minimum_version_id = 1,
    .needed = amdvi_ga_vmstate_needed,
    .post_load = amdvi_ga_post_load,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT64(ga.stats.posted, AMDVIState),
        VMSTATE_UINT64(ga.stats.posted_running, AMDVIState),
        VMSTATE_UINT64(ga.stats.doorbells, AMDVIState),
        VMSTATE_UINT64(ga.stats.doorbell_last_dest, AMDVIState),
        VMSTATE_UINT64(ga.stats.log_entries, AMDVIState),
        VMSTATE_UINT64(ga.stats.log_interrupts, AMDVIState),
        VMSTATE_UINT64(ga.stats.log_overflows, AMDVIState),
        VMSTATE_UINT64(ga.stats.gappi_interrupts, AMDVIState),
        VMSTATE_UINT64(ga.stats.unnotified, AMDVIState),
        VMSTATE_UINT64(ga.stats.errors, AMDVIState),
        VMSTATE_END_OF_LIST()
    },
    .subsections = (const VMStateDescription * const []) {
        &vmstate_amdvi_ga_stats2,
        &vmstate_amdvi_irtc,        /* amd_iommu_irtcache.c */
        NULL
    }
};
