#!/bin/bash
# Linux smoke boot: Debian's 6.12 kernel on our QEMU, with the AMD IOMMU
# doing interrupt remapping and a CPU offering AVIC and x2AVIC, reaches
# userspace, loads kvm_amd avic=1 and reports what it enabled; then KVM
# runs a two-vCPU L2 whose vCPUs send each other IPIs through AVIC
# (tests/linux/l2-ipi.c).
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)

log=$top/build/linux/smoke-console.log
ipis=1000
start=$SECONDS
if ! out=$("$top/scripts/run-linux.sh" -t 240 -o "$log" \
           -a "qa.kvm_amd=avic=1 qa.run=l2-ipi,$ipis" -- \
           -M q35 -accel tcg -cpu EPYC-Genoa,+svm,+avic,+x2avic -smp 2 \
           -device amd-iommu,intremap=on,xtsup=on 2>&1); then
    echo "$out" | sed 's/^/# /'
    echo "not ok 1 - linux boots to userspace and reports"
    exit 1
fi
echo "ok 1 - linux boots to userspace and reports ($((SECONDS - start)) s)"
echo "$out" | sed 's/^/# /'

n=1
expect() {
    n=$((n + 1))
    if echo "$out" | grep -qF -- "$1"; then
        echo "ok $n - guest says: $1"
    else
        echo "not ok $n - guest says: $1"
    fi
}
expect "AMD-Vi: Interrupt remapping enabled"
expect "AMD-Vi: X2APIC enabled"
expect "AMD-Vi: Virtual APIC enabled"
expect "module kvm-amd loaded"
expect "kvm_amd: AVIC enabled"
expect "kvm_amd: x2AVIC enabled"
expect "/sys/module/kvm_amd/parameters/avic = Y"
expect "l2-ipi: sent $ipis delivered $ipis"
# IPIs to a running target exit nowhere: what exits there are, besides
# L1's own interrupts (its timer), are the L2's setup (APIC enable...).
exits=$(echo "$out" | grep -o 'l2-ipi: sent.*' |
        awk '{ for (i = 1; i < NF; i++) if ($i == "exits") e = $(i + 1);
               else if ($i == "irq_exits") q = $(i + 1); print e - q }')
n=$((n + 1))
if [ -n "$exits" ] && [ "$exits" -lt 20 ]; then
    echo "ok $n - L2 IPIs: $exits exits besides L1's interrupts for $ipis IPIs"
else
    echo "not ok $n - L2 IPIs: ${exits:-no} exits besides L1's interrupts" \
         "for $ipis IPIs"
fi
