#!/bin/bash
# Your own kernel as L1 (KERNEL=, make run), and the GAPPI detection.
#   fast, no boot: the GA mode read from kernel-log fixtures
#       (tests/linux/fixtures/); a bad KERNEL path, a file that is no
#       kernel, an unknown pin; Debian packages made here from the
#       pinned 6.12 kernel that lack the AMD IOMMU (config), kvm_amd or
#       vfio-pci (modules), each failing with the option it lacks;
#       RUN= errors; e2e's and the demo's GAPPI checks against an L1
#       report played back by tests/linux/fixtures/fake-run-linux.sh
#       (what a GAPPI kernel would say), and that they fail when L1's
#       PIW count differs from our ga-gappi-interrupts.
#   two boots: make run RUN="l2-edu 50 halted" with the default kernel
#       prints the L2's counts and our counters; the pinned 6.12
#       vmlinuz given as a bzImage (its KVM and VFIO are modules, which
#       a bzImage run does not have) says which options it lacks.
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/scripts/pins.sh"
. "$top/tests/linux/tap.sh"
. "$top/tests/linux/ga-mode.sh"
fixtures=$top/tests/linux/fixtures
unset KERNEL KERNEL_ARGS QEMU_ARGS GAPPI RUN

# ---- the GA mode from L1's messages
for f in dmesg-gappi:gappi dmesg-gappi-galog:galog dmesg-gappi-refused:refused \
         report-6.12:galog dmesg-no-vapic:none; do
    mode=$(ga_mode < "$fixtures/${f%%:*}.txt")
    check "ga-mode: ${f%%:*}.txt is ${f#*:} ($mode)" test "$mode" = "${f#*:}"
done

# ---- e2e and the demo with a GAPPI kernel, played back
fake=$top/tests/linux/fixtures/fake-run-linux.sh
out=$(E2E_RUN_LINUX=$fake GAPPI=1 "$top/tests/linux/e2e.sh" -k fake-gappi 20)
check "e2e, GAPPI kernel with amd_iommu=gappi: every check passes" \
    test "$(grep -c '^not ok' <<< "$out")" = 0
check "e2e, GAPPI kernel: the halted phase checks PIW = ga-gappi-interrupts" \
    says "halted: L1 counted each as PIW (20)"
check "e2e, GAPPI kernel: ... and no GA log" says "halted: no GA log interrupt"
out=$(E2E_RUN_LINUX=$fake FAKE_PIW=19 GAPPI=1 "$top/tests/linux/e2e.sh" -k fake-gappi 20)
check "e2e, GAPPI kernel, one PIW missing: that check fails, and only it" \
    test "$(grep '^not ok' <<< "$out" | sed 's/^not ok [0-9]* - //')" = \
         "fake-gappi: halted: L1 counted each as PIW (19)"
out=$(E2E_RUN_LINUX=$fake GAPPI=1 DEMO_COUNT=20 "$top/scripts/demo.sh")
check "demo, GAPPI kernel: says L1 uses GAPPI" says "L1 uses GAPPI"
check "demo, GAPPI kernel: the halted phase is the GAPPI one" \
    says "the IOMMU wakes it with a GAPPI interrupt"
out=$(E2E_RUN_LINUX=$fake DEMO_COUNT=20 "$top/scripts/demo.sh")
check "demo, GAPPI kernel without amd_iommu=gappi: one line says no GAPPI" \
    test "$(grep -c 'L1 has no GAPPI' <<< "$out")" = 1
check "demo, ... and shows the GA log path" \
    says "posted interrupts go through the GA log"

# ---- bad kernels, before any boot
# fails_with MESSAGE COMMAND...: the command fails and says MESSAGE.
fails_with() {
    local want=$1
    shift
    if out=$("$@" 2>&1); then
        echo "# unexpectedly succeeded: $*"
        return 1
    fi
    grep -qF -- "$want" <<< "$out" || { sed 's/^/#   /' <<< "$out"; return 1; }
}
rl=$top/scripts/run-linux.sh
mods=(-m "kvm-amd vfio-pci vfio_iommu_type1" -n "kvm vfio iommu")
check "KERNEL=/no/such/bzImage: 'no such file'" \
    fails_with "KERNEL: no such file: /no/such/bzImage" "$rl" -k /no/such/bzImage -- -M q35
check "KERNEL=README.md: 'neither a bzImage nor a Debian package'" \
    fails_with "is neither a bzImage nor a Debian package" "$rl" -k "$top/README.md" -- -M q35
check "KERNEL=9.9: 'neither a pinned kernel'" \
    fails_with "KERNEL '9.9' is neither a pinned kernel" "$rl" -k 9.9 -- -M q35

# Debian packages cut from the pinned 6.12 kernel; their trees go to a
# cache of their own.
pin=$("$top/scripts/fetch-linux.sh" 6.12)
kver=$(cat "$pin/kver")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export QEMU_AVIC_CACHE=$work/cache
# fake_deb NAME [MODULE...]: linux-image-NAME.deb with 6.12's vmlinuz,
# the named modules and what they depend on; config if $config is set.
fake_deb() {
    local name=$1 root=$work/$1 m rel
    shift
    mkdir -p "$root/DEBIAN" "$root/boot" "$root/lib/modules/$kver"
    printf 'Package: linux-image-%s\nVersion: 1\nArchitecture: amd64\nMaintainer: test\nDescription: test kernel\n' \
        "$name" > "$root/DEBIAN/control"
    cp "$pin/vmlinuz" "$root/boot/vmlinuz-$kver"
    [ -n "${config:-}" ] && cp "$config" "$root/boot/config-$kver"
    for m in "$@"; do
        for rel in $(grep "^kernel/.*/$m.ko.xz:" "$pin/lib/modules/$kver/modules.dep" |
                     tr -d ':'); do
            mkdir -p "$root/lib/modules/$kver/$(dirname "$rel")"
            cp "$pin/lib/modules/$kver/$rel" "$root/lib/modules/$kver/$rel"
        done
    done
    dpkg-deb -Znone --build "$root" "$work/linux-image-$name.deb" > /dev/null
    echo "$work/linux-image-$name.deb"
}
cfg=$pin/config
[ -f "$cfg" ] || cfg=$pin/boot/config-$kver     # a tree cached before config
grep -v '^CONFIG_AMD_IOMMU=' "$cfg" > "$work/config-no-iommu"
config=$work/config-no-iommu
deb=$(fake_deb no-iommu kvm-amd)
config=
check "a kernel whose config lacks CONFIG_AMD_IOMMU: said before booting" \
    fails_with "lacks CONFIG_AMD_IOMMU" "$rl" -k "$deb" "${mods[@]}" -- -M q35
deb=$(fake_deb no-kvm-amd)
check "a kernel without the kvm-amd module: 'lacks CONFIG_KVM_AMD'" \
    fails_with "lacks CONFIG_KVM_AMD" "$rl" -k "$deb" "${mods[@]}" -- -M q35
deb=$(fake_deb no-vfio kvm-amd)
check "a kernel without the vfio-pci module: 'lacks CONFIG_VFIO_PCI'" \
    fails_with "lacks CONFIG_VFIO_PCI" "$rl" -k "$deb" "${mods[@]}" -- -M q35
check "the same packages again: the tree is cached by their sha256" \
    test "$(ls -d "$QEMU_AVIC_CACHE"/kernel-* | wc -l)" = 3
unset QEMU_AVIC_CACHE

check "make run RUN=/bin/ls: 'dynamically linked'" \
    fails_with "is dynamically linked" env RUN=/bin/ls "$top/scripts/run.sh"
check "make run RUN=no-such-program: 'not one of our programs'" \
    fails_with "not one of our programs" env RUN="no-such-program 1" "$top/scripts/run.sh"

# ---- boots
start=$SECONDS
out=$(RUN="l2-edu 50 halted" "$top/scripts/run.sh" 2>&1)
rc=$?
check "make run RUN=\"l2-edu 50 halted\" exits 0 ($((SECONDS - start)) s)" test $rc = 0
check "make run: the L2's counts are printed" says "l2-edu: mode halted sent 50 delivered 50"
check "make run: L1's report is printed" says "kvm_amd: AVIC enabled"
check "make run: our counters are printed" says "== QEMU's counters"
posted=$(awk '$1 == "ga-posted" { print $2 }' <<< "$out")
check "make run: ga-posted counted the 50 MSIs (${posted:-none})" test "${posted:-0}" -ge 50
deliveries=$(awk '$1 == "avic-deliveries" { print $2 }' <<< "$out")
check "make run: avic-deliveries counted them (${deliveries:-none})" \
    test "${deliveries:-0}" -ge 50
grep -E 'l2-edu: mode|^  (ga|avic)-' <<< "$out" | sed 's/^/# /'

start=$SECONDS
out=$(KERNEL=$pin/vmlinuz RUN="l2-edu 10 halted" "$top/scripts/run.sh" 2>&1)
rc=$?
check "make run KERNEL=<bzImage without KVM>: exits 3 ($rc, $((SECONDS - start)) s)" \
    test $rc = 3
check "... and says the kernel lacks CONFIG_KVM_AMD" \
    says "run-linux: kernel $kver lacks CONFIG_KVM_AMD"
check "... and CONFIG_VFIO_PCI" says "run-linux: kernel $kver lacks CONFIG_VFIO_PCI"
grep '^run-linux: ' <<< "$out" | sed 's/^/# /'
echo "1..$n"
exit $failed
