#!/bin/bash
# Fetch the pinned Debian kernel package into the cache, check it, and
# unpack it there with dpkg-deb (it is never installed on the host).
# Prints the unpacked tree's path: boot/vmlinuz-$LINUX_KVER and
# lib/modules/$LINUX_KVER (with a modules.dep made by depmod).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/pins.sh"

tree=$CACHE_DIR/linux-$LINUX_DEB_VERSION
if [ -f "$tree/.unpacked" ]; then
    echo "$tree"
    exit 0
fi

mkdir -p "$CACHE_DIR"
tmp=$(mktemp -d "$CACHE_DIR/fetch.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
"$here/apt-setup.sh" >&2
if ! (cd "$tmp" &&
      apt-get download -q "$LINUX_PKG=$LINUX_DEB_VERSION" >&2); then
    echo "fetch-linux: could not download $LINUX_PKG $LINUX_DEB_VERSION" \
         "from bookworm-backports" >&2
    exit 1
fi
deb=$(echo "$tmp"/*.deb)
if ! echo "$LINUX_DEB_SHA256  $deb" | sha256sum --check --status; then
    echo "fetch-linux: $(basename "$deb") does not match the pinned" \
         "sha256 $LINUX_DEB_SHA256" >&2
    exit 1
fi
rm -rf "$tree"
mkdir -p "$tmp/x"
dpkg-deb -x "$deb" "$tmp/x"
depmod -b "$tmp/x" "$LINUX_KVER"
mv "$tmp/x" "$tree"
touch "$tree/.unpacked"
echo "$tree"
