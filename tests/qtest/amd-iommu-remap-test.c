/*
 * QTest for the AMD IOMMU: what upstream already does and we must keep
 *
 * - the PCI identity and the IOMMU capability block;
 * - the MMIO registers that exist at reset (EFR, control, status, the
 *   ring base registers) and the command buffer (COMPLETION_WAIT);
 * - interrupt remapping with a 128-bit IRTE in remapped mode
 *   (GuestMode = 0): an MSI from the edu device arrives at the local
 *   APIC named by the IRTE, with the IRTE's vector.
 *
 * The guest-mode (vAPIC) features have tests of their own.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "amd-iommu-ga-qtest.h"

static QTestState *start_machine(const char *extra)
{
    /* The IOMMU must come before the PCI devices it translates for. */
    return qtest_initf("-M q35 -smp 2 "
                       "-device amd-iommu,id=iommu,intremap=on,xtsup=on%s "
                       "-device edu,addr=%d.0", extra, EDU_SLOT);
}

/*
 * Device table, command buffer and 128-bit IRTEs, IOMMU enabled as
 * upstream supports it: remapping only (no guest vAPIC mode, GAMEn = 0).
 */
static void remap_setup(GaTest *t)
{
    memset(t, 0, sizeof(*t));
    t->qts = start_machine("");
    ga_pci_init(t);
    iommu_program_tables(t);
    iommu_writeq(t, AMD_IOMMU_MMIO_CONTROL,
                 AMD_IOMMU_CTRL_IOMMU_EN | AMD_IOMMU_CTRL_CMDBUF_EN |
                 AMD_IOMMU_CTRL_GA_EN | AMD_IOMMU_CTRL_XT_EN);
}

static void test_pci_identity(void)
{
    QTestState *qts = start_machine("");
    QPCIBus *bus = qpci_new_pc(qts, NULL);
    QPCIDevice *dev = find_iommu_pci(bus);
    uint8_t cap;
    uint32_t hdr;

    g_assert_cmphex(qpci_config_readw(dev, PCI_CLASS_DEVICE), ==,
                    AMD_IOMMU_PCI_CLASS);
    g_assert(qpci_config_readw(dev, PCI_STATUS) & PCI_STATUS_CAP_LIST);

    cap = qpci_find_capability(dev, AMD_IOMMU_CAP_ID, 0);
    g_assert_cmpint(cap, !=, 0);
    hdr = qpci_config_readl(dev, cap + AMD_IOMMU_CAP_HEADER);
    g_assert_cmpint((hdr >> AMD_IOMMU_CAP_HDR_TYPE_SHIFT) & 7, ==, 3);
    g_assert(hdr & AMD_IOMMU_CAP_HDR_EFR_SUP);
    g_assert(hdr & AMD_IOMMU_CAP_HDR_IOTLB);

    /* The capability names the MMIO base the registers live at. */
    g_assert_cmphex(qpci_config_readl(dev, cap + AMD_IOMMU_CAP_BAR_LOW) &
                    ~0x3fffU, ==, (uint32_t)IOMMU_MMIO);
    g_assert_cmphex(qpci_config_readl(dev, cap + AMD_IOMMU_CAP_BAR_HIGH), ==,
                    IOMMU_MMIO >> 32);
    g_assert_cmpint(qpci_find_capability(dev, PCI_CAP_ID_MSI, 0), !=, 0);

    g_free(dev);
    qpci_free_pc(bus);
    qtest_quit(qts);
}

static void test_mmio_registers(void)
{
    GaTest t = { .qts = start_machine("") };
    uint64_t efr = iommu_readq(&t, AMD_IOMMU_MMIO_EFR);
    uint64_t base;

    /* EFR as Linux 6.12 prints it for upstream 10.2.2 with xtsup=on. */
    g_assert_cmphex(efr & 0xffff, ==, 0x29d7);
    g_assert(efr & AMD_IOMMU_EFR_XT_SUP);
    g_assert(efr & AMD_IOMMU_EFR_GA_SUP);

    /* EFR is read-only. */
    iommu_writeq(&t, AMD_IOMMU_MMIO_EFR, 0);
    g_assert_cmphex(iommu_readq(&t, AMD_IOMMU_MMIO_EFR), ==, efr);

    /* Nothing runs at reset. */
    g_assert_cmphex(iommu_readq(&t, AMD_IOMMU_MMIO_CONTROL), ==, 0);
    g_assert_cmphex(iommu_readq(&t, AMD_IOMMU_MMIO_STATUS), ==, 0);

    /* Ring bases read back as written. */
    base = CMDBUF_GPA | (8ULL << AMD_IOMMU_RING_LEN_SHIFT);
    iommu_writeq(&t, AMD_IOMMU_MMIO_CMDBUF_BASE, base);
    g_assert_cmphex(iommu_readq(&t, AMD_IOMMU_MMIO_CMDBUF_BASE), ==, base);
    iommu_writeq(&t, AMD_IOMMU_MMIO_DEVTAB_BASE, DEVTAB_GPA);
    g_assert_cmphex(iommu_readq(&t, AMD_IOMMU_MMIO_DEVTAB_BASE), ==,
                    DEVTAB_GPA);

    /* Enabling the command buffer sets CmdBufRun; disabling clears it. */
    iommu_writeq(&t, AMD_IOMMU_MMIO_CONTROL,
                 AMD_IOMMU_CTRL_IOMMU_EN | AMD_IOMMU_CTRL_CMDBUF_EN);
    g_assert(iommu_readq(&t, AMD_IOMMU_MMIO_STATUS) &
             AMD_IOMMU_STATUS_CMDBUF_RUN);
    iommu_writeq(&t, AMD_IOMMU_MMIO_CONTROL, 0);
    g_assert_false(iommu_readq(&t, AMD_IOMMU_MMIO_STATUS) &
                   AMD_IOMMU_STATUS_CMDBUF_RUN);

    qtest_quit(t.qts);
}

static void test_completion_wait(void)
{
    GaTest t;

    remap_setup(&t);
    iommu_completion_wait(&t, 0x1234567890abcdefULL);
    g_assert_cmphex(iommu_readq(&t, AMD_IOMMU_MMIO_CMDBUF_HEAD), ==,
                    AMD_IOMMU_CMD_SIZE);
    iommu_completion_wait(&t, 0x42);
    ga_stop(&t);
}

static void test_remap_msi(void)
{
    GaTest t;
    const int index = 5;

    remap_setup(&t);
    write_irte_remapped(&t, index, 1, 0x41);
    iommu_flush_irt(&t);

    /* The MSI data names the IRTE; the IRTE names vector and CPU. */
    edu_set_irte(&t, index);
    g_assert_false(lapic_irr_has(&t, 1, 0x41));
    edu_fire(&t);
    g_assert_true(lapic_irr_has(&t, 1, 0x41));
    g_assert_false(lapic_irr_has(&t, 0, 0x41));

    /* Another IRTE, another CPU and vector. */
    write_irte_remapped(&t, index + 1, 0, 0x52);
    edu_set_irte(&t, index + 1);
    edu_fire(&t);
    g_assert_true(lapic_irr_has(&t, 0, 0x52));
    g_assert_false(lapic_irr_has(&t, 1, 0x52));

    ga_stop(&t);
}

static void test_remap_disabled_irte_aborts(void)
{
    GaTest t;
    const int index = 7;

    remap_setup(&t);
    /* RemapEn clear: the interrupt is aborted. */
    write_irte_raw(&t, index, (uint64_t)1 << AMD_IOMMU_IRTE_LO_DEST_SHIFT,
                   0x61);
    edu_set_irte(&t, index);
    edu_fire(&t);
    g_assert_false(lapic_irr_has(&t, 0, 0x61));
    g_assert_false(lapic_irr_has(&t, 1, 0x61));
    ga_stop(&t);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    qtest_add_func("/amd-iommu/pci-identity", test_pci_identity);
    qtest_add_func("/amd-iommu/mmio-registers", test_mmio_registers);
    qtest_add_func("/amd-iommu/completion-wait", test_completion_wait);
    qtest_add_func("/amd-iommu/remap/msi", test_remap_msi);
    qtest_add_func("/amd-iommu/remap/disabled-irte-aborts",
                   test_remap_disabled_irte_aborts);
    return g_test_run();
}
