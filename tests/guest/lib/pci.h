/*
 * PCI configuration space (mechanism #1, ports 0xcf8/0xcfc), BARs, MSI,
 * and the edu device (QEMU hw/misc/edu.c, docs/specs/edu.rst).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef GUEST_PCI_H
#define GUEST_PCI_H

#include "lib.h"

typedef uint16_t pcidevaddr_t;          /* bus << 8 | dev << 3 | fn == devid */
#define PCI_BDF(b, d, f)   ((pcidevaddr_t)(((b) << 8) | ((d) << 3) | (f)))
#define PCI_NONE    0xffff

uint32_t pci_read32(pcidevaddr_t a, int off);
uint16_t pci_read16(pcidevaddr_t a, int off);
uint8_t pci_read8(pcidevaddr_t a, int off);
void pci_write32(pcidevaddr_t a, int off, uint32_t v);
void pci_write16(pcidevaddr_t a, int off, uint16_t v);
void pci_write8(pcidevaddr_t a, int off, uint8_t v);

pcidevaddr_t pci_find(uint16_t vendor, uint16_t device);   /* bus 0 */
int pci_find_cap(pcidevaddr_t a, uint8_t id);              /* 0 if none */
uint64_t pci_bar_addr(pcidevaddr_t a, int bar);             /* memory BAR */
void pci_enable(pcidevaddr_t a);                            /* MEM + bus master */
/* Program and enable MSI vector 0 with this address/data. */
void pci_msi_set(pcidevaddr_t a, uint64_t addr, uint32_t data);
void pci_msi_disable(pcidevaddr_t a);

/* The edu device. */
struct edu {
    pcidevaddr_t bdf;
    uint64_t bar;
};
#define EDU_VENDOR  0x1234
#define EDU_DEVICE  0x11e8
#define EDU_REG_ID          0x00
#define EDU_REG_LIVE        0x04
#define EDU_REG_IRQ_STATUS  0x24
#define EDU_REG_IRQ_RAISE   0x60
#define EDU_REG_IRQ_ACK     0x64
bool edu_init(struct edu *e);
static inline void edu_raise(struct edu *e, uint32_t v)
{ mmio_write32(e->bar + EDU_REG_IRQ_RAISE, v); }
static inline void edu_ack(struct edu *e, uint32_t v)
{ mmio_write32(e->bar + EDU_REG_IRQ_ACK, v); }

/* MSI address for a fixed interrupt to a physical APIC ID (xAPIC format;
 * the remapping tests put an IRTE index into the data instead). */
#define MSI_ADDR(dest)  (0xfee00000ULL | ((uint64_t)((dest) & 0xff) << 12))

#endif
