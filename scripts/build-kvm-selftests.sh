#!/bin/bash
# Build Linux's KVM selftests (tools/testing/selftests/kvm) statically
# from the pinned Debian `linux` source package (scripts/pins.sh) and
# print the directory that holds them: DIR/x86/TEST, stripped.
#
# Only the parts of the source that `make headers` and the selftests
# read are unpacked (top Makefile, scripts/, include/, arch/x86/,
# tools/, usr/), plus every file Debian's patch series touches, so that
# the whole series applies as Debian applies it.
#
# The result is cached in the cache dir under a key made of the two
# pinned sha256 sums, the recipe's version below and the compiler's
# version: a warm machine neither downloads nor builds.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/pins.sh"

# Bump when what this script builds or installs changes.
recipe=1
key=$( { echo "$LINUX_SRC_ORIG_SHA256 $LINUX_SRC_DEBIAN_SHA256 $recipe"
         gcc --version | head -1; } | sha256sum | cut -c1-16)
out=$CACHE_DIR/kvm-selftests-$LINUX_SRC_VERSION-$key
if [ -f "$out/.built" ]; then
    echo "$out"
    exit 0
fi

fail() {
    echo "build-kvm-selftests: $*" >&2
    exit 1
}
mapfile -t tarballs < <("$here/fetch-linux-source.sh")
[ ${#tarballs[@]} = 2 ] || fail "fetch-linux-source.sh gave no tarballs"
orig=${tarballs[0]} debian=${tarballs[1]}

mkdir -p "$CACHE_DIR"
tmp=$(mktemp -d "$CACHE_DIR/build.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
log=$tmp/log
src=$tmp/src
mkdir -p "$src"

# Debian's patch series and the upstream files it changes outside the
# parts we unpack anyway ("--- a/FILE" then "+++ b/FILE"; a file is new
# when its old name is /dev/null, and stays new for later patches).
tar -xJf "$debian" -C "$tmp" debian/patches
pdir=$tmp/debian/patches
mapfile -t series < <(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' \
                          "$pdir/series" | awk '{ print $1 }')
parts=(Makefile scripts include arch/x86 tools usr)
mapfile -t patched < <(cd "$pdir" && awk '
    function strip(f) { sub("^[^/]*/", "", f); return f }
    /^--- / { old = $2 }
    /^\+\+\+ / {
        if (old == "/dev/null") new[strip($2)] = 1
        else if (!(strip(old) in new)) print strip(old)
    }' "${series[@]}" | sort -u |
    grep -v -E "^($(IFS='|'; echo "${parts[*]}"))(/|\$)")

top=$(tar -tJf "$orig" | head -1 | cut -d/ -f1) || true
[ -n "$top" ] || fail "cannot list $orig"
members=()
for m in "${parts[@]}" "${patched[@]}"; do
    members+=("$top/$m")
done
echo "build-kvm-selftests: unpacking part of $(basename "$orig")" >&2
tar -xJf "$orig" -C "$src" --strip-components=1 "${members[@]}" ||
    fail "unpacking $(basename "$orig") failed"
for p in "${series[@]}"; do
    patch -d "$src" -p1 --batch --quiet < "$pdir/$p" > "$log" 2>&1 ||
        { cat "$log" >&2; fail "Debian patch $p does not apply"; }
done

echo "build-kvm-selftests: make headers; make -C tools/testing/selftests/kvm" >&2
if ! make -C "$src" -j2 headers > "$log" 2>&1 ||
   ! make -C "$src/tools/testing/selftests/kvm" -j2 EXTRA_CFLAGS=-static \
        OUTPUT="$tmp/build" >> "$log" 2>&1; then
    tail -n 30 "$log" >&2
    fail "building the KVM selftests of linux $LINUX_SRC_VERSION failed"
fi

mkdir -p "$tmp/out/x86"
for t in "$tmp"/build/x86/*; do
    case $t in *.o|*.d) continue ;; esac
    [ -f "$t" ] && [ -x "$t" ] || continue
    strip -o "$tmp/out/x86/$(basename "$t")" "$t"
done
[ -x "$tmp/out/x86/xapic_ipi_test" ] || fail "no x86 selftests were built"
touch "$tmp/out/.built"
# Another build of the same key may have finished meanwhile: keep it.
[ -f "$out/.built" ] || { rm -rf "$out"; mv -T "$tmp/out" "$out"; }
echo "$out"
