#!/bin/bash
# DMA faults, as Linux reports them: each pinned Debian kernel
# (scripts/pins.sh) on our QEMU with the AMD IOMMU translating DMA
# (dma-remap=on) and remapping interrupts in x2APIC mode (xtsup=on: the
# event-log interrupt goes through the XT register 0x170, there is no
# MSI).  In L1, tests/linux/edu-fault.c opens edu with VFIO, maps two
# pages, and makes edu copy between them (must arrive), then write to
# and read from IOVAs nothing maps.  The IOMMU logs an IO_PAGE_FAULT
# for each and interrupts; the AMD IOMMU driver prints
#   vfio-pci 0000:00:02.0: AMD-Vi: Event logged [IO_PAGE_FAULT
#     domain=0x0005 address=0xff00000 flags=0x0020]
# which is checked field by field: the domain is the DTE's (not 0), the
# address the request's, flags RW for the write and nothing for the
# read (I = 0: a memory request, not an interrupt).
#   tests/linux/faults.sh [KERNEL...]    default: $KERNEL if set, else
#                                        every pinned kernel
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/scripts/pins.sh"
. "$top/tests/linux/tap.sh"

# What edu-fault.c touches (UNMAPPED_IOVA, then + 0x1000).
write_iova=0xff00000
read_iova=0xff01000

# The kernel's fault line for ADDRESS: "domain=D address=A flags=F".
fault() {
    grep -o "IO_PAGE_FAULT domain=0x[0-9a-f]* address=$1 flags=0x[0-9a-f]*" \
        <<< "$out" | head -n 1
}
domain_set() { grep -q 'domain=0x0*[1-9a-f]' <<< "$1"; }
event_irqs() { sed -n 's/.*edu-fault: faults logged [0-9]* event interrupts \([0-9]*\).*/\1/p' <<< "$out"; }

faults() {      # faults KERNEL
    local k log start=$SECONDS w r irqs
    k=$(kernel_label "$1")
    log=$top/build/linux/faults-$k-console.log
    out=$("$top/scripts/run-linux.sh" -k "$1" -t 240 -o "$log" \
              -m "vfio-pci vfio_iommu_type1" -n "vfio iommu" \
              -a "qa.run=edu-fault" -- \
              -M q35 -accel tcg -cpu EPYC-Genoa,+svm,+avic,+x2avic -smp 2 \
              -device amd-iommu,intremap=on,xtsup=on,dma-remap=on \
              -device edu 2>&1)
    check "$k: L1 boots and runs edu-fault ($((SECONDS - start)) s)" \
        says "run: edu-fault"
    grep -E 'X2APIC|edu-fault|vmm:' <<< "$out" | sed 's/^/# guest: /'
    check "$k: L1: AMD-Vi: X2APIC enabled (event interrupts through 0x170)" \
        says "AMD-Vi: X2APIC enabled"
    check "$k: a DMA to mapped IOVAs arrives" says "edu-fault: mapped write arrived"
    w=$(fault "$write_iova") r=$(fault "$read_iova")
    check "$k: the write fault is logged (${w:-nothing})" test -n "$w"
    check "$k: write fault: flags RW, I = 0 (0x0020)" \
        grep -q 'flags=0x0020$' <<< "$w"
    check "$k: write fault: the DTE's domain ID, not 0" domain_set "$w"
    check "$k: the read fault is logged (${r:-nothing})" test -n "$r"
    check "$k: read fault: no flags (a memory read, I = 0)" \
        grep -q 'flags=0x0000$' <<< "$r"
    irqs=$(event_irqs)
    check "$k: L1 took event-log interrupts (AMD-Vi0-Evt: ${irqs:-?})" \
        test "${irqs:-0}" -ge 1
    check "$k: edu-fault's own verdict" says "run status: 0"
}

if [ $# = 0 ]; then
    # shellcheck disable=SC2086  # a list of names
    if [ -n "${KERNEL:-}" ]; then set -- "$KERNEL"; else set -- $LINUX_PINS; fi
fi
for k in "$@"; do
    faults "$k"
done
echo "1..$n"
exit $failed
