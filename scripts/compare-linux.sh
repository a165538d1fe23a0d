#!/bin/bash
# The GA log point of make compare with Linux as L1 (issue 12): an
# unmodified pinned kernel, KVM with AVIC, edu assigned with VFIO to an
# L2 whose vCPU halts between interrupts (tests/linux/l2-edu.c, mode
# halted, as tests/linux/e2e.sh's halted phase), on our QEMU with the
# timing model (ICOUNT=1: under -icount shift=0,sleep=off).  Prints what both this
# run and the model's own L1 (tests/guest/compare.c, the rr-galog-v1
# point of make compare) can say about that point: GA log entries per
# GA log interrupt, GA log interrupts per wake-up, and the device-side
# latency from the MSI to the GA log interrupt (the timing trace).
#
#   scripts/compare-linux.sh [COUNT]      (KERNEL= a pin, default 6.12)
# Writes build/compare/linux-KERNEL.txt; the boot log and the trace stay
# in build/compare/.  Not part of make compare (a Linux boot under
# icount takes minutes).
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
kernel=${KERNEL:-6.12}
count=${1:-200}
out=$top/build/compare
mkdir -p "$out"
log=$out/linux-$kernel.log
trace=$out/linux-$kernel.trace
counters=$out/linux-$kernel.counters
rm -f "$trace" "$counters"

# ICOUNT=1: under -icount shift=0,sleep=off as make compare (a Linux
# boot then takes well over 5 minutes here); by default plain TCG, where
# the counts compare and the device delays are the model's.
machine=(-M q35 -cpu EPYC-Genoa,+svm,+avic,+x2avic -smp 2
         -device amd-iommu,id=iommu,xtsup=on,vapic=on,timing=on -device edu
         -trace "amdvi_timing_*,file=$trace")
if [ "${ICOUNT:-0}" = 1 ]; then
    machine+=(-accel tcg,thread=single -icount shift=0,sleep=off -rtc clock=vm)
else
    machine+=(-accel tcg)
fi
start=$SECONDS
res=$(nice -n 10 scripts/run-linux.sh -k "$kernel" -t 1200 -o "$log" -s "$counters" \
          -m "kvm-amd vfio-pci vfio_iommu_type1" -n "kvm vfio iommu" \
          -a "qa.kvm_amd=avic=1 qa.run=l2-edu,$count,halted" \
          -- "${machine[@]}" 2>&1)
secs=$((SECONDS - start))
l2=$(grep -o 'l2-edu: mode .*' <<< "$res")
if [ -z "$l2" ]; then
    echo "compare-linux: no l2-edu report (log: $log)" >&2
    grep -E 'l2-edu|error|FAILED' <<< "$res" | head -10 >&2
    exit 1
fi
counter() { awk -v k="$1" '$1 == k { print $2 }' "$counters"; }
l2stat() { awk -v k="$1" '{ for (i = 1; i < NF; i++) if ($i == k) print $(i + 1) }' <<< "$l2"; }
entries=$(counter ga-log-entries)
irqs=$(counter ga-log-interrupts)
wakes=$(l2stat halt_wakeup)
lat=$(scripts/timing-report.py "$trace" | awk '$1 == "galog" && $3 == "raised"')
model=$out/points/rr-galog-v1.out
mval() { tr ' ' '\n' < "$model" | sed -n "s/^$1=//p" | head -1; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }
{
    echo "GA log point, Linux $kernel as L1 vs the model's L1"
    echo "(scripts/compare-linux.sh $count; $secs s; l2-edu halted, $count MSIs)"
    echo
    echo "Linux: $l2"
    echo "Linux: counters ga-log-entries $entries, ga-log-interrupts $irqs"
    printf '%-28s %12s %12s\n' "" "Linux L1" "model L1"
    if [ -f "$model" ]; then
        printf '%-28s %12s %12s\n' "GA log entries per GA irq" \
            "$(ratio "$entries" "$irqs")" "$(awk -v x="$(mval entries_x100)" 'BEGIN { printf "%.2f", x / 100 }')"
        printf '%-28s %12s %12s\n' "GA log irqs per wake-up" \
            "$(ratio "$irqs" "$wakes")" "$(ratio "$(mval galog_irqs)" "$(mval wakeups)")"
        printf '%-28s %12s %12s\n' "GA log entries per MSI" \
            "$(ratio "$entries" "$count")" "$(ratio "$(mval entries)" "$(mval sent)")"
    else
        echo "(no $model: run make compare first for the model's column)"
    fi
    echo
    echo "Device side, MSI to GA log interrupt (timing trace, ns):"
    echo "  path count latency min p50 p99 p99.9 max"
    echo "  $lat"
} > "$out/linux-$kernel.txt"
cat "$out/linux-$kernel.txt"
