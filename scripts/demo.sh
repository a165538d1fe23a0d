#!/bin/bash
# make demo: boot Debian's Linux 6.12 on our QEMU with the AMD IOMMU and
# an SVM-capable EPYC CPU, and show what the guest kernel says about the
# IOMMU and KVM.  To show more, add a pattern to tests/linux/report-patterns
# (guest dmesg lines) or a line to tests/linux/init (anything else).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)

machine=(-M q35 -accel tcg -cpu EPYC-Genoa,+svm,+avic,+x2avic -smp 2
         -device amd-iommu,intremap=on,xtsup=on)

echo "demo: booting Linux $(. "$top/scripts/pins.sh"; echo "$LINUX_KVER")" \
     "on build/qemu-system-x86_64 ${machine[*]}"
start=$SECONDS
"$top/scripts/run-linux.sh" -t 300 -o "$top/build/linux/demo-console.log" \
    -a "qa.kvm_amd=avic=1" -- "${machine[@]}" | sed 's/^/  /'
echo "demo: done in $((SECONDS - start)) s" \
     "(whole console: build/linux/demo-console.log)"
