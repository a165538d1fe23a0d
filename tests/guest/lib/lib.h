/*
 * Test hypervisor library: basic types, CPU helpers, printf, TAP.
 *
 * Everything here is freestanding (no libc).  The library is small on
 * purpose: each test file includes this header (and the driver headers
 * it needs) and defines main().
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef GUEST_LIB_H
#define GUEST_LIB_H

#include <stdint.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdarg.h>

#define PAGE_SIZE       4096UL
#define MAX_CPUS        16
#define ARRAY_SIZE(a)   (sizeof(a) / sizeof((a)[0]))
#define ALIGN_UP(x, a)  (((x) + (a) - 1) & ~((uint64_t)(a) - 1))
#define BIT(n)          (1ULL << (n))

#define barrier()       asm volatile("" ::: "memory")
#define READ_ONCE(x)    (*(volatile __typeof__(x) *)&(x))
#define WRITE_ONCE(x, v) (*(volatile __typeof__(x) *)&(x) = (v))

/* ---- port I/O, MSRs, control registers ---- */

static inline void outb(uint16_t port, uint8_t v)
{ asm volatile("outb %0, %1" :: "a"(v), "Nd"(port)); }
static inline void outw(uint16_t port, uint16_t v)
{ asm volatile("outw %0, %1" :: "a"(v), "Nd"(port)); }
static inline void outl(uint16_t port, uint32_t v)
{ asm volatile("outl %0, %1" :: "a"(v), "Nd"(port)); }
static inline uint8_t inb(uint16_t port)
{ uint8_t v; asm volatile("inb %1, %0" : "=a"(v) : "Nd"(port)); return v; }
static inline uint16_t inw(uint16_t port)
{ uint16_t v; asm volatile("inw %1, %0" : "=a"(v) : "Nd"(port)); return v; }
static inline uint32_t inl(uint16_t port)
{ uint32_t v; asm volatile("inl %1, %0" : "=a"(v) : "Nd"(port)); return v; }

static inline uint64_t rdmsr(uint32_t msr)
{
    uint32_t lo, hi;
    asm volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr) : "memory");
    return lo | ((uint64_t)hi << 32);
}
static inline void wrmsr(uint32_t msr, uint64_t v)
{
    asm volatile("wrmsr" :: "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32))
                 : "memory");
}
/* Return the exception vector taken (-1 if none); *val is set on success. */
int rdmsr_safe(uint32_t msr, uint64_t *val);
int wrmsr_safe(uint32_t msr, uint64_t val);

static inline void cpuid2(uint32_t leaf, uint32_t sub, uint32_t *a, uint32_t *b,
                          uint32_t *c, uint32_t *d)
{
    asm volatile("cpuid" : "=a"(*a), "=b"(*b), "=c"(*c), "=d"(*d)
                 : "a"(leaf), "c"(sub));
}
static inline uint32_t cpuid_eax(uint32_t l) { uint32_t a, b, c, d; cpuid2(l, 0, &a, &b, &c, &d); return a; }
static inline uint32_t cpuid_ebx(uint32_t l) { uint32_t a, b, c, d; cpuid2(l, 0, &a, &b, &c, &d); return b; }
static inline uint32_t cpuid_ecx(uint32_t l) { uint32_t a, b, c, d; cpuid2(l, 0, &a, &b, &c, &d); return c; }
static inline uint32_t cpuid_edx(uint32_t l) { uint32_t a, b, c, d; cpuid2(l, 0, &a, &b, &c, &d); return d; }

static inline uint64_t rdtsc(void)
{
    uint32_t lo, hi;
    asm volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return lo | ((uint64_t)hi << 32);
}
static inline void cpu_relax(void) { asm volatile("pause" ::: "memory"); }
static inline void cli(void) { asm volatile("cli" ::: "memory"); }
static inline void sti(void) { asm volatile("sti" ::: "memory"); }
static inline void safe_halt(void) { asm volatile("sti; hlt" ::: "memory"); }
static inline uint64_t read_rflags(void)
{ uint64_t f; asm volatile("pushfq; popq %0" : "=r"(f) :: "memory"); return f; }
static inline uint64_t read_cr0(void) { uint64_t v; asm volatile("mov %%cr0,%0" : "=r"(v)); return v; }
static inline uint64_t read_cr3(void) { uint64_t v; asm volatile("mov %%cr3,%0" : "=r"(v)); return v; }
static inline uint64_t read_cr4(void) { uint64_t v; asm volatile("mov %%cr4,%0" : "=r"(v)); return v; }
static inline uint64_t read_cr8(void) { uint64_t v; asm volatile("mov %%cr8,%0" : "=r"(v)); return v; }
static inline void write_cr8(uint64_t v) { asm volatile("mov %0,%%cr8" :: "r"(v) : "memory"); }
static inline void mb(void) { asm volatile("mfence" ::: "memory"); }

static inline uint32_t mmio_read32(uint64_t a) { return *(volatile uint32_t *)a; }
static inline void mmio_write32(uint64_t a, uint32_t v) { *(volatile uint32_t *)a = v; }
static inline uint64_t mmio_read64(uint64_t a) { return *(volatile uint64_t *)a; }
static inline void mmio_write64(uint64_t a, uint64_t v) { *(volatile uint64_t *)a = v; }

/* 128-bit compare-exchange on a 16-byte aligned location. */
static inline bool cmpxchg16b(volatile uint64_t *p, uint64_t old_lo, uint64_t old_hi,
                              uint64_t new_lo, uint64_t new_hi)
{
    bool ok;
    asm volatile("lock cmpxchg16b %1; sete %0"
                 : "=q"(ok), "+m"(*(volatile __int128 *)p), "+a"(old_lo), "+d"(old_hi)
                 : "b"(new_lo), "c"(new_hi) : "memory", "cc");
    return ok;
}

#define MSR_EFER        0xc0000080
#define MSR_GS_BASE     0xc0000101
#define MSR_APIC_BASE   0x0000001b
#define EFER_SCE        BIT(0)
#define EFER_LME        BIT(8)
#define EFER_LMA        BIT(10)
#define EFER_NXE        BIT(11)
#define EFER_SVME       BIT(12)
#define X86_EFLAGS_IF   BIT(9)

/* ---- string / memory ---- */
void *memset(void *d, int c, size_t n);
void *memcpy(void *d, const void *s, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
int strcmp(const char *a, const char *b);

/* ---- locking ---- */
typedef struct { volatile uint32_t v; } spinlock_t;
static inline void spin_lock(spinlock_t *l)
{
    while (__atomic_exchange_n(&l->v, 1, __ATOMIC_ACQUIRE))
        while (READ_ONCE(l->v))
            cpu_relax();
}
static inline void spin_unlock(spinlock_t *l) { __atomic_store_n(&l->v, 0, __ATOMIC_RELEASE); }
#define atomic_inc(p)   __atomic_add_fetch((p), 1, __ATOMIC_SEQ_CST)
#define atomic_add(p, v) __atomic_add_fetch((p), (v), __ATOMIC_SEQ_CST)
#define atomic_or(p, v) __atomic_fetch_or((p), (v), __ATOMIC_SEQ_CST)
#define atomic_and(p, v) __atomic_fetch_and((p), (v), __ATOMIC_SEQ_CST)

/* ---- console ---- */
void serial_init(void);
void serial_putc(char c);
int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
int snprintf(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void puts_locked(const char *s);
void __attribute__((noreturn)) panic(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void __attribute__((noreturn)) qemu_exit(int code);

#define assert(c) do { if (!(c)) panic("assertion failed: %s at %s:%d", #c, __FILE__, __LINE__); } while (0)

/* ---- time (TSC calibrated against the ACPI PM timer at boot) ---- */
extern uint64_t tsc_khz;
void time_init(void);
static inline uint64_t now_us(void) { return rdtsc() * 1000 / tsc_khz; }
static inline uint64_t deadline_us(uint64_t us) { return rdtsc() + us * tsc_khz / 1000; }
static inline bool expired(uint64_t dl) { return (int64_t)(rdtsc() - dl) >= 0; }
void udelay(uint64_t us);
/* Spin until cond is true or the timeout passes; returns cond. */
#define wait_until(cond, us) ({ uint64_t __dl = deadline_us(us); bool __ok;  \
    while (!(__ok = (cond)) && !expired(__dl)) {                                \
        cpu_relax();                                                            \
    }                                                                           \
    __ok; })

/* ---- pseudo-random numbers for the randomized tests ---- */
/* A 32-bit LCG: cheap, good enough for delays and choices. */
static inline uint32_t rng_next(uint32_t *s)
{
    *s = *s * 1103515245u + 12345u;
    return *s >> 8;
}
/* SplitMix64: 64 well-mixed bits per call, any seed. */
static inline uint64_t rng64(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* ---- page allocator (identity-mapped RAM, zeroed pages) ---- */
void *alloc_pages(unsigned n);
static inline void *alloc_page(void) { return alloc_pages(1); }
static inline uint64_t virt_to_phys(const void *p) { return (uint64_t)p; }
static inline void *phys_to_virt(uint64_t pa) { return (void *)pa; }

/* ---- TAP output ---- */
void tap_group(const char *name);           /* prefix of every check name */
void tap_plan(int n);                        /* prints "1..n" */
bool report(bool ok, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* "not ok N - group/name # TODO why": the feature under test is absent. */
void report_todo(const char *why, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/*
 * TODO mode: while a reason is set, every report() prints
 * "not ok N - group/name # TODO reason" whatever its result.  Tests
 * skip the hardware part of a check when tap_todo_reason() is set and
 * still make the same report() calls, so a group prints the same check
 * names with and without the feature.
 */
void tap_todo(const char *why);
/* "ok N - group/name # SKIP why": the check cannot apply on this machine
 * (not for absent features under test: those are TODO). */
void report_skip(const char *why, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
const char *tap_todo_reason(void);
#define TODO_ACTIVE (tap_todo_reason() != NULL)
void diag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int tap_failed(void);
/* The per-group counters printed as "# counts: group=... k=v ..." */
struct tap_counts {
    uint64_t sent, delivered, exit_401, exit_402, doorbells;
    uint64_t galog_entries, gappi_irqs, other_exits, events;
};
extern struct tap_counts counts;
void tap_print_counts(void);
void __attribute__((noreturn)) tap_finish(void);

/* Report helpers for equality that print both values on failure. */
#define report_eq(a, b, ...) ({ uint64_t __a = (a), __b = (b);              \
    if (__a != __b) diag("  got %#llx, expected %#llx (%s == %s)",           \
                         (unsigned long long)__a, (unsigned long long)__b,   \
                         #a, #b);                                            \
    report(__a == __b, __VA_ARGS__); })

/* Each test defines main(); it runs on CPU 0 after all CPUs checked in. */
int main(void);

#endif
