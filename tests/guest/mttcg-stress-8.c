/*
 * mttcg-stress-8: mttcg-stress for -smp 8 (7 L2 vCPUs), with x2AVIC.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#define MT_GROUP        "mttcg-stress-8"
#define MT_X2           1
#include "mttcg-stress.c"
