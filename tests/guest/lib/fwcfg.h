/*
 * QEMU fw_cfg, read through its I/O ports: enough to fetch a named
 * file such as the string of "-fw_cfg name=opt/...,string=..." (how a
 * run passes parameters to a test image; docs/specs/fw_cfg.rst).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef GUEST_FWCFG_H
#define GUEST_FWCFG_H

#include "lib.h"

/*
 * Copy the fw_cfg file @name into @buf (at most @size - 1 bytes, NUL
 * terminated).  Returns its length, or -1 if there is no such file.
 */
int fwcfg_read_file(const char *name, char *buf, size_t size);

/*
 * In a "key=value key=value" string (or "key=value:key=value"), the value of @key as an unsigned
 * number (decimal, or hex with 0x), or @dflt if the key is absent.
 */
uint64_t param_u64(const char *params, const char *key, uint64_t dflt);
/* The value of @key as a word copied into @buf, or @dflt. */
const char *param_str(const char *params, const char *key, char *buf, size_t size,
                      const char *dflt);

#endif
