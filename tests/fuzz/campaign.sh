#!/bin/bash
# A long fuzzing campaign: every target at once, each for CAMPAIGN_S
# seconds (default 3600), in libFuzzer's fork mode so that a crash is
# saved (build-fuzz/campaign/TARGET/crash-*) and fuzzing goes on.  The
# corpus grows in build-fuzz/corpus/TARGET/ (the one make fuzz starts
# from).  Needs build-fuzz/ (scripts/build-fuzz.sh).  Logs:
# build-fuzz/campaign/TARGET.log; the last "#N ... exec/s" line of each
# gives its executions.
#
#   nice -n 10 tests/fuzz/campaign.sh            # one hour
#   CAMPAIGN_S=600 tests/fuzz/campaign.sh
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
S=${CAMPAIGN_S:-3600}
bin=build-fuzz/qemu-fuzz-x86_64
export QEMU_FUZZ_ARGS="-M q35 -cpu EPYC-Genoa,+svm,+avic,+x2avic \
-device amd-iommu,intremap=on,xtsup=on,gappi=on -device edu"
export QEMU_FUZZ_OBJECTS="amd-iommu amdvi-pci edu"
export ASAN_OPTIONS="halt_on_error=1:abort_on_error=1:detect_leaks=1"
export UBSAN_OPTIONS="halt_on_error=1:abort_on_error=1:print_stacktrace=1"
pids=()
for t in generic-fuzz amd-avic-fuzz; do
    mkdir -p "build-fuzz/campaign/$t" "build-fuzz/corpus/$t"
    "$bin" --fuzz-target="$t" -fork=1 -ignore_crashes=1 -ignore_timeouts=1 \
        -ignore_ooms=1 -timeout=10 -rss_limit_mb=4096 -max_len=4096 \
        -max_total_time="$S" -artifact_prefix="build-fuzz/campaign/$t/" \
        "build-fuzz/corpus/$t" "tests/fuzz/corpus/$t" \
        > "build-fuzz/campaign/$t.log" 2>&1 &
    pids+=($!)
done
wait "${pids[@]}"
for t in generic-fuzz amd-avic-fuzz; do
    echo "# $t: $(grep -E '^#[0-9]+' "build-fuzz/campaign/$t.log" | tail -1)"
    echo "# $t: $(ls "build-fuzz/campaign/$t" | grep -c .) artifacts"
done
