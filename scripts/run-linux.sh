#!/bin/bash
# Boot an L1 kernel with our initramfs on build/'s QEMU.
#   run-linux.sh [-k KERNEL] [-t SECONDS] [-o LOG] [-a "KERNEL ARGS"]
#                [-m "MODULES"] [-n "NEEDS"] [-b PROGRAM]... [-d DIR]...
#                [-s COUNTERS] [-i] -- QEMU-ARG...
# KERNEL names a pin in scripts/pins.sh (default: the first), or is the
# path of a bzImage or of Debian packages ("a.deb b.deb"); see
# fetch-linux.sh.  $KERNEL_ARGS is added to the kernel command line.
# NEEDS (kvm, vfio, iommu) are what the run needs from the kernel: a
# kernel without one fails with the config option it lacks (the
# modules are checked here, the rest by /init).  -b adds a static
# program to the initramfs's /bin, besides ours (tests/linux/*.c); -d
# adds a directory's contents to its root.
# With -s, the guest holds after its report while our counters are read
# over QMP into COUNTERS ("name value" lines; the IOMMU must have
# id=iommu), then QEMU quits.
# With -i, the console is this terminal (serial and QEMU's monitor on
# stdio, Ctrl-a c switches) and a QMP socket waits at
# build/linux/run.qmp; no timeout and no report are expected.
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
needs=
interactive=
extra=()
while getopts k:t:o:a:m:n:b:d:s:i opt; do
    case $opt in
    k) kernel=$OPTARG ;;
    n) needs=$OPTARG ;;
    b) extra+=(-b "$OPTARG") ;;
    d) extra+=(-d "$OPTARG") ;;
    i) interactive=1 ;;
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
kver=$(cat "$tree/kver")
mkdir -p "$top/build/linux" "$(dirname "$log")"
initrd=$top/build/linux/initramfs-$$.cpio.gz
trap 'rm -f "$initrd"' EXIT
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
# What the config says the kernel lacks, before any boot: an AMD IOMMU
# with interrupt remapping (when the machine has one); the modules are
# checked by mk-initramfs.sh.
if [ -f "$tree/config" ] && [[ " $needs " == *" iommu "* ]]; then
    for opt in CONFIG_AMD_IOMMU CONFIG_IRQ_REMAP; do
        if ! grep -qx "$opt=y" "$tree/config"; then
            echo "run-linux: kernel $kver lacks $opt (not =y in its config)" >&2
            exit 3
        fi
    done
fi
# shellcheck disable=SC2086  # a list of module names
"$here/mk-initramfs.sh" "${progs[@]}" "${extra[@]}" "$initrd" "$tree" \
    $modules || exit 3
append="$append ${KERNEL_ARGS:-}"
[ -n "$needs" ] && append="$append qa.need=${needs// /,}"
# A kernel with KVM built in takes its parameters from the command line
# (the modules get them from /init): qa.kvm_amd=avic=1 -> kvm_amd.avic=1.
if [ -f "$tree/builtin-only" ]; then
    for arg in $append; do
        case $arg in
        qa.kvm*=* | qa.vfio*=*)
            m=${arg%%=*} m=${m#qa.}
            for p in $(echo "${arg#*=}" | tr ',' ' '); do
                append="$append $m.$p"
            done ;;
        esac
    done
fi

# no_timer_check: Linux checks at boot that the IO-APIC timer ticks
# within a busy-wait of about 40 ms; under TCG on a loaded 2-core host
# the main loop (which fires the PIT) can be off the CPU that long, and
# the kernel panics "timer doesn't work through Interrupt-remapped
# IO-APIC" (seen once with 7.2 while four other QEMUs built and ran).
# Linux turns the check off itself on KVM, VMware and Hyper-V guests,
# for the same reason; it cannot tell that a TCG guest is virtual.
append="no_timer_check $append"
qmp=()
if [ -n "$interactive" ]; then
    sock=$top/build/linux/run.qmp
    rm -f "$sock"
    echo "run-linux: Linux $kver; QMP at $sock; Ctrl-a c for the monitor," \
         "Ctrl-a x quits" >&2
    rc=0
    "$qemu" -display none -vga none -nic none -no-reboot -m 1G \
        -serial mon:stdio -qmp "unix:$sock,server=on,wait=off" \
        -kernel "$tree/vmlinuz" -initrd "$initrd" \
        -append "console=ttyS0 panic=-1 quiet $append qa.shell=1" \
        "$@" || rc=$?
    rm -f "$sock"
    exit $rc
fi
if [ -n "$counters" ]; then
    sock=$top/build/linux/qmp.$$.sock
    qmp=(-qmp "unix:$sock,server=on,wait=off")
    append="$append qa.hold=1"
fi
rm -f "$log"
rc=0
timeout --foreground -k 5 "$timeout" "$qemu" \
    -display none -vga none -nic none -no-reboot -m 1G \
    -serial "file:$log" -monitor none "${qmp[@]}" \
    -kernel "$tree/vmlinuz" -initrd "$initrd" \
    -append "console=ttyS0 panic=-1 quiet $append" \
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
if grep -q '^qa: lacks: ' "$log"; then
    tr -d '\r' < "$log" | sed -n "s/^qa: lacks: /run-linux: kernel $kver lacks /p" >&2
    exit 3
fi
