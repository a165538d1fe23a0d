/*
 * compare-remap: the compare workload (compare.c) in its remap mode, as a
 * group of its own: the remapped baseline: a #VMEXIT and an injected vector per interrupt.
 * make compare runs the same image with its sweep's parameters.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#define COMPARE_DEFAULTS "mode=remap:n=200"
#define COMPARE_GROUP "compare-remap"
#include "compare.c"
