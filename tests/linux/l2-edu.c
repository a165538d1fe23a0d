/*
 * l2-edu: QEMU's edu device assigned to an L2 guest with VFIO, its MSIs
 * counted in the L2.  Run inside the L1 Linux of the Linux tests.  KVM
 * (kvm_amd avic=1) connects the VFIO interrupt to the L2 vCPU through
 * IRQ bypass, so the AMD IOMMU driver switches the IRTE to guest mode:
 * each MSI is then posted by our emulated IOMMU into the vCPU's AVIC
 * backing page, with a doorbell if the vCPU runs, or a GA log entry
 * (and KVM's wake-up) if it is halted.
 *
 *   l2-edu COUNT running|halted
 *
 * running: vCPU 0 raises the edu interrupt and spins until its handler
 *          has counted it, COUNT times.
 * halted:  vCPU 0 halts between interrupts; vCPU 1 raises each one a
 *          while after vCPU 0 announced it is about to halt.
 * Output: "l2-edu: mode M sent N delivered N exits N irq_exits N
 * halt_exits N" and exit status 0 if every interrupt was delivered.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <errno.h>
#include <linux/kvm.h>
#include <linux/vfio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "vmm/vfio.h"
#include "vmm/vmm.h"

#define EDU_GPA         0x10000000  /* where the L2 sees edu's BAR0 */
#define MSI_VECTOR      0x41
#define MSI_GSI         32

/*
 * Data words (vmm_data): 0 = delivered, 1 = to send, 2 = "vCPU 0 is
 * about to halt with this many delivered", 3 = wait loops before
 * raising (halted mode).
 */
extern const uint8_t l2_start[], l2_running[], l2_halter[], l2_raiser[],
                     l2_handler[], l2_end[];
asm(".pushsection .rodata\n"
    ".code32\n"
    "l2_start:\n"
    "l2_running:\n"                         /* vCPU 0, running mode */
    "   movl $0x1ff, 0xfee000f0\n"          /* SVR: APIC on */
    "   sti\n"
    "   xorl %esi, %esi\n"
    "1: cmpl 0x2004, %esi\n"
    "   jae 9f\n"
    "   incl %esi\n"
    "   movl $1, 0x10000060\n"              /* edu: raise interrupt */
    "2: pause\n"
    "   cmpl 0x2000, %esi\n"
    "   ja 2b\n"
    "   jmp 1b\n"
    "l2_halter:\n"                          /* vCPU 0, halted mode */
    "   movl $0x1ff, 0xfee000f0\n"
    "3: movl 0x2000, %eax\n"
    "   cmpl 0x2004, %eax\n"
    "   jae 9f\n"
    "   movl %eax, 0x2008\n"                /* about to halt */
    "   sti\n"
    "   hlt\n"                              /* woken by the interrupt */
    "   cli\n"
    "   jmp 3b\n"
    "9: movl 0x2000, %eax\n"
    "   outl %eax, $0x10\n"
    "   hlt\n"
    "l2_raiser:\n"                          /* vCPU 1, halted mode */
    "   xorl %esi, %esi\n"
    "4: cmpl 0x2004, %esi\n"
    "   jae 8f\n"
    "5: pause\n"
    "   cmpl 0x2008, %esi\n"                /* vCPU 0 armed for this one? */
    "   jne 5b\n"
    "   movl 0x200c, %ecx\n"                /* give it time to halt */
    "6: pause\n"
    "   loop 6b\n"
    "   incl %esi\n"
    "   movl $1, 0x10000060\n"
    "7: pause\n"
    "   cmpl 0x2000, %esi\n"
    "   ja 7b\n"
    "   jmp 4b\n"
    "8: cli\n"
    "   hlt\n"
    "   jmp 8b\n"
    "l2_handler:\n"
    "   pushl %eax\n"
    "   movl $1, 0x10000064\n"              /* edu: acknowledge */
    "   lock incl 0x2000\n"
    "   movl $0, 0xfee000b0\n"              /* EOI */
    "   popl %eax\n"
    "   iret\n"
    "l2_end:\n"
    ".code64\n"
    ".popsection\n");

#define L2_ADDR(sym)    (VMM_CODE_GPA + (uint32_t)((sym) - l2_start))

/* Progress, so that a hang shows the step it stopped at. */
static void step(const char *what)
{
    fprintf(stderr, "l2-edu: step: %s\n", what);
}

static void fail(const char *step, const char *what)
{
    fprintf(stderr, "l2-edu: %s: %s: %s\n", step, what, strerror(errno));
    exit(2);
}

/* Map edu's BAR0 into the L2 at EDU_GPA. */
static void map_bar0(Vmm *vmm, VfioEdu *edu)
{
    size_t size;
    volatile uint8_t *bar = vfio_map_bar0(edu, &size);

    vmm_add_slot(vmm, 1, EDU_GPA, size, (void *)bar);
}

/*
 * edu's MSI -> eventfd -> KVM irqfd on an MSI route to vCPU 0's APIC
 * with MSI_VECTOR.  KVM and VFIO meet through IRQ bypass, and KVM asks
 * the IOMMU to post the interrupt.
 */
static void route_msi(Vmm *vmm, int device)
{
    struct {
        struct kvm_irq_routing hdr;
        struct kvm_irq_routing_entry entry;
    } routing = {
        .hdr.nr = 1,
        .entry = {
            .gsi = MSI_GSI, .type = KVM_IRQ_ROUTING_MSI,
            .u.msi = { .address_lo = 0xfee00000, .data = MSI_VECTOR },
        },
    };
    struct {
        struct vfio_irq_set set;
        int32_t fd;
    } irqs = {
        .set = {
            .argsz = sizeof(irqs),
            .flags = VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER,
            .index = VFIO_PCI_MSI_IRQ_INDEX, .start = 0, .count = 1,
        },
    };
    struct kvm_irqfd irqfd = { .gsi = MSI_GSI };

    irqs.fd = irqfd.fd = eventfd(0, EFD_CLOEXEC);
    if (irqfd.fd < 0 ||
        ioctl(vmm->vm_fd, KVM_SET_GSI_ROUTING, &routing) < 0 ||
        ioctl(vmm->vm_fd, KVM_IRQFD, &irqfd) < 0) {
        fail("kvm irqfd", "MSI route");
    }
    if (ioctl(device, VFIO_DEVICE_SET_IRQS, &irqs) < 0) {
        fail("vfio MSI", "VFIO_DEVICE_SET_IRQS");
    }
}

int main(int argc, char **argv)
{
    uint32_t count = argc > 1 ? strtoul(argv[1], NULL, 0) : 1000;
    const char *mode = argc > 2 ? argv[2] : "running";
    int halted = !strcmp(mode, "halted");
    VmmVcpu v0, v1;
    uint32_t delivered;
    VfioEdu edu;
    Vmm vmm;

    step("vfio bind");
    vfio_open_edu(&edu);
    step("L2 setup");

    vmm_create(&vmm);
    vmm_load_code(&vmm, l2_start, l2_end);
    vmm_set_gate(&vmm, MSI_VECTOR, L2_ADDR(l2_handler));
    *vmm_data(&vmm, 1) = count;
    *vmm_data(&vmm, 2) = UINT32_MAX;
    *vmm_data(&vmm, 3) = 20000;
    vfio_enable_device(&edu);
    map_bar0(&vmm, &edu);
    vmm_vcpu_create(&vmm, &v0, 0,
                    halted ? L2_ADDR(l2_halter) : L2_ADDR(l2_running));
    if (halted) {
        vmm_vcpu_create(&vmm, &v1, 1, L2_ADDR(l2_raiser));
    }

    /* After the vCPUs: KVM posts only to a vCPU that exists. */
    step("MSI route");
    route_msi(&vmm, edu.device);

    step("L2 start");
    if (halted) {
        vmm_vcpu_start(&vmm, &v1);
    }
    delivered = vmm_vcpu_run(&vmm, &v0);

    /* halt_wakeup: KVM woke the blocked vCPU (GA log or GAPPI path). */
    printf("l2-edu: mode %s sent %u delivered %u exits %llu irq_exits %llu "
           "halt_exits %llu halt_wakeup %llu\n", mode, count, delivered,
           (unsigned long long)vmm_vcpu_stat(&v0, "exits"),
           (unsigned long long)vmm_vcpu_stat(&v0, "irq_exits"),
           (unsigned long long)vmm_vcpu_stat(&v0, "halt_exits"),
           (unsigned long long)vmm_vcpu_stat(&v0, "halt_wakeup"));
    return delivered == count ? 0 : 1;
}
