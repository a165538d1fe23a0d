#!/bin/bash
# The CPU side's fuzzer: tests/guest/avic-fuzz.c (random AVIC VMCB
# fields, APIC ID tables, backing pages and L2 APIC traffic, with
# invariants) run seed after seed on our QEMU (build/), for a budget.
# libFuzzer cannot reach this code: the qtest accelerator runs no guest.
#
#   make fuzz-avic                     # FUZZ_S=180, ITERS=2000 per seed
#   FUZZ_S=3600 SEED0=100 tests/fuzz/avic-guest.sh
#   QEMU=/path/to/qemu-system-x86_64 tests/fuzz/avic-guest.sh
#
# Each seed is one QEMU run of ITERS iterations; a run that fails a check,
# crashes QEMU or times out prints the seed and the command that replays
# it, and the campaign goes on with the next seed.  TAP output, one line
# per seed, then a total.
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"

FUZZ_S=${FUZZ_S:-180}
ITERS=${ITERS:-2000}
seed=${SEED0:-1}
export QEMU=${QEMU:-$top/build/qemu-system-x86_64}
[ -x "$QEMU" ] || { echo "Bail out! no $QEMU (run make first)"; exit 2; }

n=0 failed=0 iters=0 start=$SECONDS
while [ $((SECONDS - start)) -lt "$FUZZ_S" ] || [ $n -eq 0 ]; do
    n=$((n + 1))
    extra="-fw_cfg name=opt/avic-fuzz,string=seed=$seed:iters=$ITERS"
    out=$(QEMU_EXTRA="$extra" TIMEOUT=$((ITERS / 10 + 60)) \
          tests/guest/run.sh avic-fuzz 2>&1)
    rc=$?
    stats=$(echo "$out" | grep -m1 '^# seed ' | sed 's/^# //')
    if [ $rc -eq 0 ] && ! echo "$out" | grep -q '^not ok'; then
        iters=$((iters + ITERS))
        echo "ok $n - avic-fuzz seed $seed: ${stats:-no statistics}"
    else
        failed=$((failed + 1))
        echo "not ok $n - avic-fuzz seed $seed (exit $rc)"
        echo "$out" | grep -E '^# FAIL|^#   |^not ok|^# exception|PANIC|panic' | head -40 |
            sed 's/^/# /'
        echo "# replay: QEMU_EXTRA='$extra' tests/guest/run.sh avic-fuzz"
    fi
    seed=$((seed + 1))
done
echo "1..$n"
echo "# avic-fuzz: $n seeds, $iters iterations passed, $failed seeds failed" \
     "in $((SECONDS - start)) s"
[ $failed -eq 0 ]
