/*
 * AMD interrupt virtualization counters at the monitor
 *
 * HMP "info amd-iommu-ga" (the counters of every amd-iommu device) and
 * "info avic" (the AVIC counters of every CPU), and QMP
 * "x-query-amd-avic-counters", which returns both in one reply for
 * scripts.  The counters are the devices' and CPUs' QOM properties
 * ("ga-*", docs/specs/amd-iommu-ga.rst; "avic-*", docs/specs/amd-avic.rst),
 * read here by name, so this file depends on neither implementation and
 * a counter added there shows up here.
 *
 * Output: a header line per object, then one "  name value" line per
 * counter, sorted by name.
 *
 * Copyright (c) 2026 The qemu-avic authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qapi/qapi-commands-misc-i386.h"
#include "qapi/type-helpers.h"
#include "qom/object.h"
#include "hw/core/cpu.h"
#include "monitor/monitor.h"
#include "monitor/hmp-target.h"

#define AMD_IOMMU_QOM_TYPE "amd-iommu"

static gint compare_names(gconstpointer a, gconstpointer b)
{
    return strcmp(*(const char * const *)a, *(const char * const *)b);
}

/* The names of obj's uint64 properties that start with prefix, sorted. */
static GPtrArray *counter_names(Object *obj, const char *prefix)
{
    GPtrArray *names = g_ptr_array_new();
    ObjectPropertyIterator iter;
    ObjectProperty *prop;

    object_property_iter_init(&iter, obj);
    while ((prop = object_property_iter_next(&iter))) {
        if (g_str_has_prefix(prop->name, prefix) &&
            g_str_equal(prop->type, "uint64")) {
            g_ptr_array_add(names, (gpointer)prop->name);
        }
    }
    g_ptr_array_sort(names, compare_names);
    return names;
}

/*
 * Print obj's counters; add each to totals (name -> sum) when given.
 * Returns how many there were.
 */
static guint print_counters(GString *buf, Object *obj, const char *prefix,
                            GHashTable *totals)
{
    g_autoptr(GPtrArray) names = counter_names(obj, prefix);

    for (guint i = 0; i < names->len; i++) {
        const char *name = g_ptr_array_index(names, i);
        uint64_t value = object_property_get_uint(obj, name, &error_abort);

        g_string_append_printf(buf, "  %-32s %" PRIu64 "\n", name, value);
        if (totals) {
            uint64_t *sum = g_hash_table_lookup(totals, name);

            if (!sum) {
                sum = g_new0(uint64_t, 1);
                g_hash_table_insert(totals, (gpointer)name, sum);
            }
            *sum += value;
        }
    }
    return names->len;
}

static int print_iommu(Object *obj, void *opaque)
{
    GString *buf = opaque;
    g_autofree char *path = NULL;

    if (!object_dynamic_cast(obj, AMD_IOMMU_QOM_TYPE)) {
        return 0;
    }
    path = object_get_canonical_path(obj);
    g_string_append_printf(buf, "%s (%s):\n", path, AMD_IOMMU_QOM_TYPE);
    print_counters(buf, obj, "ga-", NULL);
    return 0;
}

static void format_iommus(GString *buf)
{
    gsize before = buf->len;

    object_child_foreach_recursive(object_get_root(), print_iommu, buf);
    if (buf->len == before) {
        g_string_append(buf, "no amd-iommu device\n");
    }
}

static void format_cpus(GString *buf)
{
    g_autoptr(GHashTable) totals =
        g_hash_table_new_full(g_str_hash, g_str_equal, NULL, g_free);
    g_autoptr(GPtrArray) names = NULL;
    GHashTableIter iter;
    gpointer name;
    CPUState *cs;
    guint cpus = 0;

    CPU_FOREACH(cs) {
        g_autofree char *path = object_get_canonical_path(OBJECT(cs));

        g_string_append_printf(buf, "CPU %d (%s):\n", cs->cpu_index, path);
        if (!print_counters(buf, OBJECT(cs), "avic-", totals)) {
            g_string_append(buf, "  no AVIC counters (not a TCG x86 CPU)\n");
        }
        cpus++;
    }
    if (cpus < 2 || !g_hash_table_size(totals)) {
        return;
    }
    names = g_ptr_array_new();
    g_hash_table_iter_init(&iter, totals);
    while (g_hash_table_iter_next(&iter, &name, NULL)) {
        g_ptr_array_add(names, name);
    }
    g_ptr_array_sort(names, compare_names);
    g_string_append(buf, "all CPUs:\n");
    for (guint i = 0; i < names->len; i++) {
        const char *n = g_ptr_array_index(names, i);
        uint64_t *sum = g_hash_table_lookup(totals, n);

        g_string_append_printf(buf, "  %-32s %" PRIu64 "\n", n, *sum);
    }
}

HumanReadableText *qmp_x_query_amd_avic_counters(Error **errp)
{
    g_autoptr(GString) buf = g_string_new("");

    format_iommus(buf);
    format_cpus(buf);
    return human_readable_text_from_str(buf);
}

static void hmp_print(Monitor *mon, void (*format)(GString *buf))
{
    g_autoptr(GString) buf = g_string_new("");

    format(buf);
    monitor_puts(mon, buf->str);
}

void hmp_info_amd_iommu_ga(Monitor *mon, const QDict *qdict)
{
    hmp_print(mon, format_iommus);
}

void hmp_info_avic(Monitor *mon, const QDict *qdict)
{
    hmp_print(mon, format_cpus);
}
