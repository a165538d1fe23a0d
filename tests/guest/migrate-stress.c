/*
 * migrate-stress: the stress test, shorter (30,000 interrupts per mode),
 * for tests/guest/migrate.py to live-migrate while it runs.  Same
 * checks: delivered == sent, after every migration.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#define STRESS_N        30000
#include "stress.c"
