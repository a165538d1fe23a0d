#!/bin/bash
# make run: boot an L1 kernel on the mission's line with our initramfs,
# load KVM (kvm_amd avic=1) and VFIO, then either run one program and
# power off, printing its output and our counters, or give a shell.
#
#   KERNEL=NAME|FILE...  the L1 kernel: a pin (scripts/pins.sh, default
#                        the first), a bzImage, or Debian packages
#                        ("linux-image-X.deb" or "linux-binary-X.deb
#                        linux-modules-X.deb")
#   KERNEL_ARGS=...      added to the kernel command line
#   GAPPI=1              boot with amd_iommu=gappi (a GAPPI kernel)
#   RUN="PROG ARG..."    one of our L1 programs (tests/linux/*.c, e.g.
#                        "l2-edu 1000 halted") or a static program given
#                        by its path; without RUN, a busybox shell on
#                        this terminal with our programs in PATH
#   QEMU_ARGS=...        replaces the machine line below
#   TIMEOUT=SECONDS      for a RUN (default 600)
# Exits with the program's status, or 3 if the kernel lacks something.
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)

machine=(-M q35 -accel tcg -cpu EPYC-Genoa,+svm,+avic,+x2avic -smp 2
         -device amd-iommu,id=iommu,xtsup=on,gappi=on -device edu)
if [ -n "${QEMU_ARGS:-}" ]; then
    read -ra machine <<< "$QEMU_ARGS"
fi
needs="kvm vfio"
[[ " ${machine[*]} " == *amd-iommu* ]] && needs="$needs iommu"
append="qa.kvm_amd=avic=1"
[ "${GAPPI:-0}" = 1 ] && append="$append amd_iommu=gappi"
opts=(-k "${KERNEL:-}" -m "kvm-amd vfio-pci vfio_iommu_type1" -n "$needs")
[ -n "${KERNEL:-}" ] || opts=("${opts[@]:2}")

if [ -z "${RUN:-}" ]; then
    exec "$top/scripts/run-linux.sh" "${opts[@]}" -a "$append" -i -- \
        "${machine[@]}"
fi

read -ra cmd <<< "$RUN"
prog=${cmd[0]}
if [[ $prog == */* ]]; then
    # A program of the user's: copied into the initramfs's /bin.
    if [ ! -f "$prog" ]; then
        echo "run: RUN: no such program: $prog" >&2
        exit 2
    fi
    if readelf -l "$prog" 2>/dev/null | grep -q 'program interpreter'; then
        echo "run: RUN: $prog is dynamically linked; the initramfs has" \
             "no libraries (build it with -static)" >&2
        exit 2
    fi
    opts+=(-b "$prog")
    cmd[0]=$(basename "$prog")
elif [ ! -f "$top/tests/linux/$prog.c" ]; then
    echo "run: RUN: $prog is not one of our programs" \
         "($(cd "$top/tests/linux" && ls -- *.c | sed 's/\.c$//' | tr '\n' ' '))" \
         "nor a path" >&2
    exit 2
fi
run=$(IFS=,; echo "${cmd[*]}")
counters=$top/build/linux/run.counters
log=$top/build/linux/run.log
rm -f "$counters"
"$top/scripts/run-linux.sh" "${opts[@]}" -t "${TIMEOUT:-600}" -o "$log" \
    -s "$counters" -a "$append qa.run=$run" -- "${machine[@]}"
rc=$?
if [ -s "$counters" ]; then
    echo "== QEMU's counters (scripts/qmp-counters.py, non-zero ones):"
    awk '$2 != 0 { printf "  %-32s %s\n", $1, $2 }' "$counters"
fi
if [ $rc = 3 ]; then
    echo "run: README.md, \"Testing your own kernel\", lists the options L1 needs" >&2
fi
echo "== console: $log"
[ $rc = 0 ] || exit $rc
status=$(tr -d '\r' < "$log" | sed -n 's/^qa: run status: //p')
exit "${status:-1}"
