/*
 * AMD IOMMU: the interrupt remapping table (IRTE) cache
 *
 * The AMD IOMMU caches 128-bit IRTEs per (device ID, index) and keeps
 * using a cached entry until software invalidates it: a driver that
 * changes RemapEn, GuestMode, the vector, the GA root pointer, IntType,
 * DM or a remapped-mode Destination and forgets
 * INVALIDATE_INTERRUPT_TABLE works on a model that reads memory for
 * every interrupt and fails on hardware.  So we cache too:
 *
 * - an entry is filled on its first use and dropped by
 *   INVALIDATE_INTERRUPT_TABLE for its device, INVALIDATE_IOMMU_ALL and
 *   reset; with Control.IRTCacheDis = 1 nothing is cached;
 * - the fields AMD documents as not cached (guest mode: IsRun,
 *   Destination, GATag, GALogIntr, GAPPIDis) are always read from
 *   memory, so every interrupt still reads the entry;
 * - "irt-cache": "on" holds AMDVI_IRTC_ENTRIES entries and evicts one
 *   when full, as a finite hardware cache does (a missing invalidation
 *   shows up sometimes); "strict" keeps every entry until it is
 *   invalidated (it shows up every time); "off" is upstream's model;
 *   "auto" (default) is "on" with the guest vAPIC mode, "off" without
 *   (a plain amd-iommu stays upstream's);
 * - a hit whose cached fields differ from memory is a stale hit: the
 *   driver changed the entry without invalidating it.  Counted in
 *   ga-irt-stale-hits, traced and logged (LOG_GUEST_ERROR).
 *
 * 32-bit IRTEs (Control.GAEn = 0) are cached the same way, every field
 * (the format has no guest mode), under the same (device ID, index)
 * keys: a driver switches GAEn only with the tables rewritten and
 * invalidated.  The cache migrates (a subsection of amd-iommu/ga): a
 * stale entry stays stale on the destination, as it would have on the
 * source.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qemu/log.h"
#include "migration/vmstate.h"
#include "system/dma.h"
#include "system/address-spaces.h"
#include "hw/i386/amd-avic-bits.h"
#include "amd_iommu.h"
#include "trace.h"

/* Capacity of irt-cache=on; AMD does not publish the hardware's. */
#define AMDVI_IRTC_ENTRIES      128

typedef struct AMDVIIrtcEntry {
    uint64_t lo, hi;
} AMDVIIrtcEntry;

static uint32_t amdvi_irtc_key(uint16_t devid, uint16_t index)
{
    return (uint32_t)devid << 16 | index;
}

bool amdvi_irtc_realize(AMDVIState *s, Error **errp)
{
    const char *mode = s->ga.irtc_prop ? s->ga.irtc_prop : "auto";

    if (!strcmp(mode, "auto")) {
        s->ga.irtc_mode = s->ga.vapic ? AMDVI_IRTC_ON : AMDVI_IRTC_OFF;
    } else if (!strcmp(mode, "on")) {
        s->ga.irtc_mode = AMDVI_IRTC_ON;
    } else if (!strcmp(mode, "strict")) {
        s->ga.irtc_mode = AMDVI_IRTC_STRICT;
    } else if (!strcmp(mode, "off")) {
        s->ga.irtc_mode = AMDVI_IRTC_OFF;
    } else {
        error_setg(errp, "irt-cache=%s: use auto, on, strict or off", mode);
        return false;
    }
    s->ga.irtc = g_hash_table_new_full(NULL, NULL, NULL, g_free);
    return true;
}

void amdvi_irtc_invalidate_all(AMDVIState *s)
{
    if (s->ga.irtc) {
        trace_amdvi_irtc_invalidate(-1, g_hash_table_size(s->ga.irtc));
        g_hash_table_remove_all(s->ga.irtc);
    }
}

static gboolean amdvi_irtc_of_dev(gpointer key, gpointer value,
                                  gpointer devid)
{
    return GPOINTER_TO_UINT(key) >> 16 == GPOINTER_TO_UINT(devid);
}

void amdvi_irtc_invalidate_dev(AMDVIState *s, uint16_t devid)
{
    unsigned n = g_hash_table_foreach_remove(s->ga.irtc, amdvi_irtc_of_dev,
                                             GUINT_TO_POINTER(devid));

    trace_amdvi_irtc_invalidate(devid, n);
}

/* The fields of a cached entry that the IOMMU takes from the cache. */
static void amdvi_irtc_cached_masks(uint64_t lo, uint64_t *mask_lo,
                                    uint64_t *mask_hi)
{
    *mask_lo = ~0ULL;
    *mask_hi = ~0ULL;
    if (lo & AMD_IOMMU_IRTE_LO_GUEST_MODE) {
        *mask_lo &= ~(AMD_IOMMU_IRTE_LO_GA_UNCACHED |
                      AMD_IOMMU_IRTE_LO_GAPPI_DIS);
        *mask_hi &= ~AMD_IOMMU_IRTE_HI_GA_UNCACHED;
    }
}

/* Make room in a full irt-cache=on cache: drop some entry. */
static void amdvi_irtc_evict(AMDVIState *s)
{
    GHashTableIter it;
    gpointer key;

    g_hash_table_iter_init(&it, s->ga.irtc);
    if (g_hash_table_iter_next(&it, &key, NULL)) {
        s->ga.stats.irt_evictions++;
        g_hash_table_iter_remove(&it);
    }
}

/*
 * The IRTE @index of device @devid as the IOMMU sees it, given what
 * memory holds now (@lo, @hi; a 32-bit entry in @lo with @hi = 0):
 * cached fields from the cache (filled now if missing), the others from
 * memory.  @ga: the 128-bit format, whose guest mode has uncached fields.
 */
static void amdvi_irtc_lookup(AMDVIState *s, uint16_t devid, uint16_t index,
                              bool ga, uint64_t *lo, uint64_t *hi)
{
    uint64_t ctrl = amdvi_ga_reg(s, AMD_IOMMU_MMIO_CONTROL);
    uint32_t key = amdvi_irtc_key(devid, index);
    uint64_t mask_lo = ~0ULL, mask_hi = ~0ULL;
    AMDVIIrtcEntry *e;

    if (s->ga.irtc_mode == AMDVI_IRTC_OFF ||
        (ctrl & AMD_IOMMU_CTRL_IRTCACHE_DIS)) {
        if (g_hash_table_size(s->ga.irtc)) {
            amdvi_irtc_invalidate_all(s);   /* nothing survives IRTCacheDis */
        }
        return;
    }

    e = g_hash_table_lookup(s->ga.irtc, GUINT_TO_POINTER(key));
    if (!e) {
        if (s->ga.irtc_mode == AMDVI_IRTC_ON &&
            g_hash_table_size(s->ga.irtc) >= AMDVI_IRTC_ENTRIES) {
            amdvi_irtc_evict(s);
        }
        e = g_new(AMDVIIrtcEntry, 1);
        e->lo = *lo;
        e->hi = *hi;
        g_hash_table_insert(s->ga.irtc, GUINT_TO_POINTER(key), e);
        s->ga.stats.irt_misses++;
        trace_amdvi_irtc_fill(devid, index, *lo, *hi);
        return;
    }

    s->ga.stats.irt_hits++;
    if (ga) {
        amdvi_irtc_cached_masks(e->lo, &mask_lo, &mask_hi);
    }
    if (((*lo ^ e->lo) & mask_lo) || ((*hi ^ e->hi) & mask_hi)) {
        s->ga.stats.irt_stale_hits++;
        trace_amdvi_irtc_stale(devid, index, e->lo, e->hi, *lo, *hi);
        qemu_log_mask(LOG_GUEST_ERROR, "amd-iommu: IRTE %u of device "
                      "0x%04x changed in memory without "
                      "INVALIDATE_INTERRUPT_TABLE; using the cached entry\n",
                      index, devid);
    }
    *lo = (e->lo & mask_lo) | (*lo & ~mask_lo);
    *hi = (e->hi & mask_hi) | (*hi & ~mask_hi);
}

/*
 * The 128-bit IRTE @index of device @devid, at @addr, as the IOMMU sees
 * it (amdvi_irtc_lookup).  False if the entry cannot be read.
 */
bool amdvi_irtc_read(AMDVIState *s, uint16_t devid, uint16_t index,
                     hwaddr addr, uint64_t *lo, uint64_t *hi)
{
    if (!amdvi_ga_read_irte(addr, lo, hi)) {
        return false;
    }
    amdvi_irtc_lookup(s, devid, index, true, lo, hi);
    return true;
}

/*
 * The checks of a step that has the IRTE @index of DTE @dte: the index
 * within the DTE's IntTabLen (else the entry is not read: false).
 */
static bool amdvi_ir_index_ok(AMDVIState *s, const uint64_t *dte,
                              const MSIMessage *origin, uint16_t devid,
                              uint16_t index)
{
    unsigned len = (dte[2] & AMD_IOMMU_DTE_Q2_INTTABLEN_MASK) >>
                   AMD_IOMMU_DTE_Q2_INTTABLEN_SHIFT;

    if (len > AMD_IOMMU_DTE_INTTABLEN_MAX || index >> len) {
        amdvi_ir_fault(s, devid, dte, 0, origin->address, 0,
                       "IRTE index beyond the DTE's IntTabLen");
        return false;
    }
    return true;
}

/*
 * The faults of a remapped (not guest-mode) entry @lo, either format:
 * RemapEn = 0, a reserved IntType, and GuestMode = 1 where the format
 * has none (@ga false: the 32-bit IRTE).  The caller aborts.
 */
static void amdvi_ir_check_remapped(AMDVIState *s, const uint64_t *dte,
                                    const MSIMessage *origin, uint16_t devid,
                                    uint64_t lo, bool ga)
{
    uint64_t type = (lo & AMD_IOMMU_IRTE_LO_INTTYPE_MASK) >>
                    AMD_IOMMU_IRTE_LO_INTTYPE_SHIFT;

    if (!(lo & AMD_IOMMU_IRTE_LO_REMAP_EN)) {
        amdvi_ir_fault(s, devid, dte, lo, origin->address, 0,
                       "IRTE RemapEn = 0");
    } else if (!ga && (lo & AMD_IOMMU_IRTE_LO_GUEST_MODE)) {
        amdvi_ir_fault(s, devid, dte, lo, origin->address,
                       AMD_IOMMU_EVT_IOPF_PR | AMD_IOMMU_EVT_IOPF_RZ,
                       "GuestMode = 1 in a 32-bit IRTE");
    } else if (!(lo & AMD_IOMMU_IRTE_LO_GUEST_MODE) &&
               type > AMD_IOMMU_IRTE_INTTYPE_ARBITRATED) {
        amdvi_ir_fault(s, devid, dte, lo, origin->address,
                       AMD_IOMMU_EVT_IOPF_PR | AMD_IOMMU_EVT_IOPF_RZ,
                       "reserved IntType in a remapped IRTE");
    }
}

/*
 * The 128-bit IRTE that @origin names through DTE @dte, as the IOMMU
 * sees it (through the cache), and the remapping faults of that step
 * reported as the hardware does (with the vAPIC mode; a plain amd-iommu
 * keeps upstream's silent abort): an index past the DTE's IntTabLen
 * (the entry is not read), an entry that cannot be read, RemapEn = 0
 * and, in remapped mode, a reserved IntType.  False if the entry could
 * not be read; the caller aborts the interrupt in the other cases.
 */
bool amdvi_ga_get_irte(AMDVIState *s, const uint64_t *dte,
                       const MSIMessage *origin, uint16_t devid,
                       uint64_t *lo, uint64_t *hi)
{
    uint16_t index = origin->data & AMD_IOMMU_MSI_DATA_IRTE_MASK;
    hwaddr addr = (dte[2] & AMDVI_IR_PHYS_ADDR_MASK) +
                  index * AMD_IOMMU_IRTE_GA_SIZE;
    bool report = s->ga.vapic;

    if (report && !amdvi_ir_index_ok(s, dte, origin, devid, index)) {
        return false;
    }
    if (!amdvi_irtc_read(s, devid, index, addr, lo, hi)) {
        if (report) {
            amdvi_ir_fault(s, devid, dte, 0, addr, 0, "IRTE not readable");
        }
        return false;
    }
    if (report) {
        amdvi_ir_check_remapped(s, dte, origin, devid, *lo, true);
    }
    return true;
}

/*
 * The same for the 32-bit IRTE (Control.GAEn = 0): through the cache,
 * with the same faults reported (GuestMode = 1 among them: the format
 * has no guest mode).
 */
bool amdvi_ga_get_irte32(AMDVIState *s, const uint64_t *dte,
                         const MSIMessage *origin, uint16_t devid,
                         uint32_t *irte)
{
    uint16_t index = origin->data & AMD_IOMMU_MSI_DATA_IRTE_MASK;
    hwaddr addr = (dte[2] & AMDVI_IR_PHYS_ADDR_MASK) +
                  index * AMD_IOMMU_IRTE32_SIZE;
    bool report = s->ga.vapic;
    uint64_t lo, hi = 0;
    uint32_t val;

    if (report && !amdvi_ir_index_ok(s, dte, origin, devid, index)) {
        return false;
    }
    if (dma_memory_read(&address_space_memory, addr, &val, sizeof(val),
                        MEMTXATTRS_UNSPECIFIED)) {
        if (report) {
            amdvi_ir_fault(s, devid, dte, 0, addr, 0, "IRTE not readable");
        }
        return false;
    }
    lo = le32_to_cpu(val);
    amdvi_irtc_lookup(s, devid, index, false, &lo, &hi);
    *irte = lo;
    if (report) {
        amdvi_ir_check_remapped(s, dte, origin, devid, lo, false);
    }
    return true;
}

/* ------------------------------------------------------------------ */
/* Migration                                                          */
/* ------------------------------------------------------------------ */

static const VMStateDescription vmstate_amdvi_irtc_record = {
    .name = "amd-iommu/irt-cache/entry",
    .version_id = 1,
    .minimum_version_id = 1,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT32(key, AMDVIIrtcRecord),
        VMSTATE_UINT64(lo, AMDVIIrtcRecord),
        VMSTATE_UINT64(hi, AMDVIIrtcRecord),
        VMSTATE_END_OF_LIST()
    }
};

static bool amdvi_irtc_needed(void *opaque)
{
    AMDVIState *s = opaque;

    return s->ga.irtc && g_hash_table_size(s->ga.irtc);
}

static void amdvi_irtc_mig_free(AMDVIState *s)
{
    g_free(s->ga.irtc_mig);
    s->ga.irtc_mig = NULL;
    s->ga.irtc_mig_n = 0;
}

static int amdvi_irtc_pre_save(void *opaque)
{
    AMDVIState *s = opaque;
    GHashTableIter it;
    gpointer key, value;
    int32_t n = 0;

    amdvi_irtc_mig_free(s);
    s->ga.irtc_mig = g_new(AMDVIIrtcRecord, g_hash_table_size(s->ga.irtc));
    g_hash_table_iter_init(&it, s->ga.irtc);
    while (g_hash_table_iter_next(&it, &key, &value)) {
        AMDVIIrtcEntry *e = value;

        s->ga.irtc_mig[n++] = (AMDVIIrtcRecord) {
            .key = GPOINTER_TO_UINT(key), .lo = e->lo, .hi = e->hi,
        };
    }
    s->ga.irtc_mig_n = n;
    return 0;
}

static int amdvi_irtc_post_save(void *opaque)
{
    amdvi_irtc_mig_free(opaque);
    return 0;
}

/* The bound the stream's count is checked against: every possible key. */
static int amdvi_irtc_pre_load(void *opaque)
{
    AMDVIState *s = opaque;

    s->ga.irtc_mig_n = 65536 * (AMD_IOMMU_MSI_DATA_IRTE_MASK + 1);
    return 0;
}

static int amdvi_irtc_post_load(void *opaque, int version_id)
{
    AMDVIState *s = opaque;

    g_hash_table_remove_all(s->ga.irtc);
    for (int32_t i = 0; i < s->ga.irtc_mig_n; i++) {
        AMDVIIrtcEntry *e = g_new(AMDVIIrtcEntry, 1);

        e->lo = s->ga.irtc_mig[i].lo;
        e->hi = s->ga.irtc_mig[i].hi;
        g_hash_table_insert(s->ga.irtc,
                            GUINT_TO_POINTER(s->ga.irtc_mig[i].key), e);
    }
    amdvi_irtc_mig_free(s);
    return 0;
}

const VMStateDescription vmstate_amdvi_irtc = {
    .name = "amd-iommu/ga/irt-cache",
    .version_id = 1,
    .minimum_version_id = 1,
    .needed = amdvi_irtc_needed,
    .pre_save = amdvi_irtc_pre_save,
    .post_save = amdvi_irtc_post_save,
    .pre_load = amdvi_irtc_pre_load,
    .post_load = amdvi_irtc_post_load,
    .fields = (const VMStateField[]) {
        VMSTATE_INT32_POSITIVE_LE(ga.irtc_mig_n, AMDVIState),
        VMSTATE_STRUCT_VARRAY_ALLOC(ga.irtc_mig, AMDVIState, ga.irtc_mig_n,
                                    0, vmstate_amdvi_irtc_record,
                                    AMDVIIrtcRecord),
        VMSTATE_END_OF_LIST()
    }
};
