/*
 * QTest: migrating the AMD IOMMU's guest virtual APIC mode
 *
 * amd-iommu migrates only when its PCI function is created separately
 * (-device AMDVI-PCI,id=x -device amd-iommu,pci-id=x).  The source
 * posts a few interrupts, leaving a GA log entry that software has not
 * consumed, GALogInt set and counters non-zero; it migrates to a file,
 * a second QEMU loads it, and we check that the registers, the pending
 * entry, the counters and the local APIC's pending log interrupt all
 * came across, and that the log goes on from the migrated tail.  A
 * destination without the vAPIC mode (or GAPPI) refuses a guest that
 * was shown it in EFR/EFR2, used or not; later counters migrate in a
 * subsection of their own.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "amd-iommu-ga-qtest.h"

#define LOG_VEC         0x72
#define PAGE            BACKING_GPA

/* The source: one pending GA log entry, one doorbell, GALogInt set. */
static void source_state(GaTest *t)
{
    iommu_writeq(t, AMD_IOMMU_MMIO_XT_GA_INTCTL,
                 ((uint64_t)LOG_VEC << AMD_IOMMU_XT_INT_VECTOR_SHIFT) |
                 (1ULL << AMD_IOMMU_XT_INT_DEST_LO_SHIFT));
    iommu_control_set(t, AMD_IOMMU_CTRL_INTCAPXT_EN, 0);

    write_irte_guest(t, 3, &(GaIrte) {
        .lo_flags = AMD_IOMMU_IRTE_LO_IS_RUN, .dest = 1, .vector = 0x51,
        .backing = PAGE });
    edu_set_irte(t, 3);
    edu_fire(t);
    write_irte_guest(t, 3, &(GaIrte) {
        .lo_flags = AMD_IOMMU_IRTE_LO_GA_LOG_INTR, .dest = 1,
        .tag = 0xcafe01, .vector = 0x52, .backing = PAGE });
    edu_fire(t);

    g_assert_cmphex(galog_entry(t, 0), ==, galog_expect(0xcafe01, EDU_DEVID));
    g_assert_true(lapic_irr_has(t, 1, LOG_VEC));
}

static void test_migrate_pending_entry(void)
{
    g_autofree char *dir = g_dir_make_tmp("amd-iommu-ga-XXXXXX", NULL);
    g_autofree char *file = g_build_filename(dir, "state", NULL);
    g_autofree char *uri = g_strdup_printf("file:%s", file);
    GaTest src, dst;
    uint64_t status;

    ga_start(&src, MIG_IOMMU("intremap=on,xtsup=on,vapic=on"));
    source_state(&src);
    migrate_out(&src, uri);

    memset(&dst, 0, sizeof(dst));
    dst.cmd_tail = src.cmd_tail;        /* the command buffer migrates */
    dst.qts = start_incoming(MIG_IOMMU("intremap=on,xtsup=on,vapic=on"));
    qtest_qmp_assert_success(dst.qts, "{'execute': 'migrate-incoming', "
                             "'arguments': {'uri': %s}}", uri);
    wait_migration(dst.qts);
    wait_running(dst.qts);

    /* Registers: the log, its pointers, status and interrupt. */
    g_assert_cmphex(iommu_readq(&dst, AMD_IOMMU_MMIO_GALOG_BASE), ==,
                    iommu_readq(&src, AMD_IOMMU_MMIO_GALOG_BASE));
    g_assert_cmphex(iommu_readq(&dst, AMD_IOMMU_MMIO_GALOG_TAIL_ADDR), ==,
                    GALOG_TAIL_GPA);
    g_assert_cmphex(iommu_readq(&dst, AMD_IOMMU_MMIO_GALOG_HEAD), ==, 0);
    g_assert_cmphex(iommu_readq(&dst, AMD_IOMMU_MMIO_GALOG_TAIL), ==, 8);
    g_assert_cmphex(iommu_readq(&dst, AMD_IOMMU_MMIO_XT_GA_INTCTL), ==,
                    iommu_readq(&src, AMD_IOMMU_MMIO_XT_GA_INTCTL));
    g_assert_cmphex(iommu_readq(&dst, AMD_IOMMU_MMIO_CONTROL), ==,
                    iommu_readq(&src, AMD_IOMMU_MMIO_CONTROL));
    status = iommu_readq(&dst, AMD_IOMMU_MMIO_STATUS);
    g_assert_true(status & AMD_IOMMU_STATUS_GALOG_RUN);
    g_assert_true(status & AMD_IOMMU_STATUS_GALOG_INT);

    /* Guest memory: the pending entry, the tail copy, the IRR bits. */
    g_assert_cmphex(galog_entry(&dst, 0), ==,
                    galog_expect(0xcafe01, EDU_DEVID));
    g_assert_cmphex(qtest_readq(dst.qts, GALOG_TAIL_GPA), ==, 8);
    g_assert_true(backing_irr_has(&dst, PAGE, 0x51));
    g_assert_true(backing_irr_has(&dst, PAGE, 0x52));
    g_assert_true(lapic_irr_has(&dst, 1, LOG_VEC));

    /* Counters. */
    g_assert_cmpuint(ga_counter(&dst, "ga-posted"), ==, 2);
    g_assert_cmpuint(ga_counter(&dst, "ga-doorbells"), ==, 1);
    g_assert_cmpuint(ga_counter(&dst, "ga-doorbell-last-dest"), ==, 1);
    g_assert_cmpuint(ga_counter(&dst, "ga-log-entries"), ==, 1);
    g_assert_cmpuint(ga_counter(&dst, "ga-log-interrupts"), ==, 1);

    /*
     * The log goes on from the migrated tail (edu keeps no migratable
     * state: program it again).  GALogInt is still set: no interrupt
     * until software clears it.
     */
    ga_pci_init(&dst);
    edu_set_irte(&dst, 3);
    write_irte_guest(&dst, 3, &(GaIrte) {
        .lo_flags = AMD_IOMMU_IRTE_LO_GA_LOG_INTR, .dest = 1,
        .tag = 0xcafe02, .vector = 0x53, .backing = PAGE });
    edu_fire(&dst);
    g_assert_cmphex(galog_entry(&dst, 8), ==,
                    galog_expect(0xcafe02, EDU_DEVID));
    g_assert_cmphex(iommu_readq(&dst, AMD_IOMMU_MMIO_GALOG_TAIL), ==, 16);
    g_assert_cmpuint(ga_counter(&dst, "ga-log-interrupts"), ==, 1);
    iommu_writeq(&dst, AMD_IOMMU_MMIO_STATUS, AMD_IOMMU_STATUS_GALOG_INT);
    iommu_writeq(&dst, AMD_IOMMU_MMIO_XT_GA_INTCTL,
                 (uint64_t)(LOG_VEC + 1) << AMD_IOMMU_XT_INT_VECTOR_SHIFT);
    edu_fire(&dst);
    g_assert_true(lapic_irr_has(&dst, 0, LOG_VEC + 1));
    g_assert_cmpuint(ga_counter(&dst, "ga-log-entries"), ==, 3);
    g_assert_cmpuint(ga_counter(&dst, "ga-log-interrupts"), ==, 2);

    ga_stop(&dst);
    ga_stop(&src);
    unlink(file);
    rmdir(dir);
}

/* Migrate @src to a file; a destination with @dst_opts must refuse it. */
static void expect_refused(GaTest *src, const char *dst_opts)
{
    g_autofree char *dir = g_dir_make_tmp("amd-iommu-ga-XXXXXX", NULL);
    g_autofree char *file = g_build_filename(dir, "state", NULL);
    g_autofree char *uri = g_strdup_printf("file:%s", file);
    g_autofree char *dev = g_strdup_printf(MIG_IOMMU("%s"), dst_opts);
    QTestState *dst;

    migrate_out(src, uri);
    dst = start_incoming(dev);
    qtest_set_expected_status(dst, EXIT_FAILURE);
    qtest_qmp_assert_success(dst, "{'execute': 'migrate-incoming', "
                             "'arguments': {'uri': %s}}", uri);
    qtest_wait_qemu(dst);
    qtest_quit(dst);
    unlink(file);
    rmdir(dir);
}

/* A guest that uses the vAPIC mode cannot land where it is off. */
static void test_migrate_refused(void)
{
    GaTest src;

    ga_start(&src, MIG_IOMMU("intremap=on,xtsup=on,vapic=on"));
    source_state(&src);
    expect_refused(&src, "intremap=on,xtsup=on,vapic=off");
    ga_stop(&src);
}

/*
 * Nor one that was only shown it: EFR (GAMSup, GAPPI) and EFR2 migrate
 * in mmior[], and the registers behind them would be dead.  The guest
 * has not touched the IOMMU at all.
 */
static void test_migrate_refused_unused(void)
{
    static const struct {
        const char *src, *dst;
    } cases[] = {
        { "vapic=on", "vapic=off" },
        { "vapic=on", "intremap=on" },
        { "gappi=on", "vapic=on" },
    };

    for (int i = 0; i < ARRAY_SIZE(cases); i++) {
        GaTest src = { 0 };

        src.qts = qtest_initf("-M q35 -smp 2 -device " MIG_IOMMU("%s")
                              " -device edu,addr=%d.0", cases[i].src,
                              EDU_SLOT);
        expect_refused(&src, cases[i].dst);
        qtest_quit(src.qts);
    }
}

/* Counters added later (a subsection of their own) migrate too. */
static void test_migrate_counters(void)
{
    g_autofree char *dir = g_dir_make_tmp("amd-iommu-ga-XXXXXX", NULL);
    g_autofree char *file = g_build_filename(dir, "state", NULL);
    g_autofree char *uri = g_strdup_printf("file:%s", file);
    GaTest src, dst = { 0 };

    ga_start(&src, MIG_IOMMU("xtsup=on,gappi=on"));
    iommu_control_set(&src, AMD_IOMMU_CTRL_GAPPI_EN, 0);
    write_irte_guest(&src, 3, &(GaIrte) {
        .dest = 1, .tag = 0xe9, .vector = 0x51, .backing = PAGE });
    edu_set_irte(&src, 3);
    edu_fire(&src);
    edu_fire(&src);
    g_assert_cmpuint(ga_counter(&src, "ga-gappi-interrupts"), ==, 1);
    g_assert_cmpuint(ga_counter(&src, "ga-gappi-suppressed"), ==, 1);
    migrate_out(&src, uri);

    dst.qts = start_incoming(MIG_IOMMU("xtsup=on,gappi=on"));
    qtest_qmp_assert_success(dst.qts, "{'execute': 'migrate-incoming', "
                             "'arguments': {'uri': %s}}", uri);
    wait_migration(dst.qts);
    wait_running(dst.qts);
    g_assert_cmpuint(ga_counter(&dst, "ga-gappi-interrupts"), ==, 1);
    g_assert_cmpuint(ga_counter(&dst, "ga-gappi-suppressed"), ==, 1);
    g_assert_cmphex(iommu_readq(&dst, AMD_IOMMU_MMIO_EFR2), ==,
                    AMD_IOMMU_EFR2_GAPPI_DIS_SUP);
    qtest_quit(dst.qts);
    ga_stop(&src);
    unlink(file);
    rmdir(dir);
}

/*
 * The IRTE cache migrates: an entry changed in memory without an
 * invalidation is still the old one on the destination (strict), until
 * it is invalidated there.
 */
static void test_migrate_irt_cache(void)
{
    g_autofree char *dir = g_dir_make_tmp("amd-iommu-ga-XXXXXX", NULL);
    g_autofree char *file = g_build_filename(dir, "state", NULL);
    g_autofree char *uri = g_strdup_printf("file:%s", file);
    GaTest src, dst = { 0 };

    ga_start(&src, MIG_IOMMU("xtsup=on,vapic=on,irt-cache=strict"));
    write_irte_remapped(&src, 3, 1, 0x61);
    edu_set_irte(&src, 3);
    edu_fire(&src);
    g_assert_true(lapic_irr_has(&src, 1, 0x61));
    src.no_flush = true;
    write_irte_remapped(&src, 3, 1, 0x62);
    migrate_out(&src, uri);

    dst.cmd_tail = src.cmd_tail;
    dst.qts = start_incoming(MIG_IOMMU("xtsup=on,vapic=on,irt-cache=strict"));
    qtest_qmp_assert_success(dst.qts, "{'execute': 'migrate-incoming', "
                             "'arguments': {'uri': %s}}", uri);
    wait_migration(dst.qts);
    wait_running(dst.qts);
    ga_pci_init(&dst);
    edu_set_irte(&dst, 3);
    edu_fire(&dst);
    g_assert_false(lapic_irr_has(&dst, 1, 0x62));
    g_assert_cmpuint(ga_counter(&dst, "ga-irt-stale-hits"), ==, 1);
    iommu_flush_irt(&dst);
    edu_fire(&dst);
    g_assert_true(lapic_irr_has(&dst, 1, 0x62));

    ga_stop(&dst);
    ga_stop(&src);
    unlink(file);
    rmdir(dir);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    qtest_add_func("/amd-iommu-ga/migration/pending-entry",
                   test_migrate_pending_entry);
    qtest_add_func("/amd-iommu-ga/migration/refused", test_migrate_refused);
    qtest_add_func("/amd-iommu-ga/migration/refused-unused",
                   test_migrate_refused_unused);
    qtest_add_func("/amd-iommu-ga/migration/counters",
                   test_migrate_counters);
    qtest_add_func("/amd-iommu-ga/migration/irt-cache",
                   test_migrate_irt_cache);
    return g_test_run();
}
