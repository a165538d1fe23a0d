#!/bin/bash
# Build and run our qtests (the list: tests/qtest/amd-avic-qtests.txt)
# against build/qemu-system-x86_64, printing their TAP.
# QEMU_AVIC_BUILD=DIR uses DIR (relative to the checkout) instead of
# build/, e.g. build-san/ (make check-sanitize).
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
build=${QEMU_AVIC_BUILD:-build}

mapfile -t tests < <(grep -v '^#' tests/qtest/amd-avic-qtests.txt | grep .)
ninja -C "$build" "${tests[@]/#/tests/qtest/}" > "$build/qtest-build.log" 2>&1 || {
    tail -n 40 "$build/qtest-build.log"
    echo "not ok - building the qtests failed ($build/qtest-build.log)"
    exit 1
}

export QTEST_QEMU_BINARY=$top/$build/qemu-system-x86_64
export G_TEST_DBUS_DAEMON=/bin/true
rc=0
for t in "${tests[@]}"; do
    echo "# $t"
    timeout -k 5 300 "$build/tests/qtest/$t" --tap -k || rc=1
done
exit $rc
