/*
 * QTest for the AMD IOMMU: a guest's misprogramming is a guest error
 *
 * An MSI with the SMI delivery mode, or an IRTE with a reserved
 * interrupt type, fails to remap.  A guest can send such MSIs as fast
 * as it likes, so the host must not print a line for each: QEMU's rule
 * is qemu_log_mask(LOG_GUEST_ERROR), silent unless "-d guest_errors".
 * Each case runs twice, QEMU's stderr in a file: without
 * -d guest_errors the file stays empty, with it every message is there.
 * A remapped MSI after the bad ones checks the IOMMU still works.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "amd-iommu-ga-qtest.h"

#define BAD_MSIS        1000    /* a flood, as a guest could send */
#define GOOD_IRTE       1
#define GOOD_VECTOR     0x41
#define BAD_IRTE        2

/* MSI data: the delivery mode in [10:8], the IRTE index below it. */
#define MSI_DATA_SMI    (2 << 8)

typedef struct BadMsi {
    const char *name;
    uint16_t msi_data;          /* what edu sends */
    const char *message;        /* what -d guest_errors shows per MSI */
} BadMsi;

static const BadMsi bad_smi = {
    "smi", MSI_DATA_SMI, "amd-iommu: SMI from devid 0x20 is not supported",
};

static const BadMsi bad_int_type = {
    "reserved-int-type", BAD_IRTE, "amd-iommu: IRTE int_type is reserved",
};

/*
 * A machine in remapped mode whose stderr goes to @errfile, with
 * -d guest_errors if @log: IRTE GOOD_IRTE remaps to APIC 0, BAD_IRTE
 * has the reserved interrupt type 7.
 */
static void start(GaTest *t, const char *errfile, bool log)
{
    memset(t, 0, sizeof(*t));
    t->qts = qtest_initf("-M q35 -smp 2 -device " GA_IOMMU " "
                         "-device edu,addr=%d.0 %s 2>%s", EDU_SLOT,
                         log ? "-d guest_errors" : "", errfile);
    ga_pci_init(t);
    iommu_program_tables(t);
    iommu_writeq(t, AMD_IOMMU_MMIO_CONTROL,
                 AMD_IOMMU_CTRL_IOMMU_EN | AMD_IOMMU_CTRL_CMDBUF_EN |
                 AMD_IOMMU_CTRL_GA_EN | AMD_IOMMU_CTRL_XT_EN);
    write_irte_remapped(t, GOOD_IRTE, 0, GOOD_VECTOR);
    write_irte_raw(t, BAD_IRTE, AMD_IOMMU_IRTE_LO_REMAP_EN |
                   (7ULL << AMD_IOMMU_IRTE_LO_INTTYPE_SHIFT), GOOD_VECTOR);
    iommu_flush_irt(t);
}

/* How many lines of @text start with @prefix. */
static int count_lines(const char *text, const char *prefix)
{
    g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
    int n = 0;

    for (int i = 0; lines[i]; i++) {
        n += g_str_has_prefix(lines[i], prefix);
    }
    return n;
}

static void run_bad_msis(const BadMsi *bad, bool log)
{
    g_autofree char *errfile = NULL;
    g_autofree char *err = NULL;
    int fd = g_file_open_tmp("amd-iommu-guest-errors-XXXXXX", &errfile, NULL);
    GaTest t;

    g_assert_cmpint(fd, >=, 0);
    close(fd);
    start(&t, errfile, log);

    pci_set_msi(t.edu, t.edu_msi, MSI_ADDR, bad->msi_data);
    for (int i = 0; i < BAD_MSIS; i++) {
        edu_fire(&t);
    }
    g_assert_false(lapic_irr_has(&t, 0, GOOD_VECTOR));

    /* The bad MSIs changed nothing: a good one is still remapped. */
    edu_set_irte(&t, GOOD_IRTE);
    edu_fire(&t);
    g_assert_true(lapic_irr_has(&t, 0, GOOD_VECTOR));

    ga_stop(&t);
    g_assert_true(g_file_get_contents(errfile, &err, NULL, NULL));
    unlink(errfile);
    if (log) {
        g_assert_cmpint(count_lines(err, bad->message), ==, BAD_MSIS);
        g_assert_cmpint(count_lines(err, "amd-iommu: failed to remap "
                                    "interrupt from devid 0x20"), ==,
                        BAD_MSIS);
    } else {
        g_assert_cmpstr(err, ==, "");
    }
}

static void test_quiet(gconstpointer data)
{
    run_bad_msis(data, false);
}

static void test_logged(gconstpointer data)
{
    run_bad_msis(data, true);
}

int main(int argc, char **argv)
{
    const BadMsi *cases[] = { &bad_smi, &bad_int_type };

    g_test_init(&argc, &argv, NULL);
    for (int i = 0; i < ARRAY_SIZE(cases); i++) {
        g_autofree char *quiet = g_strdup_printf("/amd-iommu/guest-errors/"
                                                 "%s/quiet", cases[i]->name);
        g_autofree char *logged = g_strdup_printf("/amd-iommu/guest-errors/"
                                                  "%s/logged",
                                                  cases[i]->name);

        qtest_add_data_func(quiet, cases[i], test_quiet);
        qtest_add_data_func(logged, cases[i], test_logged);
    }
    return g_test_run();
}
