/*
 * AMD interrupt virtualization: register and structure layouts
 *
 * One header for the layouts that the emulated AMD IOMMU (guest virtual
 * APIC mode, GA log, GAPPI), the TCG SVM AVIC, the qtests and the
 * freestanding test hypervisor (tests/guest/) all share.  It therefore
 * depends on nothing but <stdint.h>-style integer types and defines
 * constants only: no QEMU types, no functions.
 *
 * Sources: AMD I/O Virtualization Technology (IOMMU) Specification,
 * pub. 48882 (rev 3.11 for GAPPI); AMD64 APM vol. 2, pub. 24593, §15.29
 * (AVIC) and appendix B (VMCB).  Facts and the choices made where the
 * documents are silent: docs/specs/amd-avic.rst.
 *
 * Names: AMD_IOMMU_* for the IOMMU (upstream's amd_iommu.h uses
 * AMDVI_*, which we leave alone), AVIC_* for the CPU side.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef HW_I386_AMD_AVIC_BITS_H
#define HW_I386_AMD_AVIC_BITS_H

#define AMD_AVIC_BIT(n)             (1ULL << (n))
/* Bits h..l set (h >= l). */
#define AMD_AVIC_MASK(h, l) \
    ((~0ULL >> (63 - (h))) & ~((1ULL << (l)) - 1))

/* ------------------------------------------------------------------ */
/* AMD IOMMU: PCI identity and capability block                       */
/* ------------------------------------------------------------------ */

#define AMD_IOMMU_PCI_VENDOR        0x1022
#define AMD_IOMMU_PCI_DEVICE        0x1419
#define AMD_IOMMU_PCI_CLASS         0x0806  /* system peripheral, IOMMU */
#define AMD_IOMMU_CAP_ID            0x0f    /* "secure device" */

/* Offsets inside the IOMMU capability block. */
#define AMD_IOMMU_CAP_HEADER        0x00
#define AMD_IOMMU_CAP_BAR_LOW       0x04
#define AMD_IOMMU_CAP_BAR_HIGH      0x08
#define AMD_IOMMU_CAP_RANGE         0x0c
#define AMD_IOMMU_CAP_MISC          0x10

/* Capability header bits. */
#define AMD_IOMMU_CAP_HDR_TYPE_SHIFT    16      /* CapType, 3 = IOMMU */
#define AMD_IOMMU_CAP_HDR_IOTLB         AMD_AVIC_BIT(24)
#define AMD_IOMMU_CAP_HDR_HT_TUNNEL     AMD_AVIC_BIT(25)
#define AMD_IOMMU_CAP_HDR_NP_CACHE      AMD_AVIC_BIT(26)
#define AMD_IOMMU_CAP_HDR_EFR_SUP       AMD_AVIC_BIT(27)
#define AMD_IOMMU_CAP_BAR_ENABLE        AMD_AVIC_BIT(0)

/* ------------------------------------------------------------------ */
/* AMD IOMMU: MMIO registers (offsets from the MMIO base)             */
/* ------------------------------------------------------------------ */

#define AMD_IOMMU_MMIO_DEVTAB_BASE      0x0000
#define AMD_IOMMU_MMIO_CMDBUF_BASE      0x0008
#define AMD_IOMMU_MMIO_EVTLOG_BASE      0x0010
#define AMD_IOMMU_MMIO_CONTROL          0x0018
#define AMD_IOMMU_MMIO_EFR              0x0030
#define AMD_IOMMU_MMIO_GALOG_BASE       0x00e0
#define AMD_IOMMU_MMIO_GALOG_TAIL_ADDR  0x00e8
#define AMD_IOMMU_MMIO_XT_EVT_INTCTL    0x0170
#define AMD_IOMMU_MMIO_XT_PPR_INTCTL    0x0178
#define AMD_IOMMU_MMIO_XT_GA_INTCTL     0x0180
#define AMD_IOMMU_MMIO_EFR2             0x01a0
#define AMD_IOMMU_MMIO_CMDBUF_HEAD      0x2000
#define AMD_IOMMU_MMIO_CMDBUF_TAIL      0x2008
#define AMD_IOMMU_MMIO_EVTLOG_HEAD      0x2010
#define AMD_IOMMU_MMIO_EVTLOG_TAIL      0x2018
#define AMD_IOMMU_MMIO_STATUS           0x2020
#define AMD_IOMMU_MMIO_GALOG_HEAD       0x2040
#define AMD_IOMMU_MMIO_GALOG_TAIL       0x2048

/*
 * XT interrupt control registers (0x170/0x178/0x180), used instead of
 * the MSI capability when Control.IntCapXTEn = 1: physical or logical
 * destination mode, a 32-bit destination ID in two pieces, a vector.
 * Linux masks one by writing 0.
 */
#define AMD_IOMMU_XT_INT_DM             AMD_AVIC_BIT(2)
#define AMD_IOMMU_XT_INT_DEST_LO_SHIFT  8       /* Destination[23:0] */
#define AMD_IOMMU_XT_INT_DEST_LO_MASK   AMD_AVIC_MASK(31, 8)
#define AMD_IOMMU_XT_INT_VECTOR_SHIFT   32
#define AMD_IOMMU_XT_INT_VECTOR_MASK    AMD_AVIC_MASK(39, 32)
#define AMD_IOMMU_XT_INT_DEST_HI_SHIFT  56      /* Destination[31:24] */
#define AMD_IOMMU_XT_INT_DEST_HI_MASK   AMD_AVIC_MASK(63, 56)

/* Base registers of the rings: address bits 51:12, size code 59:56. */
#define AMD_IOMMU_RING_BASE_MASK        AMD_AVIC_MASK(51, 12)
#define AMD_IOMMU_RING_LEN_SHIFT        56
#define AMD_IOMMU_RING_LEN_MASK         AMD_AVIC_MASK(59, 56)
#define AMD_IOMMU_DEVTAB_SIZE_MASK      AMD_AVIC_MASK(8, 0)
/* ComLen/EventLen: 2^n entries of 16 bytes; 8 = 256 entries, 4 KiB. */
#define AMD_IOMMU_RING_LEN_256          0x8ULL
/* Head/tail registers of the command buffer and event log: bits 18:4. */
#define AMD_IOMMU_RING_PTR_MASK         AMD_AVIC_MASK(18, 4)

/* Control register. */
#define AMD_IOMMU_CTRL_IOMMU_EN         AMD_AVIC_BIT(0)
#define AMD_IOMMU_CTRL_EVTLOG_EN        AMD_AVIC_BIT(2)
#define AMD_IOMMU_CTRL_EVTINT_EN        AMD_AVIC_BIT(3)
#define AMD_IOMMU_CTRL_COMWAIT_INT_EN   AMD_AVIC_BIT(4)
#define AMD_IOMMU_CTRL_CMDBUF_EN        AMD_AVIC_BIT(12)
#define AMD_IOMMU_CTRL_GT_EN            AMD_AVIC_BIT(16)
#define AMD_IOMMU_CTRL_GA_EN            AMD_AVIC_BIT(17)
#define AMD_IOMMU_CTRL_GAM_SHIFT        25      /* GAMEn, bits 27:25 */
#define AMD_IOMMU_CTRL_GAM_MASK         AMD_AVIC_MASK(27, 25)
#define AMD_IOMMU_CTRL_GAM_VAPIC        (1ULL << AMD_IOMMU_CTRL_GAM_SHIFT)
#define AMD_IOMMU_CTRL_GALOG_EN         AMD_AVIC_BIT(28)
#define AMD_IOMMU_CTRL_GAINT_EN         AMD_AVIC_BIT(29)
#define AMD_IOMMU_CTRL_XT_EN            AMD_AVIC_BIT(50)
#define AMD_IOMMU_CTRL_INTCAPXT_EN      AMD_AVIC_BIT(51)
#define AMD_IOMMU_CTRL_IRTCACHE_DIS     AMD_AVIC_BIT(59)
/* GAPPI enable, as Linux's GAPPI RFC (v3, July 2026) programs it. */
#define AMD_IOMMU_CTRL_GAPPI_EN         AMD_AVIC_BIT(55)

/* Status register; W1C marks the bits software clears by writing 1. */
#define AMD_IOMMU_STATUS_EVT_OVERFLOW   AMD_AVIC_BIT(0)     /* W1C */
#define AMD_IOMMU_STATUS_EVT_INT        AMD_AVIC_BIT(1)     /* W1C */
#define AMD_IOMMU_STATUS_COMWAIT_INT    AMD_AVIC_BIT(2)     /* W1C */
#define AMD_IOMMU_STATUS_EVT_RUN        AMD_AVIC_BIT(3)
#define AMD_IOMMU_STATUS_CMDBUF_RUN     AMD_AVIC_BIT(4)
#define AMD_IOMMU_STATUS_GALOG_RUN      AMD_AVIC_BIT(8)
#define AMD_IOMMU_STATUS_GALOG_OVERFLOW AMD_AVIC_BIT(9)     /* W1C */
#define AMD_IOMMU_STATUS_GALOG_INT      AMD_AVIC_BIT(10)    /* W1C */

/* Extended feature register. */
#define AMD_IOMMU_EFR_PREF_SUP          AMD_AVIC_BIT(0)
#define AMD_IOMMU_EFR_PPR_SUP           AMD_AVIC_BIT(1)
#define AMD_IOMMU_EFR_XT_SUP            AMD_AVIC_BIT(2)
#define AMD_IOMMU_EFR_GT_SUP            AMD_AVIC_BIT(4)
#define AMD_IOMMU_EFR_GAPPI_SUP         AMD_AVIC_BIT(5)     /* GAPPI RFC */
#define AMD_IOMMU_EFR_IA_SUP            AMD_AVIC_BIT(6)
#define AMD_IOMMU_EFR_GA_SUP            AMD_AVIC_BIT(7)
#define AMD_IOMMU_EFR_HE_SUP            AMD_AVIC_BIT(8)
#define AMD_IOMMU_EFR_HATS_SHIFT        10
#define AMD_IOMMU_EFR_GATS_SHIFT        12
#define AMD_IOMMU_EFR_GAM_SHIFT         21      /* GAMSup, bits 23:21 */
#define AMD_IOMMU_EFR_GAM_MASK          AMD_AVIC_MASK(23, 21)
#define AMD_IOMMU_EFR_GAM_VAPIC         (1ULL << AMD_IOMMU_EFR_GAM_SHIFT)

/*
 * Extended feature register 2 (MMIO 0x1a0; also the IVHD's "EFR
 * Register Image 2", which Linux prefers).  GAPPIDisSup: the guest-mode
 * IRTE's bit 5 is GAPPIDis (else reserved).
 */
#define AMD_IOMMU_EFR2_GAPPI_DIS_SUP    AMD_AVIC_BIT(4)

/* ------------------------------------------------------------------ */
/* AMD IOMMU: command buffer (16-byte commands, opcode in 63:60)      */
/* ------------------------------------------------------------------ */

#define AMD_IOMMU_CMD_SIZE              16
#define AMD_IOMMU_CMD_OPCODE_SHIFT      60
#define AMD_IOMMU_CMD_COMPLETION_WAIT   0x1
#define AMD_IOMMU_CMD_INVAL_DEVTAB      0x2
#define AMD_IOMMU_CMD_INVAL_PAGES       0x3
#define AMD_IOMMU_CMD_INVAL_IOTLB       0x4
#define AMD_IOMMU_CMD_INVAL_INTR_TABLE  0x5
#define AMD_IOMMU_CMD_INVAL_ALL         0x8

/* INVALIDATE_DEVTAB_ENTRY / INVALIDATE_INTERRUPT_TABLE: device ID. */
#define AMD_IOMMU_CMD_DEVID_MASK        AMD_AVIC_MASK(15, 0)

/* COMPLETION_WAIT, first quadword: store bit, interrupt bit, address. */
#define AMD_IOMMU_CW_STORE              AMD_AVIC_BIT(0)
#define AMD_IOMMU_CW_INTERRUPT          AMD_AVIC_BIT(1)
#define AMD_IOMMU_CW_ADDR_MASK          AMD_AVIC_MASK(51, 3)

/* ------------------------------------------------------------------ */
/* AMD IOMMU: event log (16-byte entries, code in bits 63:60)         */
/* ------------------------------------------------------------------ */

#define AMD_IOMMU_EVT_SIZE              16
#define AMD_IOMMU_EVT_CODE_SHIFT        60
#define AMD_IOMMU_EVT_ILLEGAL_DEV_TABLE_ENTRY   0x1
#define AMD_IOMMU_EVT_IO_PAGE_FAULT             0x2
#define AMD_IOMMU_EVT_DEV_TAB_HW_ERROR          0x3
#define AMD_IOMMU_EVT_PAGE_TAB_HW_ERROR         0x4
#define AMD_IOMMU_EVT_ILLEGAL_COMMAND_ERROR     0x5
#define AMD_IOMMU_EVT_COMMAND_HW_ERROR          0x6

/*
 * IO_PAGE_FAULT flags, as bits of the event's first quadword (DW1
 * bits 27:16).  I = 1 marks an interrupt request; the AMD IOMMU logs
 * interrupt remapping faults this way, with the MSI address (or, for
 * a failed write the IOMMU made itself, that write's address).
 */
#define AMD_IOMMU_EVT_DEVID_MASK        AMD_AVIC_MASK(15, 0)
#define AMD_IOMMU_EVT_DOMID_SHIFT       32      /* DomainID, DW1 15:0 */
#define AMD_IOMMU_EVT_DOMID_MASK        AMD_AVIC_MASK(47, 32)
#define AMD_IOMMU_EVT_IOPF_I            AMD_AVIC_BIT(51)    /* interrupt */
#define AMD_IOMMU_EVT_IOPF_PR           AMD_AVIC_BIT(52)    /* present */
#define AMD_IOMMU_EVT_IOPF_RW           AMD_AVIC_BIT(53)    /* write */
#define AMD_IOMMU_EVT_IOPF_PE           AMD_AVIC_BIT(54)    /* permission */
#define AMD_IOMMU_EVT_IOPF_RZ           AMD_AVIC_BIT(55)    /* reserved bit */
#define AMD_IOMMU_EVT_IOPF_TR           AMD_AVIC_BIT(56)    /* translation */

/* ------------------------------------------------------------------ */
/* AMD IOMMU: device table entry (32 bytes; quadword index, bit)      */
/* ------------------------------------------------------------------ */

#define AMD_IOMMU_DTE_SIZE              32
#define AMD_IOMMU_DTE_Q0_V              AMD_AVIC_BIT(0)
#define AMD_IOMMU_DTE_Q0_TV             AMD_AVIC_BIT(1)
/* Quadword 1 (DTE bits 127:64): DomainID in 79:64. */
#define AMD_IOMMU_DTE_Q1_DOMID_MASK     AMD_AVIC_MASK(15, 0)
/* Quadword 2 (DTE bits 191:128): the interrupt part. */
#define AMD_IOMMU_DTE_Q2_IV             AMD_AVIC_BIT(0)
#define AMD_IOMMU_DTE_Q2_INTTABLEN_SHIFT 1      /* 2^n entries, n <= 11 */
#define AMD_IOMMU_DTE_Q2_INTTABLEN_MASK AMD_AVIC_MASK(4, 1)
#define AMD_IOMMU_DTE_INTTABLEN_MAX     11      /* 2048 entries */
#define AMD_IOMMU_DTE_Q2_IRT_ROOT_MASK  AMD_AVIC_MASK(51, 6)
#define AMD_IOMMU_DTE_Q2_INITPASS       AMD_AVIC_BIT(56)
#define AMD_IOMMU_DTE_Q2_EINTPASS       AMD_AVIC_BIT(57)
#define AMD_IOMMU_DTE_Q2_NMIPASS        AMD_AVIC_BIT(58)
#define AMD_IOMMU_DTE_Q2_INTCTL_SHIFT   60
#define AMD_IOMMU_DTE_Q2_INTCTL_MASK    AMD_AVIC_MASK(61, 60)
#define AMD_IOMMU_DTE_INTCTL_ABORT      0
#define AMD_IOMMU_DTE_INTCTL_PASS       1
#define AMD_IOMMU_DTE_INTCTL_REMAP      2
#define AMD_IOMMU_DTE_Q2_LINT0PASS      AMD_AVIC_BIT(62)
#define AMD_IOMMU_DTE_Q2_LINT1PASS      AMD_AVIC_BIT(63)

/* MSI data bits 10:0 index the interrupt remapping table. */
#define AMD_IOMMU_MSI_DATA_IRTE_MASK    0x7ff

/* ------------------------------------------------------------------ */
/* AMD IOMMU: 128-bit IRTE (Control.GAEn = 1)                         */
/* ------------------------------------------------------------------ */

#define AMD_IOMMU_IRTE_GA_SIZE          16

/* Low quadword, common to both modes. */
#define AMD_IOMMU_IRTE_LO_REMAP_EN      AMD_AVIC_BIT(0)
#define AMD_IOMMU_IRTE_LO_SUP_IOPF      AMD_AVIC_BIT(1)
#define AMD_IOMMU_IRTE_LO_GUEST_MODE    AMD_AVIC_BIT(7)
#define AMD_IOMMU_IRTE_LO_DEST_SHIFT    8       /* Destination[23:0] */
#define AMD_IOMMU_IRTE_LO_DEST_MASK     AMD_AVIC_MASK(31, 8)

/* Low quadword, GuestMode = 0 (remapped). */
#define AMD_IOMMU_IRTE_LO_INTTYPE_SHIFT 2
#define AMD_IOMMU_IRTE_LO_INTTYPE_MASK  AMD_AVIC_MASK(4, 2)
#define AMD_IOMMU_IRTE_INTTYPE_ARBITRATED 1     /* 0 fixed; > 1 reserved */
#define AMD_IOMMU_IRTE_LO_RQ_EOI        AMD_AVIC_BIT(5)
#define AMD_IOMMU_IRTE_LO_DM            AMD_AVIC_BIT(6)
#define AMD_IOMMU_IRTE_LO_REMAP_RSVD    AMD_AVIC_MASK(63, 32)

/* Low quadword, GuestMode = 1 (guest virtual APIC). */
#define AMD_IOMMU_IRTE_LO_GA_LOG_INTR   AMD_AVIC_BIT(2)
#define AMD_IOMMU_IRTE_LO_GAPPI_DIS     AMD_AVIC_BIT(5)     /* GAPPIDisSup */
#define AMD_IOMMU_IRTE_LO_GA_RSVD       AMD_AVIC_MASK(4, 3)
#define AMD_IOMMU_IRTE_LO_IS_RUN        AMD_AVIC_BIT(6)
#define AMD_IOMMU_IRTE_LO_GA_TAG_SHIFT  32
#define AMD_IOMMU_IRTE_LO_GA_TAG_MASK   AMD_AVIC_MASK(63, 32)
/* GAPPI: the wake-up vector is GATag[7:0] (docs/specs/amd-iommu-ga.rst). */
#define AMD_IOMMU_GA_TAG_GAPPI_VECTOR_MASK  0xffU

/* High quadword. */
#define AMD_IOMMU_IRTE_HI_VECTOR_MASK   AMD_AVIC_MASK(7, 0)
#define AMD_IOMMU_IRTE_HI_GA_ROOT_MASK  AMD_AVIC_MASK(51, 12)
#define AMD_IOMMU_IRTE_HI_DEST_HI_SHIFT 56      /* Destination[31:24] */
#define AMD_IOMMU_IRTE_HI_DEST_HI_MASK  AMD_AVIC_MASK(63, 56)
/* Reserved in guest mode: bits 11:8 and 55:52. */
#define AMD_IOMMU_IRTE_HI_GA_RSVD       (AMD_AVIC_MASK(11, 8) | \
                                         AMD_AVIC_MASK(55, 52))
/*
 * Guest-mode fields the IOMMU does not cache: read from memory for every
 * interrupt, after the IRR write (IsRun, Destination, GATag, GALogIntr;
 * GAPPIDis too where it exists).  Everything else may be cached until
 * INVALIDATE_INTERRUPT_TABLE.
 */
#define AMD_IOMMU_IRTE_LO_GA_UNCACHED   (AMD_IOMMU_IRTE_LO_IS_RUN | \
                                         AMD_IOMMU_IRTE_LO_DEST_MASK | \
                                         AMD_IOMMU_IRTE_LO_GA_TAG_MASK | \
                                         AMD_IOMMU_IRTE_LO_GA_LOG_INTR)
#define AMD_IOMMU_IRTE_HI_GA_UNCACHED   AMD_IOMMU_IRTE_HI_DEST_HI_MASK
/* IRR of the vAPIC backing page the GA root pointer names. */
#define AMD_IOMMU_GA_ROOT_SHIFT         12

/* ------------------------------------------------------------------ */
/* AMD IOMMU: 32-bit IRTE (Control.GAEn = 0)                          */
/* ------------------------------------------------------------------ */

/*
 * RemapEn, SupIOPF, IntType, RqEoi, DM and GuestMode (which must be 0)
 * sit where the 128-bit low quadword has them (AMD_IOMMU_IRTE_LO_*).
 */
#define AMD_IOMMU_IRTE32_SIZE           4
#define AMD_IOMMU_IRTE32_DEST_MASK      AMD_AVIC_MASK(15, 8)
#define AMD_IOMMU_IRTE32_VECTOR_MASK    AMD_AVIC_MASK(23, 16)

/* ------------------------------------------------------------------ */
/* AMD IOMMU: GA log (8-byte entries)                                 */
/* ------------------------------------------------------------------ */

#define AMD_IOMMU_GALOG_ENTRY_SIZE      8
#define AMD_IOMMU_GALOG_TAG_MASK        AMD_AVIC_MASK(31, 0)
#define AMD_IOMMU_GALOG_DEVID_SHIFT     32
#define AMD_IOMMU_GALOG_DEVID_MASK      AMD_AVIC_MASK(47, 32)
#define AMD_IOMMU_GALOG_TYPE_SHIFT      60
#define AMD_IOMMU_GALOG_TYPE_GUEST_NR   0x1
/* Head and tail pointers are byte offsets: bits 18:3. */
#define AMD_IOMMU_GALOG_PTR_MASK        AMD_AVIC_MASK(18, 3)
/*
 * GALogLen (GA log base bits 59:56): n means 2^(n + 1) entries, 2^(n + 4)
 * bytes.  Linux writes 8 for its 512-entry, 4 KiB log (GA_LOG_SIZE_512);
 * 15 gives the 512 KiB that the 19-bit head/tail pointers can address.
 * Values below 8 are reserved (docs/specs/amd-iommu-ga.rst).
 */
#define AMD_IOMMU_GALOG_LEN_MIN         8
#define AMD_IOMMU_GALOG_LEN_512         8
#define AMD_IOMMU_GALOG_ENTRIES_512     512
#define AMD_IOMMU_GALOG_BYTES(len)      (1ULL << ((len) + 4))
/* The tail address register: where the tail is copied, bits 51:3. */
#define AMD_IOMMU_GALOG_TAIL_ADDR_MASK  AMD_AVIC_MASK(51, 3)

/* ------------------------------------------------------------------ */
/* SVM AVIC: CPUID, VMCB fields, tables, exits, doorbell (APM §15.29)  */
/* ------------------------------------------------------------------ */

/* CPUID Fn8000_000A */
#define AVIC_CPUID_EDX_AVIC             AMD_AVIC_BIT(13)
#define AVIC_CPUID_EDX_X2AVIC           AMD_AVIC_BIT(18)
#define AVIC_CPUID_EDX_EXTLVT_ACCESS    AMD_AVIC_BIT(27)
/* x2AVIC_EXT: 4096 vCPUs, physical table MAX_INDEX up to 4095. */
#define AVIC_CPUID_ECX_X2AVIC_EXT       AMD_AVIC_BIT(6)

/* VMCB control area offsets of the fields AVIC uses. */
#define AVIC_VMCB_INT_CTL               0x060
#define AVIC_VMCB_CLEAN                 0x0c0
#define AVIC_VMCB_APIC_BAR              0x098
#define AVIC_VMCB_BACKING_PAGE          0x0e0
#define AVIC_VMCB_LOGICAL_TABLE         0x0f0
#define AVIC_VMCB_PHYSICAL_TABLE        0x0f8

/* The APIC BAR guest-physical address Linux KVM programs. */
#define AVIC_DEFAULT_APIC_BAR           0xfee00000ULL

/* VMCB 060h (int_ctl and friends, 64 bits). */
#define AVIC_INT_CTL_V_TPR_MASK         AMD_AVIC_MASK(3, 0)
#define AVIC_INT_CTL_V_IRQ              AMD_AVIC_BIT(8)
#define AVIC_INT_CTL_V_INTR_MASKING     AMD_AVIC_BIT(24)
#define AVIC_INT_CTL_X2AVIC_EN          AMD_AVIC_BIT(30)
#define AVIC_INT_CTL_AVIC_EN            AMD_AVIC_BIT(31)

/* VMCB clean bits that cover AVIC state. */
#define AVIC_CLEAN_TPR_INTR             AMD_AVIC_BIT(3)
#define AVIC_CLEAN_AVIC                 AMD_AVIC_BIT(11)

/* Pointer fields: a 4 KiB-aligned address below 2^52. */
#define AVIC_VMCB_ADDR_MASK             AMD_AVIC_MASK(51, 12)
#define AVIC_VMCB_PHYS_MAX_INDEX_MASK   AMD_AVIC_MASK(11, 0)
#define AVIC_XAVIC_MAX_INDEX            255
#define AVIC_X2AVIC_MAX_INDEX           511

/* Physical APIC ID table entry (64 bits, indexed by guest APIC ID). */
#define AVIC_PHYS_ENTRY_HOST_ID_MASK    AMD_AVIC_MASK(11, 0)
#define AVIC_PHYS_ENTRY_BACKING_MASK    AMD_AVIC_MASK(51, 12)
#define AVIC_PHYS_ENTRY_RSVD_MASK       AMD_AVIC_MASK(61, 52)
#define AVIC_PHYS_ENTRY_IS_RUNNING      AMD_AVIC_BIT(62)
#define AVIC_PHYS_ENTRY_VALID           AMD_AVIC_BIT(63)

/* Logical APIC ID table entry (32 bits, xAVIC only). */
#define AVIC_LOG_ENTRY_GUEST_ID_MASK    0xffU
#define AVIC_LOG_ENTRY_VALID            (1U << 31)

/* #VMEXIT codes. */
#define AVIC_EXIT_INCOMPLETE_IPI        0x401
#define AVIC_EXIT_NOACCEL               0x402
#define AVIC_EXIT_INVALID               (-1)   /* VMEXIT_INVALID */

/* 401h: EXITINFO1 = ICR (high:low); EXITINFO2 = ID << 32 | index. */
#define AVIC_IPI_EXITINFO2_ID_SHIFT     32
#define AVIC_IPI_EXITINFO2_INDEX_MASK   AMD_AVIC_MASK(11, 0)
#define AVIC_IPI_INVALID_INT_TYPE       0
#define AVIC_IPI_TARGET_NOT_RUNNING     1
#define AVIC_IPI_INVALID_TARGET         2
#define AVIC_IPI_INVALID_BACKING_PAGE   3
#define AVIC_IPI_INVALID_VECTOR         4

/* 402h: EXITINFO1 = write << 32 | offset; EXITINFO2[7:0] = EOI vector. */
#define AVIC_NOACCEL_OFFSET_MASK        AMD_AVIC_MASK(11, 4)
#define AVIC_NOACCEL_WRITE              AMD_AVIC_BIT(32)
#define AVIC_NOACCEL_VECTOR_MASK        AMD_AVIC_MASK(7, 0)

/* The doorbell MSR: write the target's physical APIC ID. */
#define AVIC_MSR_DOORBELL               0xc001011bU
#define AVIC_DOORBELL_APIC_ID_MASK      AMD_AVIC_MASK(11, 0)

/* x2APIC MSRs that AVIC virtualizes: offset = (msr - base) << 4. */
#define AVIC_X2APIC_MSR_BASE            0x800U
#define AVIC_X2APIC_MSR_LAST            0x8ffU

/* ------------------------------------------------------------------ */
/* Local APIC register offsets (xAPIC page; x2APIC MSR = 0x800 + off/16) */
/* ------------------------------------------------------------------ */

#define APIC_REG_ID         0x020
#define APIC_REG_VERSION    0x030
#define APIC_REG_TPR        0x080
#define APIC_REG_APR        0x090
#define APIC_REG_PPR        0x0a0
#define APIC_REG_EOI        0x0b0
#define APIC_REG_RRR        0x0c0
#define APIC_REG_LDR        0x0d0
#define APIC_REG_DFR        0x0e0
#define APIC_REG_SVR        0x0f0
#define APIC_REG_ISR        0x100   /* 8 words, 16 bytes apart */
#define APIC_REG_TMR        0x180
#define APIC_REG_IRR        0x200
#define APIC_REG_ESR        0x280
#define APIC_REG_ICR_LO     0x300
#define APIC_REG_ICR_HI     0x310
#define APIC_REG_LVT_TIMER  0x320
#define APIC_REG_LVT_THERM  0x330
#define APIC_REG_LVT_PERF   0x340
#define APIC_REG_LVT_LINT0  0x350
#define APIC_REG_LVT_LINT1  0x360
#define APIC_REG_LVT_ERROR  0x370
#define APIC_REG_TMICT      0x380
#define APIC_REG_TMCCT      0x390
#define APIC_REG_TDCR       0x3e0
#define APIC_REG_SELF_IPI   0x3f0   /* x2APIC only (MSR 0x83f) */

/* Word and bit of a vector in the ISR/TMR/IRR arrays. */
#define APIC_VEC_REG_OFFSET(base, vec)  ((base) + 0x10 * ((vec) >> 5))
#define APIC_VEC_BIT(vec)               (1U << ((vec) & 31))

/* ------------------------------------------------------------------ */
/* x2APIC value checks that come before x2AVIC (issue 9)              */
/* ------------------------------------------------------------------ */

/*
 * ICR (MSR 830h) bits that must be zero: 31:20, 17:16, 13, and 12
 * (Delivery Status, which AMD requires to be zero in x2APIC mode).
 * Every other x2APIC MSR has bits 63:32 reserved.
 */
#define APIC_X2_ICR_RESERVED    (AMD_AVIC_MASK(31, 20) | AMD_AVIC_MASK(17, 16) | \
                                 AMD_AVIC_BIT(13) | AMD_AVIC_BIT(12))
#define APIC_X2_HIGH_RESERVED   AMD_AVIC_MASK(63, 32)

/* ------------------------------------------------------------------ */
/* TCG SVM fixes: VMCB fields upstream's struct vmcb lacks             */
/* ------------------------------------------------------------------ */

/* nRIP, the next sequential RIP (NRIPS, CPUID Fn8000_000A EDX[3]). */
#define SVM_VMCB_NRIP           0x0c8

#endif /* HW_I386_AMD_AVIC_BITS_H */
