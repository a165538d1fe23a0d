/*
 * SVM AVIC and x2AVIC for the TCG CPU (AMD64 APM vol. 2, §15.29)
 *
 * While a vCPU runs in guest mode with AVIC enabled, its local APIC is
 * the vAPIC backing page named by the VMCB: the guest reads and writes
 * it through the xAPIC page at the VMCB's APIC BAR (xAVIC) or through
 * the x2APIC MSRs (x2AVIC), with the per-register behaviour of the
 * APM's table (avic_regs[] below); interrupts pending in its IRR are
 * delivered through the guest IDT without a #VMEXIT; ICR writes send
 * IPIs through the physical and logical APIC ID tables; and other CPUs
 * and the IOMMU ring this CPU's doorbell after setting an IRR bit.
 *
 * How the pieces meet TCG:
 * - xAVIC accesses: x86_cpu_tlb_fill() hands accesses to the APIC BAR
 *   page to avic_tlb_fill() after the nested page walk.  It installs a
 *   one-shot TLB entry (smaller than a page, so every access comes back
 *   here) to avic_mmio, an I/O region that performs the access on the
 *   current CPU's backing page.  Fault-style accesses exit before the
 *   access, with the precise RIP of the faulting instruction.  Writes
 *   whose #VMEXIT must follow the instruction (trap style, level EOI,
 *   incomplete IPI) first re-run the instruction alone in its own TB,
 *   so that the exit taken right after it sees the next RIP.
 * - Delivery and those exits go through CPU_INTERRUPT_AVIC and the
 *   usual interrupt hooks, so IF, the interrupt shadow and GIF gate
 *   delivery exactly as they gate any interrupt.
 * - The doorbell: include/hw/i386/amd-avic-doorbell.h.
 *
 * Choices where the APM is silent: docs/specs/amd-avic.rst.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/log.h"
#include "qemu/main-loop.h"
#include "qemu/rcu.h"
#include "qapi/visitor.h"
#include "migration/vmstate.h"
#include "cpu.h"
#include "exec/cputlb.h"
#include "exec/page-protection.h"
#include "exec/target_page.h"
#include "exec/translation-block.h"
#include "system/memory.h"
#include "system/address-spaces.h"
#include "tcg/helper-tcg.h"
#include "tcg/tcg.h"
#include "hw/i386/amd-avic-bits.h"
#include "hw/i386/amd-avic-doorbell.h"
#include "target/i386/trace.h"

/* ------------------------------------------------------------------ */
/* The register table (APM Table 15-22)                               */
/* ------------------------------------------------------------------ */

typedef enum AvicAccess {
    AVIC_ALLOW,     /* completes on the backing page */
    AVIC_ACCEL,     /* completes, with the register's side effect */
    AVIC_TRAP,      /* completes, then #VMEXIT 402h after the insn */
    AVIC_FAULT,     /* #VMEXIT 402h before the access */
} AvicAccess;

/* x2APIC mode checks, which come before the table's (APM §15.29.10). */
#define X2_NONE     0       /* a register of the x2APIC MSR interface */
#define X2_ABSENT   1       /* no such x2APIC MSR: #GP */
#define X2_RO       2       /* read-only x2APIC MSR: #GP on write */
#define X2_WO       4       /* write-only x2APIC MSR: #GP on read */

typedef struct AvicReg {
    uint16_t first, last;   /* register offsets covered, 16 apart */
    const char *name;
    AvicAccess read, write;
    uint8_t x2;
} AvicReg;

/*
 * Offsets the table does not list (010h, 040h-070h, 290h-2F0h,
 * 3A0h-3D0h, 3F0h in xAVIC, 430h-470h) are plain reads and writes of the
 * backing page (APM vol. 2, after Table 15-22).  The extended LVTs
 * (500h-530h) are faults because we do not offer CPUID Fn8000_000A
 * EDX[27].
 */
static const AvicReg avic_regs[] = {
    { 0x000, 0x010, "reserved", AVIC_ALLOW, AVIC_ALLOW, X2_ABSENT },
    { 0x020, 0x020, "ID",       AVIC_ALLOW, AVIC_TRAP,  X2_RO },
    { 0x030, 0x030, "VERSION",  AVIC_ALLOW, AVIC_FAULT, X2_RO },
    { 0x040, 0x070, "reserved", AVIC_ALLOW, AVIC_ALLOW, X2_ABSENT },
    { 0x080, 0x080, "TPR",      AVIC_ALLOW, AVIC_ACCEL, X2_NONE },
    { 0x090, 0x090, "APR",      AVIC_FAULT, AVIC_FAULT, X2_RO },
    { 0x0a0, 0x0a0, "PPR",      AVIC_ALLOW, AVIC_FAULT, X2_RO },
    { 0x0b0, 0x0b0, "EOI",      AVIC_ALLOW, AVIC_ACCEL, X2_WO },
    { 0x0c0, 0x0c0, "RRR",      AVIC_ALLOW, AVIC_TRAP,  X2_ABSENT },
    { 0x0d0, 0x0d0, "LDR",      AVIC_ALLOW, AVIC_TRAP,  X2_RO },
    { 0x0e0, 0x0e0, "DFR",      AVIC_ALLOW, AVIC_TRAP,  X2_ABSENT },
    { 0x0f0, 0x0f0, "SVR",      AVIC_ALLOW, AVIC_TRAP,  X2_NONE },
    { 0x100, 0x170, "ISR",      AVIC_ALLOW, AVIC_FAULT, X2_RO },
    { 0x180, 0x1f0, "TMR",      AVIC_ALLOW, AVIC_FAULT, X2_RO },
    { 0x200, 0x270, "IRR",      AVIC_ALLOW, AVIC_FAULT, X2_RO },
    { 0x280, 0x280, "ESR",      AVIC_ALLOW, AVIC_TRAP,  X2_NONE },
    { 0x290, 0x2f0, "reserved", AVIC_ALLOW, AVIC_ALLOW, X2_ABSENT },
    { 0x300, 0x300, "ICR_LO",   AVIC_ALLOW, AVIC_ACCEL, X2_NONE },
    { 0x310, 0x310, "ICR_HI",   AVIC_ALLOW, AVIC_ALLOW, X2_ABSENT },
    { 0x320, 0x370, "LVT",      AVIC_ALLOW, AVIC_TRAP,  X2_NONE },
    { 0x380, 0x380, "TMICT",    AVIC_ALLOW, AVIC_TRAP,  X2_NONE },
    { 0x390, 0x390, "TMCCT",    AVIC_FAULT, AVIC_FAULT, X2_RO },
    { 0x3a0, 0x3d0, "reserved", AVIC_ALLOW, AVIC_ALLOW, X2_ABSENT },
    { 0x3e0, 0x3e0, "TDCR",     AVIC_ALLOW, AVIC_TRAP,  X2_NONE },
    { 0x3f0, 0x3f0, "SELF_IPI", AVIC_ALLOW, AVIC_ALLOW, X2_WO },
    { 0x400, 0x400, "EXT_FEAT", AVIC_FAULT, AVIC_FAULT, X2_RO },
    { 0x410, 0x410, "EXT_CTL",  AVIC_FAULT, AVIC_FAULT, X2_NONE },
    { 0x420, 0x420, "SEOI",     AVIC_FAULT, AVIC_FAULT, X2_WO },
    { 0x430, 0x470, "unlisted", AVIC_ALLOW, AVIC_ALLOW, X2_ABSENT },
    { 0x480, 0x4f0, "IER",      AVIC_FAULT, AVIC_FAULT, X2_NONE },
    { 0x500, 0x530, "EXTLVT",   AVIC_FAULT, AVIC_FAULT, X2_NONE },
    { 0x540, 0xff0, "reserved", AVIC_FAULT, AVIC_FAULT, X2_ABSENT },
};

static const AvicReg *avic_reg(unsigned offset)
{
    offset &= 0xff0;
    for (int i = 0; i < ARRAY_SIZE(avic_regs); i++) {
        if (offset >= avic_regs[i].first && offset <= avic_regs[i].last) {
            return &avic_regs[i];
        }
    }
    g_assert_not_reached();     /* the table covers 000h-FF0h */
}

/* ------------------------------------------------------------------ */
/* Backing pages and tables in guest-physical (L1) memory             */
/* ------------------------------------------------------------------ */

/*
 * The 4 KiB page at @pa as host memory, or NULL if it is not RAM.
 * Caller holds the RCU read lock (vCPU threads always do).  Backing
 * pages are shared with other vCPUs and the IOMMU, hence the atomics
 * on IRR below.
 */
static uint32_t *avic_page(hwaddr pa, MemoryRegion **pmr, hwaddr *pxlat)
{
    hwaddr len = TARGET_PAGE_SIZE, xlat;
    MemoryRegion *mr;

    if (pa & ~AVIC_VMCB_ADDR_MASK) {
        return NULL;
    }
    mr = address_space_translate(&address_space_memory, pa, &xlat, &len,
                                 true, MEMTXATTRS_UNSPECIFIED);
    if (len < TARGET_PAGE_SIZE || !memory_region_is_ram(mr) ||
        mr->readonly || memory_region_is_romd(mr)) {
        return NULL;
    }
    if (pmr) {
        *pmr = mr;
        *pxlat = xlat;
    }
    return qemu_map_ram_ptr(mr->ram_block, xlat);
}

static bool avic_page_is_ram(hwaddr pa)
{
    RCU_READ_LOCK_GUARD();
    return avic_page(pa, NULL, NULL) != NULL;
}

static uint32_t avic_page_read(uint32_t *page, unsigned offset)
{
    return le32_to_cpu(qatomic_read(&page[offset / 4]));
}

/* A plain store to the page, marked dirty for migration. */
static void avic_page_write(hwaddr pa, unsigned offset, uint32_t val)
{
    MemoryRegion *mr;
    hwaddr xlat;
    uint32_t *page = avic_page(pa, &mr, &xlat);

    if (page) {
        qatomic_set(&page[offset / 4], cpu_to_le32(val));
        memory_region_set_dirty(mr, xlat + offset, 4);
    }
}

/* A register of this vCPU's backing page (0 if it is not RAM). */
static uint32_t avic_reg_read(CPUX86State *env, unsigned offset)
{
    RCU_READ_LOCK_GUARD();
    uint32_t *page = avic_page(env->avic.backing, NULL, NULL);

    return page ? avic_page_read(page, offset) : 0;
}

static bool avic_vec_test(uint32_t *page, unsigned base, uint8_t vec)
{
    return avic_page_read(page, APIC_VEC_REG_OFFSET(base, vec)) &
           APIC_VEC_BIT(vec);
}

/* Highest vector set in the IRR/ISR/TMR array at @base, or -1. */
static int avic_highest(uint32_t *page, unsigned base)
{
    for (int word = 7; word >= 0; word--) {
        uint32_t bits = avic_page_read(page, base + 0x10 * word);
        if (bits) {
            return word * 32 + 31 - clz32(bits);
        }
    }
    return -1;
}

static uint64_t avic_physical_entry(CPUX86State *env, uint32_t index)
{
    return x86_ldq_phys(env_cpu(env), env->avic.physical_table + 8 * index);
}

/* ------------------------------------------------------------------ */
/* Priorities and delivery from the backing page                      */
/* ------------------------------------------------------------------ */

/*
 * PPR from TPR and the highest in-service vector.  The task priority
 * is V_TPR, kept equal to TPR[7:4] by every guest TPR and CR8 write:
 * V_TPR is what hardware uses to gate delivery (see the docs).
 */
static uint32_t avic_ppr(CPUX86State *env, uint32_t *page)
{
    uint32_t tpr = avic_page_read(page, APIC_REG_TPR) & 0xff;
    uint32_t vtpr = (env->int_ctl & V_TPR_MASK) << 4;
    int isrv = avic_highest(page, APIC_REG_ISR);

    tpr = (tpr & 0xf0) == vtpr ? tpr : vtpr;
    if (isrv < 0 || (tpr & 0xf0) >= (isrv & 0xf0)) {
        return tpr;
    }
    return isrv & 0xf0;
}

static void avic_update_ppr(CPUX86State *env)
{
    RCU_READ_LOCK_GUARD();
    uint32_t *page = avic_page(env->avic.backing, NULL, NULL);

    if (page) {
        avic_page_write(env->avic.backing, APIC_REG_PPR, avic_ppr(env, page));
    }
}

/* The vector to deliver now, or -1. */
static int avic_deliverable(CPUX86State *env)
{
    RCU_READ_LOCK_GUARD();
    uint32_t *page = avic_page(env->avic.backing, NULL, NULL);
    int vec;

    if (!page) {
        return -1;
    }
    vec = avic_highest(page, APIC_REG_IRR);
    if (vec < 0 || (vec & 0xf0) <= (avic_ppr(env, page) & 0xf0)) {
        return -1;
    }
    return vec;
}

/* Re-evaluate the page at the next instruction boundary. */
static void avic_kick_self(CPUX86State *env)
{
    BQL_LOCK_GUARD();
    cpu_interrupt(env_cpu(env), CPU_INTERRUPT_AVIC);
}

/* Move the vector from IRR to ISR and vector through the guest IDT. */
static void avic_deliver(CPUX86State *env, uint8_t vec)
{
    MemoryRegion *mr;
    hwaddr xlat;
    unsigned irr = APIC_VEC_REG_OFFSET(APIC_REG_IRR, vec);
    unsigned isr = APIC_VEC_REG_OFFSET(APIC_REG_ISR, vec);

    WITH_RCU_READ_LOCK_GUARD() {
        uint32_t *page = avic_page(env->avic.backing, &mr, &xlat);

        if (!page) {
            return;     /* the RAM went away under us: nothing to take */
        }
        qatomic_fetch_and(&page[irr / 4], cpu_to_le32(~APIC_VEC_BIT(vec)));
        qatomic_fetch_or(&page[isr / 4], cpu_to_le32(APIC_VEC_BIT(vec)));
        memory_region_set_dirty(mr, xlat, TARGET_PAGE_SIZE);
    }
    avic_update_ppr(env);
    env->avic.stats.deliveries++;
    trace_avic_deliver(env_cpu(env)->cpu_index, vec);
    do_interrupt_x86_hardirq(env, vec, 1);
}

/* ------------------------------------------------------------------ */
/* #VMEXITs                                                            */
/* ------------------------------------------------------------------ */

static void avic_set_exit_info2(CPUX86State *env, uint64_t info2)
{
    x86_stq_phys(env_cpu(env),
                 env->vm_vmcb + offsetof(struct vmcb, control.exit_info_2),
                 info2);
}

/* #VMEXIT before the access: RIP stays at the instruction. */
static G_NORETURN void avic_fault(CPUX86State *env, unsigned offset,
                                  bool write, uintptr_t retaddr)
{
    env->avic.stats.exit_fault++;
    trace_avic_noaccel(env_cpu(env)->cpu_index, offset, write, "fault");
    avic_set_exit_info2(env, 0);
    cpu_vmexit(env, AVIC_EXIT_NOACCEL,
               (offset & AVIC_NOACCEL_OFFSET_MASK) |
               (write ? AVIC_NOACCEL_WRITE : 0), retaddr);
}

/* #VMEXIT once the current instruction has completed. */
static void avic_exit_after_insn(CPUX86State *env, uint64_t code,
                                 uint64_t info1, uint64_t info2)
{
    env->avic.exit_pending = true;
    env->avic.exit_code = code;
    env->avic.exit_info1 = info1;
    env->avic.exit_info2 = info2;
    avic_kick_self(env);
}

/* The exit the last instruction owes, with RIP already past it. */
static G_NORETURN void avic_take_pending_exit(CPUX86State *env)
{
    env->avic.exit_pending = false;
    cpu_reset_interrupt(env_cpu(env), CPU_INTERRUPT_AVIC);
    avic_set_exit_info2(env, env->avic.exit_info2);
    cpu_vmexit(env, env->avic.exit_code, env->avic.exit_info1, 0);
}

static void avic_trap(CPUX86State *env, unsigned offset, uint8_t vector)
{
    env->avic.stats.exit_trap++;
    trace_avic_noaccel(env_cpu(env)->cpu_index, offset, true, "trap");
    avic_exit_after_insn(env, AVIC_EXIT_NOACCEL,
                         (offset & AVIC_NOACCEL_OFFSET_MASK) |
                         AVIC_NOACCEL_WRITE, vector);
}

static void avic_incomplete_ipi(CPUX86State *env, uint64_t icr,
                                unsigned id, uint32_t index)
{
    env->avic.stats.exit_ipi[id]++;
    trace_avic_incomplete_ipi(env_cpu(env)->cpu_index, icr, id, index);
    avic_exit_after_insn(env, AVIC_EXIT_INCOMPLETE_IPI, icr,
                         ((uint64_t)id << AVIC_IPI_EXITINFO2_ID_SHIFT) |
                         (index & AVIC_IPI_EXITINFO2_INDEX_MASK));
}

/* ------------------------------------------------------------------ */
/* IPIs (APM §15.29.6.1)                                               */
/* ------------------------------------------------------------------ */

#define AVIC_MAX_TARGETS    (AVIC_X2AVIC_MAX_INDEX + 1)

typedef struct AvicIpi {
    uint64_t icr;
    uint8_t vector;
    uint32_t index[AVIC_MAX_TARGETS];   /* physical table indices */
    uint32_t report[AVIC_MAX_TARGETS];  /* ... as EXITINFO2 names them */
    unsigned count;
} AvicIpi;

/* This vCPU's own guest physical APIC ID, from its backing page. */
static uint32_t avic_self_id(CPUX86State *env)
{
    uint32_t id = avic_reg_read(env, APIC_REG_ID);

    return env->avic.x2avic ? id : id >> 24;
}

/*
 * Add the target at physical index @index.  @report is the index a 401h
 * names for it: the logical table's for an xAVIC logical destination,
 * the physical table's otherwise (APM vol. 2 Table 15-26).
 */
static void avic_ipi_add(AvicIpi *ipi, uint32_t index, uint32_t report)
{
    for (unsigned i = 0; i < ipi->count; i++) {
        if (ipi->index[i] == index) {
            return;
        }
    }
    ipi->report[ipi->count] = report;
    ipi->index[ipi->count++] = index;
}

/* All valid entries of the physical table (broadcast and shorthands). */
static void avic_ipi_all(CPUX86State *env, AvicIpi *ipi, bool self,
                         uint32_t self_id)
{
    for (uint32_t i = 0; i <= env->avic.max_index; i++) {
        if ((avic_physical_entry(env, i) & AVIC_PHYS_ENTRY_VALID) &&
            (self || i != self_id)) {
            avic_ipi_add(ipi, i, i);
        }
    }
}

/*
 * The logical destination's targets.  Returns false, with the ID and
 * index of the #VMEXIT in *id and *index, if the logical table does
 * not cover a target (ID 2).
 */
static bool avic_ipi_logical(CPUX86State *env, AvicIpi *ipi, uint32_t dest,
                             unsigned *id, uint32_t *index)
{
    bool flat = (avic_reg_read(env, APIC_REG_DFR) >> 28) == 0xf;

    if (env->avic.x2avic) {
        /* Logical x2APIC ID: cluster in 31:16, one bit per CPU in 15:0. */
        for (int b = 0; b < 16; b++) {
            if (dest & (1U << b)) {
                uint32_t x2id = ((dest >> 16) << 4) | b;

                avic_ipi_add(ipi, x2id, x2id);
            }
        }
        return true;
    }
    for (int b = 0; b < (flat ? 8 : 4); b++) {
        uint32_t li, entry;

        if (!(dest & (1U << b))) {
            continue;
        }
        li = flat ? b : ((dest >> 4) & 0xf) * 4 + b;
        entry = x86_ldl_phys(env_cpu(env), env->avic.logical_table + 4 * li);
        if (!(entry & AVIC_LOG_ENTRY_VALID)) {
            *id = AVIC_IPI_INVALID_TARGET;
            *index = li;
            return false;
        }
        avic_ipi_add(ipi, entry & AVIC_LOG_ENTRY_GUEST_ID_MASK, li);
    }
    return true;
}

/* Steps 1-4: the targets, or the reason for a #VMEXIT 401h. */
static bool avic_ipi_targets(CPUX86State *env, AvicIpi *ipi, uint32_t lo,
                             uint32_t dest, unsigned *id, uint32_t *index)
{
    uint32_t self_id = avic_self_id(env);
    uint32_t bcast = env->avic.x2avic ? UINT32_MAX : 0xff;

    switch ((lo >> 18) & 3) {
    case 2:                                         /* all including self */
        avic_ipi_all(env, ipi, true, self_id);
        return true;
    case 3:                                         /* all excluding self */
        avic_ipi_all(env, ipi, false, self_id);
        return true;
    }
    if (dest == bcast) {
        avic_ipi_all(env, ipi, true, self_id);
        return true;
    }
    if (lo & (1U << 11)) {
        if (!avic_ipi_logical(env, ipi, dest, id, index)) {
            return false;
        }
    } else {
        avic_ipi_add(ipi, dest, dest);
    }
    /* Directed: every target must be a valid physical entry. */
    for (unsigned i = 0; i < ipi->count; i++) {
        uint32_t t = ipi->index[i];

        if (t > env->avic.max_index ||
            !(avic_physical_entry(env, t) & AVIC_PHYS_ENTRY_VALID)) {
            *id = AVIC_IPI_INVALID_TARGET;
            *index = ipi->report[i];
            return false;
        }
    }
    return true;
}

/*
 * The ICR was written (its low half last): send the IPI as the APM's
 * algorithm does.  Runs in the sender's vCPU thread.
 */
static void avic_send_ipi(CPUX86State *env, uint32_t lo, uint32_t hi)
{
    AvicIpi ipi = { .icr = ((uint64_t)hi << 32) | lo, .vector = lo & 0xff };
    uint32_t dest = env->avic.x2avic ? hi : hi >> 24;
    unsigned id;
    uint32_t index = 0;
    int not_running = -1;

    env->avic.stats.ipis++;

    /* Only fixed, edge-triggered IPIs are accelerated. */
    if (((lo >> 8) & 7) != 0 || (lo & (1U << 15))) {
        avic_incomplete_ipi(env, ipi.icr, AVIC_IPI_INVALID_INT_TYPE, 0);
        return;
    }
    if (ipi.vector < 16) {
        avic_incomplete_ipi(env, ipi.icr, AVIC_IPI_INVALID_VECTOR, 0);
        return;
    }
    if (((lo >> 18) & 3) == 1) {
        /* Self: this vCPU's own page, no table (APM step 1). */
        amd_avic_set_irr(env->avic.backing, ipi.vector);
        avic_kick_self(env);
        return;
    }
    if (!avic_ipi_targets(env, &ipi, lo, dest, &id, &index)) {
        avic_incomplete_ipi(env, ipi.icr, id, index);
        return;
    }
    /* Check every backing page before writing any IRR. */
    for (unsigned i = 0; i < ipi.count; i++) {
        uint64_t e = avic_physical_entry(env, ipi.index[i]);

        if (!avic_page_is_ram(e & AVIC_PHYS_ENTRY_BACKING_MASK)) {
            avic_incomplete_ipi(env, ipi.icr, AVIC_IPI_INVALID_BACKING_PAGE,
                                ipi.report[i]);
            return;
        }
    }
    for (unsigned i = 0; i < ipi.count; i++) {
        uint64_t e = avic_physical_entry(env, ipi.index[i]);

        amd_avic_set_irr(e & AVIC_PHYS_ENTRY_BACKING_MASK, ipi.vector);
        /* IsRunning is read after the IRR write (its barrier). */
        e = avic_physical_entry(env, ipi.index[i]);
        if (e & AVIC_PHYS_ENTRY_IS_RUNNING) {
            amd_avic_doorbell_ring(e & AVIC_PHYS_ENTRY_HOST_ID_MASK,
                                   AMD_AVIC_DOORBELL_IPI);
        } else if (not_running < 0) {
            not_running = ipi.report[i];
        }
    }
    trace_avic_ipi(env_cpu(env)->cpu_index, ipi.icr, ipi.count);
    if (not_running >= 0) {
        avic_incomplete_ipi(env, ipi.icr, AVIC_IPI_TARGET_NOT_RUNNING,
                            not_running);
    }
}

/* ------------------------------------------------------------------ */
/* Register writes with side effects                                   */
/* ------------------------------------------------------------------ */

static void avic_write_tpr(CPUX86State *env, uint32_t tpr)
{
    avic_page_write(env->avic.backing, APIC_REG_TPR, tpr & 0xff);
    env->int_ctl = (env->int_ctl & ~V_TPR_MASK) | ((tpr >> 4) & V_TPR_MASK);
    avic_update_ppr(env);
    avic_kick_self(env);
}

/*
 * EOI: retire the highest in-service vector.  A level-triggered one
 * (TMR set) is left in service and exits, for the hypervisor to finish.
 */
static void avic_eoi(CPUX86State *env)
{
    MemoryRegion *mr;
    hwaddr xlat;
    unsigned off;
    int vec;

    WITH_RCU_READ_LOCK_GUARD() {
        uint32_t *page = avic_page(env->avic.backing, &mr, &xlat);

        vec = page ? avic_highest(page, APIC_REG_ISR) : -1;
        if (vec < 0) {
            return;
        }
        if (avic_vec_test(page, APIC_REG_TMR, vec)) {
            avic_trap(env, APIC_REG_EOI, vec);
            return;
        }
        off = APIC_VEC_REG_OFFSET(APIC_REG_ISR, vec);
        qatomic_fetch_and(&page[off / 4], cpu_to_le32(~APIC_VEC_BIT(vec)));
        memory_region_set_dirty(mr, xlat + off, 4);
    }
    trace_avic_eoi(env_cpu(env)->cpu_index, vec);
    avic_update_ppr(env);
    avic_kick_self(env);
}

/* A write the table allows: store it, then its side effect. */
static void avic_reg_write(CPUX86State *env, const AvicReg *reg,
                           unsigned offset, uint32_t val, uint32_t icr_hi)
{
    switch (offset) {
    case APIC_REG_TPR:
        avic_write_tpr(env, val);
        return;
    case APIC_REG_EOI:
        avic_eoi(env);
        return;
    case APIC_REG_ICR_LO:
        /* Stored with Delivery Status (bit 12) clear: sent at once. */
        avic_page_write(env->avic.backing, offset, val & ~(1U << 12));
        avic_send_ipi(env, val & ~(1U << 12), icr_hi);
        return;
    case APIC_REG_SELF_IPI:
        if (env->avic.x2avic) {
            avic_send_ipi(env, (val & 0xff) | (1U << 18), 0);
            return;
        }
        break;
    }
    avic_page_write(env->avic.backing, offset, val);
    if (reg->write == AVIC_TRAP) {
        avic_trap(env, offset, 0);
    }
}

/* ------------------------------------------------------------------ */
/* xAVIC: the APIC BAR page                                            */
/* ------------------------------------------------------------------ */

/* Beyond any guest physical address: reached only through avic_tlb_fill. */
#define AVIC_MMIO_ADDR      (1ULL << 62)

static MemoryRegion avic_mmio;

static CPUX86State *avic_mmio_env(void)
{
    if (!current_cpu || !cpu_env(current_cpu)->avic.active ||
        cpu_env(current_cpu)->avic.x2avic) {
        return NULL;
    }
    return cpu_env(current_cpu);
}

static MemTxResult avic_mmio_read(void *opaque, hwaddr addr, uint64_t *data,
                                  unsigned size, MemTxAttrs attrs)
{
    CPUX86State *env = avic_mmio_env();
    uint8_t buf[8] = { 0 };

    *data = 0;
    if (!env) {
        return MEMTX_DECODE_ERROR;
    }
    address_space_read(&address_space_memory, env->avic.backing + addr,
                       MEMTXATTRS_UNSPECIFIED, buf, size);
    *data = ldn_le_p(buf, size);
    return MEMTX_OK;
}

/*
 * A write of part of a register: a byte or a word, or a piece of an
 * unaligned access (the memory core splits those into aligned pieces).
 * The APM does not define them; a hypervisor expects the register's
 * behaviour anyway, so the bytes are merged into the register and the
 * result goes through the table like a whole write (a trap register
 * traps, TPR, EOI and ICR act).  Bytes 4-15 of a register's 16 are not
 * part of it: they are stored, with no side effect.
 */
static void avic_mmio_write_part(CPUX86State *env, hwaddr addr,
                                 uint64_t data, unsigned size)
{
    unsigned offset = addr & 0xff0, byte = addr & 0xf;
    uint8_t buf[8] = { 0 }, reg[4];

    trace_avic_mmio_partial(env_cpu(env)->cpu_index, addr, size, true);
    stn_le_p(buf, size, data);
    if (byte >= 4 || byte + size > 4) {
        address_space_write(&address_space_memory, env->avic.backing + addr,
                            MEMTXATTRS_UNSPECIFIED, buf, size);
        return;
    }
    stl_le_p(reg, avic_reg_read(env, offset));
    memcpy(reg + byte, buf, size);
    avic_reg_write(env, avic_reg(offset), offset, ldl_le_p(reg),
                   avic_reg_read(env, APIC_REG_ICR_HI));
}

static MemTxResult avic_mmio_write(void *opaque, hwaddr addr, uint64_t data,
                                   unsigned size, MemTxAttrs attrs)
{
    CPUX86State *env = avic_mmio_env();
    unsigned offset = addr & 0xff0;

    if (!env) {
        return MEMTX_DECODE_ERROR;
    }
    if (size != 4 || (addr & 0xf)) {
        avic_mmio_write_part(env, addr, data, size);
        return MEMTX_OK;
    }
    avic_reg_write(env, avic_reg(offset), offset, data,
                   avic_reg_read(env, APIC_REG_ICR_HI));
    return MEMTX_OK;
}

static const MemoryRegionOps avic_mmio_ops = {
    .read_with_attrs = avic_mmio_read,
    .write_with_attrs = avic_mmio_write,
    .endianness = DEVICE_LITTLE_ENDIAN,
    .valid.min_access_size = 1,
    .valid.max_access_size = 8,
    .impl.min_access_size = 1,
    .impl.max_access_size = 4,
};

/* Is the code at @retaddr a TB of one instruction? */
static bool avic_in_single_insn_tb(uintptr_t retaddr)
{
    TranslationBlock *tb = tcg_tb_lookup(retaddr);

    return tb && (tb_cflags(tb) & CF_COUNT_MASK) == 1;
}

/* Does the write's #VMEXIT, if any, come after the instruction? */
static bool avic_write_may_trap(const AvicReg *reg, unsigned offset)
{
    offset &= 0xff0;    /* also for part of a register */
    return reg->write == AVIC_TRAP || offset == APIC_REG_EOI ||
           offset == APIC_REG_ICR_LO;
}

bool avic_tlb_fill(CPUState *cs, vaddr addr, uint64_t gpa,
                   MMUAccessType access_type, int mmu_idx, int prot,
                   bool probe, uintptr_t retaddr)
{
    CPUX86State *env = cpu_env(cs);
    unsigned offset = addr & 0xfff;
    bool write = access_type == MMU_DATA_STORE;
    const AvicReg *reg;

    if (likely(!env->avic.active) || env->avic.x2avic ||
        (gpa & TARGET_PAGE_MASK) != env->avic.apic_bar ||
        access_type == MMU_INST_FETCH ||
        mmu_idx == MMU_NESTED_IDX || mmu_idx == MMU_PHYS_IDX) {
        return false;
    }

    reg = avic_reg(offset);
    /* A probe only maps; the access itself comes back here. */
    if (!probe && (write ? reg->write : reg->read) == AVIC_FAULT) {
        avic_fault(env, offset, write, retaddr);
    }
    if (!probe && write && avic_write_may_trap(reg, offset) &&
        !avic_in_single_insn_tb(retaddr)) {
        /* Run this instruction alone, so an exit after it is precise. */
        cs->cflags_next_tb = (cs->tcg_cflags & ~CF_COUNT_MASK) |
                             CF_NOIRQ | 1;
        cpu_loop_exit_restore(cs, retaddr);
    }
    /* Smaller than a page: the next access comes back here. */
    tlb_set_page_with_attrs(cs, addr & TARGET_PAGE_MASK, AVIC_MMIO_ADDR,
                            MEMTXATTRS_UNSPECIFIED,
                            prot & (PAGE_READ | PAGE_WRITE), mmu_idx, 1);
    return true;
}

/* ------------------------------------------------------------------ */
/* x2AVIC: the x2APIC MSRs, and the doorbell MSR                      */
/* ------------------------------------------------------------------ */

static bool avic_offered(CPUX86State *env)
{
    return env->features[FEAT_SVM] & CPUID_SVM_AVIC;
}

static bool avic_x2apic_msr(CPUX86State *env, uint32_t msr)
{
    return env->avic.active && env->avic.x2avic &&
           msr >= AVIC_X2APIC_MSR_BASE && msr <= AVIC_X2APIC_MSR_LAST;
}

/* The x2APIC checks that come before the table's; false: #GP. */
static bool avic_x2apic_legal(const AvicReg *reg, bool write)
{
    if (reg->x2 & X2_ABSENT) {
        return false;
    }
    return !(reg->x2 & (write ? X2_RO : X2_WO));
}

/* x2APIC value checks on WRMSR, before the table's; false: #GP. */
static bool avic_x2apic_value_legal(unsigned offset, uint64_t val)
{
    switch (offset) {
    case APIC_REG_ICR_LO:
        return !(val & APIC_X2_ICR_RESERVED);
    case APIC_REG_EOI:
    case APIC_REG_ESR:
        return val == 0;
    default:
        return !(val & APIC_X2_HIGH_RESERVED);
    }
}

bool avic_rdmsr(CPUX86State *env, uint32_t msr, uint64_t *val,
                uintptr_t retaddr)
{
    unsigned offset = (msr - AVIC_X2APIC_MSR_BASE) << 4;
    const AvicReg *reg;

    if (msr == AVIC_MSR_DOORBELL && avic_offered(env)) {
        raise_exception_err_ra(env, EXCP0D_GPF, 0, retaddr);  /* write-only */
    }
    if (!avic_x2apic_msr(env, msr)) {
        return false;
    }
    reg = avic_reg(offset);
    if (!avic_x2apic_legal(reg, false)) {
        raise_exception_err_ra(env, EXCP0D_GPF, 0, retaddr);
    }
    if (reg->read == AVIC_FAULT) {
        avic_fault(env, offset, false, retaddr);
    }
    *val = avic_reg_read(env, offset);
    if (offset == APIC_REG_ICR_LO) {
        *val |= (uint64_t)avic_reg_read(env, APIC_REG_ICR_HI) << 32;
    }
    return true;
}

static void avic_doorbell_msr(CPUX86State *env, uint64_t val,
                              uintptr_t retaddr)
{
    if (val & ~AVIC_DOORBELL_APIC_ID_MASK) {
        raise_exception_err_ra(env, EXCP0D_GPF, 0, retaddr);
    }
    trace_avic_doorbell_msr(env_cpu(env)->cpu_index, val);
    amd_avic_doorbell_ring(val, AMD_AVIC_DOORBELL_MSR);
}

bool avic_wrmsr(CPUX86State *env, uint32_t msr, uint64_t val,
                uintptr_t retaddr)
{
    unsigned offset = (msr - AVIC_X2APIC_MSR_BASE) << 4;
    const AvicReg *reg;

    if (msr == AVIC_MSR_DOORBELL && avic_offered(env)) {
        avic_doorbell_msr(env, val, retaddr);
        return true;
    }
    if (!avic_x2apic_msr(env, msr)) {
        return false;
    }
    reg = avic_reg(offset);
    if (!avic_x2apic_legal(reg, true) ||
        !avic_x2apic_value_legal(offset, val)) {
        qemu_log_mask(LOG_GUEST_ERROR, "avic: WRMSR 0x%x value 0x%" PRIx64
                      ": #GP under the x2APIC rules\n", msr, val);
        trace_avic_x2apic_gp(env_cpu(env)->cpu_index, msr, val);
        raise_exception_err_ra(env, EXCP0D_GPF, 0, retaddr);
    }
    if (reg->write == AVIC_FAULT) {
        avic_fault(env, offset, true, retaddr);
    }
    if (offset == APIC_REG_ICR_LO) {
        avic_page_write(env->avic.backing, APIC_REG_ICR_HI, val >> 32);
    }
    /*
     * An exit this write owes is taken once WRMSR completes (WRMSR ends
     * its TB), with RIP after it, however long the instruction is.
     */
    avic_reg_write(env, reg, offset, val, val >> 32);
    return true;
}

/* MOV to CR8: V_TPR and the backing page's TPR, whatever V_INTR_MASKING. */
bool avic_write_cr8(CPUX86State *env, uint64_t val)
{
    if (!env->avic.active) {
        return false;
    }
    avic_write_tpr(env, (val & 0xf) << 4);
    return true;
}

/* ------------------------------------------------------------------ */
/* VMRUN and #VMEXIT                                                   */
/* ------------------------------------------------------------------ */

static uint64_t avic_vmcb_ldq(CPUX86State *env, unsigned offset)
{
    return x86_ldq_phys(env_cpu(env), env->vm_vmcb + offset);
}

/* Why the VMCB's AVIC fields make VMRUN fail, or NULL. */
static const char *avic_vmcb_invalid(CPUX86State *env, uint64_t phys)
{
    X86CPU *cpu = env_archcpu(env);
    uint64_t legal = AVIC_VMCB_ADDR_MASK & MAKE_64BIT_MASK(0, cpu->phys_bits);
    AvicState *a = &env->avic;

    if ((env->int_ctl & AVIC_INT_CTL_X2AVIC_EN) &&
        !(env->int_ctl & AVIC_INT_CTL_AVIC_EN)) {
        return "x2AVIC enabled without AVIC";
    }
    if (a->max_index > (a->x2avic ? AVIC_X2AVIC_MAX_INDEX :
                                    AVIC_XAVIC_MAX_INDEX)) {
        return "AVIC_PHYSICAL_MAX_INDEX too large";
    }
    if ((a->backing & ~legal) || (phys & ~legal & ~0xfffULL) ||
        (!a->x2avic && ((a->logical_table & ~legal) ||
                        (a->apic_bar & ~legal)))) {
        return "AVIC pointer beyond the physical address width";
    }
    if (!avic_page_is_ram(a->backing) ||
        !avic_page_is_ram(a->physical_table) ||
        (!a->x2avic && !avic_page_is_ram(a->logical_table))) {
        return "AVIC backing page or table outside RAM";
    }
    return NULL;
}

void avic_vmrun(CPUX86State *env, uintptr_t retaddr)
{
    AvicState *a = &env->avic;
    uint64_t phys;
    const char *why;

    a->active = false;
    a->exit_pending = false;
    if (!avic_offered(env) ||
        !(env->int_ctl & (AVIC_INT_CTL_AVIC_EN | AVIC_INT_CTL_X2AVIC_EN))) {
        return;
    }

    a->x2avic = (env->features[FEAT_SVM] & CPUID_SVM_X2AVIC) &&
                (env->int_ctl & AVIC_INT_CTL_X2AVIC_EN);
    a->apic_bar = avic_vmcb_ldq(env, AVIC_VMCB_APIC_BAR) & TARGET_PAGE_MASK;
    a->backing = avic_vmcb_ldq(env, AVIC_VMCB_BACKING_PAGE);
    a->logical_table = avic_vmcb_ldq(env, AVIC_VMCB_LOGICAL_TABLE);
    phys = avic_vmcb_ldq(env, AVIC_VMCB_PHYSICAL_TABLE);
    a->physical_table = phys & AVIC_VMCB_ADDR_MASK;
    a->max_index = phys & AVIC_VMCB_PHYS_MAX_INDEX_MASK;

    why = avic_vmcb_invalid(env, phys);
    if (why) {
        a->stats.vmrun_invalid++;
        qemu_log_mask(LOG_GUEST_ERROR, "avic: VMRUN: %s\n", why);
        trace_avic_vmrun_invalid(env_cpu(env)->cpu_index, why);
        cpu_vmexit(env, SVM_EXIT_ERR, 0, retaddr);
    }
    a->backing &= AVIC_VMCB_ADDR_MASK;
    a->logical_table &= AVIC_VMCB_ADDR_MASK;
    a->active = true;
    trace_avic_vmrun(env_cpu(env)->cpu_index, a->x2avic, a->backing,
                     a->physical_table, a->max_index);

    /* VMRUN evaluates the page (APM §15.29.8.3). */
    avic_update_ppr(env);
    cpu_set_interrupt(env_cpu(env), CPU_INTERRUPT_AVIC);
}

/*
 * cpu_vmexit() is about to take *exit_code.  An exit that the last
 * instruction owes (trap-style 402h, level EOI, 401h) is part of that
 * instruction, so it comes before anything recognized at the boundary
 * after it: an INIT, the #DB trap of single-stepping or of a data
 * breakpoint (APM vol. 2 §8.5: those are events between instructions;
 * §15.7.1: a trap exit saves the state after the instruction).  That
 * exit is taken instead.  The INIT stays pending; the #DB trap is not
 * delivered (SVM has no field to carry a pending debug trap across a
 * #VMEXIT), and RFLAGS.TF is still set, so single-stepping goes on at
 * the next instruction.
 */
void avic_owed_exit_first(CPUX86State *env, uint64_t *exit_code,
                          uint64_t *exit_info_1)
{
    AvicState *a = &env->avic;

    if (likely(!a->exit_pending)) {
        return;
    }
    trace_avic_owed_exit_first(env_cpu(env)->cpu_index, a->exit_code,
                               *exit_code);
    a->exit_pending = false;
    cpu_reset_interrupt(env_cpu(env), CPU_INTERRUPT_AVIC);
    avic_set_exit_info2(env, a->exit_info2);
    *exit_code = a->exit_code;
    *exit_info_1 = a->exit_info1;
}

void avic_vmexit(CPUX86State *env)
{
    env->avic.active = false;
    env->avic.exit_pending = false;
    cpu_reset_interrupt(env_cpu(env), CPU_INTERRUPT_AVIC);
}

/* ------------------------------------------------------------------ */
/* The interrupt hooks                                                 */
/* ------------------------------------------------------------------ */

/* An exit owed by the last instruction comes before anything else. */
bool avic_exit_pending(CPUX86State *env, int interrupt_request)
{
    return (interrupt_request & CPU_INTERRUPT_AVIC) && env->avic.exit_pending;
}

/*
 * Called with GIF set, after physical interrupts had their chance.
 * While the guest cannot take interrupts the request stays raised, so
 * that it is looked at again when it can (STI, POPF, IRET...).  A vector
 * blocked only by priority drops it: EOI and TPR writes, which lower
 * the priority, raise it again, as does any new doorbell.
 */
bool avic_interrupt_pending(CPUX86State *env, int interrupt_request)
{
    if (!(interrupt_request & CPU_INTERRUPT_AVIC) || !env->avic.active ||
        !(env->hflags2 & HF2_VGIF_MASK) || !(env->eflags & IF_MASK) ||
        (env->hflags & HF_INHIBIT_IRQ_MASK)) {
        return false;
    }
    if (avic_deliverable(env) >= 0) {
        return true;
    }
    cpu_reset_interrupt(env_cpu(env), CPU_INTERRUPT_AVIC);
    /* A vector posted just before the reset must not be missed. */
    return avic_deliverable(env) >= 0;
}

void avic_exec_interrupt(CPUX86State *env)
{
    CPUState *cs = env_cpu(env);
    int vec;

    if (env->avic.exit_pending) {
        avic_take_pending_exit(env);
    }
    cpu_reset_interrupt(cs, CPU_INTERRUPT_AVIC);
    vec = avic_deliverable(env);
    if (vec >= 0) {
        avic_deliver(env, vec);
        /* More may be pending: evaluate again after this one. */
        cpu_set_interrupt(cs, CPU_INTERRUPT_AVIC);
    }
}

/* ------------------------------------------------------------------ */
/* Migration                                                           */
/* ------------------------------------------------------------------ */

static bool avic_state_needed(void *opaque)
{
    return X86_CPU(opaque)->env.avic.active;
}

/* Evaluate the page, or take the owed exit, as soon as the vCPU runs. */
static int avic_state_post_load(void *opaque, int version_id)
{
    cpu_set_interrupt(CPU(opaque), CPU_INTERRUPT_AVIC);
    return 0;
}

const VMStateDescription vmstate_avic = {
    .name = "cpu/avic",
    .version_id = 1,
    .minimum_version_id = 1,
    .needed = avic_state_needed,
    .post_load = avic_state_post_load,
    .fields = (const VMStateField[]) {
        VMSTATE_BOOL(env.avic.active, X86CPU),
        VMSTATE_BOOL(env.avic.x2avic, X86CPU),
        VMSTATE_UINT64(env.avic.apic_bar, X86CPU),
        VMSTATE_UINT64(env.avic.backing, X86CPU),
        VMSTATE_UINT64(env.avic.logical_table, X86CPU),
        VMSTATE_UINT64(env.avic.physical_table, X86CPU),
        VMSTATE_UINT32(env.avic.max_index, X86CPU),
        VMSTATE_BOOL(env.avic.exit_pending, X86CPU),
        VMSTATE_UINT64(env.avic.exit_code, X86CPU),
        VMSTATE_UINT64(env.avic.exit_info1, X86CPU),
        VMSTATE_UINT64(env.avic.exit_info2, X86CPU),
        VMSTATE_END_OF_LIST()
    }
};

/* ------------------------------------------------------------------ */
/* The doorbell receiver, counters, initialization                     */
/* ------------------------------------------------------------------ */

/*
 * A doorbell makes a CPU in AVIC guest mode evaluate its backing page;
 * in host mode it has no effect: the next VMRUN evaluates the page.
 */
static void avic_doorbell_receive(CPUState *cs)
{
    CPUX86State *env = cpu_env(cs);

    qatomic_inc(&env->avic.stats.doorbells);
    if (qatomic_read(&env->avic.active)) {
        qatomic_inc(&env->avic.stats.doorbells_guest);
        trace_avic_doorbell_receive(cs->cpu_index);
        BQL_LOCK_GUARD();
        cpu_interrupt(cs, CPU_INTERRUPT_AVIC);
    }
}

typedef struct AvicStatProp {
    const char *name;
    size_t offset;
} AvicStatProp;

#define AVIC_STAT(n, f) { n, offsetof(AvicStats, f) }

static const AvicStatProp avic_stat_props[] = {
    AVIC_STAT("avic-deliveries", deliveries),
    AVIC_STAT("avic-doorbells", doorbells),
    AVIC_STAT("avic-doorbells-guest", doorbells_guest),
    AVIC_STAT("avic-ipis", ipis),
    AVIC_STAT("avic-exits-ipi-invalid-type", exit_ipi[0]),
    AVIC_STAT("avic-exits-ipi-not-running", exit_ipi[1]),
    AVIC_STAT("avic-exits-ipi-invalid-target", exit_ipi[2]),
    AVIC_STAT("avic-exits-ipi-invalid-backing", exit_ipi[3]),
    AVIC_STAT("avic-exits-ipi-invalid-vector", exit_ipi[4]),
    AVIC_STAT("avic-exits-noaccel-trap", exit_trap),
    AVIC_STAT("avic-exits-noaccel-fault", exit_fault),
    AVIC_STAT("avic-vmrun-invalid", vmrun_invalid),
};

static void avic_get_stat(Object *obj, Visitor *v, const char *name,
                          void *opaque, Error **errp)
{
    const AvicStatProp *p = opaque;
    uint64_t val = qatomic_read((uint64_t *)((char *)&X86_CPU(obj)->env.avic
                                             .stats + p->offset));

    visit_type_uint64(v, name, &val, errp);
}

void avic_cpu_realize(X86CPU *cpu)
{
    static bool initialized;

    for (int i = 0; i < ARRAY_SIZE(avic_stat_props); i++) {
        object_property_add(OBJECT(cpu), avic_stat_props[i].name, "uint64",
                            avic_get_stat, NULL, NULL,
                            (void *)&avic_stat_props[i]);
    }
    if (!initialized) {
        initialized = true;
        memory_region_init_io(&avic_mmio, NULL, &avic_mmio_ops, NULL,
                              "avic-apic-page", TARGET_PAGE_SIZE);
        memory_region_add_subregion(get_system_memory(), AVIC_MMIO_ADDR,
                                    &avic_mmio);
        amd_avic_doorbell_set_receiver(avic_doorbell_receive);
    }
}
