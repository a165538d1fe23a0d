#!/bin/bash
# Fetch the pinned Debian `linux` source package (orig tarball and
# Debian's patches, scripts/pins.sh) into the cache and verify both
# sha256 sums.  Prints the two paths, orig first, one a line.
# Like fetch-qemu.sh: `apt-get source --download-only` through the
# deb-src entry for unstable that apt-setup.sh adds.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/pins.sh"

files=("$LINUX_SRC_ORIG" "$LINUX_SRC_DEBIAN")
sums=("$LINUX_SRC_ORIG_SHA256" "$LINUX_SRC_DEBIAN_SHA256")
verify() {      # verify FILE SHA256
    echo "$2  $1" | sha256sum --check --status
}
cached() {
    local i
    for i in 0 1; do
        [ -f "$CACHE_DIR/${files[$i]}" ] &&
            verify "$CACHE_DIR/${files[$i]}" "${sums[$i]}" || return 1
    done
}

if ! cached; then
    mkdir -p "$CACHE_DIR"
    tmp=$(mktemp -d "$CACHE_DIR/fetch.XXXXXX")
    trap 'rm -rf "$tmp"' EXIT
    "$here/apt-setup.sh" >&2
    (cd "$tmp" &&
     apt-get source -q --download-only "linux=$LINUX_SRC_VERSION" >&2) ||
        echo "fetch-linux-source: apt-get source reported an error;" \
             "checking the files" >&2
    for i in 0 1; do
        f=${files[$i]}
        if [ ! -f "$tmp/$f" ]; then
            echo "fetch-linux-source: could not download $f (Debian source" \
                 "package linux $LINUX_SRC_VERSION); is the deb-src entry" \
                 "for unstable reachable?" >&2
            exit 1
        fi
        if ! verify "$tmp/$f" "${sums[$i]}"; then
            echo "fetch-linux-source: $f does not match the pinned sha256" \
                 "${sums[$i]}; refusing to use it" >&2
            exit 1
        fi
    done
    for f in "${files[@]}"; do
        mv "$tmp/$f" "$CACHE_DIR/$f"
    done
fi
for f in "${files[@]}"; do
    echo "$CACHE_DIR/$f"
done
