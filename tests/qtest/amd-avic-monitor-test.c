/*
 * qtest for the AMD interrupt virtualization counters at the monitor:
 * HMP "info amd-iommu-ga" and "info avic", QMP x-query-amd-avic-counters
 * (hw/i386/amd_avic_monitor.c), after interrupts the IOMMU posted.
 *
 * Each value the monitor prints must be the QOM property it names, and
 * the posts must show: ga-posted, ga-doorbells, ga-log-entries.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "amd-iommu-ga-qtest.h"

#define PAGE            BACKING_GPA
#define VEC             0x41
#define TAG             0x00a1b2c3
#define RUNNING_POSTS   3
#define HALTED_POSTS    2

/*
 * The value of counter @name in the section of @text whose header line
 * starts with @header; -1 if there is no such line.
 */
static int64_t text_counter(const char *text, const char *header,
                            const char *name)
{
    g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
    bool in = false;

    for (int i = 0; lines[i]; i++) {
        const char *l = lines[i];
        g_autofree char *key = NULL;
        uint64_t val;

        if (!g_str_has_prefix(l, "  ")) {
            in = g_str_has_prefix(l, header);
            continue;
        }
        key = g_malloc(strlen(l) + 1);
        if (in && sscanf(l, " %s %" SCNu64, key, &val) == 2 &&
            g_str_equal(key, name)) {
            return val;
        }
    }
    return -1;
}

/* The QOM path in a section header "... (PATH):" that starts @header. */
static char *text_path(const char *text, const char *header)
{
    const char *h = strstr(text, header);
    const char *open, *close;

    g_assert(h);
    open = strchr(h, '(');
    close = strstr(h, "):");
    g_assert(open && close && open < close);
    return g_strndup(open + 1, close - open - 1);
}

/* HMP's reply without the monitor's carriage returns. */
static char *hmp(QTestState *qts, const char *cmd)
{
    g_autofree char *raw = qtest_hmp(qts, "%s", cmd);
    GString *out = g_string_new("");

    for (const char *c = raw; *c; c++) {
        if (*c != '\r') {
            g_string_append_c(out, *c);
        }
    }
    return g_string_free(out, false);
}

/* How many properties of @path start with @prefix (qom-list). */
static int qom_count(QTestState *qts, const char *path, const char *prefix)
{
    QDict *rsp = qtest_qmp(qts, "{'execute': 'qom-list', 'arguments': "
                           "{'path': %s}}", path);
    QListEntry *e;
    int n = 0;

    g_assert(qdict_haskey(rsp, "return"));
    QLIST_FOREACH_ENTRY(qdict_get_qlist(rsp, "return"), e) {
        QDict *prop = qobject_to(QDict, qlist_entry_obj(e));

        n += g_str_has_prefix(qdict_get_str(prop, "name"), prefix);
    }
    qobject_unref(rsp);
    return n;
}

/* Every counter line in @header's section equals its QOM property. */
static int check_section(QTestState *qts, const char *text, const char *header,
                         const char *path)
{
    g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
    bool in = false;
    int n = 0;

    for (int i = 0; lines[i]; i++) {
        char key[64];
        uint64_t val;

        if (!g_str_has_prefix(lines[i], "  ")) {
            in = g_str_has_prefix(lines[i], header);
            continue;
        }
        if (in && sscanf(lines[i], " %63s %" SCNu64, key, &val) == 2) {
            g_assert_cmpuint(val, ==, qom_get_uint(qts, path, key));
            n++;
        }
    }
    return n;
}

/*
 * The qtests' machine, but with TCG (whose CPUs have the avic-*
 * counters), stopped: the posts come from the test, not from a guest.
 */
static void start(GaTest *t)
{
    memset(t, 0, sizeof(*t));
    t->qts = qtest_initf("-M q35 -accel tcg -S -smp 2 -device " GA_IOMMU
                         " -device edu,addr=%d.0", EDU_SLOT);
    ga_pci_init(t);
    ga_program(t);
}

/* Post RUNNING_POSTS with IsRun = 1 and HALTED_POSTS to the GA log. */
static void post_some(GaTest *t)
{
    write_irte_guest(t, 5, &(GaIrte) {
        .lo_flags = AMD_IOMMU_IRTE_LO_IS_RUN, .dest = 1, .tag = TAG,
        .vector = VEC, .backing = PAGE });
    edu_set_irte(t, 5);
    for (int i = 0; i < RUNNING_POSTS; i++) {
        edu_fire(t);
    }
    write_irte_guest(t, 5, &(GaIrte) {
        .lo_flags = AMD_IOMMU_IRTE_LO_GA_LOG_INTR, .dest = 1, .tag = TAG,
        .vector = VEC, .backing = PAGE });
    for (int i = 0; i < HALTED_POSTS; i++) {
        edu_fire(t);
    }
}

static void test_hmp_iommu(void)
{
    GaTest t;
    g_autofree char *text = NULL;
    const char *header = IOMMU_QOM " (amd-iommu):";

    start(&t);
    post_some(&t);
    text = hmp(t.qts, "info amd-iommu-ga");
    g_assert_nonnull(strstr(text, header));
    g_assert_cmpint(text_counter(text, header, "ga-posted"), ==,
                    RUNNING_POSTS + HALTED_POSTS);
    g_assert_cmpint(text_counter(text, header, "ga-posted-running"), ==,
                    RUNNING_POSTS);
    g_assert_cmpint(text_counter(text, header, "ga-doorbells"), ==,
                    RUNNING_POSTS);
    g_assert_cmpint(text_counter(text, header, "ga-log-entries"), ==,
                    HALTED_POSTS);
    /* Every ga-* property is listed, each equal to its value. */
    g_assert_cmpint(check_section(t.qts, text, header, IOMMU_QOM), ==,
                    qom_count(t.qts, IOMMU_QOM, "ga-"));
    g_assert_cmpint(qom_count(t.qts, IOMMU_QOM, "ga-"), >=, 10);
    ga_stop(&t);
}

static void test_hmp_avic(void)
{
    GaTest t;
    g_autofree char *text = NULL;
    g_autofree char *cpu1 = NULL;

    start(&t);
    post_some(&t);
    text = hmp(t.qts, "info avic");
    g_assert_nonnull(strstr(text, "CPU 0 ("));
    cpu1 = text_path(text, "CPU 1 (");
    g_assert_cmpint(check_section(t.qts, text, "CPU 1 (", cpu1), >=, 10);
    /* The doorbells went to APIC ID 1, which received them. */
    g_assert_cmpint(text_counter(text, "CPU 1 (", "avic-doorbells"), ==,
                    RUNNING_POSTS);
    g_assert_cmpint(text_counter(text, "CPU 0 (", "avic-doorbells"), ==, 0);
    g_assert_cmpint(text_counter(text, "all CPUs:", "avic-doorbells"), ==,
                    text_counter(text, "CPU 0 (", "avic-doorbells") +
                    text_counter(text, "CPU 1 (", "avic-doorbells"));
    g_assert_null(strstr(text, "amd-iommu"));
    ga_stop(&t);
}

/* QMP: one reply with both HMP views, in order. */
static void test_qmp(void)
{
    GaTest t;
    g_autofree char *iommu = NULL;
    g_autofree char *avic = NULL;
    g_autofree char *both = NULL;
    QDict *rsp, *ret;

    start(&t);
    post_some(&t);
    iommu = hmp(t.qts, "info amd-iommu-ga");
    avic = hmp(t.qts, "info avic");
    both = g_strconcat(iommu, avic, NULL);
    rsp = qtest_qmp(t.qts, "{'execute': 'x-query-amd-avic-counters'}");
    g_assert(qdict_haskey(rsp, "return"));
    ret = qdict_get_qdict(rsp, "return");
    g_assert_cmpstr(qdict_get_str(ret, "human-readable-text"), ==, both);
    g_assert_cmpint(text_counter(both, IOMMU_QOM, "ga-posted"), ==,
                    RUNNING_POSTS + HALTED_POSTS);
    qobject_unref(rsp);
    ga_stop(&t);
}

/* No IOMMU: said so, and the CPUs are still listed. */
static void test_no_iommu(void)
{
    QTestState *qts = qtest_init("-M q35 -accel tcg -S -smp 1");
    g_autofree char *text = hmp(qts, "info amd-iommu-ga");

    g_assert_cmpstr(text, ==, "no amd-iommu device\n");
    g_free(text);
    text = hmp(qts, "info avic");
    g_assert_nonnull(strstr(text, "CPU 0 ("));
    qtest_quit(qts);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    qtest_add_func("/amd-avic-monitor/hmp/amd-iommu-ga", test_hmp_iommu);
    qtest_add_func("/amd-avic-monitor/hmp/avic", test_hmp_avic);
    qtest_add_func("/amd-avic-monitor/qmp", test_qmp);
    qtest_add_func("/amd-avic-monitor/no-iommu", test_no_iommu);
    return g_test_run();
}
