#!/bin/bash
# make compare: the GA log versus GAPPI report (issue 12;
# docs/specs/amd-iommu-timing.rst, "make compare").
#
# Runs the test hypervisor's compare workload (tests/guest/compare.c)
# over the sweeps below, up to $CHUNK points of one -smp per QEMU, with
# the IOMMU's timing model (timing=on) under -icount shift=0,sleep=off
# and single-threaded TCG, so that one guest instruction is 1 ns of
# virtual time and a run gives the same numbers as the last (but see
# docs/specs/amd-iommu-timing.rst, "Determinism").  Then
# scripts/timing-report.py --workload writes build/compare/report.txt
# (plain-text tables) and, with gnuplot, build/compare/*.svg.
#
#   scripts/compare.sh               the full sweep (76 points, 1-3 minutes)
#   scripts/compare.sh --small       three points (the determinism check
#                                    of tests/timing/run.sh)
#   JOBS=2 CHUNK=8 QEMU=... OUT=... scripts/compare.sh
#                                    (CHUNK: points per QEMU run)
#
# A point is "name|smp|parameters" (compare.c's key=value, ':'-joined).
# A point's numbers depend on the points run before it in the same QEMU
# (the IOMMU's caches, the clock), deterministically: a chunk is the
# same every run.
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
qemu=${QEMU:-$top/build/qemu-system-x86_64}
out=${OUT:-$top/build/compare}
jobs=${JOBS:-2}
chunk=${CHUNK:-8}
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
    # sensitivity: the GA log without the IRQ thread's wake-up cost
    echo "lat-galog-v1-r100000-thread0|3|mode=galog:vcpus=1:rate=100000:n=2000:thread=0"
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

# One QEMU runs several points of the same -smp in turn (a boot costs
# more than a point: the guest's boot-time waits are 20 ms of counted
# instructions); each point's result lines go to its NAME.out.
#   run_chunk DIR QEMU TOP SMP NAME|PARAMS...
run_chunk() {
    local dir=$1 qemu=$2 top=$3 smp=$4
    shift 4
    local args=() names=() i=0 p
    for p in "$@"; do
        names+=("${p%%|*}")
        args+=(-fw_cfg "name=opt/qemu-avic/compare/$i,string=name=${p%%|*}:${p#*|}")
        i=$((i + 1))
    done
    local log=$dir/chunk-${names[0]}.log
    timeout -k 5 600 "$qemu" -nodefaults -M q35 -accel tcg,thread=single -m 256M \
        -display none -vga none -nic none -serial stdio -no-reboot \
        -device isa-debug-exit,iobase=0xf4,iosize=4 \
        -smp "$smp" -cpu EPYC-Genoa,+svm,+x2apic,+avic \
        -device amd-iommu,intremap=on,xtsup=on,vapic=on,gappi=on,timing=on \
        -device edu -icount shift=0,sleep=off -rtc clock=vm "${args[@]}" \
        -kernel "$top/build/guest/compare.elf" > "$log" 2>&1 < /dev/null
    local rc=$?
    for p in "${names[@]}"; do
        {
            echo "# point: name=$p smp=$smp rc=$rc"
            awk -v n="$p" '/^# compare: name=/ { on = ($3 == "name=" n) }
                           on && /^# compare:/' "$log"
            grep -- "^not ok.* - compare/$p: " "$log" | sed 's/^/# failed: /'
        } > "$dir/$p.out"
        grep -q "^# compare: sent=" "$dir/$p.out" ||
            echo "# failed: no result for $p (QEMU status $rc, $log)" >> "$dir/$p.out"
    done
}
export -f run_chunk

# The points as chunks of at most $chunk of one -smp: one line each,
# "SMP NAME|PARAMS NAME|PARAMS ...".
chunks() {
    points | sort -t'|' -k2,2n -s | awk -F'|' -v max="$chunk" '
        $2 != smp || n == max { if (line != "") print line; line = $2; n = 0; smp = $2 }
        { line = line " " $1 "|" $3; n++ }
        END { if (line != "") print line }'
}

start=$SECONDS
mkdir -p "$out/points"
rm -f "$out"/points/*.out "$out"/points/*.log "$out"/points/*.trace
if ! make -s -C tests/guest OUT="$top/build/guest" >&2; then
    echo "compare: building tests/guest failed" >&2
    exit 1
fi
"$qemu" --version > /dev/null || { echo "compare: no QEMU at $qemu" >&2; exit 1; }
npoints=$(points | wc -l)
nchunks=$(chunks | wc -l)
echo "compare: $npoints points in $nchunks QEMU runs, $jobs at a time, under nice -n 10" >&2
chunks | nice -n 10 xargs -P "$jobs" -L 1 bash -c \
    'run_chunk "'"$out/points"'" "'"$qemu"'" "'"$top"'" "$@"' _

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
