/*
 * Time and memory.
 *
 * Time: the TSC (under TCG it follows the host clock), calibrated once
 * against the ACPI PM timer (3.579545 MHz) of q35's ICH9 LPC bridge.
 * Memory: a bump allocator of zeroed pages after the image, up to
 * ALLOC_LIMIT (run.sh gives every guest 256 MiB).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "lib.h"
#include "pci.h"

#define PM_TIMER_HZ     3579545ULL
#define ICH9_LPC        PCI_BDF(0, 0x1f, 0)
#define ALLOC_LIMIT     (192ULL << 20)

uint64_t tsc_khz = 1000000;     /* replaced at boot */

static uint16_t pm_timer_port(void)
{
    uint32_t base = pci_read32(ICH9_LPC, 0x40) & 0xff80;
    if (!base || !(pci_read8(ICH9_LPC, 0x44) & 0x80)) {
        base = 0x600;
        pci_write32(ICH9_LPC, 0x40, base | 1);
        pci_write8(ICH9_LPC, 0x44, pci_read8(ICH9_LPC, 0x44) | 0x80);
    }
    return base + 8;
}

void time_init(void)
{
    uint16_t port = pm_timer_port();
    const uint32_t ticks = PM_TIMER_HZ / 50;         /* 20 ms */
    uint32_t t0 = inl(port) & 0xffffff, t;
    uint64_t c0 = rdtsc();
    do {
        t = inl(port) & 0xffffff;
    } while (((t - t0) & 0xffffff) < ticks);
    uint64_t c1 = rdtsc();
    uint32_t el = (t - t0) & 0xffffff;
    tsc_khz = (c1 - c0) * PM_TIMER_HZ / ((uint64_t)el * 1000);
    if (!tsc_khz)
        tsc_khz = 1;
}

void udelay(uint64_t us)
{
    uint64_t dl = deadline_us(us);
    while (!expired(dl))
        cpu_relax();
}

extern char _end[];
static uint64_t next_free;
static spinlock_t alloc_lock;

void *alloc_pages(unsigned n)
{
    spin_lock(&alloc_lock);
    if (!next_free)
        next_free = ALIGN_UP((uint64_t)_end, 2 << 20);
    uint64_t p = next_free;
    next_free += (uint64_t)n * PAGE_SIZE;
    spin_unlock(&alloc_lock);
    if (next_free > ALLOC_LIMIT)
        panic("out of memory");
    memset((void *)p, 0, (uint64_t)n * PAGE_SIZE);
    return (void *)p;
}
