/*
 * PCI configuration access, BARs, MSI, edu.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "pci.h"

static spinlock_t pci_lock;

static void pci_addr(pcidevaddr_t a, int off)
{
    outl(0xcf8, 0x80000000u | ((uint32_t)a << 8) | (off & 0xfc));
}

uint32_t pci_read32(pcidevaddr_t a, int off)
{
    spin_lock(&pci_lock);
    pci_addr(a, off);
    uint32_t v = inl(0xcfc);
    spin_unlock(&pci_lock);
    return v;
}

uint16_t pci_read16(pcidevaddr_t a, int off)
{
    spin_lock(&pci_lock);
    pci_addr(a, off);
    uint16_t v = inw(0xcfc + (off & 2));
    spin_unlock(&pci_lock);
    return v;
}

uint8_t pci_read8(pcidevaddr_t a, int off)
{
    spin_lock(&pci_lock);
    pci_addr(a, off);
    uint8_t v = inb(0xcfc + (off & 3));
    spin_unlock(&pci_lock);
    return v;
}

void pci_write32(pcidevaddr_t a, int off, uint32_t v)
{
    spin_lock(&pci_lock);
    pci_addr(a, off);
    outl(0xcfc, v);
    spin_unlock(&pci_lock);
}

void pci_write16(pcidevaddr_t a, int off, uint16_t v)
{
    spin_lock(&pci_lock);
    pci_addr(a, off);
    outw(0xcfc + (off & 2), v);
    spin_unlock(&pci_lock);
}

void pci_write8(pcidevaddr_t a, int off, uint8_t v)
{
    spin_lock(&pci_lock);
    pci_addr(a, off);
    outb(0xcfc + (off & 3), v);
    spin_unlock(&pci_lock);
}

pcidevaddr_t pci_find(uint16_t vendor, uint16_t device)
{
    for (int dev = 0; dev < 32; dev++) {
        for (int fn = 0; fn < 8; fn++) {
            pcidevaddr_t a = PCI_BDF(0, dev, fn);
            uint32_t id = pci_read32(a, 0);
            if ((id & 0xffff) == 0xffff) {
                if (fn == 0)
                    break;
                continue;
            }
            if ((id & 0xffff) == vendor && (id >> 16) == device)
                return a;
            if (fn == 0 && !(pci_read8(a, 0x0e) & 0x80))
                break;          /* single-function device */
        }
    }
    return PCI_NONE;
}

int pci_find_cap(pcidevaddr_t a, uint8_t id)
{
    if (!(pci_read16(a, 0x06) & 0x10))
        return 0;
    int p = pci_read8(a, 0x34) & 0xfc;
    for (int guard = 0; p && guard < 48; guard++) {
        if (pci_read8(a, p) == id)
            return p;
        p = pci_read8(a, p + 1) & 0xfc;
    }
    return 0;
}

uint64_t pci_bar_addr(pcidevaddr_t a, int bar)
{
    uint32_t lo = pci_read32(a, 0x10 + 4 * bar);
    if (lo & 1)
        return lo & ~3u;        /* I/O BAR */
    uint64_t addr = lo & ~0xfu;
    if (((lo >> 1) & 3) == 2)
        addr |= (uint64_t)pci_read32(a, 0x14 + 4 * bar) << 32;
    return addr;
}

void pci_enable(pcidevaddr_t a)
{
    pci_write16(a, 0x04, pci_read16(a, 0x04) | 0x6);
}

void pci_msi_set(pcidevaddr_t a, uint64_t addr, uint32_t data)
{
    int cap = pci_find_cap(a, 0x05);
    assert(cap);
    uint16_t ctl = pci_read16(a, cap + 2);
    pci_write16(a, cap + 2, ctl & ~1);
    pci_write32(a, cap + 4, (uint32_t)addr);
    if (ctl & 0x80) {           /* 64-bit address */
        pci_write32(a, cap + 8, addr >> 32);
        pci_write16(a, cap + 12, data);
    } else {
        pci_write16(a, cap + 8, data);
    }
    ctl &= ~0x70;               /* one vector */
    pci_write16(a, cap + 2, ctl | 1);
}

void pci_msi_disable(pcidevaddr_t a)
{
    int cap = pci_find_cap(a, 0x05);
    if (cap)
        pci_write16(a, cap + 2, pci_read16(a, cap + 2) & ~1);
}

bool edu_init(struct edu *e)
{
    e->bdf = pci_find(EDU_VENDOR, EDU_DEVICE);
    if (e->bdf == PCI_NONE)
        return false;
    pci_enable(e->bdf);
    e->bar = pci_bar_addr(e->bdf, 0);
    if (!e->bar)
        return false;
    /* The liveness register returns the inverse of what was written. */
    mmio_write32(e->bar + EDU_REG_LIVE, 0x12345678);
    return mmio_read32(e->bar + EDU_REG_LIVE) == ~0x12345678u;
}
