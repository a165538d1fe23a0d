#!/bin/bash
# Turn the edits to upstream files in qemu/ into a patch of the queue.
#   scripts/make-patch.sh patches/NNNN-short-name.patch < header.txt
# header.txt: "Subject: [PATCH NNNN] ..." then a paragraph of why.  The
# diff of qemu/'s tracked files against its HEAD (the last applied
# patch) follows it; the edits are then dropped from qemu/ and the next
# 'make' applies the new patch like any other.  To change an existing
# patch, first 'git -C qemu reset --hard <its commit>', edit, run this.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
out=$1
case "$(basename "$out")" in
[0-9][0-9][0-9][0-9]-*.patch) ;;
*) echo "make-patch: name it patches/NNNN-short-name.patch" >&2; exit 2 ;;
esac
diff=$(git -C "$top/qemu" diff HEAD)
[ -n "$diff" ] || { echo "make-patch: qemu/ has no edits" >&2; exit 1; }
{ cat; echo; echo "$diff"; } > "$out.tmp"
mv "$out.tmp" "$out"
git -C "$top/qemu" checkout -q .
echo "make-patch: wrote $out"
