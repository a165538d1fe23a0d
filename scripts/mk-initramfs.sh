#!/bin/bash
# Build a busybox initramfs for the Linux tests and the demo.
#   mk-initramfs.sh [-b PROGRAM]... [-d DIR]... OUT.cpio.gz LINUX_TREE MODULE...
# LINUX_TREE is what fetch-linux.sh prints.
# The image holds Debian's static busybox, our /init
# (tests/linux/init), the report patterns, the static PROGRAMs (in
# /bin), and the named kernel modules with everything they depend on,
# decompressed and listed in load order in /etc/modules.  Each DIR's
# contents are copied into the image's root as they are.
# A module the kernel has built in (modules.builtin, or =y in its
# config) is left out; one it has neither way fails with the config
# option it lacks.  A bzImage's tree (builtin-only) has no modules: its
# /init checks what it finds at run time.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")

bins=()
dirs=()
while getopts b:d: opt; do
    case $opt in
    b) bins+=("$OPTARG") ;;
    d) dirs+=("$OPTARG") ;;
    *) exit 2 ;;
    esac
done
shift $((OPTIND - 1))
out=$1 tree=$2
shift 2
moddir=$tree/lib/modules/$(cat "$tree/kver")

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root"/{bin,dev,proc,sys,tmp,etc,lib/modules}
cp /bin/busybox "$root/bin/busybox"
for b in "${bins[@]}"; do
    cp "$b" "$root/bin/"
done
for d in "${dirs[@]}"; do
    cp -a "$d/." "$root/"
done
install -m 755 "$top/tests/linux/init" "$root/init"
cp "$top/tests/linux/report-patterns" "$root/etc/report-patterns"

# modules.dep lists a module's dependencies deepest last; load those
# first, each once.
declare -A seen=()
order=()
add_module() {
    local rel=$1 line dep
    [ -n "${seen[$rel]:-}" ] && return
    seen[$rel]=1
    line=$(grep -m1 "^$rel:" "$moddir/modules.dep") || {
        echo "mk-initramfs: $rel not in modules.dep" >&2; exit 1; }
    for dep in $(echo "${line#*:}" | tr ' ' '\n' | tac); do
        add_module "$dep"
    done
    order+=("$rel")
}
# The config option that builds module $1.
config_of() {
    case ${1//-/_} in
    kvm_amd) echo CONFIG_KVM_AMD ;;
    vfio_pci) echo CONFIG_VFIO_PCI ;;
    *) echo "CONFIG_$(echo "${1//-/_}" | tr a-z A-Z)" ;;
    esac
}
builtin() {     # builtin MODULE: the kernel has it built in
    local re="(^|/)(${1//[-_]/[-_]})\.ko\$"
    grep -qE "$re" "$moddir/modules.builtin" ||
        grep -qx "$(config_of "$1")=y" "$tree/config" 2>/dev/null
}
for m in "$@"; do
    [ -f "$tree/builtin-only" ] && continue
    rel=$(grep -m1 -E "(^|/)${m//[-_]/[-_]}\.ko(\.[a-z]+)?:" \
          "$moddir/modules.dep" | cut -d: -f1) || true
    if [ -z "$rel" ]; then
        builtin "$m" && continue
        echo "mk-initramfs: kernel $(cat "$tree/kver") lacks $(config_of "$m")" \
             "(no $m module in lib/modules and not built in)" >&2
        exit 1
    fi
    add_module "$rel"
done
for rel in "${order[@]}"; do
    name=$(basename "$rel")
    name=${name%.ko*}
    case $rel in
    *.ko.xz) xz -dc "$moddir/$rel" ;;
    *.ko.zst) zstd -dcq "$moddir/$rel" ;;
    *.ko.gz) gzip -dc "$moddir/$rel" ;;
    *) cat "$moddir/$rel" ;;
    esac > "$root/lib/modules/$name.ko"
    echo "$name" >> "$root/etc/modules"
done
touch "$root/etc/modules"

(cd "$root" && find . -print0 | cpio --null -o -H newc --quiet) |
    gzip -1 > "$out.tmp"
mv "$out.tmp" "$out"
