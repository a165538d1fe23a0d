#!/bin/bash
# Make build/qemu-system-x86_64 find its firmware when run from build/.
# Debian's "+ds" source has no prebuilt blobs, so:
#   - SeaBIOS and the VGA BIOSes come from Debian's seabios package, the
#     NIC option ROMs from ipxe-qemu: QEMU is configured with
#     --firmwarepath=/usr/share/seabios:/usr/lib/ipxe/qemu, which a binary
#     run from the build tree looks up under build/qemu-bundle/;
#   - the option ROMs (linuxboot_dma.bin for -kernel, kvmvapic.bin, ...)
#     are built from pc-bios/optionrom, which ninja does not do, and
#     linked into the bundle's data directory.
# QEMU_AVIC_BUILD=DIR does it for DIR (relative to the checkout) instead.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=$top/${QEMU_AVIC_BUILD:-build}
bundle=$build/qemu-bundle

make -s -C "$build/pc-bios/optionrom" >/dev/null

for dir in /usr/share/seabios /usr/lib/ipxe/qemu; do
    mkdir -p "$(dirname "$bundle$dir")"
    ln -sfn "$dir" "$bundle$dir"
done
mkdir -p "$bundle/usr/local/share/qemu"
for rom in "$build"/pc-bios/optionrom/*.bin; do
    ln -sf "$rom" "$bundle/usr/local/share/qemu/$(basename "$rom")"
done
