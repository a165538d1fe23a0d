#!/bin/bash
# Install, with apt, every Debian package the build and the tests need.
# Only packages that are missing are installed, so a warm machine pays
# one dpkg-query.  Run as root (CI and the developers' machines are).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

# package[/suite]: a suite pins where the package comes from.
pkgs=(
    build-essential ninja-build pkg-config ccache flex bison
    lib32gcc-12-dev     # -m32 libgcc: QEMU's configure needs it for pc-bios/optionrom
    python3 python3-venv
    meson/bookworm-backports python3-pycotap/bookworm-backports
    libglib2.0-dev libpixman-1-dev zlib1g-dev libfdt-dev
    device-tree-compiler
    seabios ipxe-qemu
    busybox-static cpio xz-utils kmod
    gnuplot-nox         # make compare: the plots (build/compare/*.svg)
    bc libelf-dev libssl-dev    # kbuild: building Linux (objtool needs libelf)
    clang-14 libclang-rt-14-dev # make fuzz: libFuzzer (scripts/build-fuzz.sh)
)

missing=()
for p in "${pkgs[@]}"; do
    name=${p%%/*}
    suite=${p#"$name"}
    ver_ok=1
    status=$(dpkg-query -W -f='${Status} ${Version}' "$name" 2>/dev/null || true)
    case "$status" in
    "install ok installed"*) ;;
    *) ver_ok=0 ;;
    esac
    # meson must be >= 1.5 (QEMU 10.2's minimum); bookworm has 1.0.
    if [ "$ver_ok" = 1 ] && [ "$name" = meson ] &&
       dpkg --compare-versions "${status##* }" lt 1.5; then
        ver_ok=0
    fi
    [ "$ver_ok" = 1 ] || missing+=("$p")
done

[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ]; then
    echo "install-deps: missing packages: ${missing[*]}" >&2
    echo "install-deps: run as root, or install them with apt-get" >&2
    exit 1
fi
"$here/apt-setup.sh"
echo "install-deps: installing ${missing[*]}"
DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
    "${missing[@]}"
