#!/usr/bin/env python3
"""Write the seed corpus of make fuzz (tests/fuzz/corpus/TARGET/NAME).

The seeds are committed; this script says what each one is and
rewrites them (python3 tests/fuzz/seeds.py).  Encodings:

amd-avic-fuzz (tests/qtest/fuzz/amd_avic_fuzz.c): a sequence of
operations, an opcode byte then little-endian operands.  Every input
starts from a correct setup: IRTEs 0-3 guest mode, backing pages 0-3,
vectors 0x40-0x43, IsRun = index & 1, GALogIntr = 1, GA log running.

generic-fuzz (QEMU's): commands separated by "FUZZ"; the first byte is
the opcode (3 = MMIO write: size, region, pad, offset32, value64; 5 =
PCI config write; 7 = DMA pattern; 9 = clock step).  The region index
is taken modulo the number of regions generic-fuzz found.
"""
import os
import struct

top = os.path.dirname(os.path.abspath(__file__))

# amd-avic-fuzz opcodes
FIRE, DMA_MSI, IRTE_GUEST, IRTE_RAW, DTE, RING_BASE, REG, MMIO_RAW, \
    COMMAND, BACKING, CLOCK, IOMMU_MSI = range(12)
# indexes into fuzz_addrs[]
A_GALOG, A_IRT, A_DEVTAB, A_BACK0 = 0, 1, 2, 3
A_NOT_RAM, A_IOMMU, A_HIGH = 13, 15, 18
# op_reg register indexes
R_CONTROL, R_STATUS, R_GAHEAD, R_GATAIL, R_XT_GA = 0, 1, 2, 3, 6


def fire(index, dest=0):
    return struct.pack('<BHB', FIRE, index, dest)


def irte_guest(index, flags, dest, tag, vector, root, hi_rsvd=0):
    return struct.pack('<BHBIIBBB', IRTE_GUEST, index, flags, dest, tag,
                       vector, root, hi_rsvd)


def reg(which, val):
    return struct.pack('<BBQ', REG, which, val)


def dte(bits, root, q0):
    return struct.pack('<BQBB', DTE, bits, root, q0)


def dma_msi(off, data, cnt=4):
    return struct.pack('<BIIBI', DMA_MSI, off, data, cnt, 0)


FLUSH = 0x80
GA_LOG_INTR, IS_RUN, REMAP_EN = 0x4, 0x40, 0x1

avic = {
    # post to each IRTE: IsRun 0 logs to the GA log, 1 rings the doorbell
    'post-each': b''.join(fire(i) for i in range(4)),
    # GA log overflow: head = tail + 8 with a 512-entry log, then posts
    'galog-overflow': reg(R_GAHEAD, 8) + fire(0) + fire(0) + fire(2),
    # a backing page pointer outside RAM, at the IOMMU, above 2^52
    'bad-backing': irte_guest(0, REMAP_EN | GA_LOG_INTR | FLUSH, 0, 7, 0x50,
                              A_NOT_RAM) + fire(0) +
                   irte_guest(1, REMAP_EN | FLUSH, 1, 8, 0x51, A_IOMMU) +
                   fire(1) +
                   irte_guest(2, REMAP_EN | FLUSH, 1, 9, 0x52, A_HIGH) +
                   fire(2),
    # guest-mode reserved bits 4:3 and hi 11:8/55:52 set
    'irte-reserved': irte_guest(0, REMAP_EN | 0x18 | FLUSH, 0, 1, 0x40,
                                A_BACK0, 0xff) + fire(0),
    # index beyond IntTabLen (256) and the DTE's IntCtl = abort/pass
    'dte-intctl': fire(300) + dte(1 | (8 << 1) | (0 << 60), A_IRT, 1) +
                  fire(0) + dte(1 | (8 << 1) | (1 << 60), A_IRT, 1) +
                  fire(0) + dte(1 | (15 << 1) | (2 << 60), A_IRT, 1) +
                  fire(0),
    # an MSI written by edu's DMA: the data word selects the IRTE
    'dma-msi': dma_msi(0, 1) + dma_msi(0x1000, 2, 2) + dma_msi(4, 3, 8),
    # GA log turned off and on, tail moved, GALogEn with GAIntEn via XT
    'galog-control': reg(R_CONTROL | 0x80, 1 << 28) + fire(0) +
                     reg(R_GATAIL, 0xfff8) + reg(R_CONTROL | 0x80, 1 << 28) +
                     fire(0) + reg(R_XT_GA, 0x3000000000) +
                     reg(R_CONTROL | 0x80, 1 << 51) + fire(2),
    # the GA log's base moved onto the interrupt table, then posts
    'galog-on-irt': struct.pack('<BBBQ', RING_BASE, 0, A_IRT, 8 << 56) +
                    reg(R_CONTROL | 0x80, 1 << 28) +
                    reg(R_CONTROL | 0x80, 1 << 28) + fire(0) + fire(2),
}

SEP = b'FUZZ'


def gwrite(size, region, offset, value):
    return struct.pack('<BBBxxIQ', 3, size, region, offset, value)


CTRL = 0x18
generic = {
    # IOMMU: device table, Control with IommuEn|GAEn|XTEn|GAMEn, edu MSI
    'iommu-enable': SEP.join([
        gwrite(3, 0, 0x0, 0x100000),
        gwrite(3, 0, CTRL, 1 | (1 << 17) | (1 << 50) | (1 << 25)),
        struct.pack('<BBB', 7, 0, 0) + struct.pack('<QQ', 3, 1 << 60 | 0x200000 | 0x11),
        gwrite(2, 1, 0x60, 1)]),
    'galog-regs': SEP.join([
        gwrite(3, 0, 0xe0, 0x400000 | 8 << 56),
        gwrite(3, 0, 0xe8, 0x410000),
        gwrite(3, 0, CTRL, 1 | (1 << 28) | (1 << 29) | (1 << 17)),
        gwrite(3, 0, 0x2048, 0x8)]),
    'edu-irq': SEP.join([gwrite(2, 1, 0x60, 1), gwrite(2, 0, 0x60, 1),
                         struct.pack('<B', 9) + struct.pack('<Q', 1000)]),
}

for target, seeds in (('amd-avic-fuzz', avic), ('generic-fuzz', generic)):
    d = os.path.join(top, 'corpus', target)
    os.makedirs(d, exist_ok=True)
    for name, data in seeds.items():
        with open(os.path.join(d, name), 'wb') as f:
            f.write(data)
