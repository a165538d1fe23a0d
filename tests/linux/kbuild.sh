#!/bin/bash
# A kernel of one's own, built here: scripts/build-kernel.sh makes a
# bzImage from the pinned Debian linux source (tinyconfig plus
# tests/linux/kernel.config, the options README.md lists; cached in the
# cache dir), then `make demo KERNEL=<that bzImage>` must tell the
# default demo's story: every check ok, and the same checks as the
# default demo runs for a GA log kernel (the check names, with counts
# and times left out, compared with a played-back GA log demo,
# tests/linux/fixtures/fake-run-linux.sh).
#
#   KBUILD_DEMO_COUNT=N  MSIs per demo phase (default 50; make demo's
#                        own default is 200)
#   KBUILD_PATCHES="A.patch B.patch ..."  patches of one's own applied
#                        after Debian's (build-kernel.sh -p), e.g. the
#                        GAPPI series kept outside this tree
#                        (docs/specs/amd-iommu-ga.rst); with GAPPI=1 the
#                        demo boots it with amd_iommu=gappi and the
#                        checks are the GAPPI demo's
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/scripts/pins.sh"
. "$top/tests/linux/tap.sh"
gappi=${GAPPI:-0}
unset KERNEL KERNEL_ARGS QEMU_ARGS GAPPI RUN DEMO_COUNT
patch_opts=()
for p in ${KBUILD_PATCHES:-}; do
    patch_opts+=(-p "$p")
done
count=${KBUILD_DEMO_COUNT:-50}
fragment=$top/tests/linux/kernel.config

start=$SECONDS
bz=$("$top/scripts/build-kernel.sh" "${patch_opts[@]}" 2> >(sed 's/^/# /' >&2))
rc=$?
wait
check "build-kernel.sh: a bzImage of linux $LINUX_SRC_VERSION, tinyconfig + kernel.config${KBUILD_PATCHES:+ + $((${#patch_opts[@]} / 2)) patches} ($((SECONDS - start)) s)" \
    test $rc = 0 -a -f "$bz"
if [ $rc != 0 ] || [ ! -f "$bz" ]; then
    echo "1..$n"
    exit 1
fi
config=$(dirname "$bz")/config
check "... everything built in (no CONFIG_MODULES)" \
    test "$(grep -c '^CONFIG_MODULES=y' "$config")" = 0
lost=$(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$fragment" |
       while read -r line; do grep -qx -- "$line" "$config" || echo "$line"; done)
check "... with every option of kernel.config as given${lost:+ (lost: $lost)}" \
    test -z "$lost"

# normalize: the demo's check lines, without the kernel's name, counts
# and times, one a line in order.
normalize() {
    sed -n 's/^  \[\(ok\|FAILED\)\] *//p' | sed -E \
        -e 's/^[^:]*: //' -e 's/ \([^()]*\)//g' -e 's/[0-9]+/N/g'
}

start=$SECONDS
out=$(cd "$top" && GAPPI=$gappi DEMO_COUNT=$count make -s demo KERNEL="$bz" 2>&1)
rc=$?
secs=$((SECONDS - start))
sed 's/^/# /' <<< "$out"
check "make demo KERNEL=<our bzImage> exits 0 ($secs s, $count MSIs a phase)" test $rc = 0
oks=$(grep -c '^  \[ok\]' <<< "$out")
bad=$(grep -c '^  \[FAILED\]' <<< "$out")
check "... every demo check ok ($oks ok, $bad failed)" test "$oks" -gt 0 -a "$bad" = 0
check "... L1 is the kernel we built (Linux $LINUX_SRC_VERSION)" \
    grep -qE "^demo: Linux ${LINUX_SRC_VERSION%-*}" <<< "$out"
check "... the doorbell phase" says "the L2 vCPU runs: posted interrupts ring the doorbell"
if [ "$gappi" = 1 ]; then
    check "... and the GAPPI phase" says "the L2 vCPU halts: the IOMMU wakes it with a GAPPI interrupt"
else
    check "... and the GA log phase" says "the L2 vCPU halts: posted interrupts go through the GA log"
fi

fake=$top/tests/linux/fixtures/fake-run-linux.sh
ref=$(E2E_RUN_LINUX=$fake GAPPI=$gappi DEMO_COUNT=20 "$top/scripts/demo.sh" 2>&1)
if ! diff <(normalize <<< "$ref") <(normalize <<< "$out") > /dev/null; then
    diff <(normalize <<< "$ref") <(normalize <<< "$out") | sed 's/^/#   /'
    same=false
else
    same=true
fi
check "... the same checks as the default demo's$([ "$gappi" = 1 ] && echo " GAPPI story") ($(normalize <<< "$ref" | wc -l))" $same
echo "1..$n"
exit $failed
