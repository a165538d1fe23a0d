#!/bin/bash
# Build an L1 bzImage from the pinned Debian `linux` source package
# (scripts/pins.sh: the orig tarball plus Debian's patch series) with
# `make tinyconfig` plus one config fragment, everything built in, and
# print its path.
#
#   build-kernel.sh [-f FRAGMENT] [-p PATCH]...
#
#   -f FRAGMENT  the options on top of tinyconfig (default
#                tests/linux/kernel.config, the list README.md's
#                "Testing your own kernel" gives); each must come out
#                of Kconfig with the value asked for, or the build stops
#                and names it
#   -p PATCH     applied (patch -p1) after Debian's series, in the
#                order given: a series of one's own, e.g. one from a
#                mailing list, kept outside this repository
#
# The bzImage is cached in the cache dir under a key made of the two
# source sha256 sums, the fragment's and the patches' sha256, this
# recipe's version and the compiler's version: a warm machine neither
# downloads nor builds.  The build runs under nice -n 10, with ccache
# when it is installed (a rebuild with one patch more recompiles only
# what the patch touches).  Progress goes to stderr.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
. "$here/pins.sh"

fragment=$top/tests/linux/kernel.config
patches=()
while getopts f:p: opt; do
    case $opt in
    f) fragment=$OPTARG ;;
    p) patches+=("$OPTARG") ;;
    *) echo "usage: build-kernel.sh [-f FRAGMENT] [-p PATCH]..." >&2
       exit 2 ;;
    esac
done
shift $((OPTIND - 1))

fail() {
    echo "build-kernel: $*" >&2
    exit 1
}
say() {
    printf 'build-kernel: [%2d:%02d] %s\n' $((SECONDS / 60)) \
        $((SECONDS % 60)) "$*" >&2
}
[ -f "$fragment" ] || fail "no such config fragment: $fragment"
for p in "${patches[@]}"; do
    [ -f "$p" ] || fail "no such patch: $p"
done

# Bump when what this script builds changes.
recipe=1
key=$( { echo "$LINUX_SRC_ORIG_SHA256 $LINUX_SRC_DEBIAN_SHA256 $recipe"
         sha256sum < "$fragment"
         for p in "${patches[@]}"; do sha256sum < "$p"; done
         gcc --version | head -1; } | sha256sum | cut -c1-16)
out=$CACHE_DIR/bzImage-$LINUX_SRC_VERSION-$key
if [ -f "$out/bzImage" ]; then
    echo "build-kernel: cached: $out (linux $LINUX_SRC_VERSION," \
         "$(basename "$fragment"), ${#patches[@]} patches of one's own)" >&2
    echo "$out/bzImage"
    exit 0
fi

extra=
[ ${#patches[@]} = 0 ] || extra=" + ${#patches[@]} patches"
say "linux $LINUX_SRC_VERSION, tinyconfig + $(basename "$fragment")$extra;" \
    "cache key $key"
tarballs=$("$here/fetch-linux-source.sh") ||
    fail "could not fetch Debian's source package linux $LINUX_SRC_VERSION" \
         "($LINUX_SRC_ORIG, $LINUX_SRC_DEBIAN) with apt-get source;" \
         "see the messages above"
{ read -r orig; read -r debian; } <<< "$tarballs"
[ -f "$orig" ] && [ -f "$debian" ] ||
    fail "fetch-linux-source.sh gave no tarballs for linux $LINUX_SRC_VERSION"

mkdir -p "$CACHE_DIR"
tmp=$(mktemp -d "$CACHE_DIR/kbuild.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
src=$tmp/src log=$tmp/build.log
mkdir -p "$src"
say "unpacking $(basename "$orig")"
tar -xJf "$orig" -C "$src" --strip-components=1 ||
    fail "unpacking $(basename "$orig") failed"
tar -xJf "$debian" -C "$tmp" debian/patches ||
    fail "unpacking $(basename "$debian") failed"
mapfile -t series < <(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' \
                          "$tmp/debian/patches/series" | awk '{ print $1 }')
say "applying Debian's ${#series[@]} patches"
for p in "${series[@]}"; do
    patch -d "$src" -p1 --batch --quiet < "$tmp/debian/patches/$p" \
        > "$log" 2>&1 || { cat "$log" >&2; fail "Debian patch $p does not apply"; }
done
for p in "${patches[@]}"; do
    say "applying $(basename "$p")"
    patch -d "$src" -p1 --batch < "$p" > "$log" 2>&1 ||
        { cat "$log" >&2; fail "patch $p does not apply to linux $LINUX_SRC_VERSION"; }
done

# Reproducible where it costs nothing, and the same compiler command
# lines in every temporary tree, so that ccache hits.
export KBUILD_BUILD_TIMESTAMP="linux $LINUX_SRC_VERSION" \
       KBUILD_BUILD_USER=qemu-avic KBUILD_BUILD_HOST=build-kernel
kmake=(nice -n 10 make -C "$src" ARCH=x86_64 -j"$(nproc)")
if command -v ccache > /dev/null; then
    export CCACHE_BASEDIR=$src CCACHE_NOHASHDIR=1
    kmake+=(CC="ccache gcc")
fi

say "make tinyconfig, then merge $(basename "$fragment")"
{ "${kmake[@]}" tinyconfig &&
  (cd "$src" && ARCH=x86_64 scripts/kconfig/merge_config.sh -m .config \
       "$fragment") &&
  "${kmake[@]}" olddefconfig; } > "$log" 2>&1 ||
    { tail -n 30 "$log" >&2; fail "configuring the kernel failed"; }
# Every option of the fragment, as asked (Kconfig drops what it cannot
# give, e.g. for a missing dependency).
lost=$(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$fragment" |
       while read -r line; do
           grep -qx -- "$line" "$src/.config" || echo "$line"
       done)
[ -z "$lost" ] || fail "Kconfig did not keep these options of" \
    "$(basename "$fragment") (a dependency is missing):" $lost
grep -qx 'CONFIG_MODULES=y' "$src/.config" &&
    fail "the configuration has CONFIG_MODULES=y; everything must be built in"

say "make bzImage (nice -n 10, $(nproc) jobs${CCACHE_BASEDIR:+, ccache}); log in $log"
n=0 status=0
"${kmake[@]}" bzImage 2>&1 | while IFS= read -r line; do
    echo "$line" >> "$log"
    case $line in
    "  CC "*)
        n=$((n + 1))
        [ $((n % 500)) = 0 ] && say "$n files compiled"
        ;;
    esac
done || status=$?
if [ "$status" != 0 ]; then
    grep -B2 -A8 -m3 -E 'error|Error' "$log" >&2 || tail -n 30 "$log" >&2
    cp "$log" "$CACHE_DIR/build-kernel-failed.log"
    # BUILD_KERNEL_KEEP=1: keep the tree, to look at it or fix it.
    [ "${BUILD_KERNEL_KEEP:-0}" = 1 ] && trap - EXIT &&
        echo "build-kernel: the tree is kept in $src" >&2
    fail "make bzImage failed (status $status); log in" \
         "$CACHE_DIR/build-kernel-failed.log"
fi
image=$src/arch/x86/boot/bzImage
[ -f "$image" ] || fail "make bzImage left no arch/x86/boot/bzImage"

mkdir -p "$tmp/out"
cp "$image" "$tmp/out/bzImage.tmp"
cp "$src/.config" "$tmp/out/config"
cp "$log" "$tmp/out/build.log"
mv "$tmp/out/bzImage.tmp" "$tmp/out/bzImage"
# Another build of the same key may have finished meanwhile: keep it.
[ -f "$out/bzImage" ] || { rm -rf "$out"; mv -T "$tmp/out" "$out"; }
say "done: $out/bzImage ($(make -s -C "$src" kernelrelease 2>/dev/null || echo "?"))"
echo "$out/bzImage"
