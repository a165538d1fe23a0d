#!/bin/bash
# QEMU's checkpatch.pl (from the pinned tree) over our C sources and the
# patch queue, one TAP line each.  Patches are checked without the
# Signed-off-by rule: this downstream queue is not submitted upstream.
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
cp=qemu/scripts/checkpatch.pl

mapfile -t files < <(git ls-files -co --exclude-standard \
    'hw/*.[ch]' 'include/*.h' 'target/*.[ch]' 'tests/qtest/*.[ch]')
n=0 rc=0
check() {
    n=$((n + 1))
    if out=$("$cp" --no-tree "$@" 2>&1); then
        echo "ok $n - checkpatch ${*: -1}"
    else
        echo "not ok $n - checkpatch ${*: -1}"
        echo "$out" | grep -E '^(ERROR|WARNING)|^#' | sed 's/^/# /'
        rc=1
    fi
}
for f in "${files[@]}"; do
    check -f "$f"
done
for p in patches/*.patch; do
    check --no-signoff "$p"
done
echo "1..$n"
exit $rc
