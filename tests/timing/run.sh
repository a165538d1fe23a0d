#!/bin/bash
# The amd-iommu timing model (timing=on) under the test hypervisor, as
# make check's group "timing" (docs/specs/amd-iommu-timing.rst):
#
# 1. the guest groups that post through the IOMMU pass with timing=on
#    (the model changes when a notification happens, never whether);
# 2. determinism: under -icount shift=4,sleep=off (single-threaded TCG)
#    each of post-running, post-galog and post-gappi is run twice with
#    the timing trace on; scripts/timing-report.py turns each trace into
#    a CSV.  What the model decides must be the same byte for byte: the
#    interrupts in order, their paths and their latencies (MSI to
#    notification, MSI to interrupt).  The absolute virtual times are
#    compared too but only reported: the guest itself does not always
#    boot in the same number of ns under icount without record/replay
#    (docs/specs/amd-iommu-timing.rst, "Determinism").  Then: interrupts
#    on the group's path, none notified before its path's modelled
#    delay, none lost (scripts/timing-report.py --check).
# 3. make compare's chain (scripts/compare.sh --small: three points of
#    tests/guest/compare.c at -smp 6, 4 and 3) run twice gives the
#    same report.txt byte for byte.
#
#   tests/timing/run.sh            (TAP; QEMU= as for tests/guest/run.sh)
# The CSVs and summaries stay in build/timing/.
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
out=$top/build/timing
mkdir -p "$out"
rc=0

# ---- 1. the posting groups with timing=on ----
TIMING=on tests/guest/run.sh post-running post-galog post-gappi \
    compare compare-gappi compare-running compare-remap \
    galog-overflow bad-programming || rc=1

# ---- 2. the same run, the same timeline ----
n=0
# The model's columns of a timeline CSV, by header name.
model_cols() {
    awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i }
             { print $c["id"] "," $c["path"] "," $c["notify_latency_ns"] \
                     "," $c["raised_latency_ns"] }' "$1"
}
ok() { n=$((n + 1)); echo "ok $n - timing/$*"; }
notok() { n=$((n + 1)); echo "not ok $n - timing/$*"; rc=1; }

for g in post-running:doorbell post-galog:galog post-gappi:gappi; do
    group=${g%%:*} path=${g#*:}
    for run in 1 2; do
        trace=$out/$group.$run.trace
        rm -f "$trace"
        TIMING=on QEMU_EXTRA="-icount shift=4,sleep=off -rtc clock=vm
            -trace amdvi_timing_*,file=$trace" \
            tests/guest/run.sh "$group" > "$out/$group.$run.tap" 2>&1
        scripts/timing-report.py "$trace" --csv "$out/$group.$run.csv" \
            --summary "$out/$group.$run.txt" > /dev/null
    done
    csv=$out/$group.1.csv
    if grep -q '^not ok' "$out/$group.1.tap" "$out/$group.2.tap"; then
        notok "$group: the guest group failed under icount" \
              "($out/$group.*.tap)"
        continue
    fi
    rows=$(($(wc -l < "$csv") - 1))
    if ! cmp -s <(model_cols "$csv") <(model_cols "$out/$group.2.csv"); then
        notok "$group: two runs gave different latencies"
        diff <(model_cols "$csv") <(model_cols "$out/$group.2.csv") |
            head -5 | sed 's/^/# /'
        continue
    fi
    ok "$group: two runs, the same $rows interrupts, paths and latencies"
    if cmp -s "$csv" "$out/$group.2.csv"; then
        echo "# $group: absolute virtual times identical too"
    else
        echo "# $group: absolute virtual times differ (the guest's own run" \
             "differed; see the docs)"
    fi
    on_path=$(awk -F, -v p="$path" 'NR > 1 && $2 == p' "$csv" | wc -l)
    if [ "$on_path" -gt 0 ]; then
        ok "$group: $on_path interrupts took the $path path"
    else
        notok "$group: no interrupt took the $path path"
    fi
    if res=$(scripts/timing-report.py --check "$out/$group.1.trace" |
             grep '^check:') && [ -n "$res" ]; then
        ok "$group: no notification before the model's delay, none lost"
    else
        notok "$group: ${res:-timing-report.py --check failed}"
    fi
    sed 's/^/# /' "$out/$group.1.txt"
done
# ---- 3. make compare's tables, twice: the same bytes ----
# Three points of the compare workload (-smp 6 with 4 vCPUs, -smp 4,
# -smp 3) under -icount shift=0, the whole chain to report.txt.
cmp_ok=1
for run in 1 2; do
    if ! OUT=$out/compare.$run scripts/compare.sh --small \
            > "$out/compare.$run.log" 2>&1; then
        cmp_ok=0
        notok "compare --small (run $run) failed ($out/compare.$run.log)"
        tail -5 "$out/compare.$run.log" | sed 's/^/# /'
    fi
done
if [ $cmp_ok = 1 ]; then
    if cmp -s "$out/compare.1/report.txt" "$out/compare.2/report.txt"; then
        ok "compare --small: two runs, identical report.txt" \
           "($(grep -c '^[a-z]' "$out/compare.1/report.txt") table rows)"
    else
        notok "compare --small: two runs gave different tables"
        diff "$out/compare.1/report.txt" "$out/compare.2/report.txt" |
            head -8 | sed 's/^/# /'
    fi
    if grep -q '^galog  *4 ' "$out/compare.1/report.txt" &&
       grep -q '^gappi  *4  *2 ' "$out/compare.1/report.txt" &&
       grep -q '^remap ' "$out/compare.1/report.txt"; then
        ok "compare --small: the galog, gappi (list scan) and remap rows are there"
    else
        notok "compare --small: rows missing from report.txt"
    fi
fi
echo "1..$n"
exit $rc
