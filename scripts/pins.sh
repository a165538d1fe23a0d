# The pinned dependencies: the only place versions and checksums live.
# Sourced by the scripts; docs/devel/overlay.rst says how to bump a pin.

# QEMU: Debian's source package, orig tarball only.
QEMU_VERSION=10.2.2
QEMU_DEB_VERSION=1:10.2.2+ds-1
QEMU_ORIG=qemu_10.2.2+ds.orig.tar.xz
QEMU_ORIG_SHA256=be05230fe47a6937cd29f28f562932c8125f9c93c2a82c625198f7a4aa601dfb

# The Linux kernels booted as L1, by name.  The first is the default
# (the demo's).  Each pin: the Debian suite it comes from, the packages
# (name=version) with their sha256 in the same order, and the release
# string (uname -r).  Linux 7.2 carries KVM's 2025 posted-IRQ rework.
LINUX_PINS="6.12 7.2"

LINUX_6_12_SUITE=bookworm-backports
LINUX_6_12_DEBS="linux-image-6.12.95+deb12-amd64=6.12.95-1~bpo12+1"
LINUX_6_12_SHA256="5e524b782be67cb0d6a2e7b51816a2ac519e573ef7324b9a63a4124365653ecc"
LINUX_6_12_KVER=6.12.95+deb12-amd64

LINUX_7_2_SUITE=trixie-backports
LINUX_7_2_DEBS="linux-binary-7.2.12+deb13-amd64=7.2.12-1~bpo13+1
                linux-modules-7.2.12+deb13-amd64=7.2.12-1~bpo13+1"
LINUX_7_2_SHA256="0d916c7f1310a7cb0567f235785d1c4511d894eb95e9810a2bc1f67e7ec18c2f
                  abd8aad34e82ae541ec596eafa9ac84bbcddf943c5de051d330516c3dff395d6"
LINUX_7_2_KVER=7.2.12+deb13-amd64

# linux_pin NAME: set LINUX_SUITE, LINUX_DEBS, LINUX_SHA256 and
# LINUX_KVER for the pinned kernel NAME; fails for an unknown name.
linux_pin() {
    local v=LINUX_${1//./_}
    case " $LINUX_PINS " in
    *" $1 "*) ;;
    *) echo "pins: no pinned kernel '$1' (have: $LINUX_PINS)" >&2
       return 1 ;;
    esac
    eval "LINUX_SUITE=\$${v}_SUITE LINUX_DEBS=\$${v}_DEBS"
    eval "LINUX_SHA256=\$${v}_SHA256 LINUX_KVER=\$${v}_KVER"
}

# Linux source: Debian's source package, for KVM's selftests
# (tools/testing/selftests/kvm), of the same series as the 7.2 L1 kernel.
# The orig tarball and Debian's patches, each checked.
LINUX_SRC_VERSION=7.2.8-1
LINUX_SRC_ORIG=linux_7.2.8.orig.tar.xz
LINUX_SRC_ORIG_SHA256=08f058f9de8d487e32a5c9e2855ee7e35bee1a047e77d37ba797d734c0cc07b3
LINUX_SRC_DEBIAN=linux_7.2.8-1.debian.tar.xz
LINUX_SRC_DEBIAN_SHA256=0882144238490cd844202ea9a91bb6cc563103b4a11cc5fe488b1415b9be1354
# The L1 kernel the selftests run in (a name from LINUX_PINS).
LINUX_SRC_L1=7.2

# kernel_label KERNEL: a short name for logs: the pin's name, or for a
# kernel of one's own (a path, or "a.deb b.deb") its first file's name.
kernel_label() {
    local f=${1%% *}
    case $f in
    */* | *.deb)
        f=$(basename "$f") f=${f%.deb} f=${f%%_*}
        echo "$f" | sed -E "s/^linux-(image|binary)-//" ;;
    *) echo "$f" ;;
    esac
}

# Downloads are cached here, outside the build tree, so that a clean
# rebuild does not download again.
CACHE_DIR=${QEMU_AVIC_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/qemu-avic}
