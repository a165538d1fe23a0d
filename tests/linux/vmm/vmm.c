/*
 * A minimal VMM on Linux's KVM API: see vmm.h.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "vmm.h"

void vmm_die(const char *what)
{
    fprintf(stderr, "vmm: %s: %s\n", what, strerror(errno));
    exit(2);
}

void vmm_add_slot(Vmm *vmm, int slot, uint64_t gpa, uint64_t size,
                  void *hva)
{
    struct kvm_userspace_memory_region region = {
        .slot = slot, .guest_phys_addr = gpa, .memory_size = size,
        .userspace_addr = (uintptr_t)hva,
    };

    if (ioctl(vmm->vm_fd, KVM_SET_USER_MEMORY_REGION, &region) < 0) {
        vmm_die("KVM_SET_USER_MEMORY_REGION");
    }
}

/* The VM, its in-kernel irqchip (no PIT), RAM and flat descriptors. */
void vmm_create(Vmm *vmm)
{
    uint64_t *gdt;

    vmm->kvm_fd = open("/dev/kvm", O_RDWR);
    if (vmm->kvm_fd < 0) {
        vmm_die("/dev/kvm");
    }
    vmm->vm_fd = ioctl(vmm->kvm_fd, KVM_CREATE_VM, 0);
    if (vmm->vm_fd < 0 || ioctl(vmm->vm_fd, KVM_CREATE_IRQCHIP, 0) < 0) {
        vmm_die("VM with an in-kernel irqchip");
    }
    vmm->run_size = ioctl(vmm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
    vmm->mem = mmap(NULL, VMM_MEM_SIZE, PROT_READ | PROT_WRITE,
                    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (vmm->mem == MAP_FAILED) {
        vmm_die("guest memory");
    }
    gdt = (uint64_t *)(vmm->mem + VMM_GDT_GPA);
    gdt[1] = 0x00cf9b000000ffffULL;     /* 0x08: 32-bit code, flat */
    gdt[2] = 0x00cf93000000ffffULL;     /* 0x10: 32-bit data, flat */
    vmm_add_slot(vmm, 0, 0, VMM_MEM_SIZE, vmm->mem);
}

void vmm_load_code(Vmm *vmm, const uint8_t *start, const uint8_t *end)
{
    memcpy(vmm->mem + VMM_CODE_GPA, start, end - start);
}

/* A 32-bit interrupt gate. */
void vmm_set_gate(Vmm *vmm, uint8_t vector, uint32_t handler_gpa)
{
    uint32_t *idt = (uint32_t *)(vmm->mem + VMM_IDT_GPA + vector * 8);

    idt[0] = (0x08 << 16) | (handler_gpa & 0xffff);
    idt[1] = (handler_gpa & 0xffff0000) | 0x8e00;
}

static void set_seg(struct kvm_segment *s, uint16_t sel, int type)
{
    memset(s, 0, sizeof(*s));
    s->limit = 0xffffffff;
    s->selector = sel;
    s->type = type;
    s->present = 1;
    s->db = 1;
    s->s = 1;
    s->g = 1;
}

/*
 * A vCPU in flat 32-bit protected mode at @rip, runnable at once.  Its
 * stats file is opened now: vCPU ioctls wait while KVM_RUN runs.
 */
void vmm_vcpu_create(Vmm *vmm, VmmVcpu *vcpu, int id, uint32_t rip)
{
    struct kvm_regs regs = {
        .rip = rip, .rsp = VMM_STACK_GPA(id + 1), .rflags = 2,
    };
    struct kvm_mp_state mp = { .mp_state = KVM_MP_STATE_RUNNABLE };
    struct kvm_sregs sregs;

    vcpu->id = id;
    vcpu->fd = ioctl(vmm->vm_fd, KVM_CREATE_VCPU, id);
    if (vcpu->fd < 0 || ioctl(vcpu->fd, KVM_GET_SREGS, &sregs) < 0) {
        vmm_die("KVM_CREATE_VCPU");
    }
    set_seg(&sregs.cs, 0x08, 11);
    set_seg(&sregs.ds, 0x10, 3);
    sregs.es = sregs.fs = sregs.gs = sregs.ss = sregs.ds;
    sregs.gdt.base = VMM_GDT_GPA;
    sregs.gdt.limit = 3 * 8 - 1;
    sregs.idt.base = VMM_IDT_GPA;
    sregs.idt.limit = 256 * 8 - 1;
    sregs.cr0 |= 1;
    if (ioctl(vcpu->fd, KVM_SET_SREGS, &sregs) < 0 ||
        ioctl(vcpu->fd, KVM_SET_REGS, &regs) < 0 ||
        ioctl(vcpu->fd, KVM_SET_MP_STATE, &mp) < 0) {
        vmm_die("vCPU state");
    }
    vcpu->stats_fd = ioctl(vcpu->fd, KVM_GET_STATS_FD, NULL);
    if (vcpu->stats_fd < 0) {
        vmm_die("KVM_GET_STATS_FD");
    }
}

/*
 * vCPU n runs on L1 CPU n (modulo their number): two L2 vCPUs sharing
 * an L1 CPU would take turns, and an IPI to the one not running exits.
 */
static void pin_to_cpu(int id)
{
    long ncpus = sysconf(_SC_NPROCESSORS_ONLN);
    cpu_set_t set;

    CPU_ZERO(&set);
    CPU_SET(id % (ncpus > 0 ? ncpus : 1), &set);
    if (sched_setaffinity(0, sizeof(set), &set) < 0) {
        vmm_die("sched_setaffinity");
    }
}

/* Run the vCPU until it writes VMM_DONE_PORT; returns the value. */
uint32_t vmm_vcpu_run(Vmm *vmm, VmmVcpu *vcpu)
{
    struct kvm_run *run = mmap(NULL, vmm->run_size, PROT_READ | PROT_WRITE,
                               MAP_SHARED, vcpu->fd, 0);

    if (run == MAP_FAILED) {
        vmm_die("mmap kvm_run");
    }
    pin_to_cpu(vcpu->id);
    for (;;) {
        if (ioctl(vcpu->fd, KVM_RUN, 0) < 0 && errno != EINTR) {
            vmm_die("KVM_RUN");
        }
        switch (run->exit_reason) {
        case KVM_EXIT_IO:
            if (run->io.port == VMM_DONE_PORT) {
                return *(uint32_t *)((uint8_t *)run + run->io.data_offset);
            }
            break;
        case KVM_EXIT_INTR:
            break;
        default:
            fprintf(stderr, "vmm: unexpected exit %u\n", run->exit_reason);
            exit(2);
        }
    }
}

typedef struct VcpuThread {
    Vmm *vmm;
    VmmVcpu *vcpu;
} VcpuThread;

static void *vcpu_thread(void *opaque)
{
    VcpuThread *t = opaque;

    vmm_vcpu_run(t->vmm, t->vcpu);
    return NULL;
}

/* Run a vCPU in a thread of its own, for as long as the process lives. */
void vmm_vcpu_start(Vmm *vmm, VmmVcpu *vcpu)
{
    VcpuThread *t = malloc(sizeof(*t));
    pthread_t thread;

    t->vmm = vmm;
    t->vcpu = vcpu;
    if (pthread_create(&thread, NULL, vcpu_thread, t)) {
        vmm_die("pthread_create");
    }
}

/* A KVM statistic of the vCPU ("exits", "irq_exits", ...). */
uint64_t vmm_vcpu_stat(VmmVcpu *vcpu, const char *name)
{
    struct kvm_stats_header hdr;
    size_t desc_size;
    uint64_t val = 0;
    char *descs;

    if (pread(vcpu->stats_fd, &hdr, sizeof(hdr), 0) != sizeof(hdr)) {
        vmm_die("stats header");
    }
    desc_size = sizeof(struct kvm_stats_desc) + hdr.name_size;
    descs = calloc(hdr.num_desc, desc_size);
    if (pread(vcpu->stats_fd, descs, hdr.num_desc * desc_size,
              hdr.desc_offset) < 0) {
        vmm_die("stats descriptors");
    }
    for (uint32_t i = 0; i < hdr.num_desc; i++) {
        struct kvm_stats_desc *d = (void *)(descs + i * desc_size);

        if (!strcmp(d->name, name) &&
            pread(vcpu->stats_fd, &val, sizeof(val),
                  hdr.data_offset + d->offset) < 0) {
            vmm_die("stats data");
        }
    }
    free(descs);
    return val;
}
