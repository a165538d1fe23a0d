# The pinned dependencies: the only place versions and checksums live.
# Sourced by the scripts; docs/devel/overlay.rst says how to bump a pin.

# QEMU: Debian's source package, orig tarball only.
QEMU_VERSION=10.2.2
QEMU_DEB_VERSION=1:10.2.2+ds-1
QEMU_ORIG=qemu_10.2.2+ds.orig.tar.xz
QEMU_ORIG_SHA256=be05230fe47a6937cd29f28f562932c8125f9c93c2a82c625198f7a4aa601dfb

# The demo's and the smoke test's guest kernel (bookworm-backports).
LINUX_PKG=linux-image-6.12.95+deb12-amd64
LINUX_DEB_VERSION=6.12.95-1~bpo12+1
LINUX_DEB_SHA256=5e524b782be67cb0d6a2e7b51816a2ac519e573ef7324b9a63a4124365653ecc
LINUX_KVER=6.12.95+deb12-amd64

# Downloads are cached here, outside the build tree, so that a clean
# rebuild does not download again.
CACHE_DIR=${QEMU_AVIC_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/qemu-avic}
