#!/bin/bash
# Fetch a pinned Debian kernel into the cache, check it, and unpack it
# there with dpkg-deb (it is never installed on the host).
#   fetch-linux.sh [NAME]     NAME from LINUX_PINS in pins.sh (default:
#                             the first)
# Prints the unpacked tree's path.  Whatever the package layout, the
# tree has vmlinuz, kver (the release string) and lib/modules/$kver
# with a modules.dep made by depmod: what run-linux.sh and
# mk-initramfs.sh use.
#
# The download uses an apt configuration of its own (lists in the
# cache), so that the kernel's suite (e.g. trixie-backports) is never
# added to the host's sources.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/pins.sh"

name=${1:-${LINUX_PINS%% *}}
linux_pin "$name"
tree=$CACHE_DIR/linux-$LINUX_KVER
if [ -f "$tree/.unpacked" ]; then
    echo "$tree"
    exit 0
fi

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
trap 'rm -rf "$tmp"' EXIT
fail() {
    echo "fetch-linux: $*" >&2
    exit 1
}
# shellcheck disable=SC2086  # lists of packages and sums
set -- $LINUX_DEBS
# shellcheck disable=SC2086
sums=($LINUX_SHA256)
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
    dpkg-deb -x "$deb" "$tmp/x"
    i=$((i + 1))
done

# Debian moved the kernel from /boot and /lib to /usr/lib/modules/$kver.
x=$tmp/x
if [ -d "$x/usr/lib/modules/$LINUX_KVER" ]; then
    mkdir -p "$x/lib/modules"
    mv "$x/usr/lib/modules/$LINUX_KVER" "$x/lib/modules/"
fi
for k in "$x/boot/vmlinuz-$LINUX_KVER" "$x/lib/modules/$LINUX_KVER/vmlinuz"; do
    [ -f "$k" ] && ln -f "$k" "$x/vmlinuz"
done
[ -f "$x/vmlinuz" ] || fail "no vmlinuz in $LINUX_DEBS"
echo "$LINUX_KVER" > "$x/kver"
# Only the image package lists the built-in modules; depmod warns
# without the files and we load with insmod, so empty ones will do.
for f in modules.builtin modules.builtin.modinfo; do
    [ -f "$x/lib/modules/$LINUX_KVER/$f" ] || : > "$x/lib/modules/$LINUX_KVER/$f"
done
depmod -b "$x" "$LINUX_KVER"
rm -rf "$tree"
mv "$x" "$tree"
touch "$tree/.unpacked"
echo "$tree"
