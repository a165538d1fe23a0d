#!/bin/bash
# Make Debian's archive offer what the build needs: deb-src for unstable
# (the pinned QEMU source package) and bookworm-backports (meson >= 1.5,
# python3-pycotap, the demo's Linux kernel).  Idempotent; run as root.
set -euo pipefail

list=/etc/apt/sources.list.d/qemu-avic.sources
want='Types: deb deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb-src
URIs: http://deb.debian.org/debian
Suites: unstable
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg'

stamp=/var/lib/apt/lists/.qemu-avic-updated
if [ ! -f "$list" ] || [ "$(cat "$list")" != "$want" ]; then
    printf '%s\n' "$want" > "$list"
    rm -f "$stamp"
fi
if [ ! -f "$stamp" ] || [ -n "$(find "$stamp" -mmin +1440)" ]; then
    apt-get update -q
    touch "$stamp"
fi
