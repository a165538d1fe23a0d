#!/bin/bash
# make compare: the first skeleton of the GA log versus GAPPI report
# (issue 12; docs/specs/amd-iommu-timing.rst, "make compare").
#
# Runs the test hypervisor's posting groups with the IOMMU's timing
# model under -icount shift=4,sleep=off, one per notification mode:
#   doorbell  post-running  (IsRun = 1: the running-vCPU baseline)
#   galog     post-galog    (IsRun = 0: GA log entry + interrupt)
#   gappi     post-gappi    (IsRun = 0: GAPPI interrupt)
# over a small sweep of one parameter, the IRTE fetch (240 cycles: the
# model's default, every fetch a miss; 24: what an IRT cache hit might
# cost), and writes build/compare/report.txt: the parameter block, then
# per mode and point the interrupts seen and the p50 / p99 / p99.9
# latency from the MSI to the notification and to the interrupt that
# tells a CPU.  The workloads that make the comparison meaningful
# (rates, bursts, vCPU counts, consumer cost) are not written yet.
#
#   scripts/compare.sh             (QEMU= as for tests/guest/run.sh)
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
qemu=${QEMU:-$top/build/qemu-system-x86_64}
out=$top/build/compare
mkdir -p "$out"
report=$out/report.txt
modes="doorbell:post-running galog:post-galog gappi:post-gappi"
fetches="240 24"

# The parameter block: every timing-* property with its default.
params() {
    "$qemu" -device amd-iommu,help 2>/dev/null |
        sed -n 's/^ *\(timing-[a-z-]*\)=<uint32> *- \(.*\) (default: \([0-9]*\))$/\1 \3 \2/p' |
        awk '{ name = $1; d = $2; $1 = $2 = "";
               sub(/^ +/, ""); printf "  %-22s %6s  %s\n", name, d, $0 }'
}

rows=$(mktemp)
trap 'rm -f "$rows"' EXIT
for f in $fetches; do
    for m in $modes; do
        mode=${m%%:*} group=${m#*:}
        trace=$out/$mode-fetch$f.trace
        rm -f "$trace"
        TIMING=on QEMU_EXTRA="-global amd-iommu.timing-irte-fetch=$f
            -icount shift=4,sleep=off -rtc clock=vm
            -trace amdvi_timing_*,file=$trace" \
            tests/guest/run.sh "$group" > "$out/$mode-fetch$f.tap" 2>&1
        if grep -q '^not ok' "$out/$mode-fetch$f.tap"; then
            echo "compare: $group failed with timing-irte-fetch=$f" \
                 "($out/$mode-fetch$f.tap)" >&2
            exit 1
        fi
        scripts/timing-report.py "$trace" --csv "$out/$mode-fetch$f.csv" \
            > "$out/$mode-fetch$f.txt" || exit 1
        # The summary's rows for this mode's own path.
        awk -v m="$mode" -v f="$f" '$1 == m && ($3 == "notify" || $3 == "raised") {
                printf "%-9s %6s  %-7s %6s %8s %8s %8s %8s\n",
                       m, f, $3, $2, $5, $6, $7, $8 }' \
            "$out/$mode-fetch$f.txt" >> "$rows"
    done
done

{
    echo "amd-iommu timing model: GA log vs GAPPI, first skeleton"
    echo "======================================================="
    echo
    echo "Workload: tests/guest post-running (doorbell), post-galog (galog),"
    echo "post-gappi (gappi); -device amd-iommu,...,timing=on;"
    echo "-icount shift=4,sleep=off (single-threaded TCG), -rtc clock=vm."
    echo "Latency: virtual ns from the MSI write to the notification"
    echo "(notify) and to the doorbell or interrupt it sent (raised)."
    echo "Swept: timing-irte-fetch (cycles).  QEMU: $("$qemu" --version | head -1)"
    echo
    echo "Parameters (defaults; cycles at timing-mhz).  ALL ARE ASSUMPTIONS"
    echo "except timing-vmexit-vmrun (issue 12's Zen figure); reasoning in"
    echo "docs/specs/amd-iommu-timing.rst.  remap, vmexit-vmrun and"
    echo "avic-delivery are not used by the model yet."
    params
    echo
    printf "%-9s %6s  %-7s %6s %8s %8s %8s %8s\n" mode fetch latency \
           count "p50 ns" "p99 ns" "p99.9" "max ns"
    cat "$rows"
    echo
    echo "Not yet: interrupt-rate, burst, vCPU-count and GA-log-size sweeps,"
    echo "wake-up latency to the vCPU taking the vector, host interrupts and"
    echo "instructions per wake-up, overflow onset, the Linux L1 runs, plots."
} > "$report"
cat "$report"
