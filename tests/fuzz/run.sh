#!/bin/bash
# make fuzz: QEMU's libFuzzer build (build-fuzz/, scripts/build-fuzz.sh:
# clang 14, ASan, UBSan) on the mission's line, two targets:
#
#   generic-fuzz   QEMU's own target, QEMU_FUZZ_ARGS = the mission's
#                  line, QEMU_FUZZ_OBJECTS = the IOMMU's MMIO and PCI
#                  function, edu
#   amd-avic-fuzz  ours (tests/qtest/fuzz/amd_avic_fuzz.c): device
#                  table, guest-mode IRTEs, backing pages, GA log, edu
#                  MSIs, with invariants
#
# For each target: first every saved input of tests/fuzz/regress/TARGET/
# (inputs that once crashed, replayed: each must now pass), then FUZZ_S
# seconds of fuzzing from the seed corpus tests/fuzz/corpus/TARGET/ (the
# inputs found go to build-fuzz/corpus/TARGET/, kept between runs).  Any
# crash, leak, timeout or sanitizer report fails the run and prints the
# input and the command that replays it.  TAP output, one line per step.
#
#   make fuzz                  # FUZZ_S=180 per target
#   make fuzz FUZZ_S=20        # what the make check group runs
#   FUZZ_TARGETS=amd-avic-fuzz tests/fuzz/run.sh
#   FUZZ_NOBUILD=1 tests/fuzz/run.sh    # use build-fuzz/ as it is
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"

FUZZ_S=${FUZZ_S:-180}
targets=(${FUZZ_TARGETS:-generic-fuzz amd-avic-fuzz})
fb=${FUZZ_BUILD:-build-fuzz}
bin=$top/$fb/qemu-fuzz-x86_64
out=$top/$fb/fuzz-run
n=0 failed=0

say() { n=$((n + 1)); echo "$1 $n - $2"; }

if ! command -v clang-14 >/dev/null; then
    say "ok" "fuzz # SKIP clang-14 is not installed (apt-get install clang-14 libclang-rt-14-dev)"
    exit 0
fi
if [ -z "${FUZZ_NOBUILD:-}" ]; then
    if ! scripts/build-fuzz.sh > "$top/$fb.log" 2>&1; then
        tail -30 "$top/$fb.log" | sed 's/^/# /'
        say "not ok" "fuzz: build (log: $fb.log)"
        exit 1
    fi
    grep "^# build-fuzz" "$top/$fb.log"
fi
[ -x "$bin" ] || { say "not ok" "fuzz: no $bin"; exit 1; }

# generic-fuzz on the mission's line.
export QEMU_FUZZ_ARGS="-M q35 -cpu EPYC-Genoa,+svm,+avic,+x2avic \
-device amd-iommu,intremap=on,xtsup=on,gappi=on -device edu"
# generic-fuzz matches these (globs) against lower-cased QOM type names:
# amd-iommu brings its MMIO region, amdvi-pci its PCI function.
export QEMU_FUZZ_OBJECTS="amd-iommu amdvi-pci edu"
# Every sanitizer report ends the input as a crash that libFuzzer saves.
export ASAN_OPTIONS="halt_on_error=1:abort_on_error=1:detect_leaks=1:print_stacktrace=1"
export UBSAN_OPTIONS="halt_on_error=1:abort_on_error=1:print_stacktrace=1"
replay_env="QEMU_FUZZ_ARGS='$QEMU_FUZZ_ARGS' QEMU_FUZZ_OBJECTS='$QEMU_FUZZ_OBJECTS' ASAN_OPTIONS=$ASAN_OPTIONS UBSAN_OPTIONS=$UBSAN_OPTIONS"
flags=(-timeout=10 -rss_limit_mb=4096 -max_len=4096 -print_final_stats=1)

# The input a failed run left, and how to replay it.
report() {
    local t=$1 log=$2 art
    grep -E 'ERROR: |runtime error:|SUMMARY:|amd-avic-fuzz:|^ *#[0-9]+ ' \
        "$log" | head -40 | sed 's/^/# /'
    for art in "$out/$t/artifacts"/*; do
        [ -f "$art" ] || continue
        echo "# reproducer: $art"
        echo "# replay: $replay_env $bin --fuzz-target=$t $art"
    done
    echo "# log: $log"
}

# Sanitizer output that did not end the process counts too.
clean_log() {
    ! grep -qE 'ERROR: (Address|Leak|UndefinedBehavior)Sanitizer|runtime error:' "$1"
}

for t in "${targets[@]}"; do
    mkdir -p "$out/$t/artifacts" "$top/$fb/corpus/$t"
    rm -f "$out/$t/artifacts"/*

    regress=(tests/fuzz/regress/$t/*)
    if [ -e "${regress[0]}" ]; then
        log=$out/$t/regress.log
        if nice -n 10 "$bin" --fuzz-target="$t" "${flags[@]}" \
               -artifact_prefix="$out/$t/artifacts/" "${regress[@]}" \
               > "$log" 2>&1 && clean_log "$log"; then
            say "ok" "fuzz: $t replays ${#regress[@]} saved crash inputs"
        else
            report "$t" "$log"
            say "not ok" "fuzz: $t replays ${#regress[@]} saved crash inputs"
            failed=1
        fi
    fi

    log=$out/$t/fuzz.log
    start=$SECONDS
    nice -n 10 "$bin" --fuzz-target="$t" "${flags[@]}" \
        -max_total_time="$FUZZ_S" -artifact_prefix="$out/$t/artifacts/" \
        "$top/$fb/corpus/$t" "tests/fuzz/corpus/$t" > "$log" 2>&1
    rc=$?
    stats=$(grep -E '^stat::number_of_executed_units|^stat::average_exec_per_sec' \
            "$log" | awk '{printf "%s ", $2}')
    cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -1)
    if [ $rc = 0 ] && clean_log "$log"; then
        say "ok" "fuzz: $t, ${FUZZ_S} s: execs, exec/s = $stats($cov)"
    else
        report "$t" "$log"
        say "not ok" "fuzz: $t, ${FUZZ_S} s (status $rc)"
        failed=1
    fi
done
exit $failed
