#!/bin/bash
# Boot a pinned Debian kernel with our initramfs on build/'s QEMU.
#   run-linux.sh [-k KERNEL] [-t SECONDS] [-o LOG] [-a "KERNEL ARGS"]
#                [-m "MODULES"] [-s COUNTERS] [-i DIR] -- QEMU-ARG...
# KERNEL names a pin in scripts/pins.sh (default: the first).
# -i DIR adds DIR's contents to the initramfs (its own image, named
# after DIR).
# With -s, the guest holds after its report while our counters are read
# over QMP into COUNTERS ("name value" lines; the IOMMU must have
# id=iommu), then QEMU quits.
# The QEMU arguments choose the machine (CPU model, IOMMU line, ...).
# The whole serial console goes to LOG (default build/linux/console.log),
# QEMU's stderr to LOG.stderr;
# the guest's report (lines "qa: ...") is printed.  Exits non-zero if
# QEMU does not finish within the timeout or the guest gave no report.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")

timeout=300
log=$top/build/linux/console.log
append=
modules=kvm-amd
counters=
kernel=
extra=
while getopts k:t:o:a:m:s:i: opt; do
    case $opt in
    i) extra=$OPTARG ;;
    k) kernel=$OPTARG ;;
    s) counters=$OPTARG ;;
    t) timeout=$OPTARG ;;
    o) log=$OPTARG ;;
    a) append=$OPTARG ;;
    m) modules=$OPTARG ;;
    *) exit 2 ;;
    esac
done
shift $((OPTIND - 1))

qemu=$top/build/qemu-system-x86_64
[ -x "$qemu" ] || { echo "run-linux: $qemu missing; run make" >&2; exit 1; }
tree=$("$here/fetch-linux.sh" ${kernel:+"$kernel"})
mkdir -p "$top/build/linux" "$(dirname "$log")"
initrd=$top/build/linux/initramfs-$(cat "$tree/kver")${extra:+-$(basename "$extra")}.cpio.gz
# Our static programs for the L1 guest: tests/linux/*.c, each with the
# VMM library in tests/linux/vmm/.
progs=()
vmm=("$top"/tests/linux/vmm/*)
for src in "$top"/tests/linux/*.c; do
    prog=$top/build/linux/$(basename "$src" .c)
    if [ ! -x "$prog" ] || [ -n "$(find "$src" "${vmm[@]}" -newer "$prog")" ]
    then
        gcc -static -O2 -pthread -Wall -Werror -I"$top/tests/linux" \
            -o "$prog" "$src" "$top"/tests/linux/vmm/*.c
    fi
    progs+=(-b "$prog")
done
# shellcheck disable=SC2086  # a list of module names
"$here/mk-initramfs.sh" "${progs[@]}" ${extra:+-d "$extra"} "$initrd" "$tree" $modules

qmp=()
if [ -n "$counters" ]; then
    sock=$top/build/linux/qmp.$$.sock
    qmp=(-qmp "unix:$sock,server=on,wait=off")
    append="$append qa.hold=1"
fi
# no_timer_check: Linux checks at boot that the IO-APIC timer ticks
# within a busy-wait of about 40 ms; under TCG on a loaded 2-core host
# the main loop (which fires the PIT) can be off the CPU that long, and
# the kernel panics "timer doesn't work through Interrupt-remapped
# IO-APIC" (seen once with 7.2 while four other QEMUs built and ran).
# Linux turns the check off itself on KVM, VMware and Hyper-V guests,
# for the same reason; it cannot tell that a TCG guest is virtual.
rm -f "$log"
rc=0
timeout --foreground -k 5 "$timeout" "$qemu" \
    -display none -vga none -nic none -no-reboot -m 1G \
    -serial "file:$log" -monitor none "${qmp[@]}" \
    -kernel "$tree/vmlinuz" -initrd "$initrd" \
    -append "console=ttyS0 panic=-1 quiet no_timer_check $append" \
    "$@" 2> "$log.stderr" &
pid=$!
if [ -n "$counters" ]; then
    # The guest holds after its report: read the counters, then quit.
    while kill -0 $pid 2>/dev/null &&
          ! grep -q '^qa: ----- end -----' "$log" 2>/dev/null; do
        sleep 1
    done
    if kill -0 $pid 2>/dev/null; then
        "$here/qmp-counters.py" "$sock" > "$counters" ||
            echo "run-linux: reading the counters over QMP failed" >&2
    fi
fi
wait $pid || rc=$?
rm -f "${sock:-}"
# QEMU's own messages (e.g. the CPUID features TCG cannot offer) stay in
# $log.stderr unless something went wrong.
if [ $rc = 124 ] || [ $rc = 137 ]; then
    echo "run-linux: QEMU did not finish in ${timeout}s; console in $log" >&2
    tail -n 20 "$log" | sed 's/^/  | /' >&2
    exit 1
fi
if [ $rc != 0 ]; then
    echo "run-linux: QEMU exited with status $rc; console in $log" >&2
    grep -v "TCG doesn't support requested feature" "$log.stderr" >&2
    exit 1
fi
if ! grep -q '^qa: ----- end -----' "$log"; then
    echo "run-linux: the guest gave no report; last console lines:" >&2
    tail -n 20 "$log" | sed 's/^/  | /' >&2
    exit 1
fi
tr -d '\r' < "$log" | sed -n 's/^qa: //p'
