#!/bin/bash
# Run every test we have and count the results.  Each group prints TAP
# ("ok N name", "not ok N name", "# SKIP"/"# TODO" directives); a group
# that exits non-zero without reporting a failure counts as one more
# failure.  The last line is "N passed, N failed, N skipped".
#
# Groups (a new group is one more line in the list below):
#   style   QEMU's checkpatch.pl over our C files and patches
#   qtest   the qtests in tests/qtest/amd-avic-qtests.txt
#   upstream-qtest  upstream QEMU's qtests that cover what we change
#           (tests/qtest/run-upstream-qtests.sh: bios-tables-test's
#           q35 IOMMU variants, q35-test, qom-test, device-introspect-test,
#           test-x86-cpuid-compat)
#   guest   the test hypervisor suite (tests/guest/run.sh)
#   timing  the IOMMU's timing model: the posting groups with timing=on,
#           the same timeline twice under icount (tests/timing/run.sh)
#   migrate the test hypervisor's stress test, live-migrated twice in each
#           of its phases, then savevm/loadvm during GA log bursts
#           (tests/guest/migrate.py; --long for more)
#   kernel  your own kernel: KERNEL= errors (no boot), the GAPPI detection
#           on kernel-log fixtures, make run RUN=..., a bzImage without KVM
#           (tests/linux/kernel.sh)
#   kbuild  a bzImage built from Debian's linux source with the options
#           README.md lists (scripts/build-kernel.sh, cached), then
#           make demo KERNEL=<it> (tests/linux/kbuild.sh)
#   linux   each pinned Debian kernel (6.12, 7.2) boots with AVIC and vAPIC
#           (tests/linux/smoke.sh)
#   faults  Linux in x2APIC mode reports edu's DMA faults: the event log,
#           its XT interrupt (0x170), the IO_PAGE_FAULT fields
#           (tests/linux/faults.sh)
#   e2e     Linux KVM runs an L2 with edu assigned: posting, doorbell,
#           GA log wake-ups (tests/linux/e2e.sh)
#   migrate-l1  the e2e running phase (first pinned kernel), L1
#           live-migrated twice while its L2 takes 2,000,000 MSIs; the
#           L2's count and L1's kernel log after (tests/linux/migrate-l1.sh)
#   kvm-selftests  Linux's KVM selftests (APIC/SVM) in a Linux 7.2 L1,
#           kvm_amd avic=0 and avic=1 (tests/kvm-selftests/run.sh)
#   fuzz    make fuzz with FUZZ_S=20: the libFuzzer build (build-fuzz/),
#           saved crash inputs replayed, 20 s of each fuzz target
#           (tests/fuzz/run.sh; make fuzz for longer)
#
# TESTS="qtest" limits the run to the named groups.
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

groups=(
    "style  tests/checkpatch.sh"
    "qtest  tests/qtest/run-qtests.sh"
    "upstream-qtest  tests/qtest/run-upstream-qtests.sh"
    "guest  tests/guest/run.sh"
    "timing tests/timing/run.sh"
    "migrate tests/guest/migrate.py"
    "kernel tests/linux/kernel.sh"
    "kbuild tests/linux/kbuild.sh"
    "linux  tests/linux/smoke.sh"
    "faults tests/linux/faults.sh"
    "e2e    tests/linux/e2e.sh"
    "migrate-l1 tests/linux/migrate-l1.sh"
    "kvm-selftests tests/kvm-selftests/run.sh"
    "fuzz   env FUZZ_S=20 tests/fuzz/run.sh"
)

passed=0 failed=0 skipped=0
results=$(mktemp)
trap 'rm -f "$results"' EXIT

for g in "${groups[@]}"; do
    read -r name cmd <<< "$g"
    case " ${TESTS:-$name} " in *" $name "*) ;; *) continue ;; esac
    echo "# ---- $name: $cmd"
    start=$SECONDS
    $cmd > >(tee "$results") 2>&1
    rc=$?
    wait
    p=$(grep -cE '^ok ' "$results" | head -1)
    s=$(grep -cE '^ok .*# *(SKIP|TODO)' "$results" | head -1)
    f=$(grep -cE '^not ok ' "$results" | head -1)
    t=$(grep -cE '^not ok .*# *TODO' "$results" | head -1)
    p=$((p - s)) f=$((f - t)) s=$((s + t))
    if [ $rc != 0 ] && [ "$f" = 0 ]; then
        echo "not ok - $name: '$cmd' exited with status $rc"
        f=1
    fi
    echo "# ---- $name: $p passed, $f failed, $s skipped in $((SECONDS - start)) s"
    passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
done

echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" = 0 ]
