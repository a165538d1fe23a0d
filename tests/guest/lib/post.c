/*
 * Shared setup of the device-posting groups.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "post.h"

struct post P;

static void check_entry(uint64_t e)
{
    P.galog_entries++;
    P.last_entry = e;
    uint32_t tag = e & AMD_IOMMU_GALOG_TAG_MASK;
    uint16_t dev = (e & AMD_IOMMU_GALOG_DEVID_MASK) >> AMD_IOMMU_GALOG_DEVID_SHIFT;
    unsigned type = e >> AMD_IOMMU_GALOG_TYPE_SHIFT;
    if (tag != P.tag || dev != P.devid || type != AMD_IOMMU_GALOG_TYPE_GUEST_NR) {
        P.galog_bad++;
        return;
    }
    P.wake = 1;
    int c = P.wake_cpu;
    if (c >= 0 && c != smp_id())
        apic_icr_write(VEC_WAKE, c);
}

int post_galog_drain(void)
{
    uint64_t e;
    int n = 0;
    while (iommu_galog_pop(&P.io, &e)) {
        check_entry(e);
        n++;
    }
    return n;
}

/* As Linux's handler: acknowledge GALogInt (W1C), then walk head->tail. */
void post_galog_handler(struct frame *f)
{
    this_cpu()->irq_count[f->vector]++;
    P.galog_irqs++;
    uint64_t st = iommu_read(&P.io, AMD_IOMMU_MMIO_STATUS);
    P.galog_status |= st;
    iommu_write(&P.io, AMD_IOMMU_MMIO_STATUS, st & AMD_IOMMU_STATUS_GALOG_INT);
    if (P.autodrain)
        post_galog_drain();
    apic_eoi();
}

static void wake_handler(struct frame *f)
{
    apic_eoi();
}

void post_gappi_handler(struct frame *f)
{
    this_cpu()->irq_count[f->vector]++;
    P.gappi_irqs++;
    P.wake = 1;
    apic_eoi();
}

uint64_t post_host_irqs(int vec)
{
    uint64_t n = 0;
    for (int c = 0; c < nr_cpus; c++)
        n += percpu[c].irq_count[vec];
    return n;
}

bool post_init(bool x2avic, void (*l2fn)(void *), void *l2arg)
{
    if (!iommu_init(&P.io) || !edu_init(&P.edu))
        return false;
    P.devid = P.edu.bdf;
    P.tag = POST_TAG;
    P.wake_cpu = -1;
    P.autodrain = true;
    P.vapic = iommu_vapic_supported(&P.io);
    P.gappi = P.vapic && iommu_gappi_supported(&P.io);
    P.avic = avic_supported() && (!x2avic || x2avic_supported());
    diag("IOMMU EFR %#llx: GAMSup %llu, GAPPI %d; CPU AVIC %d x2AVIC %d",
         (unsigned long long)P.io.efr,
         (unsigned long long)((P.io.efr & AMD_IOMMU_EFR_GAM_MASK) >> AMD_IOMMU_EFR_GAM_SHIFT),
         iommu_gappi_supported(&P.io), avic_supported(), x2avic_supported());

    P.irt = iommu_setup_irt(&P.io, P.devid, 8);
    pci_msi_set(P.edu.bdf, MSI_ADDR(0), POST_IRTE_IDX);
    set_irq_handler(VEC_GALOG, post_galog_handler);
    set_irq_handler(VEC_WAKE, wake_handler);
    iommu_msi_set(&P.io, VEC_GALOG, 0);
    if (P.vapic)
        iommu_galog_init(&P.io, true);

    svm_enable();
    P.vm = vm_create();
    vm_avic_init(P.vm, x2avic && x2avic_supported(), 1);
    P.v = vcpu_create(P.vm, 0, l2fn, l2arg);
    return true;
}

const char *post_todo(bool need_avic, bool need_gappi)
{
    bool no_avic = need_avic && !P.avic;
    if (!P.vapic && no_avic)
        return "issue 3 (IOMMU guest vAPIC mode not offered: EFR.GAMSup != 1) "
               "and issue 4 (AVIC not offered by this CPU)";
    if (!P.vapic)
        return "issue 3 (IOMMU guest vAPIC mode not offered: EFR.GAMSup != 1)";
    if (need_gappi && !P.gappi)
        return no_avic ? "issue 3 (IOMMU GAPPI not offered: EFR bit 5 clear) "
                         "and issue 4 (AVIC not offered by this CPU)"
                       : "issue 3 (IOMMU GAPPI not offered: EFR bit 5 clear)";
    if (no_avic)
        return "issue 4 (AVIC not offered by this CPU)";
    return NULL;
}

void post_irte(bool is_run, uint32_t dest, bool ga_log_intr, uint8_t vector, uint32_t tag,
               bool gappi_dis)
{
    struct irte_ga n;
    irte_guest(&n, vector, virt_to_phys(P.v->backing), dest, tag, is_run, ga_log_intr);
    if (gappi_dis)
        n.lo |= AMD_IOMMU_IRTE_LO_GAPPI_DIS;
    irte_update(&P.io, P.devid, &P.irt[POST_IRTE_IDX], n);
}
