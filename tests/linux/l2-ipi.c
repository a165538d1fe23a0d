/*
 * l2-ipi: a two-vCPU L2 guest counting IPIs between its vCPUs.  Run
 * inside the L1 Linux of the Linux tests: with kvm_amd avic=1 on a CPU
 * with AVIC, KVM runs the L2 with AVIC, so each IPI goes through our
 * emulated AVIC (ICR write, IRR in the target's backing page, doorbell,
 * delivery without exit).
 *
 *   l2-ipi [COUNT]
 *
 * The L2 guest, flat 32-bit protected mode (tests/linux/vmm/):
 *   vCPU 1 enables its APIC and spins with interrupts on; each IPI
 *     (vector 0x40) increments a counter and EOIs.
 *   vCPU 0 sends COUNT fixed IPIs to APIC ID 1, each after the previous
 *     one was counted, then reports through the done port.
 * Output: "l2-ipi: sent N delivered N exits N irq_exits N" (KVM's counts
 * for both vCPUs; irq_exits are those for L1's own interrupts, such as
 * its timer) and exit status 0 if every IPI was delivered.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <stdio.h>
#include <stdlib.h>

#include "vmm/vmm.h"

#define IPI_VECTOR  0x40

/* Data words (vmm_data): 0 = delivered, 1 = to send. */
extern const uint8_t l2_start[], l2_sender[], l2_receiver[], l2_handler[],
                     l2_end[];
asm(".pushsection .rodata\n"
    ".code32\n"
    "l2_start:\n"
    "l2_sender:\n"
    "   movl $0x1ff, 0xfee000f0\n"          /* SVR: APIC on */
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

#define L2_ADDR(sym)    (VMM_CODE_GPA + (uint32_t)((sym) - l2_start))

int main(int argc, char **argv)
{
    uint32_t count = argc > 1 ? strtoul(argv[1], NULL, 0) : 1000;
    VmmVcpu sender, receiver;
    uint32_t delivered;
    Vmm vmm;

    vmm_create(&vmm);
    vmm_load_code(&vmm, l2_start, l2_end);
    vmm_set_gate(&vmm, IPI_VECTOR, L2_ADDR(l2_handler));
    *vmm_data(&vmm, 1) = count;

    vmm_vcpu_create(&vmm, &sender, 0, L2_ADDR(l2_sender));
    vmm_vcpu_create(&vmm, &receiver, 1, L2_ADDR(l2_receiver));
    vmm_vcpu_start(&vmm, &receiver);
    delivered = vmm_vcpu_run(&vmm, &sender);

    printf("l2-ipi: sent %u delivered %u exits %llu irq_exits %llu\n",
           count, delivered,
           (unsigned long long)(vmm_vcpu_stat(&sender, "exits") +
                                vmm_vcpu_stat(&receiver, "exits")),
           (unsigned long long)(vmm_vcpu_stat(&sender, "irq_exits") +
                                vmm_vcpu_stat(&receiver, "irq_exits")));
    return delivered == count ? 0 : 1;
}
