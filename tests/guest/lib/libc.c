/*
 * The few libc pieces the tests need: string functions, a small
 * vsnprintf, COM1 output, panic and the isa-debug-exit port.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "lib.h"

void *memset(void *d, int c, size_t n)
{
    uint8_t *p = d;
    if (!((uint64_t)p & 7) && !(n & 7)) {
        uint64_t v = (uint8_t)c * 0x0101010101010101ULL;
        size_t q = n / 8;
        asm volatile("rep stosq" : "+D"(p), "+c"(q) : "a"(v) : "memory");
        return d;
    }
    asm volatile("rep stosb" : "+D"(p), "+c"(n) : "a"(c) : "memory");
    return d;
}

void *memcpy(void *d, const void *s, size_t n)
{
    void *r = d;
    asm volatile("rep movsb" : "+D"(d), "+S"(s), "+c"(n) :: "memory");
    return r;
}

int memcmp(const void *a, const void *b, size_t n)
{
    const uint8_t *x = a, *y = b;
    for (size_t i = 0; i < n; i++)
        if (x[i] != y[i])
            return x[i] - y[i];
    return 0;
}

size_t strlen(const char *s)
{
    size_t n = 0;
    while (s[n])
        n++;
    return n;
}

int strcmp(const char *a, const char *b)
{
    while (*a && *a == *b)
        a++, b++;
    return (uint8_t)*a - (uint8_t)*b;
}

/* ---- serial (COM1, polled) ---- */
#define COM1 0x3f8

void serial_init(void)
{
    outb(COM1 + 1, 0x00);       /* no interrupts */
    outb(COM1 + 3, 0x80);       /* DLAB */
    outb(COM1 + 0, 0x01);       /* 115200 */
    outb(COM1 + 1, 0x00);
    outb(COM1 + 3, 0x03);       /* 8N1 */
    outb(COM1 + 2, 0xc7);       /* FIFO */
    outb(COM1 + 4, 0x03);       /* DTR, RTS */
}

void serial_putc(char c)
{
    for (int i = 0; i < 100000 && !(inb(COM1 + 5) & 0x20); i++)
        cpu_relax();
    outb(COM1, c);
}

static spinlock_t print_lock;

void puts_locked(const char *s)
{
    /* Interrupt handlers never print, so the lock cannot deadlock. */
    spin_lock(&print_lock);
    while (*s)
        serial_putc(*s++);
    spin_unlock(&print_lock);
}

/* ---- vsnprintf ---- */
struct out { char *buf; size_t size, len; };

static void emit(struct out *o, char c)
{
    if (o->len + 1 < o->size)
        o->buf[o->len] = c;
    o->len++;
}

static void emit_num(struct out *o, uint64_t v, int base, bool neg, int width,
                     bool zero, bool left, bool alt, bool upper)
{
    char tmp[24];
    int n = 0;
    const char *dig = upper ? "0123456789ABCDEF" : "0123456789abcdef";
    do {
        tmp[n++] = dig[v % base];
        v /= base;
    } while (v);
    int len = n + (neg ? 1 : 0) + (alt ? 2 : 0);
    if (!left && !zero)
        for (; width > len; width--)
            emit(o, ' ');
    if (neg)
        emit(o, '-');
    if (alt) {
        emit(o, '0');
        emit(o, 'x');
    }
    if (!left && zero)
        for (; width > len; width--)
            emit(o, '0');
    while (n)
        emit(o, tmp[--n]);
    if (left)
        for (; width > len; width--)
            emit(o, ' ');
}

int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
    struct out o = { buf, size, 0 };

    for (; *fmt; fmt++) {
        if (*fmt != '%') {
            emit(&o, *fmt);
            continue;
        }
        fmt++;
        bool zero = false, left = false, alt = false;
        int width = 0, lng = 0;
        for (;; fmt++) {
            if (*fmt == '0') zero = true;
            else if (*fmt == '-') left = true;
            else if (*fmt == '#') alt = true;
            else break;
        }
        while (*fmt >= '0' && *fmt <= '9')
            width = width * 10 + (*fmt++ - '0');
        while (*fmt == 'l' || *fmt == 'z') {
            lng++;
            fmt++;
        }
        switch (*fmt) {
        case 'd': case 'i': {
            int64_t v = lng ? va_arg(ap, int64_t) : va_arg(ap, int);
            emit_num(&o, v < 0 ? -(uint64_t)v : (uint64_t)v, 10, v < 0, width, zero, left, false, false);
            break;
        }
        case 'u': {
            uint64_t v = lng ? va_arg(ap, uint64_t) : va_arg(ap, unsigned);
            emit_num(&o, v, 10, false, width, zero, left, false, false);
            break;
        }
        case 'x': case 'X': {
            uint64_t v = lng ? va_arg(ap, uint64_t) : va_arg(ap, unsigned);
            emit_num(&o, v, 16, false, width, zero, left, alt, *fmt == 'X');
            break;
        }
        case 'p':
            emit_num(&o, (uint64_t)va_arg(ap, void *), 16, false, width, zero, left, true, false);
            break;
        case 's': {
            const char *s = va_arg(ap, const char *);
            if (!s)
                s = "(null)";
            int l = strlen(s);
            if (!left)
                for (; width > l; width--)
                    emit(&o, ' ');
            while (*s)
                emit(&o, *s++);
            if (left)
                for (; width > l; width--)
                    emit(&o, ' ');
            break;
        }
        case 'c':
            emit(&o, (char)va_arg(ap, int));
            break;
        case '%':
            emit(&o, '%');
            break;
        case 0:
            fmt--;
            break;
        default:
            emit(&o, '%');
            emit(&o, *fmt);
        }
    }
    if (o.size)
        o.buf[o.len < o.size ? o.len : o.size - 1] = 0;
    return o.len;
}

int snprintf(char *buf, size_t size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = vsnprintf(buf, size, fmt, ap);
    va_end(ap);
    return r;
}

int printf(const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    int r = vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    puts_locked(buf);
    return r;
}

/*
 * isa-debug-exit: QEMU exits with status (value << 1) | 1, so 0 gives
 * 1 (pass) and 1 gives 3 (fail).  run.sh maps these back.
 */
void qemu_exit(int code)
{
    outl(0xf4, code);
    for (;;)
        asm volatile("cli; hlt");
}
