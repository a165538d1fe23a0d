/*
 * compare-running: the compare workload (compare.c) in its running mode, as a
 * group of its own: the running-vCPU baseline: IsRun=1, the doorbell delivers.
 * make compare runs the same image with its sweep's parameters.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#define COMPARE_DEFAULTS "mode=running:n=200"
#define COMPARE_GROUP "compare-running"
#include "compare.c"
