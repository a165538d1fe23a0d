/*
 * edu-fault: make QEMU's edu device fault on DMA, through VFIO, and
 * show what the L1 kernel says.  Run inside the L1 Linux of the Linux
 * tests, with the IOMMU translating DMA (amd-iommu,dma-remap=on).
 *
 *   edu-fault
 *
 * edu is opened in a VFIO type1 container in which two pages of this
 * process are mapped at MAPPED_IOVA.  edu then
 *   1. reads a pattern from the first page into its DMA buffer and
 *      writes it to the second: it must arrive, no fault;
 *   2. writes to UNMAPPED_IOVA: an IO_PAGE_FAULT for a write;
 *   3. reads from UNMAPPED_IOVA + 0x1000: an IO_PAGE_FAULT for a read.
 * The IOMMU logs each fault in its event log and interrupts (with
 * xtsup=on through the XT interrupt control register 0x170), and the
 * AMD IOMMU driver prints "Event logged [IO_PAGE_FAULT ...]".
 * Output, each on its own line:
 *   "edu-fault: mapped write arrived" (or "... did not arrive")
 *   "edu-fault: kernel: <each new kernel line with IO_PAGE_FAULT>"
 *   "edu-fault: faults logged N event interrupts N"
 * Exit status 0 if the mapped write arrived and the kernel logged a
 * fault for each unmapped access.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#define _GNU_SOURCE         /* memmem */
#include <errno.h>
#include <linux/vfio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/klog.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "vmm/vfio.h"

#define MAPPED_IOVA     0x00100000ULL
#define UNMAPPED_IOVA   0x0ff00000ULL   /* below edu's 28-bit DMA mask */
#define EDU_DMA_BUF     0x40000         /* edu's internal buffer */
#define EDU_DMA_SRC     0x80
#define EDU_DMA_DST     0x88
#define EDU_DMA_CNT     0x90
#define EDU_DMA_CMD     0x98
#define EDU_DMA_RUN     0x1
#define EDU_DMA_TO_RAM  0x2
#define PATTERN         0x5a5aa5a55a5aa5a5ULL

static volatile uint8_t *bar;

static void die(const char *what)
{
    fprintf(stderr, "edu-fault: %s: %s\n", what, strerror(errno));
    exit(2);
}

static void edu_write64(unsigned off, uint64_t val)
{
    *(volatile uint64_t *)(bar + off) = val;
}

/* One edu DMA of 8 bytes; edu runs it from a 100 ms timer. */
static void edu_dma(uint64_t src, uint64_t dst, int to_ram)
{
    struct timespec pause = { 0, 10 * 1000 * 1000 };
    int i;

    edu_write64(EDU_DMA_SRC, src);
    edu_write64(EDU_DMA_DST, dst);
    edu_write64(EDU_DMA_CNT, 8);
    edu_write64(EDU_DMA_CMD, EDU_DMA_RUN | (to_ram ? EDU_DMA_TO_RAM : 0));
    for (i = 0; i < 500; i++) {
        if (!(*(volatile uint64_t *)(bar + EDU_DMA_CMD) & EDU_DMA_RUN)) {
            return;
        }
        nanosleep(&pause, NULL);
    }
    errno = ETIMEDOUT;
    die("edu DMA did not complete");
}

/* The kernel log, read whole. */
static char *kernel_log(void)
{
    int size = klogctl(10, NULL, 0);   /* SYSLOG_ACTION_SIZE_BUFFER */
    char *buf = malloc(size > 0 ? size + 1 : 1);
    int n;

    if (size <= 0 || !buf || (n = klogctl(3, buf, size)) < 0) {
        die("klogctl");                /* 3: SYSLOG_ACTION_READ_ALL */
    }
    buf[n] = 0;
    return buf;
}

/* Count (and, if @print, print) the log's IO_PAGE_FAULT lines. */
static int page_faults(const char *log, int skip, int print)
{
    const char *p = log, *nl;
    int n = 0;

    for (; *p; p = nl + 1) {
        nl = strchr(p, '\n');
        if (!nl) {
            break;
        }
        if (memmem(p, nl - p, "IO_PAGE_FAULT", 13) && n++ >= skip &&
            print) {
            printf("edu-fault: kernel: %.*s\n", (int)(nl - p), p);
        }
    }
    return n;
}

/* The sum over the CPUs of the "AMD-Vi<n>-Evt" lines of /proc/interrupts. */
static unsigned long event_interrupts(void)
{
    FILE *f = fopen("/proc/interrupts", "r");
    char line[1024];
    unsigned long sum = 0;

    while (f && fgets(line, sizeof(line), f)) {
        char *tok, *save;
        unsigned long n = 0;
        int first = 1;

        if (!strstr(line, "AMD-Vi") || !strstr(line, "-Evt")) {
            continue;
        }
        for (tok = strtok_r(line, " \t\n", &save); tok;
             tok = strtok_r(NULL, " \t\n", &save), first = 0) {
            char *end;
            unsigned long v = strtoul(tok, &end, 10);

            if (first) {
                continue;              /* the IRQ number, "24:" */
            }
            if (*end) {
                break;
            }
            n += v;
        }
        sum += n;
    }
    if (f) {
        fclose(f);
    }
    return sum;
}

int main(void)
{
    struct timespec settle = { 0, 300 * 1000 * 1000 };
    struct vfio_iommu_type1_dma_map map = {
        .argsz = sizeof(map),
        .flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
        .iova = MAPPED_IOVA, .size = 8192,
    };
    volatile uint64_t *page;
    unsigned long irqs0;
    int before, logged, arrived;
    size_t size;
    VfioEdu edu;
    char *log;

    vfio_open_edu(&edu);
    vfio_enable_device(&edu);
    bar = vfio_map_bar0(&edu, &size);
    page = mmap(NULL, 8192, PROT_READ | PROT_WRITE,
                MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (page == MAP_FAILED) {
        die("mmap");
    }
    page[0] = PATTERN;
    page[512] = 0;
    map.vaddr = (uintptr_t)page;
    if (ioctl(edu.container, VFIO_IOMMU_MAP_DMA, &map) < 0) {
        die("VFIO_IOMMU_MAP_DMA");
    }

    log = kernel_log();
    before = page_faults(log, 0, 0);
    free(log);
    irqs0 = event_interrupts();

    edu_dma(MAPPED_IOVA, EDU_DMA_BUF, 0);
    edu_dma(EDU_DMA_BUF, MAPPED_IOVA + 4096, 1);
    arrived = page[512] == PATTERN;
    printf("edu-fault: mapped write %s (0x%llx)\n",
           arrived ? "arrived" : "did not arrive",
           (unsigned long long)page[512]);

    edu_dma(EDU_DMA_BUF, UNMAPPED_IOVA, 1);
    edu_dma(UNMAPPED_IOVA + 0x1000, EDU_DMA_BUF, 0);
    nanosleep(&settle, NULL);          /* the event thread prints */

    log = kernel_log();
    logged = page_faults(log, before, 1) - before;
    free(log);
    printf("edu-fault: faults logged %d event interrupts %lu\n", logged,
           event_interrupts() - irqs0);
    return arrived && logged >= 2 ? 0 : 1;
}
