/*
 * compare-gappi: the compare workload (compare.c) in its gappi mode, as a
 * group of its own: GAPPI wake-ups with two vCPUs blocked on one CPU (a list scan of 2).
 * make compare runs the same image with its sweep's parameters.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#define COMPARE_DEFAULTS "mode=gappi:vcpus=2:pcpus=1:n=200"
#define COMPARE_GROUP "compare-gappi"
#include "compare.c"
