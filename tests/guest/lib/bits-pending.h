/*
 * Layout constants the test hypervisor needs that belong in
 * include/hw/i386/amd-avic-bits.h but are not there (yet).  Each is
 * guarded so that it disappears once the shared header defines it; move
 * them over and delete them here.  (The shared header now has the GA log
 * size code, tail address mask, GA reserved bits and event device ID.)
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef GUEST_BITS_PENDING_H
#define GUEST_BITS_PENDING_H

#include "hw/i386/amd-avic-bits.h"

/*
 * GA log size code (GA Log Base bits 59:56) for 512 entries of 8 bytes
 * (4 KiB), the value Linux writes (GA_LOG_SIZE_512).  The encoding of
 * other sizes is [UNC] in amd-iommu-ga.md; the tests only use 512.
 */
#ifndef AMD_IOMMU_GALOG_LEN_512
#define AMD_IOMMU_GALOG_LEN_512         8
#endif
#ifndef AMD_IOMMU_GALOG_ENTRIES_512
#define AMD_IOMMU_GALOG_ENTRIES_512     512
#endif

/* GA Log Tail Address register (0xe8): address bits 51:3 of the 8-byte
 * buffer the IOMMU writes the tail pointer to. */
#ifndef AMD_IOMMU_GALOG_TAIL_ADDR_MASK
#define AMD_IOMMU_GALOG_TAIL_ADDR_MASK  AMD_AVIC_MASK(51, 3)
#endif

/* Command and event log ring size code for 256 entries of 16 bytes. */
#ifndef AMD_IOMMU_RING_LEN_256
#define AMD_IOMMU_RING_LEN_256          0x8ULL
#endif

/* Head/tail registers of the command buffer and event log: byte offset
 * in bits 18:4. */
#ifndef AMD_IOMMU_RING_PTR_MASK
#define AMD_IOMMU_RING_PTR_MASK         AMD_AVIC_MASK(18, 4)
#endif

/* Device ID field of INVALIDATE_DEVTAB_ENTRY / INVALIDATE_INTERRUPT_TABLE
 * (command bits 15:0) and of most event log entries (bits 15:0). */
#ifndef AMD_IOMMU_CMD_DEVID_MASK
#define AMD_IOMMU_CMD_DEVID_MASK        0xffffULL
#endif

/* IO_PAGE_FAULT's I flag (interrupt request), bit 51 of the event. */
#ifndef AMD_IOMMU_EVT_IOPF_I
#define AMD_IOMMU_EVT_IOPF_I            AMD_AVIC_BIT(51)
#endif

/* Reserved bits of a guest-mode (GuestMode=1) 128-bit IRTE. */
#ifndef AMD_IOMMU_IRTE_LO_GA_RSVD
#define AMD_IOMMU_IRTE_LO_GA_RSVD       AMD_AVIC_MASK(4, 3)
#endif
#ifndef AMD_IOMMU_IRTE_HI_GA_RSVD
#define AMD_IOMMU_IRTE_HI_GA_RSVD       (AMD_AVIC_MASK(11, 8) | AMD_AVIC_MASK(55, 52))
#endif

/*
 * XT interrupt control registers (0x170 event log, 0x178 PPR log, 0x180
 * GA log), used instead of the MSI capability when Control.IntCapXTEn:
 * bit 2 destination mode (1 = logical), bits 31:8 destination[23:0],
 * bits 39:32 vector, bits 63:56 destination[31:24] (IOMMU spec 48882,
 * "XT IOMMU Interrupt Control Registers").
 */
#ifndef AMD_IOMMU_XT_INTCTL_DM_LOGICAL
#define AMD_IOMMU_XT_INTCTL_DM_LOGICAL  AMD_AVIC_BIT(2)
#endif
#ifndef AMD_IOMMU_XT_INTCTL_DEST_LO_SHIFT
#define AMD_IOMMU_XT_INTCTL_DEST_LO_SHIFT 8
#endif
#ifndef AMD_IOMMU_XT_INTCTL_VECTOR_SHIFT
#define AMD_IOMMU_XT_INTCTL_VECTOR_SHIFT 32
#endif
#ifndef AMD_IOMMU_XT_INTCTL_DEST_HI_SHIFT
#define AMD_IOMMU_XT_INTCTL_DEST_HI_SHIFT 56
#endif

/* CPUID Fn8000_000A ECX[6]: x2AVIC_EXT (4096 vCPUs, MAX_INDEX up to 4095). */
#ifndef AVIC_CPUID_ECX_X2AVIC_EXT
#define AVIC_CPUID_ECX_X2AVIC_EXT       AMD_AVIC_BIT(6)
#endif

/* The APIC BAR guest-physical address Linux KVM programs. */
#ifndef AVIC_DEFAULT_APIC_BAR
#define AVIC_DEFAULT_APIC_BAR           0xfee00000ULL
#endif

#endif
