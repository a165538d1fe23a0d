#!/bin/bash
# The long runs of tests/guest/mttcg-stress, and its benchmark.
#
#   tests/guest/mttcg-stress.sh --long [N]   # N interrupts per mode
#                                            # (default 1,000,000) at
#                                            # -smp 4 (xAVIC) and -smp 8
#                                            # (x2AVIC), progress every 10 s
#   tests/guest/mttcg-stress.sh --bench [S]  # interrupts per second of host
#                                            # time, 1, 2, 4 and 8 L2 vCPUs
#                                            # (-smp 2, 3, 5, 9), both
#                                            # modes, S seconds each (20)
#
# Both print the guest's TAP and its "# mttcg-stress:" lines as they
# come (serial on stdout), and the host's load (uptime) before and after
# each run, since other jobs share the machine.  --long exits non-zero
# if a check failed.  The benchmark is not a test: a run that misses its
# interrupt target in the time still reports its rate.
# QEMU= and OUT= as for tests/guest/run.sh.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
qemu=${QEMU:-$top/build/qemu-system-x86_64}
out=${OUT:-$top/build/guest}
make -s -C "$here" OUT="$out" >&2 || exit 2

run() {         # run SMP IMAGE KNOBS
    local smp=$1 image=$2 knobs=$3
    echo "# ---- -smp $smp $image $knobs; load: $(uptime | sed 's/.*load average: //')"
    timeout --foreground -k 5 "${TMO:-3600}" "$qemu" -nodefaults -M q35 \
        -accel tcg,thread=multi -m 256M -display none -vga none -nic none \
        -serial stdio -no-reboot -device isa-debug-exit,iobase=0xf4,iosize=4 \
        -smp "$smp" -cpu EPYC-Genoa,+svm,+x2apic,+avic,+x2avic \
        -device amd-iommu,intremap=on,xtsup=on,vapic=on,gappi=on -device edu \
        -fw_cfg "name=opt/qemu-avic/mttcg,string=$knobs" \
        -kernel "$out/$image.elf" < /dev/null 2> >(grep -v "TCG doesn't support" >&2) |
        sed -u 's/\r$//'
    local rc=${PIPESTATUS[0]}
    echo "# ---- done (QEMU status $rc); load: $(uptime | sed 's/.*load average: //')"
    [ "$rc" = 1 ]
}

case ${1:-} in
--long)
    n=${2:-1000000}
    bad=0
    run 4 mttcg-stress "target=$n:budget=1500:progress=10" || bad=1
    run 8 mttcg-stress-8 "target=$n:budget=1500:progress=10" || bad=1
    exit $bad
    ;;
--bench)
    s=${2:-20}
    for v in 1 2 4 8; do
        run $((v + 1)) mttcg-stress "target=100000000:budget=$s" |
            grep -E '^# (mttcg-stress: result|----)'
    done
    ;;
*)
    sed -n '2,/^set/p' "$0" | sed '$d'
    exit 2
    ;;
esac
