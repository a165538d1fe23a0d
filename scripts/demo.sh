#!/bin/bash
# make demo: the whole story with unmodified Linux.  Debian's Linux
# 6.12 (or KERNEL=) boots as L1 on our QEMU with AVIC and the AMD IOMMU
# in vAPIC mode, KVM (kvm_amd avic=1) runs an L2 to which the edu device is assigned with
# VFIO, and edu's MSIs are posted by our IOMMU into the L2 vCPU's AVIC
# backing page: with a doorbell while the vCPU runs, through the GA log
# (or GAPPI, with a GAPPI kernel) while it is halted.  Two boots, about 40 s each.  The checks behind
# it are tests/linux/e2e.sh; to show more, add to its output.
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
count=${DEMO_COUNT:-200}
. "$top/scripts/pins.sh"
# KERNEL=: a pin, a bzImage or Debian packages (scripts/fetch-linux.sh);
# GAPPI=1 boots a GAPPI kernel with amd_iommu=gappi.
kernel=${KERNEL:-${LINUX_PINS%% *}}
tree=$("$top/scripts/fetch-linux.sh" "$kernel") || exit 1
label=$(kernel_label "$kernel")

cat <<EOT
demo: Linux $(cat "$tree/kver") as L1 on build/qemu-system-x86_64
      -M q35 -accel tcg -cpu EPYC-Genoa,+svm,+avic,+x2avic -smp 2
      -device amd-iommu,xtsup=on,gappi=on,irt-cache=strict -device edu
      L1 runs an L2 (tests/linux/l2-edu.c) with edu assigned; edu sends $count MSIs.
EOT
start=$SECONDS
KERNEL='' "$top/tests/linux/e2e.sh" -k "$kernel" "$count" | awk '
    /^# ---- running/ { print "\n== the L2 vCPU runs: posted interrupts ring the doorbell" }
    /^# ga-mode: /    { gappi = $3 == "gappi:"; sub(/^# ga-mode: [a-z]+: /, "")
                        print "  " $0 }
    /^# ---- halted/  { if (gappi) print "\n== the L2 vCPU halts: the IOMMU wakes it with a GAPPI interrupt"
                        else print "\n== the L2 vCPU halts: posted interrupts go through the GA log" }
    /^# guest: /      { sub(/^# guest: /, ""); print "  L1 says:   " $0 }
    /^# counter: /    { if ($4 != 0) printf "  QEMU counts: %-30s %s\n", $3, $4 }
    /^# run-linux: /  { sub(/^# /, ""); print "  " $0 }
    /^ok /            { sub(/^ok [0-9]+ - /, ""); print "  [ok]      " $0 }
    /^not ok /        { sub(/^not ok [0-9]+ - /, ""); print "  [FAILED]  " $0; bad = 1 }
    /^# failed during|^#   / { print "  " $0 }
    END { exit bad }'
rc=$?
echo
echo "demo: done in $((SECONDS - start)) s; consoles in build/linux/e2e-$label-*.log"
exit $rc
