/*
 * QTest for the AMD IOMMU's guest virtual APIC (GA) mode
 *
 * edu's MSI goes through a guest-mode (GuestMode = 1) IRTE, and we check
 * what the IOMMU did in guest memory, at the local APICs and in its
 * counters:
 *
 * - configuration: the properties, the EFR bits, the mission's device
 *   line, and the combinations QEMU refuses;
 * - posting: the vector's IRR bit in the vAPIC backing page, then the
 *   doorbell (IsRun = 1), the GA log (IsRun = 0, GALogIntr = 1) or
 *   nothing;
 * - the GA log: entries, head/tail, the tail copy, status bits, the
 *   interrupt through the IOMMU's MSI and through XT register 0x180,
 *   wrap-around, overflow and Linux's restart sequence;
 * - GAPPI: the wake-up interrupt at the IRTE's Destination with vector
 *   GATag[7:0], no log entry, the per-IRTE disable bit;
 * - errors: the IO_PAGE_FAULT events in the event log, the GA log that
 *   does not start, the PCI status bit;
 * - invalidation: IRTEs switching modes under INVALIDATE_INTERRUPT_TABLE.
 *
 * Migration has its own test (amd-iommu-ga-migration-test.c).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "amd-iommu-ga-qtest.h"
#include "qemu/bswap.h"
#include "libqos/fw_cfg.h"

#define VEC_A           0x41        /* IRR word 2, bit 1 */
#define VEC_B           0xfe        /* IRR word 7, bit 30 */
#define PAGE_A          (BACKING_GPA)
#define PAGE_B          (BACKING_GPA + 0x1000)
#define TAG_A           0x00a1b2c3
#define IOMMU_VEC       0x71        /* the IOMMU's own interrupt */

/* ------------------------------------------------------------------ */
/* Configuration                                                      */
/* ------------------------------------------------------------------ */

static void test_refused(void)
{
    static const struct {
        const char *device;
        const char *message;
    } cases[] = {
        { "amd-iommu,intremap=off,gappi=on",
          "gappi=on needs interrupt remapping: use intremap=on "
          "(or leave intremap unset)" },
        { "amd-iommu,intremap=off,vapic=on",
          "vapic=on needs interrupt remapping: use intremap=on "
          "(or leave intremap unset)" },
        { "amd-iommu,vapic=off,gappi=on",
          "gappi=on needs the guest virtual APIC mode: remove vapic=off" },
        { "amd-iommu,gappi-spurious=on", "gappi-spurious=on needs gappi=on" },
    };

    for (int i = 0; i < ARRAY_SIZE(cases); i++) {
        g_autofree char *err = NULL;

        g_assert_cmpint(run_qemu_device(cases[i].device, &err), ==, 1);
        g_assert_nonnull(strstr(err, cases[i].message));
    }
}

/* The mission's line, as typed: no intremap=on. */
static void test_mission_line(void)
{
    GaTest t;
    uint64_t efr;

    memset(&t, 0, sizeof(t));
    t.qts = qtest_initf("-M q35 -smp 2 "
                        "-device amd-iommu,id=iommu,xtsup=on,gappi=on "
                        "-device edu,addr=%d.0", EDU_SLOT);
    efr = iommu_readq(&t, AMD_IOMMU_MMIO_EFR);
    g_assert_cmphex(efr & AMD_IOMMU_EFR_GAM_MASK, ==, AMD_IOMMU_EFR_GAM_VAPIC);
    g_assert(efr & AMD_IOMMU_EFR_GAPPI_SUP);
    g_assert(efr & AMD_IOMMU_EFR_XT_SUP);
    g_assert(efr & AMD_IOMMU_EFR_GA_SUP);
    /* GAPPIEn sticks: the feature is there. */
    iommu_writeq(&t, AMD_IOMMU_MMIO_CONTROL, AMD_IOMMU_CTRL_GAPPI_EN);
    g_assert_cmphex(iommu_readq(&t, AMD_IOMMU_MMIO_CONTROL), ==,
                    AMD_IOMMU_CTRL_GAPPI_EN);
    qtest_quit(t.qts);

    /* And it posts: interrupt remapping came on by itself. */
    ga_start(&t, "amd-iommu,id=iommu,xtsup=on,gappi=on");
    write_irte_guest(&t, 3, &(GaIrte) {
        .lo_flags = AMD_IOMMU_IRTE_LO_IS_RUN, .dest = 1, .vector = VEC_A,
        .backing = PAGE_A });
    edu_set_irte(&t, 3);
    edu_fire(&t);
    g_assert_true(backing_irr_has(&t, PAGE_A, VEC_A));
    ga_stop(&t);
}

static void test_features(void)
{
    GaTest t;
    uint64_t efr;

    /* vapic=on: vAPIC advertised, GAPPI not. */
    memset(&t, 0, sizeof(t));
    t.qts = qtest_init("-M q35 -device amd-iommu,id=iommu,intremap=on,"
                       "xtsup=on,vapic=on");
    efr = iommu_readq(&t, AMD_IOMMU_MMIO_EFR);
    g_assert_cmphex(efr & AMD_IOMMU_EFR_GAM_MASK, ==, AMD_IOMMU_EFR_GAM_VAPIC);
    g_assert_false(efr & AMD_IOMMU_EFR_GAPPI_SUP);
    /* GAPPIEn is read-only zero without gappi=on, GAMEn is writable. */
    iommu_writeq(&t, AMD_IOMMU_MMIO_CONTROL,
                 AMD_IOMMU_CTRL_GAPPI_EN | AMD_IOMMU_CTRL_GAM_VAPIC);
    g_assert_cmphex(iommu_readq(&t, AMD_IOMMU_MMIO_CONTROL), ==,
                    AMD_IOMMU_CTRL_GAM_VAPIC);
    /* GA log registers exist; reserved bits read as zero. */
    iommu_writeq(&t, AMD_IOMMU_MMIO_GALOG_BASE, ~0ULL);
    g_assert_cmphex(iommu_readq(&t, AMD_IOMMU_MMIO_GALOG_BASE), ==,
                    AMD_IOMMU_RING_BASE_MASK | AMD_IOMMU_RING_LEN_MASK);
    iommu_writeq(&t, AMD_IOMMU_MMIO_GALOG_TAIL_ADDR, ~0ULL);
    g_assert_cmphex(iommu_readq(&t, AMD_IOMMU_MMIO_GALOG_TAIL_ADDR), ==,
                    AMD_IOMMU_GALOG_TAIL_ADDR_MASK);
    iommu_writeq(&t, AMD_IOMMU_MMIO_GALOG_HEAD, ~0ULL);
    g_assert_cmphex(iommu_readq(&t, AMD_IOMMU_MMIO_GALOG_HEAD), ==,
                    AMD_IOMMU_GALOG_PTR_MASK);
    iommu_writeq(&t, AMD_IOMMU_MMIO_XT_GA_INTCTL, ~0ULL);
    g_assert_cmphex(iommu_readq(&t, AMD_IOMMU_MMIO_XT_GA_INTCTL), ==,
                    AMD_IOMMU_XT_INT_DM | AMD_IOMMU_XT_INT_DEST_LO_MASK |
                    AMD_IOMMU_XT_INT_VECTOR_MASK |
                    AMD_IOMMU_XT_INT_DEST_HI_MASK);
    /* GALogRun is the IOMMU's; overflow and interrupt are W1C. */
    iommu_writeq(&t, AMD_IOMMU_MMIO_STATUS, AMD_IOMMU_STATUS_GALOG_RUN |
                 AMD_IOMMU_STATUS_GALOG_OVERFLOW | AMD_IOMMU_STATUS_GALOG_INT);
    g_assert_cmphex(iommu_readq(&t, AMD_IOMMU_MMIO_STATUS), ==, 0);
    /* Every counter is there and starts at zero. */
    g_assert_cmpuint(ga_counter(&t, "ga-posted"), ==, 0);
    g_assert_cmpuint(ga_counter(&t, "ga-errors"), ==, 0);
    qtest_quit(t.qts);

    /* vapic=off: upstream's EFR and registers, nothing of ours. */
    t.qts = qtest_init("-M q35 -device amd-iommu,id=iommu,intremap=on,"
                       "vapic=off");
    efr = iommu_readq(&t, AMD_IOMMU_MMIO_EFR);
    g_assert_cmphex(efr & (AMD_IOMMU_EFR_GAM_MASK | AMD_IOMMU_EFR_GAPPI_SUP),
                    ==, 0);
    g_assert_cmphex(efr & 0xffff, ==, 0x29d3);
    iommu_writeq(&t, AMD_IOMMU_MMIO_CONTROL, AMD_IOMMU_CTRL_GAM_VAPIC |
                 AMD_IOMMU_CTRL_GALOG_EN | AMD_IOMMU_CTRL_GAINT_EN);
    g_assert_cmphex(iommu_readq(&t, AMD_IOMMU_MMIO_CONTROL), ==, 0);
    iommu_writeq(&t, AMD_IOMMU_MMIO_GALOG_BASE, GALOG_GPA);
    g_assert_cmphex(iommu_readq(&t, AMD_IOMMU_MMIO_GALOG_BASE), ==, 0);
    qtest_quit(t.qts);

    /*
     * Not asked for: upstream's device.  A plain amd-iommu, and one with
     * interrupt remapping and XT, advertise no GAMSup and have the EFR
     * that vapic=off gives.
     */
    for (int i = 0; i < 2; i++) {
        static const char *const lines[] = {
            "amd-iommu,id=iommu", "amd-iommu,id=iommu,intremap=on,xtsup=on",
        };
        uint64_t plain, off;

        t.qts = qtest_initf("-M q35 -device %s", lines[i]);
        plain = iommu_readq(&t, AMD_IOMMU_MMIO_EFR);
        g_assert_cmphex(plain & (AMD_IOMMU_EFR_GAM_MASK |
                                 AMD_IOMMU_EFR_GAPPI_SUP), ==, 0);
        iommu_writeq(&t, AMD_IOMMU_MMIO_GALOG_BASE, GALOG_GPA);
        g_assert_cmphex(iommu_readq(&t, AMD_IOMMU_MMIO_GALOG_BASE), ==, 0);
        qtest_quit(t.qts);
        t.qts = qtest_initf("-M q35 -device %s,vapic=off", lines[i]);
        off = iommu_readq(&t, AMD_IOMMU_MMIO_EFR);
        g_assert_cmphex(plain, ==, off);
        qtest_quit(t.qts);
    }

    /* No interrupt remapping (intremap=off): no vAPIC mode either. */
    t.qts = qtest_init("-M q35 -device amd-iommu,id=iommu,intremap=off");
    efr = iommu_readq(&t, AMD_IOMMU_MMIO_EFR);
    g_assert_cmphex(efr & AMD_IOMMU_EFR_GAM_MASK, ==, 0);
    qtest_quit(t.qts);
}

/*
 * The IVRS table's type 11h IVHD, from the ACPI tables QEMU hands the
 * firmware (fw_cfg "etc/acpi/tables"): its EFR image (offset 0x18) and
 * EFR2 image (0x20), which Linux prefers to the MMIO registers.
 */
static void ivhd11_efr(QTestState *qts, uint64_t *efr, uint64_t *efr2)
{
    QFWCFG *fw_cfg = pc_fw_cfg_init(qts);
    size_t len = 1 << 20;
    g_autofree uint8_t *t = g_malloc0(len);
    size_t n = qfw_cfg_get_file(fw_cfg, "etc/acpi/tables", t, len);
    const uint8_t *ivrs = NULL;

    g_assert_cmpuint(n, >, 0);
    g_assert_cmpuint(n, <=, len);
    for (size_t i = 0; i + 4 <= n; i++) {
        if (!memcmp(t + i, "IVRS", 4)) {
            ivrs = t + i;
            break;
        }
    }
    g_assert_nonnull(ivrs);
    /* Header 36 bytes, IVinfo 4, reserved 8; then the IVHDs. */
    for (uint32_t off = 48; off < ldl_le_p(ivrs + 4);
         off += lduw_le_p(ivrs + off + 2)) {
        if (ivrs[off] == 0x11) {
            *efr = ldq_le_p(ivrs + off + 0x18);
            *efr2 = ldq_le_p(ivrs + off + 0x20);
            pc_fw_cfg_uninit(fw_cfg);
            return;
        }
        g_assert_cmpuint(lduw_le_p(ivrs + off + 2), >, 0);
    }
    g_assert_not_reached();
}

/*
 * EFR2 (MMIO 0x1a0 and the IVHD image): GAPPIDisSup with gappi=on, 0
 * otherwise; read-only; the IVHD's EFR image is the MMIO EFR.
 */
static void test_efr2(void)
{
    static const struct {
        const char *device;
        uint64_t efr2;
    } cases[] = {
        { "amd-iommu,id=iommu,xtsup=on,gappi=on",
          AMD_IOMMU_EFR2_GAPPI_DIS_SUP },
        { "amd-iommu,id=iommu,xtsup=on,vapic=on", 0 },
        { "amd-iommu,id=iommu", 0 },
    };

    for (int i = 0; i < ARRAY_SIZE(cases); i++) {
        GaTest t = { 0 };
        uint64_t efr, efr2;

        t.qts = qtest_initf("-M q35 -device %s", cases[i].device);
        g_assert_cmphex(iommu_readq(&t, AMD_IOMMU_MMIO_EFR2), ==,
                        cases[i].efr2);
        iommu_writeq(&t, AMD_IOMMU_MMIO_EFR2, ~0ULL);
        g_assert_cmphex(iommu_readq(&t, AMD_IOMMU_MMIO_EFR2), ==,
                        cases[i].efr2);
        ivhd11_efr(t.qts, &efr, &efr2);
        g_assert_cmphex(efr2, ==, cases[i].efr2);
        g_assert_cmphex(efr, ==, iommu_readq(&t, AMD_IOMMU_MMIO_EFR));
        qtest_quit(t.qts);
    }
}

/* ------------------------------------------------------------------ */
/* Posting                                                            */
/* ------------------------------------------------------------------ */

static void test_post_running(void)
{
    GaTest t;

    ga_start(&t, GA_IOMMU);
    /* A bit already pending in the same IRR word must survive (OR). */
    qtest_writel(t.qts, PAGE_A + APIC_VEC_REG_OFFSET(APIC_REG_IRR, VEC_A),
                 APIC_VEC_BIT(VEC_A + 1));
    write_irte_guest(&t, 5, &(GaIrte) {
        .lo_flags = AMD_IOMMU_IRTE_LO_IS_RUN | AMD_IOMMU_IRTE_LO_GA_LOG_INTR,
        .dest = 1, .tag = TAG_A, .vector = VEC_A, .backing = PAGE_A });
    edu_set_irte(&t, 5);
    edu_fire(&t);

    g_assert_cmphex(backing_irr(&t, PAGE_A, VEC_A), ==,
                    APIC_VEC_BIT(VEC_A) | APIC_VEC_BIT(VEC_A + 1));
    /* Posted, not delivered to an APIC, not logged: a doorbell. */
    g_assert_false(lapic_irr_has(&t, 0, VEC_A));
    g_assert_false(lapic_irr_has(&t, 1, VEC_A));
    g_assert_cmphex(iommu_readq(&t, AMD_IOMMU_MMIO_GALOG_TAIL), ==, 0);
    g_assert_cmpuint(ga_counter(&t, "ga-posted"), ==, 1);
    g_assert_cmpuint(ga_counter(&t, "ga-posted-running"), ==, 1);
    g_assert_cmpuint(ga_counter(&t, "ga-doorbells"), ==, 1);
    g_assert_cmpuint(ga_counter(&t, "ga-doorbell-last-dest"), ==, 1);
    g_assert_cmpuint(ga_counter(&t, "ga-log-entries"), ==, 0);

    /* Another vector, page and CPU. */
    write_irte_guest(&t, 5, &(GaIrte) {
        .lo_flags = AMD_IOMMU_IRTE_LO_IS_RUN, .dest = 0, .vector = VEC_B,
        .backing = PAGE_B });
    edu_fire(&t);
    g_assert_true(backing_irr_has(&t, PAGE_B, VEC_B));
    g_assert_cmphex(backing_irr(&t, PAGE_B, VEC_B), ==, APIC_VEC_BIT(VEC_B));
    g_assert_cmpuint(ga_counter(&t, "ga-doorbells"), ==, 2);
    g_assert_cmpuint(ga_counter(&t, "ga-doorbell-last-dest"), ==, 0);

    /* A 32-bit (XT) Destination nobody has: the ring is dropped. */
    write_irte_guest(&t, 5, &(GaIrte) {
        .lo_flags = AMD_IOMMU_IRTE_LO_IS_RUN, .dest = 0x12345678,
        .vector = VEC_A, .backing = PAGE_B });
    edu_fire(&t);
    g_assert_true(backing_irr_has(&t, PAGE_B, VEC_A));
    g_assert_cmpuint(ga_counter(&t, "ga-posted-running"), ==, 3);
    g_assert_cmpuint(ga_counter(&t, "ga-doorbells"), ==, 2);
    g_assert_cmpuint(ga_counter(&t, "ga-doorbell-last-dest"), ==, 0x12345678);

    /* Without XTEn only Destination[7:0] counts. */
    iommu_control_set(&t, 0, AMD_IOMMU_CTRL_XT_EN);
    edu_fire(&t);
    g_assert_cmpuint(ga_counter(&t, "ga-doorbell-last-dest"), ==, 0x78);
    ga_stop(&t);
}

static void test_post_not_running(void)
{
    GaTest t;

    ga_start(&t, GA_IOMMU);
    pci_set_msi(t.iommu_pci, t.iommu_msi, MSI_ADDR | (1 << 12), IOMMU_VEC);

    /* IsRun = 0, GALogIntr = 0: posted, nobody told. */
    write_irte_guest(&t, 9, &(GaIrte) {
        .dest = 1, .tag = TAG_A, .vector = VEC_A, .backing = PAGE_A });
    edu_set_irte(&t, 9);
    edu_fire(&t);
    g_assert_true(backing_irr_has(&t, PAGE_A, VEC_A));
    g_assert_cmphex(iommu_readq(&t, AMD_IOMMU_MMIO_GALOG_TAIL), ==, 0);
    g_assert_cmpuint(ga_counter(&t, "ga-unnotified"), ==, 1);
    g_assert_cmpuint(ga_counter(&t, "ga-doorbells"), ==, 0);
    g_assert_false(lapic_irr_has(&t, 1, VEC_A));

    /* GALogIntr = 1: an entry, the tail, its copy, GALogInt, the MSI. */
    write_irte_guest(&t, 9, &(GaIrte) {
        .lo_flags = AMD_IOMMU_IRTE_LO_GA_LOG_INTR,
        .dest = 1, .tag = TAG_A, .vector = VEC_B, .backing = PAGE_A });
    g_assert_true(iommu_readq(&t, AMD_IOMMU_MMIO_STATUS) &
                  AMD_IOMMU_STATUS_GALOG_RUN);
    edu_fire(&t);
    g_assert_true(backing_irr_has(&t, PAGE_A, VEC_B));
    g_assert_cmphex(galog_entry(&t, 0), ==, galog_expect(TAG_A, EDU_DEVID));
    g_assert_cmphex(iommu_readq(&t, AMD_IOMMU_MMIO_GALOG_TAIL), ==, 8);
    g_assert_cmphex(iommu_readq(&t, AMD_IOMMU_MMIO_GALOG_HEAD), ==, 0);
    g_assert_cmphex(qtest_readq(t.qts, GALOG_TAIL_GPA), ==, 8);
    g_assert_cmphex(iommu_readq(&t, AMD_IOMMU_MMIO_STATUS) &
                    (AMD_IOMMU_STATUS_GALOG_RUN |
                     AMD_IOMMU_STATUS_GALOG_OVERFLOW |
                     AMD_IOMMU_STATUS_GALOG_INT), ==,
                    AMD_IOMMU_STATUS_GALOG_RUN | AMD_IOMMU_STATUS_GALOG_INT);
    g_assert_true(lapic_irr_has(&t, 1, IOMMU_VEC));
    g_assert_false(lapic_irr_has(&t, 1, VEC_B));
    g_assert_cmpuint(ga_counter(&t, "ga-log-entries"), ==, 1);
    g_assert_cmpuint(ga_counter(&t, "ga-log-interrupts"), ==, 1);

    /* GALogInt still set: the next entry sends no new interrupt. */
    edu_fire(&t);
    g_assert_cmphex(galog_entry(&t, 8), ==, galog_expect(TAG_A, EDU_DEVID));
    g_assert_cmphex(iommu_readq(&t, AMD_IOMMU_MMIO_GALOG_TAIL), ==, 16);
    g_assert_cmphex(qtest_readq(t.qts, GALOG_TAIL_GPA), ==, 16);
    g_assert_cmpuint(ga_counter(&t, "ga-log-interrupts"), ==, 1);

    /* Software consumes (head = tail) and clears GALogInt: again. */
    iommu_writeq(&t, AMD_IOMMU_MMIO_GALOG_HEAD, 16);
    iommu_writeq(&t, AMD_IOMMU_MMIO_STATUS, AMD_IOMMU_STATUS_GALOG_INT);
    g_assert_false(iommu_readq(&t, AMD_IOMMU_MMIO_STATUS) &
                   AMD_IOMMU_STATUS_GALOG_INT);
    pci_set_msi(t.iommu_pci, t.iommu_msi, MSI_ADDR, IOMMU_VEC + 1);
    edu_fire(&t);
    g_assert_cmphex(galog_entry(&t, 16), ==, galog_expect(TAG_A, EDU_DEVID));
    g_assert_true(lapic_irr_has(&t, 0, IOMMU_VEC + 1));
    g_assert_cmpuint(ga_counter(&t, "ga-log-interrupts"), ==, 2);
    g_assert_cmpuint(ga_counter(&t, "ga-log-entries"), ==, 3);

    /* GAIntEn = 0: logged, GALogInt set, no interrupt. */
    iommu_writeq(&t, AMD_IOMMU_MMIO_STATUS, AMD_IOMMU_STATUS_GALOG_INT);
    iommu_control_set(&t, 0, AMD_IOMMU_CTRL_GAINT_EN);
    edu_fire(&t);
    g_assert_cmphex(iommu_readq(&t, AMD_IOMMU_MMIO_GALOG_TAIL), ==, 32);
    g_assert_true(iommu_readq(&t, AMD_IOMMU_MMIO_STATUS) &
                  AMD_IOMMU_STATUS_GALOG_INT);
    g_assert_cmpuint(ga_counter(&t, "ga-log-interrupts"), ==, 2);

    /* GALogEn = 0: the log stops, the vector is still posted. */
    iommu_control_set(&t, 0, AMD_IOMMU_CTRL_GALOG_EN);
    g_assert_false(iommu_readq(&t, AMD_IOMMU_MMIO_STATUS) &
                   AMD_IOMMU_STATUS_GALOG_RUN);
    qtest_writel(t.qts, PAGE_A + APIC_VEC_REG_OFFSET(APIC_REG_IRR, VEC_B), 0);
    edu_fire(&t);
    g_assert_true(backing_irr_has(&t, PAGE_A, VEC_B));
    g_assert_cmphex(iommu_readq(&t, AMD_IOMMU_MMIO_GALOG_TAIL), ==, 32);
    g_assert_cmpuint(ga_counter(&t, "ga-log-entries"), ==, 4);
    g_assert_cmpuint(ga_counter(&t, "ga-unnotified"), ==, 2);
    ga_stop(&t);
}

/* ------------------------------------------------------------------ */
/* The GA log                                                         */
/* ------------------------------------------------------------------ */

static void ga_log_irte(GaTest *t, int index, uint32_t tag)
{
    write_irte_guest(t, index, &(GaIrte) {
        .lo_flags = AMD_IOMMU_IRTE_LO_GA_LOG_INTR, .dest = 1, .tag = tag,
        .vector = VEC_A, .backing = PAGE_A });
    edu_set_irte(t, index);
}

static void test_galog_xt_interrupt(void)
{
    GaTest t;

    ga_start(&t, GA_IOMMU);
    /* The MSI is programmed too: with IntCapXTEn it must not be used. */
    pci_set_msi(t.iommu_pci, t.iommu_msi, MSI_ADDR, IOMMU_VEC);
    iommu_writeq(&t, AMD_IOMMU_MMIO_XT_GA_INTCTL,
                 ((uint64_t)(IOMMU_VEC + 2) << AMD_IOMMU_XT_INT_VECTOR_SHIFT) |
                 (1ULL << AMD_IOMMU_XT_INT_DEST_LO_SHIFT));
    iommu_control_set(&t, AMD_IOMMU_CTRL_INTCAPXT_EN, 0);
    ga_log_irte(&t, 12, 0x1234);
    edu_fire(&t);
    g_assert_cmphex(galog_entry(&t, 0), ==, galog_expect(0x1234, EDU_DEVID));
    g_assert_true(lapic_irr_has(&t, 1, IOMMU_VEC + 2));
    g_assert_false(lapic_irr_has(&t, 0, IOMMU_VEC));
    g_assert_cmpuint(ga_counter(&t, "ga-log-interrupts"), ==, 1);

    /* Linux masks the XT interrupt by writing 0: nothing is sent. */
    iommu_writeq(&t, AMD_IOMMU_MMIO_XT_GA_INTCTL, 0);
    iommu_writeq(&t, AMD_IOMMU_MMIO_STATUS, AMD_IOMMU_STATUS_GALOG_INT);
    edu_fire(&t);
    g_assert_cmphex(iommu_readq(&t, AMD_IOMMU_MMIO_GALOG_TAIL), ==, 16);
    g_assert_cmpuint(ga_counter(&t, "ga-log-interrupts"), ==, 1);

    /* Unmasked again, to CPU 0. */
    iommu_writeq(&t, AMD_IOMMU_MMIO_XT_GA_INTCTL,
                 ((uint64_t)(IOMMU_VEC + 3) << AMD_IOMMU_XT_INT_VECTOR_SHIFT));
    iommu_writeq(&t, AMD_IOMMU_MMIO_STATUS, AMD_IOMMU_STATUS_GALOG_INT);
    edu_fire(&t);
    g_assert_true(lapic_irr_has(&t, 0, IOMMU_VEC + 3));
    g_assert_cmpuint(ga_counter(&t, "ga-log-interrupts"), ==, 2);
    ga_stop(&t);
}

static void test_galog_wrap(void)
{
    GaTest t;

    ga_start(&t, GA_IOMMU);
    iommu_writeq(&t, AMD_IOMMU_MMIO_GALOG_HEAD, GALOG_BYTES - 8);
    iommu_writeq(&t, AMD_IOMMU_MMIO_GALOG_TAIL, GALOG_BYTES - 8);
    ga_log_irte(&t, 1, 0xaaaa);
    edu_fire(&t);
    g_assert_cmphex(galog_entry(&t, GALOG_BYTES - 8), ==,
                    galog_expect(0xaaaa, EDU_DEVID));
    g_assert_cmphex(iommu_readq(&t, AMD_IOMMU_MMIO_GALOG_TAIL), ==, 0);
    g_assert_cmphex(qtest_readq(t.qts, GALOG_TAIL_GPA), ==, 0);
    ga_log_irte(&t, 1, 0xbbbb);
    edu_fire(&t);
    g_assert_cmphex(galog_entry(&t, 0), ==, galog_expect(0xbbbb, EDU_DEVID));
    g_assert_cmphex(iommu_readq(&t, AMD_IOMMU_MMIO_GALOG_TAIL), ==, 8);
    ga_stop(&t);
}

static void test_galog_overflow_restart(void)
{
    GaTest t;
    uint64_t status;

    ga_start(&t, GA_IOMMU);
    pci_set_msi(t.iommu_pci, t.iommu_msi, MSI_ADDR, IOMMU_VEC);
    /* One free slot left: tail + 8 == head means full. */
    iommu_writeq(&t, AMD_IOMMU_MMIO_GALOG_HEAD, 16);
    iommu_writeq(&t, AMD_IOMMU_MMIO_GALOG_TAIL, 0);
    ga_log_irte(&t, 2, 0x1111);
    edu_fire(&t);
    g_assert_cmphex(galog_entry(&t, 0), ==, galog_expect(0x1111, EDU_DEVID));
    g_assert_cmphex(iommu_readq(&t, AMD_IOMMU_MMIO_GALOG_TAIL), ==, 8);
    g_assert_true(lapic_irr_has(&t, 0, IOMMU_VEC));

    /* The software handler clears GALogInt but does not consume. */
    iommu_writeq(&t, AMD_IOMMU_MMIO_STATUS, AMD_IOMMU_STATUS_GALOG_INT);
    pci_set_msi(t.iommu_pci, t.iommu_msi, MSI_ADDR, IOMMU_VEC + 4);
    ga_log_irte(&t, 2, 0x2222);
    edu_fire(&t);
    status = iommu_readq(&t, AMD_IOMMU_MMIO_STATUS);
    g_assert_true(status & AMD_IOMMU_STATUS_GALOG_OVERFLOW);
    g_assert_false(status & AMD_IOMMU_STATUS_GALOG_RUN);
    g_assert_false(status & AMD_IOMMU_STATUS_GALOG_INT);
    g_assert_cmphex(galog_entry(&t, 8), ==, 0);         /* dropped */
    g_assert_cmphex(iommu_readq(&t, AMD_IOMMU_MMIO_GALOG_TAIL), ==, 8);
    g_assert_true(backing_irr_has(&t, PAGE_A, VEC_A));  /* late, not lost */
    g_assert_true(lapic_irr_has(&t, 0, IOMMU_VEC + 4)); /* overflow irq */
    g_assert_cmpuint(ga_counter(&t, "ga-log-overflows"), ==, 1);
    g_assert_cmpuint(ga_counter(&t, "ga-log-interrupts"), ==, 2);

    /* Stopped: further interrupts are not logged, even with room. */
    iommu_writeq(&t, AMD_IOMMU_MMIO_GALOG_HEAD, 8);
    edu_fire(&t);
    g_assert_cmphex(iommu_readq(&t, AMD_IOMMU_MMIO_GALOG_TAIL), ==, 8);
    g_assert_cmpuint(ga_counter(&t, "ga-log-overflows"), ==, 1);
    /* A Control write without clearing the overflow does not restart. */
    iommu_control_set(&t, AMD_IOMMU_CTRL_GALOG_EN, 0);
    g_assert_false(iommu_readq(&t, AMD_IOMMU_MMIO_STATUS) &
                   AMD_IOMMU_STATUS_GALOG_RUN);

    /* Linux's amd_iommu_restart_ga_log(). */
    iommu_control_set(&t, 0, AMD_IOMMU_CTRL_GALOG_EN);
    iommu_control_set(&t, 0, AMD_IOMMU_CTRL_GAINT_EN);
    iommu_writel(&t, AMD_IOMMU_MMIO_STATUS, AMD_IOMMU_STATUS_GALOG_OVERFLOW);
    iommu_control_set(&t, AMD_IOMMU_CTRL_GAINT_EN, 0);
    iommu_control_set(&t, AMD_IOMMU_CTRL_GALOG_EN, 0);
    status = iommu_readq(&t, AMD_IOMMU_MMIO_STATUS);
    g_assert_true(status & AMD_IOMMU_STATUS_GALOG_RUN);
    g_assert_false(status & AMD_IOMMU_STATUS_GALOG_OVERFLOW);

    ga_log_irte(&t, 2, 0x3333);
    edu_fire(&t);
    g_assert_cmphex(galog_entry(&t, 8), ==, galog_expect(0x3333, EDU_DEVID));
    g_assert_cmphex(iommu_readq(&t, AMD_IOMMU_MMIO_GALOG_TAIL), ==, 16);
    g_assert_cmpuint(ga_counter(&t, "ga-log-entries"), ==, 2);
    ga_stop(&t);
}

/* ------------------------------------------------------------------ */
/* GAPPI                                                              */
/* ------------------------------------------------------------------ */

static void test_gappi(void)
{
    GaTest t;
    const uint8_t wake = 0xe5;

    ga_start(&t, GA_IOMMU ",gappi=on");
    pci_set_msi(t.iommu_pci, t.iommu_msi, MSI_ADDR, IOMMU_VEC);

    /* GAPPIEn = 0: the GA log as usual. */
    write_irte_guest(&t, 7, &(GaIrte) {
        .lo_flags = AMD_IOMMU_IRTE_LO_GA_LOG_INTR, .dest = 1,
        .tag = 0x4400 | wake, .vector = VEC_A, .backing = PAGE_A });
    edu_set_irte(&t, 7);
    edu_fire(&t);
    g_assert_cmphex(iommu_readq(&t, AMD_IOMMU_MMIO_GALOG_TAIL), ==, 8);
    g_assert_false(lapic_irr_has(&t, 1, wake));

    /*
     * GAPPIEn = 1: the wake-up vector at Destination, no log entry.  The
     * vCPU took what the GA log announced: its IRR is clear again.
     */
    iommu_control_set(&t, AMD_IOMMU_CTRL_GAPPI_EN, 0);
    backing_irr_clear(&t, PAGE_A);
    write_irte_guest(&t, 7, &(GaIrte) {
        .lo_flags = AMD_IOMMU_IRTE_LO_GA_LOG_INTR, .dest = 1,
        .tag = 0x4400 | wake, .vector = VEC_B, .backing = PAGE_A });
    edu_fire(&t);
    g_assert_true(backing_irr_has(&t, PAGE_A, VEC_B));
    g_assert_true(lapic_irr_has(&t, 1, wake));
    g_assert_false(lapic_irr_has(&t, 0, wake));
    g_assert_false(lapic_irr_has(&t, 1, VEC_B));
    g_assert_cmphex(iommu_readq(&t, AMD_IOMMU_MMIO_GALOG_TAIL), ==, 8);
    g_assert_cmphex(galog_entry(&t, 8), ==, 0);
    g_assert_cmpuint(ga_counter(&t, "ga-gappi-interrupts"), ==, 1);
    g_assert_cmpuint(ga_counter(&t, "ga-log-entries"), ==, 1);

    /* GALogIntr does not matter for GAPPI; the vector is GATag[7:0]. */
    write_irte_guest(&t, 7, &(GaIrte) {
        .dest = 0, .tag = 0xffff0000 | (wake - 1), .vector = VEC_B,
        .backing = PAGE_B });
    edu_fire(&t);
    g_assert_true(lapic_irr_has(&t, 0, wake - 1));
    g_assert_cmpuint(ga_counter(&t, "ga-gappi-interrupts"), ==, 2);

    /* IsRun = 1 still rings the doorbell. */
    write_irte_guest(&t, 7, &(GaIrte) {
        .lo_flags = AMD_IOMMU_IRTE_LO_IS_RUN, .dest = 1, .tag = wake - 2,
        .vector = VEC_A, .backing = PAGE_B });
    edu_fire(&t);
    g_assert_false(lapic_irr_has(&t, 1, wake - 2));
    g_assert_cmpuint(ga_counter(&t, "ga-doorbells"), ==, 1);
    g_assert_cmpuint(ga_counter(&t, "ga-gappi-interrupts"), ==, 2);

    /* The per-IRTE GAPPI disable: nothing sent, the vector waits. */
    write_irte_guest(&t, 7, &(GaIrte) {
        .lo_flags = AMD_IOMMU_IRTE_LO_GAPPI_DIS, .dest = 1,
        .tag = wake - 3, .vector = 0x33, .backing = PAGE_B });
    edu_fire(&t);
    g_assert_true(backing_irr_has(&t, PAGE_B, 0x33));
    g_assert_false(lapic_irr_has(&t, 1, wake - 3));
    g_assert_cmpuint(ga_counter(&t, "ga-gappi-interrupts"), ==, 2);
    g_assert_cmpuint(ga_counter(&t, "ga-unnotified"), ==, 1);

    /* A wake-up vector below 16 is a guest error; nothing is sent. */
    write_irte_guest(&t, 7, &(GaIrte) {
        .dest = 1, .tag = 0x0f, .vector = 0x34, .backing = PAGE_B });
    edu_fire(&t);
    g_assert_true(backing_irr_has(&t, PAGE_B, 0x34));
    g_assert_cmpuint(ga_counter(&t, "ga-errors"), ==, 1);
    g_assert_cmpuint(ga_counter(&t, "ga-gappi-interrupts"), ==, 2);
    g_assert_cmpuint(ga_counter(&t, "ga-gappi-suppressed"), ==, 0);
    ga_stop(&t);
}

/*
 * GAPPI is for the first pending interrupt (spec 48882 §2.2.5.5): sent
 * only if the backing page's IRR was all clear before the post, so a
 * vCPU is told once until it takes what is pending.  gappi-spurious=on
 * sends one on every post.
 */
static void gappi_posts(GaTest *t, bool spurious)
{
    const uint8_t wake = 0xe7;
    uint64_t sent = spurious ? 3 : 1, suppressed = spurious ? 0 : 2;

    iommu_control_set(t, AMD_IOMMU_CTRL_GAPPI_EN, 0);
    write_irte_guest(t, 7, &(GaIrte) {
        .dest = 1, .tag = wake, .vector = VEC_A, .backing = PAGE_A });
    edu_set_irte(t, 7);
    edu_fire(t);
    g_assert_true(lapic_irr_has(t, 1, wake));
    g_assert_cmpuint(ga_counter(t, "ga-gappi-interrupts"), ==, 1);

    /* Another vector (another IRR word) and the same vector again. */
    write_irte_guest(t, 7, &(GaIrte) {
        .dest = 1, .tag = wake, .vector = VEC_B, .backing = PAGE_A });
    edu_fire(t);
    edu_fire(t);
    g_assert_true(backing_irr_has(t, PAGE_A, VEC_A));
    g_assert_true(backing_irr_has(t, PAGE_A, VEC_B));
    g_assert_cmpuint(ga_counter(t, "ga-gappi-interrupts"), ==, sent);
    g_assert_cmpuint(ga_counter(t, "ga-gappi-suppressed"), ==, suppressed);
    g_assert_cmpuint(ga_counter(t, "ga-unnotified"), ==, 0);

    /* The vCPU took them: the next post is a first one again. */
    backing_irr_clear(t, PAGE_A);
    edu_fire(t);
    g_assert_cmpuint(ga_counter(t, "ga-gappi-interrupts"), ==, sent + 1);
    g_assert_cmpuint(ga_counter(t, "ga-gappi-suppressed"), ==, suppressed);
}

static void test_gappi_first_pending(void)
{
    GaTest t;

    ga_start(&t, GA_IOMMU ",gappi=on");
    gappi_posts(&t, false);
    ga_stop(&t);

    ga_start(&t, GA_IOMMU ",gappi=on,gappi-spurious=on");
    gappi_posts(&t, true);
    ga_stop(&t);
}

/* ------------------------------------------------------------------ */
/* Errors                                                             */
/* ------------------------------------------------------------------ */

/* The event at index @n of the event log must be this IO_PAGE_FAULT. */
static void check_iopf(GaTest *t, int n, uint64_t flags, uint64_t addr)
{
    uint64_t q0 = qtest_readq(t->qts, EVTLOG_GPA + n * AMD_IOMMU_EVT_SIZE);
    uint64_t q1 = qtest_readq(t->qts, EVTLOG_GPA + n * AMD_IOMMU_EVT_SIZE + 8);

    g_assert_cmphex(q0 >> AMD_IOMMU_EVT_CODE_SHIFT, ==,
                    AMD_IOMMU_EVT_IO_PAGE_FAULT);
    g_assert_cmphex(q0 & AMD_IOMMU_EVT_DEVID_MASK, ==, EDU_DEVID);
    g_assert_cmphex(q0 & (AMD_IOMMU_EVT_IOPF_I | AMD_IOMMU_EVT_IOPF_PR |
                          AMD_IOMMU_EVT_IOPF_RW | AMD_IOMMU_EVT_IOPF_PE |
                          AMD_IOMMU_EVT_IOPF_RZ | AMD_IOMMU_EVT_IOPF_TR), ==,
                    AMD_IOMMU_EVT_IOPF_I | flags);
    g_assert_cmphex(q1, ==, addr);
    g_assert_cmphex(iommu_readq(t, AMD_IOMMU_MMIO_EVTLOG_TAIL), ==,
                    (n + 1) * AMD_IOMMU_EVT_SIZE);
}

static void test_errors(void)
{
    const uint64_t rz = AMD_IOMMU_EVT_IOPF_PR | AMD_IOMMU_EVT_IOPF_RW |
                        AMD_IOMMU_EVT_IOPF_RZ;
    uint64_t irr_addr = NOT_RAM_GPA + APIC_VEC_REG_OFFSET(APIC_REG_IRR, VEC_A);
    GaTest t;

    ga_start(&t, GA_IOMMU);
    edu_set_irte(&t, 4);

    /* Reserved low bits 4:3. */
    write_irte_guest(&t, 4, &(GaIrte) {
        .lo_flags = AMD_IOMMU_IRTE_LO_IS_RUN | (1ULL << 3), .dest = 1,
        .vector = VEC_A, .backing = PAGE_A });
    edu_fire(&t);
    g_assert_false(backing_irr_has(&t, PAGE_A, VEC_A));
    check_iopf(&t, 0, rz, MSI_ADDR);

    /* Reserved high bits 11:8, then 55:52. */
    write_irte_guest(&t, 4, &(GaIrte) {
        .lo_flags = AMD_IOMMU_IRTE_LO_IS_RUN, .dest = 1, .vector = VEC_A,
        .backing = PAGE_A, .hi_extra = 1ULL << 8 });
    edu_fire(&t);
    check_iopf(&t, 1, rz, MSI_ADDR);
    write_irte_guest(&t, 4, &(GaIrte) {
        .lo_flags = AMD_IOMMU_IRTE_LO_IS_RUN, .dest = 1, .vector = VEC_A,
        .backing = PAGE_A, .hi_extra = 1ULL << 52 });
    edu_fire(&t);
    check_iopf(&t, 2, rz, MSI_ADDR);

    /* The GAPPI disable bit is reserved without gappi=on. */
    write_irte_guest(&t, 4, &(GaIrte) {
        .lo_flags = AMD_IOMMU_IRTE_LO_GAPPI_DIS, .dest = 1, .vector = VEC_A,
        .backing = PAGE_A });
    edu_fire(&t);
    check_iopf(&t, 3, rz, MSI_ADDR);

    /* The backing page is not RAM: the fault names the IRR word. */
    write_irte_guest(&t, 4, &(GaIrte) {
        .lo_flags = AMD_IOMMU_IRTE_LO_IS_RUN, .dest = 1, .vector = VEC_A,
        .backing = NOT_RAM_GPA });
    edu_fire(&t);
    check_iopf(&t, 4, AMD_IOMMU_EVT_IOPF_RW, irr_addr);
    g_assert_cmpuint(ga_counter(&t, "ga-doorbells"), ==, 0);

    /* SupIOPF = 1: dropped and counted, but no event. */
    write_irte_guest(&t, 4, &(GaIrte) {
        .lo_flags = AMD_IOMMU_IRTE_LO_SUP_IOPF, .dest = 1, .vector = VEC_A,
        .backing = NOT_RAM_GPA });
    edu_fire(&t);
    g_assert_cmphex(iommu_readq(&t, AMD_IOMMU_MMIO_EVTLOG_TAIL), ==,
                    5 * AMD_IOMMU_EVT_SIZE);

    /* GuestMode = 1 while GAMEn is not vAPIC. */
    iommu_control_set(&t, 0, AMD_IOMMU_CTRL_GAM_MASK);
    write_irte_guest(&t, 4, &(GaIrte) {
        .lo_flags = AMD_IOMMU_IRTE_LO_IS_RUN, .dest = 1, .vector = VEC_A,
        .backing = PAGE_A });
    edu_fire(&t);
    g_assert_false(backing_irr_has(&t, PAGE_A, VEC_A));
    g_assert_false(lapic_irr_has(&t, 1, VEC_A));
    check_iopf(&t, 5, rz, MSI_ADDR);
    iommu_control_set(&t, AMD_IOMMU_CTRL_GAM_VAPIC, 0);

    g_assert_cmpuint(ga_counter(&t, "ga-errors"), ==, 7);
    g_assert_cmpuint(ga_counter(&t, "ga-posted"), ==, 0);

    /* RemapEn = 0 aborts before guest mode matters, and is logged. */
    write_irte_raw(&t, 4, AMD_IOMMU_IRTE_LO_GUEST_MODE | (1ULL << 3),
                   VEC_A | PAGE_A);
    edu_fire(&t);
    g_assert_false(backing_irr_has(&t, PAGE_A, VEC_A));
    check_iopf(&t, 6, 0, MSI_ADDR);
    g_assert_cmpuint(ga_counter(&t, "ga-errors"), ==, 8);

    /* Everything right again: it posts. */
    write_irte_guest(&t, 4, &(GaIrte) {
        .lo_flags = AMD_IOMMU_IRTE_LO_IS_RUN, .dest = 1, .vector = VEC_A,
        .backing = PAGE_A });
    edu_fire(&t);
    g_assert_true(backing_irr_has(&t, PAGE_A, VEC_A));
    ga_stop(&t);
}

static void test_galog_errors(void)
{
    GaTest t;

    ga_start(&t, GA_IOMMU);
    g_assert_false(qpci_config_readw(t.iommu_pci, PCI_STATUS) &
                   PCI_STATUS_REC_MASTER_ABORT);

    /* A GA log outside RAM does not start. */
    iommu_control_set(&t, 0, AMD_IOMMU_CTRL_GALOG_EN);
    iommu_writeq(&t, AMD_IOMMU_MMIO_GALOG_BASE, NOT_RAM_GPA |
                 ((uint64_t)AMD_IOMMU_GALOG_LEN_512 <<
                  AMD_IOMMU_RING_LEN_SHIFT));
    iommu_control_set(&t, AMD_IOMMU_CTRL_GALOG_EN, 0);
    g_assert_false(iommu_readq(&t, AMD_IOMMU_MMIO_STATUS) &
                   AMD_IOMMU_STATUS_GALOG_RUN);
    g_assert_true(qpci_config_readw(t.iommu_pci, PCI_STATUS) &
                  PCI_STATUS_REC_MASTER_ABORT);
    g_assert_cmpuint(ga_counter(&t, "ga-errors"), ==, 1);

    /* Nor does one with a reserved length (GALogLen < 8). */
    iommu_control_set(&t, 0, AMD_IOMMU_CTRL_GALOG_EN);
    iommu_writeq(&t, AMD_IOMMU_MMIO_GALOG_BASE,
                 GALOG_GPA | (7ULL << AMD_IOMMU_RING_LEN_SHIFT));
    iommu_control_set(&t, AMD_IOMMU_CTRL_GALOG_EN, 0);
    g_assert_false(iommu_readq(&t, AMD_IOMMU_MMIO_STATUS) &
                   AMD_IOMMU_STATUS_GALOG_RUN);
    g_assert_cmpuint(ga_counter(&t, "ga-errors"), ==, 2);

    /* Interrupts still post while the log is down. */
    ga_log_irte(&t, 6, 0x77);
    edu_fire(&t);
    g_assert_true(backing_irr_has(&t, PAGE_A, VEC_A));
    g_assert_cmphex(iommu_readq(&t, AMD_IOMMU_MMIO_GALOG_TAIL), ==, 0);

    /* A tail address outside RAM loses the copy, not the entry. */
    iommu_control_set(&t, 0, AMD_IOMMU_CTRL_GALOG_EN);
    ga_log_setup(&t);
    iommu_writeq(&t, AMD_IOMMU_MMIO_GALOG_TAIL_ADDR, NOT_RAM_GPA);
    edu_fire(&t);
    g_assert_cmphex(galog_entry(&t, 0), ==, galog_expect(0x77, EDU_DEVID));
    g_assert_cmphex(iommu_readq(&t, AMD_IOMMU_MMIO_GALOG_TAIL), ==, 8);
    g_assert_cmpuint(ga_counter(&t, "ga-errors"), ==, 3);

    /* Head beyond the log: the log stops rather than write outside. */
    iommu_writeq(&t, AMD_IOMMU_MMIO_GALOG_HEAD, GALOG_BYTES + 8);
    edu_fire(&t);
    g_assert_false(iommu_readq(&t, AMD_IOMMU_MMIO_STATUS) &
                   AMD_IOMMU_STATUS_GALOG_RUN);
    g_assert_cmphex(qtest_readq(t.qts, GALOG_GPA + GALOG_BYTES), ==, 0);
    g_assert_cmpuint(ga_counter(&t, "ga-errors"), ==, 4);
    ga_stop(&t);
}

/* ------------------------------------------------------------------ */
/* Invalidation                                                       */
/* ------------------------------------------------------------------ */

static void test_invalidation(void)
{
    GaTest t;

    ga_start(&t, GA_IOMMU);
    edu_set_irte(&t, 8);

    /* Remapped first. */
    write_irte_remapped(&t, 8, 1, 0x61);
    iommu_flush_irt(&t);
    edu_fire(&t);
    g_assert_true(lapic_irr_has(&t, 1, 0x61));

    /* The same entry switched to guest mode, as KVM does. */
    write_irte_guest(&t, 8, &(GaIrte) {
        .lo_flags = AMD_IOMMU_IRTE_LO_IS_RUN, .dest = 0, .vector = 0x62,
        .backing = PAGE_A });
    iommu_flush_irt(&t);
    edu_fire(&t);
    g_assert_true(backing_irr_has(&t, PAGE_A, 0x62));
    g_assert_false(lapic_irr_has(&t, 0, 0x62));
    g_assert_cmpuint(ga_counter(&t, "ga-doorbells"), ==, 1);

    /* vCPU scheduled out: IsRun cleared, GALogIntr set, flushed. */
    write_irte_guest(&t, 8, &(GaIrte) {
        .lo_flags = AMD_IOMMU_IRTE_LO_GA_LOG_INTR, .dest = 0, .tag = 0x88,
        .vector = 0x63, .backing = PAGE_A });
    iommu_flush_irt(&t);
    edu_fire(&t);
    g_assert_cmphex(galog_entry(&t, 0), ==, galog_expect(0x88, EDU_DEVID));

    /* And back to remapped mode. */
    write_irte_remapped(&t, 8, 0, 0x64);
    iommu_flush_irt(&t);
    edu_fire(&t);
    g_assert_true(lapic_irr_has(&t, 0, 0x64));
    g_assert_false(backing_irr_has(&t, PAGE_A, 0x64));
    g_assert_cmpuint(ga_counter(&t, "ga-posted"), ==, 2);
    ga_stop(&t);
}

/*
 * The IRTE cache, irt-cache=strict: cached fields keep their old value
 * until INVALIDATE_INTERRUPT_TABLE / INVALIDATE_IOMMU_ALL, and each use
 * of a stale entry counts; the uncached ones (IsRun, Destination,
 * GATag, GALogIntr) take effect at once.
 */
static void test_irt_cache_strict(void)
{
    GaTest t;

    ga_start(&t, GA_IOMMU ",irt-cache=strict");
    t.no_flush = true;
    edu_set_irte(&t, 5);
    write_irte_guest(&t, 5, &(GaIrte) {
        .lo_flags = AMD_IOMMU_IRTE_LO_IS_RUN, .dest = 1, .vector = VEC_A,
        .backing = PAGE_A });
    iommu_flush_irt(&t);
    edu_fire(&t);
    g_assert_true(backing_irr_has(&t, PAGE_A, VEC_A));
    g_assert_cmpuint(ga_counter(&t, "ga-irt-misses"), ==, 1);

    /* Vector and GA root changed, no invalidation: the old ones. */
    write_irte_guest(&t, 5, &(GaIrte) {
        .lo_flags = AMD_IOMMU_IRTE_LO_IS_RUN, .dest = 1, .vector = VEC_B,
        .backing = PAGE_B });
    backing_irr_clear(&t, PAGE_A);
    edu_fire(&t);
    g_assert_true(backing_irr_has(&t, PAGE_A, VEC_A));
    g_assert_false(backing_irr_has(&t, PAGE_B, VEC_B));
    g_assert_cmpuint(ga_counter(&t, "ga-irt-stale-hits"), ==, 1);

    /* IsRun, GATag, GALogIntr are not cached: a GA log entry now. */
    write_irte_guest(&t, 5, &(GaIrte) {
        .lo_flags = AMD_IOMMU_IRTE_LO_GA_LOG_INTR, .dest = 1, .tag = 0x55,
        .vector = VEC_B, .backing = PAGE_B });
    edu_fire(&t);
    g_assert_cmphex(galog_entry(&t, 0), ==, galog_expect(0x55, EDU_DEVID));
    g_assert_false(backing_irr_has(&t, PAGE_B, VEC_B));
    g_assert_cmpuint(ga_counter(&t, "ga-irt-stale-hits"), ==, 2);

    /* The invalidation: the new vector and page. */
    iommu_flush_irt(&t);
    edu_fire(&t);
    g_assert_true(backing_irr_has(&t, PAGE_B, VEC_B));
    g_assert_cmpuint(ga_counter(&t, "ga-irt-stale-hits"), ==, 2);

    /* Guest mode -> remapped without invalidation: still posted. */
    write_irte_remapped(&t, 5, 1, 0x66);
    edu_fire(&t);
    g_assert_false(lapic_irr_has(&t, 1, 0x66));
    g_assert_cmpuint(ga_counter(&t, "ga-irt-stale-hits"), ==, 3);
    /* INVALIDATE_IOMMU_ALL drops it too. */
    iommu_command(&t, (uint64_t)AMD_IOMMU_CMD_INVAL_ALL <<
                  AMD_IOMMU_CMD_OPCODE_SHIFT, 0);
    iommu_completion_wait(&t, 0x600e);
    edu_fire(&t);
    g_assert_true(lapic_irr_has(&t, 1, 0x66));

    /* A remapped entry's vector and Destination are cached. */
    write_irte_remapped(&t, 5, 0, 0x67);
    edu_fire(&t);
    g_assert_false(lapic_irr_has(&t, 0, 0x67));
    g_assert_cmpuint(ga_counter(&t, "ga-irt-stale-hits"), ==, 4);

    /* Control.IRTCacheDis = 1: nothing is cached. */
    iommu_control_set(&t, AMD_IOMMU_CTRL_IRTCACHE_DIS, 0);
    edu_fire(&t);
    g_assert_true(lapic_irr_has(&t, 0, 0x67));
    write_irte_remapped(&t, 5, 0, 0x68);
    edu_fire(&t);
    g_assert_true(lapic_irr_has(&t, 0, 0x68));
    g_assert_cmpuint(ga_counter(&t, "ga-irt-stale-hits"), ==, 4);
    ga_stop(&t);
}

/* irt-cache=off, and reset, forget at once; a bad mode is refused. */
static void test_irt_cache_modes(void)
{
    g_autofree char *err = NULL;
    GaTest t;

    ga_start(&t, GA_IOMMU ",irt-cache=off");
    t.no_flush = true;
    edu_set_irte(&t, 5);
    write_irte_remapped(&t, 5, 1, 0x61);
    edu_fire(&t);
    write_irte_remapped(&t, 5, 1, 0x62);
    edu_fire(&t);
    g_assert_true(lapic_irr_has(&t, 1, 0x62));
    g_assert_cmpuint(ga_counter(&t, "ga-irt-misses"), ==, 0);
    ga_stop(&t);

    /* The default with vapic=on caches (as the hardware does). */
    ga_start(&t, GA_IOMMU);
    t.no_flush = true;
    edu_set_irte(&t, 5);
    write_irte_remapped(&t, 5, 1, 0x61);
    edu_fire(&t);
    write_irte_remapped(&t, 5, 1, 0x62);
    edu_fire(&t);
    g_assert_false(lapic_irr_has(&t, 1, 0x62));
    g_assert_cmpuint(ga_counter(&t, "ga-irt-stale-hits"), ==, 1);
    ga_stop(&t);

    g_assert_cmpint(run_qemu_device("amd-iommu,irt-cache=sometimes", &err),
                    ==, 1);
    g_assert_nonnull(strstr(err, "irt-cache=sometimes: use auto, on, "
                            "strict or off"));
}

/*
 * Remapping faults of remapped-mode entries are reported as guest-mode
 * ones (with the vAPIC mode): RemapEn = 0, an unreadable IRTE, a
 * reserved IntType and an index past IntTabLen log IO_PAGE_FAULT with
 * I = 1 and the DTE's domain ID (unless SupIOPF), and set Signaled
 * Target Abort.  A plain amd-iommu keeps upstream's silent abort.
 */
static void test_remap_faults(void)
{
    const uint64_t domid = 0x2a;
    uint64_t dte2;
    GaTest t;

    ga_start(&t, GA_IOMMU);
    qtest_writeq(t.qts, DEVTAB_GPA + EDU_DEVID * AMD_IOMMU_DTE_SIZE + 8,
                 domid);
    g_assert_false(qpci_config_readw(t.iommu_pci, PCI_STATUS) &
                   PCI_STATUS_SIG_TARGET_ABORT);

    /* RemapEn = 0 in a remapped entry. */
    write_irte_raw(&t, 4, 1ULL << AMD_IOMMU_IRTE_LO_DEST_SHIFT, 0x61);
    edu_set_irte(&t, 4);
    edu_fire(&t);
    g_assert_false(lapic_irr_has(&t, 1, 0x61));
    check_iopf(&t, 0, 0, MSI_ADDR);
    g_assert_cmphex(qtest_readq(t.qts, EVTLOG_GPA) &
                    AMD_IOMMU_EVT_DOMID_MASK, ==,
                    domid << AMD_IOMMU_EVT_DOMID_SHIFT);
    g_assert_true(qpci_config_readw(t.iommu_pci, PCI_STATUS) &
                  PCI_STATUS_SIG_TARGET_ABORT);
    /* ... with SupIOPF: dropped, no event. */
    write_irte_raw(&t, 4, AMD_IOMMU_IRTE_LO_SUP_IOPF, 0x61);
    edu_fire(&t);
    g_assert_cmphex(iommu_readq(&t, AMD_IOMMU_MMIO_EVTLOG_TAIL), ==,
                    AMD_IOMMU_EVT_SIZE);

    /* A reserved IntType (3). */
    write_irte_raw(&t, 4, AMD_IOMMU_IRTE_LO_REMAP_EN |
                   3ULL << AMD_IOMMU_IRTE_LO_INTTYPE_SHIFT |
                   1ULL << AMD_IOMMU_IRTE_LO_DEST_SHIFT, 0x62);
    edu_fire(&t);
    g_assert_false(lapic_irr_has(&t, 1, 0x62));
    check_iopf(&t, 1, AMD_IOMMU_EVT_IOPF_PR | AMD_IOMMU_EVT_IOPF_RZ,
               MSI_ADDR);

    /* An index past IntTabLen (256 entries): not read at all. */
    write_irte_remapped(&t, 300, 1, 0x63);
    edu_set_irte(&t, 300);
    edu_fire(&t);
    g_assert_false(lapic_irr_has(&t, 1, 0x63));
    check_iopf(&t, 2, 0, MSI_ADDR);

    /* An IRT that is not RAM: the fault names the entry's address. */
    dte2 = qtest_readq(t.qts, DEVTAB_GPA + EDU_DEVID * AMD_IOMMU_DTE_SIZE +
                       16);
    qtest_writeq(t.qts, DEVTAB_GPA + EDU_DEVID * AMD_IOMMU_DTE_SIZE + 16,
                 (dte2 & ~AMD_IOMMU_DTE_Q2_IRT_ROOT_MASK) | NOT_RAM_GPA);
    iommu_command(&t, (uint64_t)AMD_IOMMU_CMD_INVAL_DEVTAB <<
                  AMD_IOMMU_CMD_OPCODE_SHIFT | EDU_DEVID, 0);
    iommu_completion_wait(&t, 0x600f);
    edu_set_irte(&t, 4);
    edu_fire(&t);
    check_iopf(&t, 3, 0, NOT_RAM_GPA + 4 * AMD_IOMMU_IRTE_GA_SIZE);
    g_assert_cmpuint(ga_counter(&t, "ga-errors"), ==, 5);
    ga_stop(&t);

    /* Without the vAPIC mode: upstream's abort, no event. */
    ga_start(&t, "amd-iommu,id=iommu,intremap=on,xtsup=on");
    write_irte_raw(&t, 4, 1ULL << AMD_IOMMU_IRTE_LO_DEST_SHIFT, 0x61);
    edu_set_irte(&t, 4);
    edu_fire(&t);
    g_assert_false(lapic_irr_has(&t, 1, 0x61));
    g_assert_cmphex(iommu_readq(&t, AMD_IOMMU_MMIO_EVTLOG_TAIL), ==, 0);
    ga_stop(&t);
}

/* A 32-bit IRTE (Control.GAEn = 0) at @index: fixed, physical. */
static void write_irte32(GaTest *t, int index, uint32_t flags, uint8_t dest,
                         uint8_t vector)
{
    qtest_writel(t->qts, IRT_GPA + index * AMD_IOMMU_IRTE32_SIZE,
                 flags | dest << 8 | vector << 16);
}

/*
 * 32-bit IRTEs are cached like 128-bit ones (every field) and their
 * faults reported alike: RemapEn = 0 and GuestMode = 1 (which the
 * format does not have) log IO_PAGE_FAULT with I = 1.
 */
static void test_irte32(void)
{
    uint64_t misses, stale;
    GaTest t;

    ga_start(&t, GA_IOMMU ",irt-cache=strict");
    t.no_flush = true;
    iommu_control_set(&t, 0, AMD_IOMMU_CTRL_GA_EN | AMD_IOMMU_CTRL_XT_EN);
    misses = ga_counter(&t, "ga-irt-misses");
    stale = ga_counter(&t, "ga-irt-stale-hits");
    write_irte32(&t, 6, AMD_IOMMU_IRTE_LO_REMAP_EN, 1, 0x71);
    edu_set_irte(&t, 6);
    edu_fire(&t);
    g_assert_true(lapic_irr_has(&t, 1, 0x71));
    g_assert_cmpuint(ga_counter(&t, "ga-irt-misses"), ==, misses + 1);

    /* The vector changed, no invalidation: the cached one. */
    write_irte32(&t, 6, AMD_IOMMU_IRTE_LO_REMAP_EN, 1, 0x72);
    edu_fire(&t);
    g_assert_false(lapic_irr_has(&t, 1, 0x72));
    g_assert_cmpuint(ga_counter(&t, "ga-irt-stale-hits"), ==, stale + 1);
    iommu_flush_irt(&t);
    edu_fire(&t);
    g_assert_true(lapic_irr_has(&t, 1, 0x72));

    /* RemapEn = 0, then GuestMode = 1: aborted, each an event. */
    write_irte32(&t, 7, 0, 1, 0x73);
    edu_set_irte(&t, 7);
    edu_fire(&t);
    g_assert_false(lapic_irr_has(&t, 1, 0x73));
    check_iopf(&t, 0, 0, MSI_ADDR);
    write_irte32(&t, 8, AMD_IOMMU_IRTE_LO_REMAP_EN |
                 AMD_IOMMU_IRTE_LO_GUEST_MODE, 1, 0x74);
    edu_set_irte(&t, 8);
    edu_fire(&t);
    g_assert_false(lapic_irr_has(&t, 1, 0x74));
    check_iopf(&t, 1, AMD_IOMMU_EVT_IOPF_PR | AMD_IOMMU_EVT_IOPF_RZ,
               MSI_ADDR);
    ga_stop(&t);
}

/* ------------------------------------------------------------------ */
/* XT interrupts of the event log and COMPLETION_WAIT                 */
/* ------------------------------------------------------------------ */

static uint64_t xt_reg(uint8_t vector, uint32_t dest)
{
    return (uint64_t)vector << AMD_IOMMU_XT_INT_VECTOR_SHIFT |
           (uint64_t)(dest & 0xffffff) << AMD_IOMMU_XT_INT_DEST_LO_SHIFT |
           (uint64_t)(dest >> 24) << AMD_IOMMU_XT_INT_DEST_HI_SHIFT;
}

/*
 * With IntCapXTEn (Linux in x2APIC mode) the event-log interrupt and
 * COMPLETION_WAIT's go as register 0x170 says, not through the MSI;
 * 0x170 and 0x178 exist with xtsup=on (no vAPIC mode needed).
 */
static void test_xt_event_interrupt(void)
{
    const uint8_t vec = 0x74;
    GaTest t;

    ga_start(&t, "amd-iommu,id=iommu,intremap=on,xtsup=on");
    pci_set_msi(t.iommu_pci, t.iommu_msi, MSI_ADDR, IOMMU_VEC);
    iommu_writeq(&t, AMD_IOMMU_MMIO_XT_EVT_INTCTL, ~0ULL);
    g_assert_cmphex(iommu_readq(&t, AMD_IOMMU_MMIO_XT_EVT_INTCTL), ==,
                    AMD_IOMMU_XT_INT_DM | AMD_IOMMU_XT_INT_DEST_LO_MASK |
                    AMD_IOMMU_XT_INT_VECTOR_MASK |
                    AMD_IOMMU_XT_INT_DEST_HI_MASK);
    iommu_writeq(&t, AMD_IOMMU_MMIO_XT_PPR_INTCTL, xt_reg(0x76, 1));
    g_assert_cmphex(iommu_readq(&t, AMD_IOMMU_MMIO_XT_PPR_INTCTL), ==,
                    xt_reg(0x76, 1));
    iommu_writeq(&t, AMD_IOMMU_MMIO_XT_EVT_INTCTL, xt_reg(vec, 1));
    iommu_control_set(&t, AMD_IOMMU_CTRL_EVTINT_EN |
                      AMD_IOMMU_CTRL_INTCAPXT_EN, 0);

    /* An illegal command logs an event: its interrupt is XT's. */
    iommu_command(&t, 0xfULL << AMD_IOMMU_CMD_OPCODE_SHIFT, 0);
    g_assert_cmphex(iommu_readq(&t, AMD_IOMMU_MMIO_EVTLOG_TAIL), ==,
                    AMD_IOMMU_EVT_SIZE);
    g_assert_true(iommu_readq(&t, AMD_IOMMU_MMIO_STATUS) &
                  AMD_IOMMU_STATUS_EVT_INT);
    g_assert_true(lapic_irr_has(&t, 1, vec));
    g_assert_false(lapic_irr_has(&t, 0, IOMMU_VEC));

    /* COMPLETION_WAIT with its interrupt bit: the same register. */
    iommu_writeq(&t, AMD_IOMMU_MMIO_XT_EVT_INTCTL, xt_reg(vec + 1, 0));
    qtest_writeq(t.qts, CW_STORE_GPA, 0);
    iommu_command(&t, CW_STORE_GPA | AMD_IOMMU_CW_STORE |
                  AMD_IOMMU_CW_INTERRUPT |
                  ((uint64_t)AMD_IOMMU_CMD_COMPLETION_WAIT <<
                   AMD_IOMMU_CMD_OPCODE_SHIFT), 0x77);
    g_assert_cmphex(qtest_readq(t.qts, CW_STORE_GPA), ==, 0x77);
    g_assert_true(lapic_irr_has(&t, 0, vec + 1));
    g_assert_false(lapic_irr_has(&t, 0, IOMMU_VEC));

    /* Masked (Linux writes 0): nothing, and still not the MSI. */
    iommu_writeq(&t, AMD_IOMMU_MMIO_STATUS, AMD_IOMMU_STATUS_EVT_INT);
    iommu_writeq(&t, AMD_IOMMU_MMIO_XT_EVT_INTCTL, 0);
    iommu_command(&t, 0xfULL << AMD_IOMMU_CMD_OPCODE_SHIFT, 0);
    g_assert_cmphex(iommu_readq(&t, AMD_IOMMU_MMIO_EVTLOG_TAIL), ==,
                    2 * AMD_IOMMU_EVT_SIZE);
    g_assert_false(lapic_irr_has(&t, 0, IOMMU_VEC));

    /* IntCapXTEn = 0: the MSI, as upstream. */
    iommu_control_set(&t, 0, AMD_IOMMU_CTRL_INTCAPXT_EN);
    iommu_command(&t, 0xfULL << AMD_IOMMU_CMD_OPCODE_SHIFT, 0);
    g_assert_true(lapic_irr_has(&t, 0, IOMMU_VEC));
    ga_stop(&t);

    /* Without xtsup the XT registers do not exist. */
    memset(&t, 0, sizeof(t));
    t.qts = qtest_init("-M q35 -device amd-iommu,id=iommu,intremap=on");
    iommu_writeq(&t, AMD_IOMMU_MMIO_XT_EVT_INTCTL, xt_reg(vec, 1));
    g_assert_cmphex(iommu_readq(&t, AMD_IOMMU_MMIO_XT_EVT_INTCTL), ==, 0);
    qtest_quit(t.qts);
}

/* ------------------------------------------------------------------ */
/* Measurement (only with AMD_IOMMU_GA_BENCH=N in the environment)    */
/* ------------------------------------------------------------------ */

/*
 * N remapped-mode interrupts, then N posted ones (IsRun = 1: IRR bit
 * and doorbell), then N posted ones that log (IsRun = 0, GALogIntr = 1),
 * all from edu through the same IOMMU in one QEMU.  Run QEMU under
 * callgrind with --dump-after=amdvi_mem_ir_write to get one profile
 * per interrupt (docs/specs/amd-iommu-ga.rst, "Cost").
 * AMD_IOMMU_GA_BENCH_OPTS is appended to the device (",timing=on":
 * each posted interrupt's notification then runs in the timer, after
 * a clock step: docs/specs/amd-iommu-timing.rst, "Cost").
 */
static void bench_fire(GaTest *t, bool timed)
{
    edu_fire(t);
    if (timed) {
        /* timing=on: let the deferred notification run (its own dump) */
        qtest_clock_step(t->qts, 1000000);
    }
}

static void test_bench(void)
{
    int n = atoi(g_getenv("AMD_IOMMU_GA_BENCH"));
    const char *opts = g_getenv("AMD_IOMMU_GA_BENCH_OPTS") ?: "";
    g_autofree char *dev = g_strconcat(GA_IOMMU, opts, NULL);
    bool timed = strstr(opts, "timing=on");
    GaTest t;

    ga_start(&t, dev);
    edu_set_irte(&t, 1);
    write_irte_remapped(&t, 1, 1, 0x61);
    for (int i = 0; i < n; i++) {
        edu_fire(&t);
    }
    write_irte_guest(&t, 1, &(GaIrte) {
        .lo_flags = AMD_IOMMU_IRTE_LO_IS_RUN, .dest = 1, .vector = VEC_A,
        .backing = PAGE_A });
    for (int i = 0; i < n; i++) {
        bench_fire(&t, timed);
    }
    write_irte_guest(&t, 1, &(GaIrte) {
        .lo_flags = AMD_IOMMU_IRTE_LO_GA_LOG_INTR, .dest = 1, .tag = 1,
        .vector = VEC_A, .backing = PAGE_A });
    for (int i = 0; i < n; i++) {
        bench_fire(&t, timed);
    }
    g_assert_cmpuint(ga_counter(&t, "ga-posted"), ==, 2 * n);
    g_assert_cmpuint(ga_counter(&t, "ga-log-entries"), ==, n);
    ga_stop(&t);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    qtest_add_func("/amd-iommu-ga/config/features", test_features);
    qtest_add_func("/amd-iommu-ga/config/mission-line", test_mission_line);
    qtest_add_func("/amd-iommu-ga/config/refused", test_refused);
    qtest_add_func("/amd-iommu-ga/config/efr2", test_efr2);
    qtest_add_func("/amd-iommu-ga/post/running", test_post_running);
    qtest_add_func("/amd-iommu-ga/post/not-running", test_post_not_running);
    qtest_add_func("/amd-iommu-ga/galog/xt-interrupt",
                   test_galog_xt_interrupt);
    qtest_add_func("/amd-iommu-ga/galog/wrap", test_galog_wrap);
    qtest_add_func("/amd-iommu-ga/galog/overflow-restart",
                   test_galog_overflow_restart);
    qtest_add_func("/amd-iommu-ga/galog/errors", test_galog_errors);
    qtest_add_func("/amd-iommu-ga/gappi", test_gappi);
    qtest_add_func("/amd-iommu-ga/gappi/first-pending",
                   test_gappi_first_pending);
    qtest_add_func("/amd-iommu-ga/errors", test_errors);
    qtest_add_func("/amd-iommu-ga/errors/remapped", test_remap_faults);
    qtest_add_func("/amd-iommu-ga/irt-cache/irte32", test_irte32);
    qtest_add_func("/amd-iommu-ga/invalidation", test_invalidation);
    qtest_add_func("/amd-iommu-ga/irt-cache/strict", test_irt_cache_strict);
    qtest_add_func("/amd-iommu-ga/irt-cache/modes", test_irt_cache_modes);
    qtest_add_func("/amd-iommu-ga/xt/event-interrupt",
                   test_xt_event_interrupt);
    if (g_getenv("AMD_IOMMU_GA_BENCH")) {
        qtest_add_func("/amd-iommu-ga/bench", test_bench);
    }
    return g_test_run();
}
