/*
 * Shared setup of the device-posting groups (post-*, galog-overflow,
 * stress, bad-programming): the IOMMU in guest virtual APIC mode, edu's
 * MSI through one 128-bit IRTE, the GA log with its interrupt (the
 * IOMMU's PCI MSI, to CPU 0), and one AVIC vCPU whose backing page is
 * the IRTE's GA root.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef GUEST_POST_H
#define GUEST_POST_H

#include "svm.h"
#include "iommu.h"

#define VEC_GALOG       0xd0    /* GA log interrupt (IOMMU MSI), to CPU 0 */
#define VEC_WAKE        0xd1    /* L1 IPI: wake the CPU a vCPU blocks on */
#define POST_IRTE_IDX   9
#define POST_TAG        0x00c0ffeeu

struct post {
    struct iommu io;
    struct edu edu;
    struct irte_ga *irt;
    uint16_t devid;
    struct vm *vm;
    struct vcpu *v;
    bool vapic, gappi, avic;
    /* GA log as the L1 handler sees it */
    volatile uint64_t galog_irqs, galog_entries, galog_bad, galog_status;
    volatile uint64_t last_entry;
    volatile bool autodrain;
    uint32_t tag;               /* GATag the handler expects */
    /* wake-ups (GA log entry or GAPPI interrupt naming the vCPU) */
    volatile uint32_t wake;
    volatile int wake_cpu;      /* IPI it on a GA log wake-up; -1: none */
    volatile uint64_t gappi_irqs;
};
extern struct post P;

/* Find and set up everything; false if the IOMMU or edu is missing. */
bool post_init(bool x2avic, void (*l2fn)(void *), void *l2arg);
/* The TODO reason for a check needing the IOMMU's vAPIC mode, plus AVIC
 * and/or GAPPI; NULL when everything is there. */
const char *post_todo(bool need_avic, bool need_gappi);

/* Program the IRTE (128-bit cmpxchg + invalidation). */
void post_irte(bool is_run, uint32_t dest, bool ga_log_intr, uint8_t vector, uint32_t tag,
               bool gappi_dis);
/* One device interrupt. */
#ifdef SOFT_IOMMU
void soft_iommu_post(void);
static inline void post_send(void)
{
    soft_iommu_post();
}
#else
static inline void post_send(void)
{
    edu_raise(&P.edu, 1);
}
#endif
/* GAPPI wake-up handler for a vector (counts per CPU, sets P.wake). */
void post_gappi_handler(struct frame *f);
/* The L1's GA log interrupt handler (W1C GALogInt, drain if autodrain). */
void post_galog_handler(struct frame *f);
int post_galog_drain(void);     /* pop what the handler left; returns count */
uint64_t post_host_irqs(int vec);       /* over all CPUs */

#endif
