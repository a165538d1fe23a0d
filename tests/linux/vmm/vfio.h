/*
 * QEMU's edu device through VFIO, for the L1 programs of the Linux
 * tests: find it, bind it to vfio-pci, open it in a type1 container,
 * turn on memory decode and bus mastering, map BAR0.  Errors end the
 * program with a "vmm: STEP: WHAT: errno" line.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef TESTS_LINUX_VFIO_H
#define TESTS_LINUX_VFIO_H

#include <stddef.h>
#include <stdint.h>

#define EDU_VENDOR      "0x1234"
#define EDU_DEVICE      "0x11e8"

typedef struct VfioEdu {
    char bdf[256];              /* e.g. "0000:00:03.0" */
    int container;              /* type1 container: VFIO_IOMMU_MAP_DMA */
    int device;
} VfioEdu;

void vfio_open_edu(VfioEdu *edu);
void vfio_enable_device(VfioEdu *edu);
volatile uint8_t *vfio_map_bar0(VfioEdu *edu, size_t *size);

#endif /* TESTS_LINUX_VFIO_H */
