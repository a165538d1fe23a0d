#!/bin/bash
# make compare: the GA log versus GAPPI report (issue 12;
# docs/specs/amd-iommu-timing.rst, "make compare").
#
# Runs the test hypervisor's compare workload (tests/guest/compare.c)
# over the sweeps below, each point in its own QEMU with the IOMMU's
# timing model (timing=on) under -icount shift=0,sleep=off and
# single-threaded TCG, so that one guest instruction is 1 ns of virtual
# time and every run of a point gives the same numbers.  Then
# scripts/timing-report.py --workload writes build/compare/report.txt
# (plain-text tables) and, with gnuplot, build/compare/*.svg.
#
#   scripts/compare.sh               the full sweep (a few minutes)
#   scripts/compare.sh --small       three points (the determinism check
#                                    of tests/timing/run.sh)
#   JOBS=2 QEMU=... OUT=... scripts/compare.sh
#
# A point is "name|smp|parameters" (compare.c's key=value, ':'-joined).
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
qemu=${QEMU:-$top/build/qemu-system-x86_64}
out=${OUT:-$top/build/compare}
jobs=${JOBS:-2}
small=0
[ "${1:-}" = --small ] && small=1

# Linux's GA log: 512 entries.  Costs: compare.c's defaults.
points() {
    local m v r b s f e
    if [ $small = 1 ]; then
        echo "lat-galog-v4-r100000|6|mode=galog:vcpus=4:rate=100000:n=500"
        echo "scan-gappi-v4-p2|4|mode=gappi:vcpus=4:pcpus=2:rate=100000:n=500"
        echo "base-remap-v1-r100000|3|mode=remap:vcpus=1:rate=100000:n=300"
        return
    fi
    # 1. wake-up latency vs rate and vCPU count (one vCPU per CPU)
    for m in galog gappi; do
        for v in 1 2 4; do
            for r in 20000 100000 400000; do
                echo "lat-$m-v$v-r$r|$((v + 2))|mode=$m:vcpus=$v:rate=$r:n=2000"
            done
        done
    done
    # 2. the baselines: spinning vCPUs, doorbell or #VMEXIT + injection
    for m in running remap; do
        for r in 20000 100000 400000; do
            echo "base-$m-v1-r$r|3|mode=$m:vcpus=1:rate=$r:n=2000"
        done
        echo "base-$m-v4-r100000|6|mode=$m:vcpus=4:rate=100000:n=2000"
    done
    # 3. bursts, 4 vCPUs
    for m in galog gappi; do
        for b in 8 32; do
            echo "burst-$m-v4-b$b|6|mode=$m:vcpus=4:rate=100000:burst=$b:n=2048"
        done
    done
    # 4. request/response, halting between (netperf TCP_RR-like)
    for m in galog gappi; do
        echo "rr-$m-v1|3|mode=$m:vcpus=1:rr=1:think=20000:n=1000"
    done
    # 5. vCPUs sharing CPUs: GAPPI list scans
    for m in galog gappi; do
        for p in 1 2; do
            echo "scan-$m-v4-p$p|$((p + 2))|mode=$m:vcpus=4:pcpus=$p:rate=100000:n=2000"
        done
    done
    # 6. GA log overflow vs rate: 512 entries, an overcommitted host
    #    (a woken vCPU runs 200 us later), two consumer costs; and GAPPI
    #    under the same load (one GAPPI per blocked episode, the rest
    #    suppressed)
    for r in 250000 500000 1000000 2000000 4000000; do
        for e in 200 2000; do
            echo "ovf-rate-e$e-r$r|3|mode=galog:vcpus=1:rate=$r:entry=$e:wakedelay=200000:n=20000"
        done
        echo "ovf-rate-gappi-r$r|3|mode=gappi:vcpus=1:rate=$r:wakedelay=200000:n=20000"
    done
    # 7. GA log overflow onset vs its size: one back-to-back burst of
    #    B MSIs while the vCPU stays blocked (wakedelay 5 ms)
    for s in 512 1024 2048 4096; do
        for f in 2 4 5 6 7 8; do    # B = s * f / 4
            b=$((s * f / 4))
            echo "ovf-size-s$s-b$b|3|mode=galog:vcpus=1:galog=$s:burst=$b:n=$b:rate=1000:entry=200:wakedelay=5000000"
        done
    done
}

# One point: the guest's result lines, the suppressed-GAPPI count from
# the trace, the exit status.
run_point() {
    local name=$1 smp=$2 params=$3 dir=$4 qemu=$5 top=$6
    local trace=$dir/$name.trace
    rm -f "$trace"
    timeout -k 5 300 "$qemu" -nodefaults -M q35 -accel tcg,thread=single -m 256M \
        -display none -vga none -nic none -serial stdio -no-reboot \
        -device isa-debug-exit,iobase=0xf4,iosize=4 \
        -smp "$smp" -cpu EPYC-Genoa,+svm,+x2apic,+avic \
        -device amd-iommu,intremap=on,xtsup=on,vapic=on,gappi=on,timing=on \
        -device edu -icount shift=0,sleep=off -rtc clock=vm \
        -trace amdvi_ga_unnotified,file="$trace" \
        -fw_cfg name=opt/qemu-avic/compare,string="$params" \
        -kernel "$top/build/guest/compare.elf" > "$dir/$name.log" 2>&1 < /dev/null
    local rc=$?
    {
        echo "# point: name=$name smp=$smp rc=$rc"
        grep '^# compare:' "$dir/$name.log"
        echo "# compare: gappi_suppressed=$(grep -c 'already pending' "$trace" 2>/dev/null)"
        grep '^not ok' "$dir/$name.log" | sed 's/^/# failed: /'
    } > "$dir/$name.out"
    rm -f "$trace"
}
export -f run_point

start=$SECONDS
mkdir -p "$out/points"
rm -f "$out"/points/*.out "$out"/points/*.log
if ! make -s -C tests/guest OUT="$top/build/guest" >&2; then
    echo "compare: building tests/guest failed" >&2
    exit 1
fi
"$qemu" --version > /dev/null || { echo "compare: no QEMU at $qemu" >&2; exit 1; }
npoints=$(points | wc -l)
echo "compare: $npoints points, $jobs at a time, under nice -n 10" >&2
points | tr '|' ' ' |
    nice -n 10 xargs -P "$jobs" -L 1 bash -c \
        'run_point "$0" "$1" "$2" "'"$out/points"'" "'"$qemu"'" "'"$top"'"'

bad=$(grep -l '^# failed\|rc=[^1]' "$out"/points/*.out 2>/dev/null)
if [ -n "$bad" ]; then
    echo "compare: failed points:" $bad >&2
    grep -h '^# failed\|rc=' $bad | head -10 >&2
    exit 1
fi

"$qemu" -device amd-iommu,help > "$out/params.txt" 2>/dev/null
args=(--workload "$out/points" --params "$out/params.txt" --out "$out")
[ $small = 1 ] && args+=(--no-plots)
scripts/timing-report.py "${args[@]}" \
    --note "QEMU: $("$qemu" --version | head -1)" \
    || exit 1
[ $small = 1 ] || cat "$out/report.txt"
echo "compare: wrote $out/report.txt ($((SECONDS - start)) s)" >&2
