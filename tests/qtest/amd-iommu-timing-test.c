/*
 * QTest for the AMD IOMMU's timing model (timing=on)
 *
 * The qtest accelerator runs no vCPU and moves the virtual clock only
 * when told (clock_step), so the test sees exactly when each effect of
 * a posted interrupt happens:
 *
 * - the IRR bit is set at the MSI write, at once;
 * - the notification (GA log entry and its interrupt, GAPPI interrupt,
 *   doorbell) happens when the clock reaches the modelled delay, not
 *   one nanosecond before; the delay is computed here from the
 *   device's own timing-* properties;
 * - notifications keep the order of their MSIs even when a later one
 *   has a shorter path;
 * - a full queue makes the oldest notification happen early, nothing
 *   is lost; a reset drops what is in flight;
 * - migration carries a notification in flight, which happens on the
 *   destination at its time; a destination with timing=off refuses it;
 * - refusals at realize.
 *
 * docs/specs/amd-iommu-timing.rst.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "amd-iommu-ga-qtest.h"

#define VEC_A           0x41
#define VEC_B           0x52
#define PAGE_A          (BACKING_GPA)
#define TAG_A           0x00a1b2c3
#define IOMMU_VEC       0x71        /* the IOMMU's own interrupt */
#define WAKE_VEC        0xe5        /* GAPPI: GATag[7:0] */
#define QUEUE_LEN       64          /* AMDVI_TIMING_QUEUE_LEN */

/* Explicit parameters, so that the delays are round numbers. */
#define TIMED_IOMMU     GA_IOMMU ",timing=on,timing-mhz=1000," \
                        "timing-irte-fetch=100,timing-irr-write=200," \
                        "timing-doorbell=50,timing-galog-entry=300," \
                        "timing-galog-intr=400,timing-gappi-intr=150"

static uint64_t prop(GaTest *t, const char *name)
{
    return ga_counter(t, name);
}

/* Cycles at timing-mhz to ns, rounded as the model does. */
static int64_t cycles_ns(GaTest *t, uint64_t cycles)
{
    uint64_t mhz = prop(t, "timing-mhz");

    return (cycles * 1000 + mhz / 2) / mhz;
}

static int64_t path_ns(GaTest *t, const char *a, const char *b)
{
    uint64_t c = prop(t, "timing-irte-fetch") + prop(t, "timing-irr-write");

    c += a ? prop(t, a) : 0;
    c += b ? prop(t, b) : 0;
    return cycles_ns(t, c);
}

static int64_t galog_ns(GaTest *t)
{
    return path_ns(t, "timing-galog-entry", "timing-galog-intr");
}

static void galog_irte(GaTest *t, uint8_t vector)
{
    write_irte_guest(t, 3, &(GaIrte) {
        .lo_flags = AMD_IOMMU_IRTE_LO_GA_LOG_INTR, .dest = 1, .tag = TAG_A,
        .vector = vector, .backing = PAGE_A });
    iommu_flush_irt(t);
}

static void doorbell_irte(GaTest *t, uint8_t vector)
{
    write_irte_guest(t, 3, &(GaIrte) {
        .lo_flags = AMD_IOMMU_IRTE_LO_IS_RUN, .dest = 1, .vector = vector,
        .backing = PAGE_A });
    iommu_flush_irt(t);
}

static void timed_start(GaTest *t, const char *device)
{
    ga_start(t, device);
    pci_set_msi(t->iommu_pci, t->iommu_msi, MSI_ADDR | (1 << 12), IOMMU_VEC);
    edu_set_irte(t, 3);
}

/* The GA log entry: not before the delay, at the delay. */
static void check_galog_delay(const char *device, int64_t expect_ns)
{
    GaTest t;
    int64_t d;

    timed_start(&t, device);
    d = galog_ns(&t);
    if (expect_ns) {
        g_assert_cmpint(d, ==, expect_ns);
    }
    galog_irte(&t, VEC_A);
    edu_fire(&t);

    /* The IRR bit at once; nothing else yet. */
    g_assert_true(backing_irr_has(&t, PAGE_A, VEC_A));
    g_assert_cmpuint(ga_counter(&t, "ga-posted"), ==, 1);
    g_assert_cmphex(galog_entry(&t, 0), ==, 0);
    g_assert_cmphex(iommu_readq(&t, AMD_IOMMU_MMIO_GALOG_TAIL), ==, 0);
    g_assert_false(lapic_irr_has(&t, 1, IOMMU_VEC));

    /* One nanosecond short of the delay: still nothing. */
    qtest_clock_step(t.qts, d - 1);
    g_assert_cmphex(galog_entry(&t, 0), ==, 0);
    g_assert_cmpuint(ga_counter(&t, "ga-log-entries"), ==, 0);
    g_assert_false(lapic_irr_has(&t, 1, IOMMU_VEC));

    /* At the delay: the entry, the tail, its copy and the interrupt. */
    qtest_clock_step(t.qts, 1);
    g_assert_cmphex(galog_entry(&t, 0), ==, galog_expect(TAG_A, EDU_DEVID));
    g_assert_cmphex(iommu_readq(&t, AMD_IOMMU_MMIO_GALOG_TAIL), ==, 8);
    g_assert_cmphex(qtest_readq(t.qts, GALOG_TAIL_GPA), ==, 8);
    g_assert_true(lapic_irr_has(&t, 1, IOMMU_VEC));
    g_assert_cmpuint(ga_counter(&t, "ga-log-entries"), ==, 1);
    g_assert_cmpuint(ga_counter(&t, "ga-log-interrupts"), ==, 1);
    ga_stop(&t);
}

static void test_galog_delay(void)
{
    /* 100 + 200 + 300 + 400 cycles at 1000 MHz */
    check_galog_delay(TIMED_IOMMU, 1000);
}

static void test_galog_delay_defaults(void)
{
    /* The documented defaults; the delay from the properties. */
    check_galog_delay(GA_IOMMU ",timing=on", 0);
}

/* GAPPI: the wake-up vector at Destination after its delay. */
static void test_gappi_delay(void)
{
    GaTest t;
    int64_t d;

    timed_start(&t, TIMED_IOMMU ",gappi=on");
    d = path_ns(&t, "timing-gappi-intr", NULL);
    g_assert_cmpint(d, ==, 450);
    iommu_control_set(&t, AMD_IOMMU_CTRL_GAPPI_EN, 0);
    write_irte_guest(&t, 3, &(GaIrte) {
        .dest = 1, .tag = 0x4400 | WAKE_VEC, .vector = VEC_B,
        .backing = PAGE_A });
    iommu_flush_irt(&t);
    edu_fire(&t);
    g_assert_true(backing_irr_has(&t, PAGE_A, VEC_B));
    qtest_clock_step(t.qts, d - 1);
    g_assert_false(lapic_irr_has(&t, 1, WAKE_VEC));
    g_assert_cmpuint(ga_counter(&t, "ga-gappi-interrupts"), ==, 0);
    qtest_clock_step(t.qts, 1);
    g_assert_true(lapic_irr_has(&t, 1, WAKE_VEC));
    g_assert_cmpuint(ga_counter(&t, "ga-gappi-interrupts"), ==, 1);
    g_assert_cmphex(iommu_readq(&t, AMD_IOMMU_MMIO_GALOG_TAIL), ==, 0);
    ga_stop(&t);
}

/*
 * Order: a doorbell (350 ns) posted after a GA log entry (1000 ns)
 * waits for it, though alone it would go first.
 */
static void test_fifo(void)
{
    GaTest t;
    int64_t dl, dd;

    timed_start(&t, TIMED_IOMMU);
    dl = galog_ns(&t);
    dd = path_ns(&t, "timing-doorbell", NULL);
    g_assert_cmpint(dd, ==, 350);

    /* Alone, the doorbell comes after its own delay. */
    doorbell_irte(&t, VEC_B);
    edu_fire(&t);
    g_assert_true(backing_irr_has(&t, PAGE_A, VEC_B));
    qtest_clock_step(t.qts, dd - 1);
    g_assert_cmpuint(ga_counter(&t, "ga-doorbells"), ==, 0);
    qtest_clock_step(t.qts, 1);
    g_assert_cmpuint(ga_counter(&t, "ga-doorbells"), ==, 1);

    /* A GA log entry, then a doorbell 10 ns later. */
    galog_irte(&t, VEC_A);
    edu_fire(&t);
    qtest_clock_step(t.qts, 10);
    doorbell_irte(&t, VEC_B);
    edu_fire(&t);
    g_assert_cmpuint(ga_counter(&t, "ga-posted"), ==, 3);

    qtest_clock_step(t.qts, dd);    /* the doorbell's own time: waits */
    g_assert_cmpuint(ga_counter(&t, "ga-doorbells"), ==, 1);
    g_assert_cmpuint(ga_counter(&t, "ga-log-entries"), ==, 0);
    qtest_clock_step(t.qts, dl - 10 - dd - 1);
    g_assert_cmpuint(ga_counter(&t, "ga-log-entries"), ==, 0);
    g_assert_cmpuint(ga_counter(&t, "ga-doorbells"), ==, 1);
    qtest_clock_step(t.qts, 1);     /* both, the entry first */
    g_assert_cmpuint(ga_counter(&t, "ga-log-entries"), ==, 1);
    g_assert_cmpuint(ga_counter(&t, "ga-doorbells"), ==, 2);
    ga_stop(&t);
}

/*
 * More MSIs than the queue holds, with the clock stopped: the oldest
 * notification happens early each time, and none is lost.
 */
static void test_queue_full(void)
{
    GaTest t;

    timed_start(&t, TIMED_IOMMU);
    galog_irte(&t, VEC_A);
    for (int i = 0; i < QUEUE_LEN; i++) {
        edu_fire(&t);
    }
    g_assert_cmpuint(ga_counter(&t, "ga-log-entries"), ==, 0);
    edu_fire(&t);
    g_assert_cmpuint(ga_counter(&t, "ga-log-entries"), ==, 1);
    edu_fire(&t);
    g_assert_cmpuint(ga_counter(&t, "ga-log-entries"), ==, 2);
    qtest_clock_step(t.qts, galog_ns(&t));
    g_assert_cmpuint(ga_counter(&t, "ga-log-entries"), ==, QUEUE_LEN + 2);
    g_assert_cmphex(iommu_readq(&t, AMD_IOMMU_MMIO_GALOG_TAIL), ==,
                    (QUEUE_LEN + 2) * 8);
    ga_stop(&t);
}

/* A system reset drops the notifications in flight. */
static void test_reset_drops(void)
{
    GaTest t;

    timed_start(&t, TIMED_IOMMU);
    doorbell_irte(&t, VEC_B);
    edu_fire(&t);
    edu_fire(&t);
    qtest_qmp_assert_success(t.qts, "{'execute': 'system_reset'}");
    qtest_clock_step(t.qts, 1000000);
    g_assert_cmpuint(ga_counter(&t, "ga-posted"), ==, 2);
    g_assert_cmpuint(ga_counter(&t, "ga-doorbells"), ==, 0);
    g_assert_cmpuint(ga_counter(&t, "ga-posted-running"), ==, 0);
    ga_stop(&t);
}

/* timing=off: the functional model, everything at the MSI write. */
static void test_off(void)
{
    GaTest t;

    timed_start(&t, GA_IOMMU ",timing=off,timing-irte-fetch=100000");
    galog_irte(&t, VEC_A);
    edu_fire(&t);
    g_assert_cmphex(galog_entry(&t, 0), ==, galog_expect(TAG_A, EDU_DEVID));
    g_assert_cmpuint(ga_counter(&t, "ga-log-entries"), ==, 1);
    ga_stop(&t);
}

/*
 * A GA log notification in flight migrates and happens on the
 * destination at its due time.  The qtest accelerator's virtual clock
 * is not migrated (a real machine's is), so the source never steps it:
 * both sides count from 0 and the due time means the same on both.
 */
static void mig_source(GaTest *src, const char *uri)
{
    ga_start(src, MIG_IOMMU("intremap=on,xtsup=on,vapic=on,timing=on,"
                            "timing-mhz=1000"));
    pci_set_msi(src->iommu_pci, src->iommu_msi, MSI_ADDR | (1 << 12),
                IOMMU_VEC);
    edu_set_irte(src, 3);
    galog_irte(src, VEC_A);
    edu_fire(src);
    g_assert_true(backing_irr_has(src, PAGE_A, VEC_A));
    g_assert_cmpuint(ga_counter(src, "ga-log-entries"), ==, 0);
    migrate_out(src, uri);
}

static void test_migrate_in_flight(void)
{
    g_autofree char *dir = g_dir_make_tmp("amd-iommu-timing-XXXXXX", NULL);
    g_autofree char *file = g_build_filename(dir, "state", NULL);
    g_autofree char *uri = g_strdup_printf("file:%s", file);
    GaTest src, dst;
    int64_t d;

    mig_source(&src, uri);
    memset(&dst, 0, sizeof(dst));
    dst.qts = start_incoming(MIG_IOMMU("intremap=on,xtsup=on,vapic=on,timing=on,"
                                       "timing-mhz=1000"));
    qtest_qmp_assert_success(dst.qts, "{'execute': 'migrate-incoming', "
                             "'arguments': {'uri': %s}}", uri);
    wait_migration(dst.qts);
    wait_running(dst.qts);

    d = galog_ns(&dst);
    g_assert_true(backing_irr_has(&dst, PAGE_A, VEC_A));
    g_assert_cmphex(galog_entry(&dst, 0), ==, 0);
    qtest_clock_step(dst.qts, d - 1);
    g_assert_cmphex(galog_entry(&dst, 0), ==, 0);
    g_assert_cmpuint(ga_counter(&dst, "ga-log-entries"), ==, 0);
    qtest_clock_step(dst.qts, 1);
    g_assert_cmphex(galog_entry(&dst, 0), ==,
                    galog_expect(TAG_A, EDU_DEVID));
    g_assert_cmphex(iommu_readq(&dst, AMD_IOMMU_MMIO_GALOG_TAIL), ==, 8);
    g_assert_cmpuint(ga_counter(&dst, "ga-log-entries"), ==, 1);
    /* AMDVI-PCI has no vmstate (its MSI is off here): only the status. */
    g_assert_true(iommu_readq(&dst, AMD_IOMMU_MMIO_STATUS) &
                  AMD_IOMMU_STATUS_GALOG_INT);

    qtest_quit(dst.qts);
    ga_stop(&src);
    unlink(file);
    rmdir(dir);
}

static void test_migrate_refused(void)
{
    g_autofree char *dir = g_dir_make_tmp("amd-iommu-timing-XXXXXX", NULL);
    g_autofree char *file = g_build_filename(dir, "state", NULL);
    g_autofree char *uri = g_strdup_printf("file:%s", file);
    QTestState *dst;
    GaTest src;

    mig_source(&src, uri);
    dst = start_incoming(MIG_IOMMU("intremap=on,xtsup=on"));
    qtest_set_expected_status(dst, EXIT_FAILURE);
    qtest_qmp_assert_success(dst, "{'execute': 'migrate-incoming', "
                             "'arguments': {'uri': %s}}", uri);
    qtest_wait_qemu(dst);
    qtest_quit(dst);
    ga_stop(&src);
    unlink(file);
    rmdir(dir);
}

static void test_refused(void)
{
    static const struct {
        const char *device;
        const char *error;
    } cases[] = {
        { "amd-iommu,intremap=off,timing=on", "timing=on times the guest" },
        { "amd-iommu,intremap=on,vapic=on,timing=on,timing-mhz=0",
          "timing-mhz must be at least 1" },
    };

    for (int i = 0; i < ARRAY_SIZE(cases); i++) {
        g_autofree char *err = NULL;

        g_assert_cmpint(run_qemu_device(cases[i].device, &err), ==, 1);
        g_assert_nonnull(strstr(err, cases[i].error));
    }
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    qtest_add_func("/amd-iommu-timing/galog-delay", test_galog_delay);
    qtest_add_func("/amd-iommu-timing/galog-delay-defaults",
                   test_galog_delay_defaults);
    qtest_add_func("/amd-iommu-timing/gappi-delay", test_gappi_delay);
    qtest_add_func("/amd-iommu-timing/fifo", test_fifo);
    qtest_add_func("/amd-iommu-timing/queue-full", test_queue_full);
    qtest_add_func("/amd-iommu-timing/reset-drops", test_reset_drops);
    qtest_add_func("/amd-iommu-timing/off", test_off);
    qtest_add_func("/amd-iommu-timing/migration/in-flight",
                   test_migrate_in_flight);
    qtest_add_func("/amd-iommu-timing/migration/refused",
                   test_migrate_refused);
    qtest_add_func("/amd-iommu-timing/refused", test_refused);
    return g_test_run();
}
