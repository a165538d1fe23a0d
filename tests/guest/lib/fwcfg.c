/*
 * QEMU fw_cfg through the I/O ports (selector 0x510, data 0x511).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "fwcfg.h"

#define FW_CFG_PORT_SEL     0x510
#define FW_CFG_PORT_DATA    0x511
#define FW_CFG_SIGNATURE    0x0000
#define FW_CFG_FILE_DIR     0x0019
#define FW_CFG_NAME_LEN     56

static void fwcfg_select(uint16_t key)
{
    outw(FW_CFG_PORT_SEL, key);
}

static void fwcfg_bytes(void *buf, size_t n)
{
    uint8_t *p = buf;
    while (n--)
        *p++ = inb(FW_CFG_PORT_DATA);
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

int fwcfg_read_file(const char *name, char *buf, size_t size)
{
    uint8_t sig[4], cnt[4];

    fwcfg_select(FW_CFG_SIGNATURE);
    fwcfg_bytes(sig, 4);
    if (memcmp(sig, "QEMU", 4))
        return -1;
    fwcfg_select(FW_CFG_FILE_DIR);
    fwcfg_bytes(cnt, 4);
    for (uint32_t i = 0, n = be32(cnt); i < n; i++) {
        /* struct FWCfgFile: be32 size, be16 select, be16 reserved, name */
        uint8_t f[8 + FW_CFG_NAME_LEN];
        fwcfg_bytes(f, sizeof(f));
        f[sizeof(f) - 1] = 0;
        if (strcmp((char *)f + 8, name))
            continue;
        uint32_t len = be32(f);
        size_t take = len < size - 1 ? len : size - 1;
        fwcfg_select((uint16_t)(f[4] << 8 | f[5]));
        fwcfg_bytes(buf, take);
        buf[take] = 0;
        return take;
    }
    return -1;
}

/* Words are separated by blanks, newlines or ':' (no blank in a QEMU argument). */
static bool param_sep(char c)
{
    return c == ' ' || c == ':' || c == ',' || c == '\n' || c == '\t';
}

/* Where "key=" starts a word of @params, or NULL. */
static const char *param_find(const char *params, const char *key)
{
    size_t kl = strlen(key);
    for (const char *p = params; p && *p; ) {
        while (param_sep(*p))
            p++;
        if (!memcmp(p, key, kl) && p[kl] == '=')
            return p + kl + 1;
        while (*p && !param_sep(*p))
            p++;
    }
    return NULL;
}

uint64_t param_u64(const char *params, const char *key, uint64_t dflt)
{
    const char *p = param_find(params, key);
    uint64_t v = 0, base = 10;
    if (!p || !*p || param_sep(*p))
        return dflt;
    if (p[0] == '0' && p[1] == 'x') {
        base = 16;
        p += 2;
    }
    for (;; p++) {
        int d;
        if (*p >= '0' && *p <= '9')
            d = *p - '0';
        else if (base == 16 && *p >= 'a' && *p <= 'f')
            d = *p - 'a' + 10;
        else
            break;
        v = v * base + d;
    }
    return v;
}

const char *param_str(const char *params, const char *key, char *buf, size_t size,
                      const char *dflt)
{
    const char *p = param_find(params, key);
    size_t n = 0;
    if (!p)
        return dflt;
    while (p[n] && !param_sep(p[n]) && n < size - 1) {
        buf[n] = p[n];
        n++;
    }
    buf[n] = 0;
    return buf;
}
