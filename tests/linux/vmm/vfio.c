/*
 * QEMU's edu device through VFIO: see vfio.h.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <linux/vfio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "vfio.h"

static void vfio_die(const char *step, const char *what)
{
    fprintf(stderr, "vmm: %s: %s: %s\n", step, what, strerror(errno));
    exit(2);
}

static void read_line(const char *path, char *buf, size_t size)
{
    FILE *f = fopen(path, "r");
    int ok = f && fgets(buf, size, f);

    if (f) {
        fclose(f);
    }
    buf[ok ? strcspn(buf, "\n") : 0] = 0;
}

static void write_line(const char *path, const char *val)
{
    FILE *f = fopen(path, "w");

    if (!f || fputs(val, f) < 0 || fclose(f)) {
        vfio_die("vfio bind", path);
    }
}

/* The PCI address of the edu device. */
static void find_edu(VfioEdu *edu)
{
    DIR *dir = opendir("/sys/bus/pci/devices");
    struct dirent *d;
    char path[512], vendor[16], device[16];

    while (dir && (d = readdir(dir))) {
        snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/vendor",
                 d->d_name);
        read_line(path, vendor, sizeof(vendor));
        snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/device",
                 d->d_name);
        read_line(path, device, sizeof(device));
        if (!strcmp(vendor, EDU_VENDOR) && !strcmp(device, EDU_DEVICE)) {
            snprintf(edu->bdf, sizeof(edu->bdf), "%s", d->d_name);
            closedir(dir);
            return;
        }
    }
    errno = ENODEV;
    vfio_die("find edu", "no PCI device 1234:11e8");
}

/* Find edu, bind it to vfio-pci and open it in a type1 container. */
void vfio_open_edu(VfioEdu *edu)
{
    char path[512], link[512];
    struct vfio_group_status status = { .argsz = sizeof(status) };
    int group;
    ssize_t n;

    find_edu(edu);
    snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/driver", edu->bdf);
    n = readlink(path, link, sizeof(link) - 1);
    if (n < 0 || strcmp(basename((link[n] = 0, link)), "vfio-pci")) {
        write_line("/sys/bus/pci/drivers/vfio-pci/new_id", "1234 11e8");
    }
    snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/iommu_group",
             edu->bdf);
    n = readlink(path, link, sizeof(link) - 1);
    if (n < 0) {
        vfio_die("vfio bind", "edu has no IOMMU group");
    }
    link[n] = 0;
    snprintf(path, sizeof(path), "/dev/vfio/%s", basename(link));

    edu->container = open("/dev/vfio/vfio", O_RDWR);
    group = open(path, O_RDWR);
    if (edu->container < 0 || group < 0) {
        vfio_die("vfio open", path);
    }
    if (ioctl(group, VFIO_GROUP_GET_STATUS, &status) < 0 ||
        !(status.flags & VFIO_GROUP_FLAGS_VIABLE) ||
        ioctl(group, VFIO_GROUP_SET_CONTAINER, &edu->container) < 0 ||
        ioctl(edu->container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU) < 0) {
        vfio_die("vfio container", path);
    }
    edu->device = ioctl(group, VFIO_GROUP_GET_DEVICE_FD, edu->bdf);
    if (edu->device < 0) {
        vfio_die("vfio device", edu->bdf);
    }
}

/*
 * vfio-pci leaves the device with memory decode and bus mastering off;
 * edu drops BAR writes without the first, MSIs and DMA without the
 * second.
 */
void vfio_enable_device(VfioEdu *edu)
{
    struct vfio_region_info cfg = {
        .argsz = sizeof(cfg), .index = VFIO_PCI_CONFIG_REGION_INDEX,
    };
    uint16_t cmd;

    if (ioctl(edu->device, VFIO_DEVICE_GET_REGION_INFO, &cfg) < 0 ||
        pread(edu->device, &cmd, sizeof(cmd), cfg.offset + 4) !=
        sizeof(cmd)) {
        vfio_die("vfio config", "PCI command");
    }
    cmd |= 0x2 | 0x4;                   /* memory space, bus master */
    if (pwrite(edu->device, &cmd, sizeof(cmd), cfg.offset + 4) !=
        sizeof(cmd)) {
        vfio_die("vfio config", "PCI command");
    }
}

/* Map edu's BAR0 into this process. */
volatile uint8_t *vfio_map_bar0(VfioEdu *edu, size_t *size)
{
    struct vfio_region_info reg = {
        .argsz = sizeof(reg), .index = VFIO_PCI_BAR0_REGION_INDEX,
    };
    void *bar;

    if (ioctl(edu->device, VFIO_DEVICE_GET_REGION_INFO, &reg) < 0 ||
        !(reg.flags & VFIO_REGION_INFO_FLAG_MMAP)) {
        vfio_die("vfio BAR0", "region info");
    }
    bar = mmap(NULL, reg.size, PROT_READ | PROT_WRITE, MAP_SHARED,
               edu->device, reg.offset);
    if (bar == MAP_FAILED) {
        vfio_die("vfio BAR0", "mmap");
    }
    *size = reg.size;
    return bar;
}
