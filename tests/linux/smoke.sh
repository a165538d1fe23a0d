#!/bin/bash
# Linux smoke boot: each pinned Debian kernel (scripts/pins.sh) on our
# QEMU, with the AMD IOMMU doing interrupt remapping and a CPU offering
# AVIC and x2AVIC, reaches userspace, loads kvm_amd avic=1 and reports
# what it enabled; then KVM runs a two-vCPU L2 whose vCPUs send each
# other IPIs through AVIC (tests/linux/l2-ipi.c).
#   tests/linux/smoke.sh [KERNEL...]     default: $KERNEL if set (a pin,
#                                        or paths, see fetch-linux.sh),
#                                        else every pinned kernel
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/scripts/pins.sh"
. "$top/tests/linux/tap.sh"

ipis=1000

smoke() {       # smoke KERNEL
    local k log start=$SECONDS line exits
    k=$(kernel_label "$1")
    log=$top/build/linux/smoke-$k-console.log
    if ! out=$("$top/scripts/run-linux.sh" -k "$1" -t 240 -o "$log" \
               -n "kvm iommu" -a "qa.kvm_amd=avic=1 qa.run=l2-ipi,$ipis" -- \
               -M q35 -accel tcg -cpu EPYC-Genoa,+svm,+avic,+x2avic -smp 2 \
               -device amd-iommu,intremap=on,xtsup=on,vapic=on 2>&1); then
        echo "$out" | sed 's/^/# /'
        check "$k: linux boots to userspace and reports" false
        return
    fi
    check "$k: linux boots to userspace and reports ($((SECONDS - start)) s)" true
    echo "$out" | sed 's/^/# /'
    for line in "AMD-Vi: Interrupt remapping enabled" "AMD-Vi: X2APIC enabled" \
                "AMD-Vi: Virtual APIC enabled" "module kvm-amd loaded" \
                "kvm_amd: AVIC enabled" "kvm_amd: x2AVIC enabled" \
                "/sys/module/kvm_amd/parameters/avic = Y" \
                "l2-ipi: sent $ipis delivered $ipis"; do
        check "$k: guest says: $line" says "$line"
    done
    # IPIs to a running target exit nowhere: what exits there are,
    # besides L1's own interrupts, are the L2's setup (APIC enable...).
    exits=$(exits_besides_irqs "l2-ipi: sent")
    check "$k: L2 IPIs: ${exits:-no} exits besides L1's interrupts for $ipis IPIs" \
        test "${exits:-999}" -lt 20
}

if [ $# = 0 ]; then
    # shellcheck disable=SC2086  # a list of names
    if [ -n "${KERNEL:-}" ]; then set -- "$KERNEL"; else set -- $LINUX_PINS; fi
fi
for k in "$@"; do
    smoke "$k"
done
echo "1..$n"
exit $failed
