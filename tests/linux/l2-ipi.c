/*
 * l2-ipi: a tiny VMM on Linux's KVM API that runs a two-vCPU L2 guest
 * and counts IPIs between its vCPUs.  Run inside the L1 Linux of the
 * Linux tests: with kvm_amd avic=1 on a CPU with AVIC, KVM runs the L2
 * with AVIC, so the IPIs go through our emulated AVIC (ICR write, IRR
 * in the target's backing page, doorbell, delivery without exit).
 *
 *   l2-ipi [COUNT]
 *
 * The L2 guest, in 32-bit protected mode without paging:
 *   vCPU 1 enables its APIC, loads an IDT and spins with interrupts on;
 *     each IPI (vector 0x40) increments a counter and EOIs.
 *   vCPU 0 sends COUNT fixed IPIs to APIC ID 1, each after the previous
 *     one was counted, then reports through port 0x10.
 * Output: "l2-ipi: sent N delivered N exits N irq_exits N" (KVM's counts
 * of #VMEXITs of both vCPUs, from its binary stats; irq_exits are those
 * for L1's own interrupts, e.g. its timer) and exit status 0 if every
 * IPI was delivered.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#define MEM_SIZE        (2 << 20)
#define CODE_GPA        0x1000
#define COUNT_GPA       0x2000      /* u32 delivered, u32 to send */
#define GDT_GPA         0x3000
#define IDT_GPA         0x3100
#define STACK0_GPA      0x8000
#define STACK1_GPA      0x9000
#define IPI_VECTOR      0x40
#define DONE_PORT       0x10

/* The L2 code, assembled as 32-bit code and copied to CODE_GPA. */
extern const uint8_t l2_start[], l2_sender[], l2_receiver[], l2_handler[],
                     l2_end[];
asm(".pushsection .rodata\n"
    ".code32\n"
    "l2_start:\n"
    "l2_sender:\n"
    "   movl $0x1ff, 0xfee000f0\n"          /* SVR: APIC on, vector ff */
    "   xorl %esi, %esi\n"                  /* sent so far */
    "1: cmpl 0x2004, %esi\n"
    "   jae 3f\n"
    "   movl $0x01000000, 0xfee00310\n"     /* destination APIC ID 1 */
    "   movl $0x40, 0xfee00300\n"           /* fixed, physical, 0x40 */
    "   incl %esi\n"
    "2: pause\n"
    "   cmpl 0x2000, %esi\n"                /* wait until counted */
    "   ja 2b\n"
    "   jmp 1b\n"
    "3: movl 0x2000, %eax\n"
    "   outl %eax, $0x10\n"
    "   hlt\n"
    "l2_receiver:\n"
    "   movl $0x1ff, 0xfee000f0\n"
    "   sti\n"
    "4: pause\n"
    "   jmp 4b\n"
    "l2_handler:\n"
    "   lock incl 0x2000\n"
    "   movl $0, 0xfee000b0\n"              /* EOI */
    "   iret\n"
    "l2_end:\n"
    ".code64\n"
    ".popsection\n");

#define L2_ADDR(sym)    (CODE_GPA + (uint32_t)((sym) - l2_start))

static int kvm_fd, vm_fd;
static uint8_t *mem;
static size_t run_size;

static void die(const char *what)
{
    fprintf(stderr, "l2-ipi: %s: %s\n", what, strerror(errno));
    exit(2);
}

static void set_seg(struct kvm_segment *s, uint16_t sel, int type)
{
    memset(s, 0, sizeof(*s));
    s->base = 0;
    s->limit = 0xffffffff;
    s->selector = sel;
    s->type = type;
    s->present = 1;
    s->db = 1;
    s->s = 1;
    s->g = 1;
}

static int vcpu_create(int id, uint32_t rip, uint32_t rsp)
{
    int fd = ioctl(vm_fd, KVM_CREATE_VCPU, id);
    struct kvm_sregs sregs;
    struct kvm_regs regs = { .rip = rip, .rsp = rsp, .rflags = 2 };
    struct kvm_mp_state mp = { .mp_state = KVM_MP_STATE_RUNNABLE };

    if (fd < 0 || ioctl(fd, KVM_GET_SREGS, &sregs) < 0) {
        die("vcpu");
    }
    set_seg(&sregs.cs, 0x08, 11);
    set_seg(&sregs.ds, 0x10, 3);
    sregs.es = sregs.fs = sregs.gs = sregs.ss = sregs.ds;
    sregs.gdt.base = GDT_GPA;
    sregs.gdt.limit = 3 * 8 - 1;
    sregs.idt.base = IDT_GPA;
    sregs.idt.limit = 256 * 8 - 1;
    sregs.cr0 |= 1;                     /* protected mode, no paging */
    if (ioctl(fd, KVM_SET_SREGS, &sregs) < 0 ||
        ioctl(fd, KVM_SET_REGS, &regs) < 0 ||
        ioctl(fd, KVM_SET_MP_STATE, &mp) < 0) {
        die("vcpu state");
    }
    return fd;
}

/* Run a vCPU until it reports on DONE_PORT; returns the value. */
static uint32_t vcpu_run(int fd)
{
    struct kvm_run *run = mmap(NULL, run_size, PROT_READ | PROT_WRITE,
                               MAP_SHARED, fd, 0);

    if (run == MAP_FAILED) {
        die("mmap kvm_run");
    }
    for (;;) {
        if (ioctl(fd, KVM_RUN, 0) < 0 && errno != EINTR) {
            die("KVM_RUN");
        }
        switch (run->exit_reason) {
        case KVM_EXIT_IO:
            if (run->io.port == DONE_PORT) {
                return *(uint32_t *)((uint8_t *)run + run->io.data_offset);
            }
            break;
        case KVM_EXIT_INTR:
            break;
        default:
            fprintf(stderr, "l2-ipi: unexpected exit %u\n", run->exit_reason);
            exit(2);
        }
    }
}

/*
 * A vCPU's binary stats file.  Taken before the vCPU runs: vCPU ioctls
 * wait for KVM_RUN to return, and the receiver never stops running.
 */
static int vcpu_stats_fd(int vcpu_fd)
{
    int fd = ioctl(vcpu_fd, KVM_GET_STATS_FD, NULL);

    if (fd < 0) {
        die("KVM_GET_STATS_FD");
    }
    return fd;
}

/* The KVM statistic @name from a vCPU's stats file. */
static uint64_t vcpu_stat(int fd, const char *name)
{
    struct kvm_stats_header hdr;
    size_t desc_size;
    uint64_t val = 0;
    char *descs;

    if (pread(fd, &hdr, sizeof(hdr), 0) != sizeof(hdr)) {
        die("stats header");
    }
    desc_size = sizeof(struct kvm_stats_desc) + hdr.name_size;
    descs = calloc(hdr.num_desc, desc_size);
    if (pread(fd, descs, hdr.num_desc * desc_size, hdr.desc_offset) < 0) {
        die("stats descriptors");
    }
    for (uint32_t i = 0; i < hdr.num_desc; i++) {
        struct kvm_stats_desc *d = (void *)(descs + i * desc_size);

        if (!strcmp(d->name, name) &&
            pread(fd, &val, sizeof(val), hdr.data_offset + d->offset) < 0) {
            die("stats data");
        }
    }
    free(descs);
    return val;
}

static void *receiver_thread(void *arg)
{
    vcpu_run((int)(intptr_t)arg);
    return NULL;
}

static void setup_memory(uint32_t count)
{
    uint64_t *gdt = (uint64_t *)(mem + GDT_GPA);
    uint32_t handler = L2_ADDR(l2_handler);
    uint32_t *idt = (uint32_t *)(mem + IDT_GPA + IPI_VECTOR * 8);
    struct kvm_userspace_memory_region region = {
        .slot = 0, .guest_phys_addr = 0, .memory_size = MEM_SIZE,
        .userspace_addr = (uintptr_t)mem,
    };

    memcpy(mem + CODE_GPA, l2_start, l2_end - l2_start);
    gdt[1] = 0x00cf9b000000ffffULL;     /* 32-bit code, flat */
    gdt[2] = 0x00cf93000000ffffULL;     /* 32-bit data, flat */
    idt[0] = (0x08 << 16) | (handler & 0xffff);
    idt[1] = (handler & 0xffff0000) | 0x8e00;   /* interrupt gate */
    ((uint32_t *)(mem + COUNT_GPA))[1] = count;
    if (ioctl(vm_fd, KVM_SET_USER_MEMORY_REGION, &region) < 0) {
        die("memory region");
    }
}

int main(int argc, char **argv)
{
    uint32_t count = argc > 1 ? strtoul(argv[1], NULL, 0) : 1000;
    uint32_t delivered;
    pthread_t receiver;
    int sender_fd, receiver_fd, sender_stats, receiver_stats;

    kvm_fd = open("/dev/kvm", O_RDWR);
    if (kvm_fd < 0) {
        die("/dev/kvm");
    }
    vm_fd = ioctl(kvm_fd, KVM_CREATE_VM, 0);
    if (vm_fd < 0 || ioctl(vm_fd, KVM_CREATE_IRQCHIP, 0) < 0) {
        die("VM with in-kernel irqchip");
    }
    run_size = ioctl(kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
    mem = mmap(NULL, MEM_SIZE, PROT_READ | PROT_WRITE,
               MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED) {
        die("guest memory");
    }
    setup_memory(count);

    sender_fd = vcpu_create(0, L2_ADDR(l2_sender), STACK0_GPA);
    receiver_fd = vcpu_create(1, L2_ADDR(l2_receiver), STACK1_GPA);
    sender_stats = vcpu_stats_fd(sender_fd);
    receiver_stats = vcpu_stats_fd(receiver_fd);
    if (pthread_create(&receiver, NULL, receiver_thread,
                       (void *)(intptr_t)receiver_fd)) {
        die("thread");
    }
    delivered = vcpu_run(sender_fd);
    printf("l2-ipi: sent %u delivered %u exits %llu irq_exits %llu\n",
           count, delivered,
           (unsigned long long)(vcpu_stat(sender_stats, "exits") +
                                vcpu_stat(receiver_stats, "exits")),
           (unsigned long long)(vcpu_stat(sender_stats, "irq_exits") +
                                vcpu_stat(receiver_stats, "irq_exits")));
    return delivered == count ? 0 : 1;
}
