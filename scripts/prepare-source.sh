#!/bin/bash
# Lay out the QEMU source tree we build, in qemu/:
#   1. the pinned upstream tarball, unpacked and committed to a local git
#      repository ("pristine QEMU ...");
#   2. the numbered patch queue in patches/, one commit per patch, in
#      order; a patch that does not apply stops everything;
#   3. our own files (hw/ include/ target/ tests/ docs/) overlaid as
#      symlinks (untracked), so that editing them in place needs no copy.
#
# Idempotent and incremental: when the queue changes, the tree goes back
# to the last commit whose patch is unchanged and applies the rest, so
# files no patch touches keep their timestamps and are not rebuilt.
# To write a patch: edit qemu/FILE, then see docs/devel/amd-avic-overlay.rst.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
. "$here/pins.sh"

src=$top/qemu
overlay_dirs=(hw include target tests docs)
git_q() {
    git -C "$src" -c user.name=qemu-avic -c user.email=qemu-avic@localhost \
        -c core.autocrlf=false "$@"
}
pristine_msg="pristine QEMU $QEMU_VERSION ($QEMU_ORIG_SHA256)"

unpack() {
    local tarball
    tarball=$("$here/fetch-qemu.sh")
    echo "prepare-source: unpacking $QEMU_ORIG"
    rm -rf "$src"
    mkdir -p "$src"
    # --touch: a re-unpacked file must look newer than any old object.
    tar -xf "$tarball" -C "$src" --strip-components=1 --touch
    git_q init -q
    git_q add -A
    git_q commit -q -m "$pristine_msg"
    git_q tag -f pristine >/dev/null
}

if [ ! -d "$src/.git" ] ||
   [ "$(git_q log -1 --format=%s pristine 2>/dev/null)" != "$pristine_msg" ]; then
    unpack
fi

if [ -n "$(git_q status --porcelain --untracked-files=no)" ]; then
    echo "prepare-source: qemu/ has uncommitted edits to upstream files:" >&2
    git_q status --short --untracked-files=no >&2
    echo "prepare-source: make them a patch in patches/ (see" \
         "docs/devel/amd-avic-overlay.rst) or drop them with" \
         "'git -C qemu checkout .'" >&2
    exit 1
fi

# The queue as commit subjects: "patch NAME SHA256".
want=()
for p in "$top"/patches/[0-9]*.patch; do
    [ -e "$p" ] || continue
    sum=$(sha256sum "$p")
    want+=("patch $(basename "$p") ${sum%% *}")
done
mapfile -t have < <(git_q log --reverse --format=%s pristine..HEAD)

# Keep the longest common prefix, rewind past the rest, apply the remainder.
keep=0
while [ $keep -lt ${#want[@]} ] && [ $keep -lt ${#have[@]} ] &&
      [ "${want[$keep]}" = "${have[$keep]}" ]; do
    keep=$((keep + 1))
done
if [ $keep -lt ${#have[@]} ]; then
    git_q reset -q --hard "HEAD~$(( ${#have[@]} - keep ))"
fi
for ((i = keep; i < ${#want[@]}; i++)); do
    name=$(echo "${want[$i]}" | cut -d' ' -f2)
    echo "prepare-source: applying $name"
    if ! git_q apply --index --whitespace=nowarn "$top/patches/$name"; then
        echo "prepare-source: patch $name does not apply to QEMU" \
             "$QEMU_VERSION; fix or refresh it" >&2
        exit 1
    fi
    git_q commit -q -m "${want[$i]}"
done

# Overlay: link each of our files into the tree.  Our files never
# replace an upstream file; changes to upstream files are patches.
for d in "${overlay_dirs[@]}"; do
    [ -d "$top/$d" ] || continue
    while IFS= read -r -d '' f; do
        rel=${f#"$top"/}
        dst=$src/$rel
        if [ -L "$dst" ]; then
            [ "$(readlink "$dst")" = "$f" ] && continue
            rm -f "$dst"
        elif [ -e "$dst" ]; then
            echo "prepare-source: $rel exists upstream; change it with" \
                 "a patch in patches/, not by overlaying it" >&2
            exit 1
        fi
        mkdir -p "$(dirname "$dst")"
        ln -s "$f" "$dst"
    done < <(find "$top/$d" -type f -print0)
done
# Drop links to files of ours that are gone.
find "$src" -path "$src/.git" -prune -o -type l -lname "$top/*" \
    ! -exec test -e {} \; -print0 | xargs -0 -r rm -f
# Keep the links out of 'git -C qemu status': they are ours, not QEMU's.
find "$src" -path "$src/.git" -prune -o -type l -lname "$top/*" -printf '/%P\n' \
    > "$src/.git/info/exclude"
