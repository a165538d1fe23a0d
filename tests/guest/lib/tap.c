/*
 * TAP on the serial port: "1..N", then "ok N - group/name" or
 * "not ok N - group/name [# TODO why]", diagnostics start with "#".
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "lib.h"
#include "cpu.h"

static const char *group = "unnamed";
static const char *todo_reason;
static int planned = -1;
static volatile int tests_run, tests_failed, tests_todo;
static spinlock_t tap_lock;
struct tap_counts counts;
bool percpu_ready;

void tap_group(const char *name)
{
    group = name;
}

void tap_plan(int n)
{
    planned = n;
    printf("1..%d\n", n);
}

static void vreport(const char *status, const char *todo, const char *fmt, va_list ap)
{
    char name[200];
    vsnprintf(name, sizeof(name), fmt, ap);
    spin_lock(&tap_lock);
    int n = ++tests_run;
    if (todo)
        printf("%s %d - %s/%s # TODO %s\n", status, n, group, name, todo);
    else
        printf("%s %d - %s/%s\n", status, n, group, name);
    spin_unlock(&tap_lock);
}

void tap_todo(const char *why)
{
    todo_reason = why;
}

const char *tap_todo_reason(void)
{
    return todo_reason;
}

static void vreport_skip(const char *why, const char *fmt, va_list ap)
{
    char name[200];
    vsnprintf(name, sizeof(name), fmt, ap);
    spin_lock(&tap_lock);
    int n = ++tests_run;
    printf("ok %d - %s/%s # SKIP %s\n", n, group, name, why);
    spin_unlock(&tap_lock);
}

bool report(bool ok, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (todo_reason) {
        vreport("not ok", todo_reason, fmt, ap);
        va_end(ap);
        atomic_inc(&tests_todo);
        return false;
    }
    vreport(ok ? "ok" : "not ok", NULL, fmt, ap);
    va_end(ap);
    if (!ok)
        atomic_inc(&tests_failed);
    return ok;
}

void report_skip(const char *why, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (todo_reason)
        vreport("not ok", todo_reason, fmt, ap);
    else
        vreport_skip(why, fmt, ap);
    va_end(ap);
    if (todo_reason)
        atomic_inc(&tests_todo);
}

void report_todo(const char *why, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vreport("not ok", why, fmt, ap);
    va_end(ap);
    atomic_inc(&tests_todo);
}

void diag(const char *fmt, ...)
{
    char buf[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    printf("# %s\n", buf);
}

int tap_failed(void)
{
    return tests_failed;
}

static bool counts_printed;

void tap_print_counts(void)
{
    counts_printed = true;
    printf("# counts: group=%s sent=%llu delivered=%llu exit_401=%llu exit_402=%llu "
           "doorbells=%llu galog_entries=%llu gappi_irqs=%llu other_exits=%llu "
           "events=%llu\n", group,
           (unsigned long long)counts.sent, (unsigned long long)counts.delivered,
           (unsigned long long)counts.exit_401, (unsigned long long)counts.exit_402,
           (unsigned long long)counts.doorbells, (unsigned long long)counts.galog_entries,
           (unsigned long long)counts.gappi_irqs, (unsigned long long)counts.other_exits,
           (unsigned long long)counts.events);
}

void tap_finish(void)
{
    if (planned >= 0 && tests_run != planned)
        report(false, "plan (planned %d checks, ran %d)", planned, tests_run);
    if (!counts_printed)
        tap_print_counts();
    printf("# result: group=%s checks=%d failed=%d todo=%d\n", group, tests_run,
           tests_failed, tests_todo);
    qemu_exit(tests_failed ? 1 : 0);
}

void panic(const char *fmt, ...)
{
    char buf[300];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    printf("# PANIC on CPU %d: %s\n", percpu_ready ? smp_id() : -1, buf);
    report(false, "panic");
    printf("Bail out! %s\n", buf);
    qemu_exit(1);
}
