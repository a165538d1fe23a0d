/*
 * A minimal VMM on Linux's KVM API, for the L2 guests of the Linux
 * tests: one VM with an in-kernel irqchip (so that KVM can use AVIC),
 * flat 32-bit protected-mode vCPUs without paging, an IDT, port I/O to
 * report back, and KVM's per-vCPU statistics.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef TESTS_LINUX_VMM_H
#define TESTS_LINUX_VMM_H

#include <stddef.h>
#include <stdint.h>

/* Guest-physical layout shared by the tests' L2 code. */
#define VMM_MEM_SIZE        (2 << 20)
#define VMM_CODE_GPA        0x1000
#define VMM_DATA_GPA        0x2000      /* the test's variables */
#define VMM_GDT_GPA         0x3000
#define VMM_IDT_GPA         0x3100
#define VMM_STACK_GPA(n)    (0x8000 + 0x1000 * (n))
#define VMM_DONE_PORT       0x10        /* outl here: the vCPU is done */

typedef struct Vmm {
    int kvm_fd;
    int vm_fd;
    uint8_t *mem;               /* guest-physical 0 .. VMM_MEM_SIZE */
    size_t run_size;
} Vmm;

typedef struct VmmVcpu {
    int id;
    int fd;
    int stats_fd;
} VmmVcpu;

void vmm_die(const char *what);
void vmm_create(Vmm *vmm);
void vmm_load_code(Vmm *vmm, const uint8_t *start, const uint8_t *end);
void vmm_set_gate(Vmm *vmm, uint8_t vector, uint32_t handler_gpa);
void vmm_add_slot(Vmm *vmm, int slot, uint64_t gpa, uint64_t size,
                  void *hva);
void vmm_vcpu_create(Vmm *vmm, VmmVcpu *vcpu, int id, uint32_t rip);
uint32_t vmm_vcpu_run(Vmm *vmm, VmmVcpu *vcpu);
void vmm_vcpu_start(Vmm *vmm, VmmVcpu *vcpu);
uint64_t vmm_vcpu_stat(VmmVcpu *vcpu, const char *name);

static inline uint32_t *vmm_data(Vmm *vmm, unsigned index)
{
    return (uint32_t *)(vmm->mem + VMM_DATA_GPA) + index;
}

#endif /* TESTS_LINUX_VMM_H */
