#!/bin/bash
# Fetch the pinned QEMU orig tarball from Debian's archive into the cache
# and verify its sha256.  Prints the tarball's path.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/pins.sh"

tarball=$CACHE_DIR/$QEMU_ORIG
verify() {
    echo "$QEMU_ORIG_SHA256  $1" | sha256sum --check --status
}

if [ -f "$tarball" ] && verify "$tarball"; then
    echo "$tarball"
    exit 0
fi

mkdir -p "$CACHE_DIR"
tmp=$(mktemp -d "$CACHE_DIR/fetch.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
"$here/apt-setup.sh" >&2
# The .dsc and .debian.tar.xz may be missing on some mirrors; only the
# orig tarball matters, so judge the result by that file alone.
(cd "$tmp" && apt-get source -q --download-only "qemu=$QEMU_DEB_VERSION" >&2) ||
    echo "fetch-qemu: apt-get source reported an error; checking the tarball" >&2
if [ ! -f "$tmp/$QEMU_ORIG" ]; then
    echo "fetch-qemu: could not download $QEMU_ORIG (Debian source package" \
         "qemu $QEMU_DEB_VERSION); is the deb-src entry reachable?" >&2
    exit 1
fi
if ! verify "$tmp/$QEMU_ORIG"; then
    echo "fetch-qemu: $QEMU_ORIG does not match the pinned sha256" \
         "$QEMU_ORIG_SHA256; refusing to use it" >&2
    exit 1
fi
mv "$tmp/$QEMU_ORIG" "$tarball"
echo "$tarball"
