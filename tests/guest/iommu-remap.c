/*
 * iommu-remap: the IOMMU's remapped mode, which works today.  A 128-bit
 * IRTE (Control.GAEn, GuestMode=0) routes edu's MSI to vector V on CPU 1;
 * every interrupt sent arrives exactly once, on the right CPU, with the
 * right vector.  Then the IRTE is rewritten live (128-bit cmpxchg +
 * INVALIDATE_INTERRUPT_TABLE): new destination, new vector, RemapEn=0.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "iommu.h"
#include "cpu.h"

#define VEC_A       0x60
#define VEC_B       0x61
#define IRTE_IDX    5
#define N_SEND      1000

static struct iommu io;
static struct edu edu;

/* Send n interrupts one at a time, each waiting for its arrival. */
static uint64_t send(int n, int cpu, int vec)
{
    volatile uint64_t *c = &percpu[cpu].irq_count[vec];
    uint64_t before = *c;
    for (int i = 0; i < n; i++) {
        edu_raise(&edu, 1);
        counts.sent++;
        if (!wait_until(*c >= before + i + 1, 200000))
            break;
        edu_ack(&edu, 1);
    }
    edu_ack(&edu, 1);
    udelay(2000);
    counts.delivered += *c - before;
    return *c - before;
}

static uint64_t total(int vec)
{
    uint64_t t = 0;
    for (int c = 0; c < nr_cpus; c++)
        t += percpu[c].irq_count[vec];
    return t;
}

int main(void)
{
    tap_group("iommu-remap");
    tap_plan(9);

    bool have = iommu_init(&io);
    if (!report(have, "IOMMU found (PCI %04x:%04x, capability)", AMD_IOMMU_PCI_VENDOR,
                AMD_IOMMU_PCI_DEVICE))
        tap_finish();
    diag("IOMMU at %02x:%02x.%d, MMIO %#llx, EFR %#llx (GA %d, XT %d, GAMSup %llu, GAPPI %d)",
         io.bdf >> 8, (io.bdf >> 3) & 31, io.bdf & 7, (unsigned long long)io.mmio,
         (unsigned long long)io.efr, iommu_ga_supported(&io), iommu_xt_supported(&io),
         (unsigned long long)((io.efr & AMD_IOMMU_EFR_GAM_MASK) >> AMD_IOMMU_EFR_GAM_SHIFT),
         iommu_gappi_supported(&io));
    if (!report(edu_init(&edu), "edu found and alive"))
        tap_finish();
    report(iommu_ga_supported(&io) && nr_cpus >= 3, "EFR.GASup (128-bit IRTE), >= 3 CPUs");

    set_irq_handler(VEC_A, count_and_eoi);
    set_irq_handler(VEC_B, count_and_eoi);

    struct irte_ga *irt = iommu_setup_irt(&io, edu.bdf, 8);
    irte_remap(&irt[IRTE_IDX], VEC_A, 1);
    iommu_inval_irt(&io, edu.bdf);
    iommu_completion_wait(&io);
    /* The MSI names the IRTE in data[10:0]; the address is the plain
     * interrupt range.  Index < 256 keeps data[10:8] (type) = fixed. */
    pci_msi_set(edu.bdf, MSI_ADDR(0), IRTE_IDX);

    uint64_t got = send(N_SEND, 1, VEC_A);
    report(got == N_SEND && total(VEC_A) == N_SEND,
           "remap: %d MSIs -> vector %#x on CPU 1, each once (got %llu, total %llu)",
           N_SEND, VEC_A, (unsigned long long)got, (unsigned long long)total(VEC_A));

    struct irte_ga n = irt[IRTE_IDX];
    irte_set_dest(&n, 2);
    irte_update(&io, edu.bdf, &irt[IRTE_IDX], n);
    got = send(100, 2, VEC_A);
    report(got == 100 && percpu[1].irq_count[VEC_A] == N_SEND,
           "remap: live IRTE update moves them to CPU 2 (got %llu)", (unsigned long long)got);

    irte_remap(&n, VEC_B, 1);
    irte_update(&io, edu.bdf, &irt[IRTE_IDX], n);
    got = send(100, 1, VEC_B);
    report(got == 100 && total(VEC_A) == N_SEND + 100,
           "remap: live IRTE update changes the vector (got %llu)", (unsigned long long)got);

    n.lo &= ~AMD_IOMMU_IRTE_LO_REMAP_EN;
    irte_update(&io, edu.bdf, &irt[IRTE_IDX], n);
    uint64_t before = total(VEC_B) + total(VEC_A);
    edu_raise(&edu, 1);        /* blocked on purpose: not counted as sent */
    udelay(20000);
    edu_ack(&edu, 1);
    report(total(VEC_B) + total(VEC_A) == before, "remap: RemapEn=0 blocks the interrupt");

    int match;
    int nev = iommu_evt_drain(&io, edu.bdf, &match);
    diag("event log: %d entries, %d for edu (RemapEn=0 may log an IO_PAGE_FAULT)", nev, match);
    counts.events += nev;

    irte_remap(&n, VEC_A, 3 < nr_cpus ? 3 : 1);
    irte_update(&io, edu.bdf, &irt[IRTE_IDX], n);
    got = send(100, 3 < nr_cpus ? 3 : 1, VEC_A);
    report(got == 100, "remap: re-enabled entry delivers again (got %llu)",
           (unsigned long long)got);

    uint64_t st = iommu_read(&io, AMD_IOMMU_MMIO_STATUS);
    report(!(st & AMD_IOMMU_STATUS_EVT_OVERFLOW), "status: no event log overflow (%#llx)",
           (unsigned long long)st);
    return 0;
}
