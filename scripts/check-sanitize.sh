#!/bin/bash
# make check-sanitize: QEMU built with AddressSanitizer and UBSan in
# build-san/ (same qemu/ tree and options as build/, plus --enable-asan
# --enable-ubsan), then the qtests, the test hypervisor suite and the
# migration test run against it.  Any sanitizer report fails the run:
# the options below make the first one end the process with status 66,
# and every log is searched for reports afterwards as well.  See
# docs/devel/amd-avic-testing.rst.
#
#   scripts/check-sanitize.sh            # build, run the three groups
#   JOBS=2 scripts/check-sanitize.sh     # ninja -j2
#   TESTS=qtest scripts/check-sanitize.sh
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

build=build-san
export QEMU_AVIC_BUILD=$build
log=$top/$build/check-sanitize.log

# ---- build ----
./configure --enable-asan --enable-ubsan || exit 1
mapfile -t qtests < <(grep -v '^#' tests/qtest/amd-avic-qtests.txt | grep .)
start=$SECONDS
ninja ${JOBS:+-j"$JOBS"} -C "$build" qemu-system-x86_64 \
    "${qtests[@]/#/tests/qtest/}" || exit 1
scripts/link-firmware.sh || exit 1
echo "# check-sanitize: build took $((SECONDS - start)) s"

# ---- run ----
# halt_on_error: the first report ends the process.  exitcode=66: the
# test hypervisor's "pass" is status 1, which is also ASan's default.
# detect_leaks: QEMU leaks nothing at exit in these runs (measured; the
# qtests end it with SIGTERM, the guest suite with isa-debug-exit, the
# migration test with QMP quit; savevm/loadvm since patch 0056), so no
# suppression file is needed.
export ASAN_OPTIONS="halt_on_error=1:exitcode=66:print_stacktrace=1:detect_leaks=1:log_path=$top/$build/asan"
export UBSAN_OPTIONS="halt_on_error=1:exitcode=66:print_stacktrace=1"
# The guest suite's images and logs go to build-san/guest.  QEMU= is
# honoured (tests/guest/run.sh and migrate.py take it first).
export OUT=$top/$build/guest
rm -f "$top/$build"/asan.* "$OUT"/logs/*.err
start=$SECONDS
TESTS=${TESTS:-qtest guest migrate} tests/run-all.sh 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}

# ---- reports: ASan's files, UBSan's lines on stderr ----
pattern='ERROR: (Address|Leak)Sanitizer|runtime error:'
mapfile -t found < <(grep -lE "$pattern" "$log" "$top/$build"/asan.* \
                     "$OUT"/logs/*.err 2>/dev/null)
reports=$(cat "${found[@]}" /dev/null | grep -cE "$pattern")
if [ "$reports" = 0 ]; then
    echo "ok - check-sanitize: 0 sanitizer reports"
else
    echo "not ok - check-sanitize: $reports sanitizer reports, in:"
    printf '#   %s\n' "${found[@]}"
    cat "${found[@]}" | grep -E "$pattern|^ *#[0-9]+ " | head -60 |
        sed 's/^/# /'
    rc=1
fi
echo "# check-sanitize: tests took $((SECONDS - start)) s"
exit "$rc"
