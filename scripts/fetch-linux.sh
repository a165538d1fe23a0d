#!/bin/bash
# Get an L1 kernel into the cache and print its unpacked tree's path.
#   fetch-linux.sh [NAME]          a pin from LINUX_PINS in pins.sh
#                                  (default: the first)
#   fetch-linux.sh --debs NAME     the pin's Debian packages themselves,
#                                  one path a line (kept in the cache)
#   fetch-linux.sh FILE...         a kernel of your own: a bzImage
#                                  (everything built in), or Debian
#                                  packages (linux-image-*.deb, or
#                                  linux-binary-*.deb + linux-modules-*.deb)
# Several files may also come as one argument separated by spaces
# (KERNEL="a.deb b.deb").  A pin is downloaded and sha256-checked;
# files are unpacked with dpkg-deb into a directory keyed by their
# sha256, so a rebuilt kernel gets a new tree.
#
# Whatever the source, the tree has vmlinuz, kver (the release string),
# lib/modules/$kver with a modules.dep made by depmod (empty for a
# bzImage, which also gets a file builtin-only), and config when the
# packages carry the kernel's .config: what run-linux.sh and
# mk-initramfs.sh use.
#
# The download uses an apt configuration of its own (lists in the
# cache), so that the kernel's suite (e.g. trixie-backports) is never
# added to the host's sources.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/pins.sh"

fail() {
    echo "fetch-linux: $*" >&2
    exit 1
}

# finish_tree DIR KVER: give an unpacked kernel the common layout.
finish_tree() {
    local x=$1 kver=$2 k f
    # Debian moved the kernel from /boot and /lib to /usr/lib/modules.
    if [ -d "$x/usr/lib/modules/$kver" ]; then
        mkdir -p "$x/lib/modules"
        rm -rf "$x/lib/modules/$kver"
        mv "$x/usr/lib/modules/$kver" "$x/lib/modules/"
    fi
    mkdir -p "$x/lib/modules/$kver"
    for k in "$x/boot/vmlinuz-$kver" "$x/lib/modules/$kver/vmlinuz"; do
        [ -f "$k" ] && ln -f "$k" "$x/vmlinuz"
    done
    for f in "$x/boot/config-$kver" "$x/lib/modules/$kver/config"; do
        [ -f "$f" ] && ln -f "$f" "$x/config"
    done
    [ -f "$x/vmlinuz" ] || return 1
    echo "$kver" > "$x/kver"
    # Only the image package lists the built-in modules; depmod warns
    # without the files and we load with insmod, so empty ones will do.
    for f in modules.builtin modules.builtin.modinfo modules.order; do
        [ -f "$x/lib/modules/$kver/$f" ] || : > "$x/lib/modules/$kver/$f"
    done
    depmod -b "$x" "$kver"
}

# install_tree DIR TREE: move a finished tree into place.
install_tree() {
    rm -rf "$2"
    mv "$1" "$2"
    touch "$2/.unpacked"
    echo "$2"
}

# A bzImage: the boot protocol's "HdrS" at 0x202, and at 0x20e the
# offset (less 0x200) of the version string, whose first word is the
# release.
is_bzimage() { [ "$(od -An -c -j 514 -N 4 "$1" | tr -d ' ')" = HdrS ]; }
bzimage_release() {
    local off
    off=$(od -An -tu2 -j 526 -N 2 "$1" | tr -d ' ')
    dd if="$1" bs=1 skip=$((off + 512)) count=128 status=none |
        tr '\0' '\n' | head -n 1 | cut -d' ' -f1
}

# The release string of unpacked Debian packages: their one modules
# directory, or the one /boot/vmlinuz-*.
deb_release() {
    local x=$1 r
    r=$( (ls "$x/usr/lib/modules" "$x/lib/modules" 2>/dev/null
          ls "$x/boot" 2>/dev/null | sed -n 's/^vmlinuz-//p') |
        grep -v '^$' | grep -v ':$' | sort -u)
    [ "$(echo "$r" | grep -c .)" = 1 ] || return 1
    echo "$r"
}

fetch_files() {
    local f sums key tree tmp kver kind=deb
    for f in "$@"; do
        [ -f "$f" ] || fail "KERNEL: no such file: $f"
    done
    sums=$(sha256sum "$@" | cut -d' ' -f1)
    key=$(echo "$sums" | sha256sum | cut -c1-16)
    tree=$CACHE_DIR/kernel-$key
    if [ -f "$tree/.unpacked" ]; then
        echo "$tree"
        return
    fi
    mkdir -p "$CACHE_DIR"
    tmp=$(mktemp -d "$CACHE_DIR/unpack.XXXXXX")
    # shellcheck disable=SC2064  # expand now: tmp is local
    trap "rm -rf '$tmp'" EXIT
    mkdir "$tmp/x"
    if [ $# = 1 ] && is_bzimage "$1"; then
        kind=bzimage
        kver=$(bzimage_release "$1")
        [ -n "$kver" ] || fail "KERNEL: $1: no release string in the bzImage"
        cp "$1" "$tmp/x/vmlinuz"
        : > "$tmp/x/builtin-only"
    else
        for f in "$@"; do
            if is_bzimage "$f"; then
                fail "KERNEL: $f is a bzImage; give it alone (its drivers built in)"
            fi
            dpkg-deb --info "$f" > /dev/null 2>&1 ||
                fail "KERNEL: $f is neither a bzImage nor a Debian package"
            dpkg-deb -x "$f" "$tmp/x"
        done
        kver=$(deb_release "$tmp/x") ||
            fail "KERNEL: $* hold no kernel, or more than one (want one release in /boot or /usr/lib/modules)"
    fi
    finish_tree "$tmp/x" "$kver" ||
        fail "KERNEL: no kernel image in $* (want linux-image-*.deb or linux-binary-*.deb with linux-modules-*.deb)"
    printf '%s\n' "$@" > "$tmp/x/source"
    echo "$kind" > "$tmp/x/kind"
    install_tree "$tmp/x" "$tree"
}

# pin_debs NAME: download the pin's packages (sha256-checked) into the
# cache unless they are there, and print their paths.
pin_debs() {
    local apt tmp aptopt sums pkg deb i dir
    linux_pin "$1"
    dir=$CACHE_DIR/debs-$LINUX_KVER
    # shellcheck disable=SC2086,SC2206  # lists of packages and sums
    set -- $LINUX_DEBS
    # shellcheck disable=SC2206
    sums=($LINUX_SHA256)
    i=0
    for pkg in "$@"; do
        deb=$(ls "$dir/${pkg%%=*}"_*.deb 2>/dev/null) &&
            echo "${sums[$i]}  $deb" | sha256sum --check --status ||
            break
        i=$((i + 1))
    done
    if [ $i != $# ]; then
        mkdir -p "$CACHE_DIR"
        apt=$CACHE_DIR/apt-$LINUX_SUITE
        mkdir -p "$apt/lists/partial" "$apt/archives/partial"
        echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg]" \
             "http://deb.debian.org/debian $LINUX_SUITE main" > "$apt/sources.list"
        aptopt=(-o "Dir::Etc::SourceList=$apt/sources.list"
                -o Dir::Etc::SourceParts=/dev/null
                -o "Dir::State::Lists=$apt/lists" -o "Dir::Cache=$apt"
                -o Dir::State::status=/dev/null -o APT::Sandbox::User=root)
        tmp=$(mktemp -d "$CACHE_DIR/fetch.XXXXXX")
        # shellcheck disable=SC2064  # expand now: tmp is local
        trap "rm -rf '$tmp'" EXIT
        if ! apt-get "${aptopt[@]}" update -q >&2; then
            fail "could not read the package lists of $LINUX_SUITE"
        fi
        i=0
        for pkg in "$@"; do
            if ! (cd "$tmp" && apt-get "${aptopt[@]}" download -q "$pkg" >&2); then
                fail "could not download ${pkg%%=*} ${pkg#*=} from $LINUX_SUITE"
            fi
            deb=$(ls "$tmp"/"${pkg%%=*}"_*.deb)
            if ! echo "${sums[$i]}  $deb" | sha256sum --check --status; then
                fail "$(basename "$deb") does not match the pinned sha256 ${sums[$i]}"
            fi
            i=$((i + 1))
        done
        mkdir -p "$dir"
        mv "$tmp"/*.deb "$dir/"
    fi
    for pkg in "$@"; do
        ls "$dir/${pkg%%=*}"_*.deb
    done
}

fetch_pin() {
    local tree tmp deb debs
    linux_pin "$1"
    tree=$CACHE_DIR/linux-$LINUX_KVER
    if [ -f "$tree/.unpacked" ]; then
        echo "$tree"
        return
    fi
    mapfile -t debs < <(pin_debs "$1")
    [ ${#debs[@]} -gt 0 ] || fail "no packages for the pin $1"
    linux_pin "$1"
    tmp=$(mktemp -d "$CACHE_DIR/fetch.XXXXXX")
    # shellcheck disable=SC2064  # expand now: tmp is local
    trap "rm -rf '$tmp'" EXIT
    for deb in "${debs[@]}"; do
        dpkg-deb -x "$deb" "$tmp/x"
    done
    finish_tree "$tmp/x" "$LINUX_KVER" || fail "no vmlinuz in $LINUX_DEBS"
    echo pin > "$tmp/x/kind"
    install_tree "$tmp/x" "$tree"
}

if [ "${1:-}" = --debs ]; then
    [ $# = 2 ] || fail "usage: fetch-linux.sh --debs NAME"
    pin_debs "$2"
    exit
fi
# shellcheck disable=SC2048,SC2086  # split "a.deb b.deb" into words
set -- $*
if [ $# = 0 ]; then
    set -- "${LINUX_PINS%% *}"
fi
if [ $# = 1 ] && [[ $1 != */* ]] && [ ! -e "$1" ]; then
    case " $LINUX_PINS " in
    *" $1 "*) fetch_pin "$1" ;;
    *) fail "KERNEL '$1' is neither a pinned kernel ($LINUX_PINS) nor a file" ;;
    esac
else
    fetch_files "$@"
fi
