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
#   README.md's list of kernel options is tests/linux/kernel.config's;
#       scripts/qmp-counters.py reads what the QOM properties hold.
#   two boots: make run KERNEL="<Debian's 7.2 linux-binary and
#       linux-modules .deb>" RUN="l2-edu 50 halted" prints the L2's
#       counts and our counters; the pinned 6.12
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

# ---- the options L1 needs: README.md's list is tests/linux/kernel.config
readme_opts=$(sed -n '/^<!-- kernel.config: the same/,/^<!-- kernel.config: end/p' \
                  "$top/README.md" | grep -oE 'CONFIG_[A-Z0-9_]+' | sort -u)
frag_opts=$(sed -e 's/#.*//' "$top/tests/linux/kernel.config" |
            grep -oE '^CONFIG_[A-Z0-9_]+' | sort -u)
check "README's kernel options are kernel.config's ($(wc -w <<< "$frag_opts"))" \
    test -n "$frag_opts" -a "$readme_opts" = "$frag_opts"
[ "$readme_opts" = "$frag_opts" ] ||
    diff <(echo "$frag_opts") <(echo "$readme_opts") | sed 's/^/#   kernel.config vs README: /'

# ---- scripts/qmp-counters.py (one x-query-amd-avic-counters) gives
# what reading the QOM properties one by one gives (as it did before
# the query existed), on a QEMU with two CPUs (their avic-* counters
# summed) and the IOMMU; the boot below checks non-zero counts.
qmp_dir=$(mktemp -d)
"$top/build/qemu-system-x86_64" -M q35 -accel tcg -smp 2 -nodefaults \
    -cpu EPYC-Genoa,+svm,+avic,+x2avic -display none -S \
    -device amd-iommu,id=iommu,xtsup=on,gappi=on \
    -qmp "unix:$qmp_dir/qmp,server=on,wait=off" 2> /dev/null &
qemu_pid=$!
for _ in $(seq 50); do [ -S "$qmp_dir/qmp" ] && break; sleep 0.2; done
by_qom=$(python3 - "$top/scripts/qmp-counters.py" "$qmp_dir/qmp" <<'EOF'
import importlib.util, sys
sys.dont_write_bytecode = True
spec = importlib.util.spec_from_file_location("qc", sys.argv[1])
qc = importlib.util.module_from_spec(spec)
spec.loader.exec_module(qc)
qmp = qc.Qmp(sys.argv[2])
def props(path, prefix):
    return {p["name"]: qmp.cmd("qom-get", path=path, property=p["name"])
            for p in qmp.cmd("qom-list", path=path)
            if p["name"].startswith(prefix)}
for name, value in sorted(props("/machine/peripheral/iommu", "ga-").items()):
    print(name, value)
totals = {}
for cpu in qmp.cmd("query-cpus-fast"):
    for name, value in props(cpu["qom-path"], "avic-").items():
        totals[name] = totals.get(name, 0) + value
for name, value in sorted(totals.items()):
    print(name, value)
EOF
)
by_query=$("$top/scripts/qmp-counters.py" "$qmp_dir/qmp")
wait $qemu_pid 2> /dev/null
rm -rf "$qmp_dir"
check "qmp-counters.py: x-query-amd-avic-counters gives the QOM counters ($(wc -l <<< "$by_query") names)" \
    test -n "$by_qom" -a "$by_query" = "$by_qom"
# The summing over CPUs, and the choice of the IOMMU by its path, on a
# reply of the query's form with non-zero counts.
summed=$(python3 - "$top/scripts/qmp-counters.py" <<'EOF'
import importlib.util, sys
sys.dont_write_bytecode = True
spec = importlib.util.spec_from_file_location("qc", sys.argv[1])
qc = importlib.util.module_from_spec(spec)
spec.loader.exec_module(qc)
text = """/machine/peripheral/other (amd-iommu):
  ga-posted                        7
/machine/peripheral/iommu (amd-iommu):
  ga-posted                        5
CPU 0 (/machine/unattached/device[0]):
  avic-deliveries                  2
CPU 1 (/machine/unattached/device[2]):
  avic-deliveries                  3
all CPUs:
  avic-deliveries                  5
"""
ga, avic = qc.counters(text, "/machine/peripheral/iommu")
print(ga, avic)
EOF
)
check "qmp-counters.py: the IOMMU by its path, avic-* summed over the CPUs ($summed)" \
    test "$summed" = "{'ga-posted': 5} {'avic-deliveries': 5}"
has_both() { grep -q '^ga-posted 0$' <<< "$by_query" &&
             grep -q '^avic-deliveries 0$' <<< "$by_query"; }
check "qmp-counters.py: the IOMMU's ga-* and the CPUs' avic-* are there" has_both

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
# make run with Debian's packages given by path: the pinned 7.2 ones,
# linux-binary + linux-modules (kept in the cache by fetch-linux.sh).
mapfile -t debs < <("$top/scripts/fetch-linux.sh" --debs 7.2)
start=$SECONDS
out=$(KERNEL="${debs[*]}" RUN="l2-edu 50 halted" "$top/scripts/run.sh" 2>&1)
rc=$?
check "make run KERNEL=\"linux-binary-*.deb linux-modules-*.deb\" RUN=\"l2-edu 50 halted\" exits 0 ($((SECONDS - start)) s)" \
    test ${#debs[@]} = 2 -a $rc = 0
if [ $rc != 0 ]; then
    # The next boot overwrites run.log: keep this one, and show its end.
    cp "$top/build/linux/run.log" "$top/build/linux/run-debs.log" 2>/dev/null
    cp "$top/build/linux/run.log.stderr" "$top/build/linux/run-debs.log.stderr" 2>/dev/null
    echo "# make run exited $rc; its last lines (console: build/linux/run-debs.log):"
    tail -25 <<< "$out" | sed 's/^/#   /'    # run-linux.sh's own diagnosis
fi
# The tree run-linux.sh booted: unpacked from the packages (not the
# pin's tree), keyed by their sha256.
tree=$("$top/scripts/fetch-linux.sh" "${debs[@]}" 2>/dev/null)
linux_pin 7.2
is_deb_tree() { [ "$(cat "$tree/kind")" = deb ] &&
                [ "$(cat "$tree/kver")" = "$LINUX_KVER" ] &&
                [[ $tree == */kernel-* ]]; }
check "make run: L1 is the packages' kernel ($(cat "$tree/kver" 2>/dev/null), unpacked into $(basename "$tree"))" \
    is_deb_tree
check "make run: KVM and the IOMMU came up" says "kvm_amd: AVIC enabled"
check "make run: the L2's counts are printed" says "l2-edu: mode halted sent 50 delivered 50"
check "make run: our counters are printed" says "== QEMU's counters"
counter() { awk -v k="$1" '$1 == k { print $2 }' <<< "$out"; }
posted=$(counter ga-posted)
check "make run: ga-posted counted the 50 MSIs (${posted:-none})" test "${posted:-0}" -ge 50
deliveries=$(counter avic-deliveries)
check "make run: avic-deliveries counted them (${deliveries:-none})" \
    test "${deliveries:-0}" -ge 50
galog=$(counter ga-log-interrupts)
check "make run: the halted vCPU was woken through the GA log (${galog:-none} interrupts)" \
    test "${galog:-0}" -ge 1
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
