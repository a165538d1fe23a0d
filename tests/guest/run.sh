#!/bin/bash
# Build the test hypervisor suite and run every group (or the groups
# named on the command line), each in its own QEMU, printing one TAP
# stream.  Exit status 0 iff no check failed and no group crashed or
# timed out ("not ok ... # TODO" is not a failure).
#
#   tests/guest/run.sh                 # all groups
#   tests/guest/run.sh smoke avic-ipi  # some
#   QEMU=/path/to/qemu-system-x86_64 tests/guest/run.sh
#   TIMEOUT=30 tests/guest/run.sh      # override every group's timeout
#   TIMING=on tests/guest/run.sh       # amd-iommu with its timing model
#                                      # (",timing=on" on every amd-iommu
#                                      # line; logs in logs-timing/)
#   QEMU_EXTRA="-icount shift=4,sleep=off" tests/guest/run.sh post-galog
#                                      # more QEMU arguments, appended
#
# A group is tests/guest/<name>.c plus one line in the table below:
#   name  timeout-seconds  QEMU arguments (besides the common ones)
# An option item ending in "?" is optional: it is dropped, with a note,
# when this QEMU does not know it yet (+x2avic, gappi=on), so that the
# group still runs and reports its checks as TODO.
GROUP_TABLE='
smoke            60  -smp 4 -cpu EPYC-Genoa,+svm,+x2apic
iommu-remap      60  -smp 4 -cpu EPYC-Genoa,+svm,+x2apic -device amd-iommu,intremap=on,xtsup=on -device edu
svm-basic        60  -smp 4 -cpu EPYC-Genoa,+svm,+x2apic
svm-tcg          60  -smp 2 -cpu EPYC-Genoa,+svm,+x2apic
avic-regs        60  -smp 2 -cpu EPYC-Genoa,+svm,+x2apic,+avic,+x2avic?
avic-ipi         90  -smp 4 -cpu EPYC-Genoa,+svm,+x2apic,+avic,+x2avic?
avic-doorbell    60  -smp 3 -cpu EPYC-Genoa,+svm,+x2apic,+avic,+x2avic?
avic-delivery    60  -smp 2 -cpu EPYC-Genoa,+svm,+x2apic,+avic,+x2avic?
post-running     60  -smp 3 -cpu EPYC-Genoa,+svm,+x2apic,+avic,+x2avic? -device amd-iommu,intremap=on,xtsup=on,vapic=on?,gappi=on? -device edu
post-galog       60  -smp 3 -cpu EPYC-Genoa,+svm,+x2apic,+avic,+x2avic? -device amd-iommu,intremap=on,xtsup=on,vapic=on?,gappi=on? -device edu
post-gappi       60  -smp 3 -cpu EPYC-Genoa,+svm,+x2apic,+avic,+x2avic? -device amd-iommu,intremap=on,xtsup=on,vapic=on?,gappi=on? -device edu
galog-overflow   60  -smp 3 -cpu EPYC-Genoa,+svm,+x2apic,+avic,+x2avic? -device amd-iommu,intremap=on,xtsup=on,vapic=on?,gappi=on? -device edu
post-race        90  -smp 4 -cpu EPYC-Genoa,+svm,+x2apic,+avic,+x2avic? -device amd-iommu,intremap=on,xtsup=on,vapic=on?,gappi=on? -device edu
stress          240  -smp 3 -cpu EPYC-Genoa,+svm,+x2apic,+avic,+x2avic? -device amd-iommu,intremap=on,xtsup=on,vapic=on?,gappi=on? -device edu
bad-programming  60  -smp 3 -cpu EPYC-Genoa,+svm,+x2apic,+avic,+x2avic? -device amd-iommu,intremap=on,xtsup=on,vapic=on?,gappi=on? -device edu
svm-events       60  -smp 2 -cpu EPYC-Genoa,+svm,+x2apic,+avic,+x2avic?
cpuid-max        30  -smp 1 -cpu max
avic-owed-exits  60  -smp 2 -cpu EPYC-Genoa,+svm,+x2apic,+avic,+x2avic?
avic-access      60  -smp 2 -cpu EPYC-Genoa,+svm,+x2apic,+avic,+x2avic?
svm-nrips        60  -smp 1 -cpu EPYC-Genoa,+svm
mttcg-stress    150  -smp 4 -cpu EPYC-Genoa,+svm,+x2apic,+avic,+x2avic? -device amd-iommu,intremap=on,xtsup=on,vapic=on?,gappi=on? -device edu
mttcg-stress-8  150  -smp 8 -cpu EPYC-Genoa,+svm,+x2apic,+avic,+x2avic? -device amd-iommu,intremap=on,xtsup=on,vapic=on?,gappi=on? -device edu
compare          60  -smp 4 -cpu EPYC-Genoa,+svm,+x2apic,+avic,+x2avic? -device amd-iommu,intremap=on,xtsup=on,vapic=on?,gappi=on? -device edu -icount shift=0,sleep=off -rtc clock=vm
compare-gappi    60  -smp 3 -cpu EPYC-Genoa,+svm,+x2apic,+avic,+x2avic? -device amd-iommu,intremap=on,xtsup=on,vapic=on?,gappi=on? -device edu -icount shift=0,sleep=off -rtc clock=vm
compare-running  60  -smp 3 -cpu EPYC-Genoa,+svm,+x2apic,+avic,+x2avic? -device amd-iommu,intremap=on,xtsup=on,vapic=on?,gappi=on? -device edu -icount shift=0,sleep=off -rtc clock=vm
compare-remap    60  -smp 3 -cpu EPYC-Genoa,+svm,+x2apic,+avic,+x2avic? -device amd-iommu,intremap=on,xtsup=on,vapic=on?,gappi=on? -device edu -icount shift=0,sleep=off -rtc clock=vm
bad-input        60  -smp 2 -cpu EPYC-Genoa,+svm,+x2apic,+avic,+x2avic?
avic-fuzz       120  -smp 2 -cpu EPYC-Genoa,+svm,+x2apic,+avic,+x2avic?
'
COMMON_ARGS='-nodefaults -M q35 -accel tcg -m 256M -display none -vga none -nic none
  -serial stdio -no-reboot -device isa-debug-exit,iobase=0xf4,iosize=4'

set -u
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
if [ "${SOFT_IOMMU:-}" = 1 ]; then
    out=${OUT:-$top/build/guest-soft}
else
    out=${OUT:-$top/build/guest}
fi
qemu=${QEMU:-$top/${QEMU_AVIC_BUILD:-build}/qemu-system-x86_64}
logs=$out/logs
[ "${TIMING:-}" = on ] && logs=$out/logs-timing

# ---- build (from source every time; make keeps it incremental) ----
if ! make -s -C "$here" OUT="$out" >&2; then
    echo "Bail out! build of tests/guest failed"
    exit 2
fi
mkdir -p "$logs"
if [ "${SOFT_IOMMU:-}" = 1 ]; then
    echo "# WARNING: SOFT_IOMMU=1 build: the guest simulates the IOMMU's vAPIC mode;"
    echo "# WARNING: a development aid for the tests, these results say nothing about QEMU"
fi

# ---- the QEMU binary may be relinked by someone else: wait for it ----
for _ in $(seq 1 60); do
    [ -x "$qemu" ] && [ -s "$qemu" ] && "$qemu" --version >/dev/null 2>&1 && break
    echo "# waiting for $qemu" >&2
    sleep 5
done
if ! "$qemu" --version >/dev/null 2>&1; then
    echo "Bail out! no usable QEMU at $qemu"
    exit 2
fi

cpu_help=$("$qemu" -cpu help 2>/dev/null)
declare -A dev_help

# Is an optional item supported?  $1 = -cpu or -device, $2 = the driver
# (device name), $3 = the item without its "?".
supported() {
    local kind=$1 drv=$2 item=$3
    if [ "$kind" = -cpu ]; then
        local flag=${item#[+-]}
        flag=${flag%%=*}
        grep -qw -- "$flag" <<< "$cpu_help"
    else
        if [ -z "${dev_help[$drv]+x}" ]; then
            dev_help[$drv]=$("$qemu" -device "$drv,help" 2>/dev/null)
        fi
        grep -q "^ *${item%%=*}=" <<< "${dev_help[$drv]}"
    fi
}

# Resolve the optional items of one option value ("EPYC-Genoa,+x2avic?").
resolve() {
    local kind=$1 value=$2 res="" drv="" item
    IFS=, read -r -a items <<< "$value"
    for item in "${items[@]}"; do
        [ -z "$drv" ] && drv=$item
        if [ "${item%\?}" != "$item" ]; then
            item=${item%\?}
            if ! supported "$kind" "$drv" "$item"; then
                echo "# runner: dropped '$item' from $kind $drv (not in this QEMU)" >&2
                continue
            fi
        fi
        res=${res:+$res,}$item
    done
    printf '%s' "$res"
}

for g in "$@"; do
    if ! grep -q "^$g " <<< "$GROUP_TABLE"; then
        echo "Bail out! unknown group '$g' (see the table in $0)"
        exit 2
    fi
done

total=0 failed_checks=0 todo_checks=0 skip_checks=0 passed_checks=0 bad_groups=""
want=" $* "

while read -r name tmo args; do
    [ -z "$name" ] && continue
    if [ $# -gt 0 ] && [[ "$want" != *" $name "* ]]; then
        continue
    fi
    image=$out/$name.elf
    tmo=${TIMEOUT:-$tmo}
    if [ "${TIMING:-}" = on ]; then
        # The timing model changes when effects happen, never whether.
        args=$(sed -E 's/(-device amd-iommu,[^ ]*)/\1,timing=on/' <<< "$args")
    fi
    # shellcheck disable=SC2206
    raw=($COMMON_ARGS $args ${QEMU_EXTRA:-})
    : > "$logs/$name.err"
    cmd=()
    for ((i = 0; i < ${#raw[@]}; i++)); do
        a=${raw[$i]}
        if { [ "$a" = -cpu ] || [ "$a" = -device ]; } && [ $((i + 1)) -lt ${#raw[@]} ]; then
            cmd+=("$a" "$(resolve "$a" "${raw[$((i + 1))]}" 2>>"$logs/$name.err")")
            i=$((i + 1))
        else
            cmd+=("$a")
        fi
    done
    echo "# ---- $name: $qemu ${cmd[*]} -kernel $image"
    grep '^# runner' "$logs/$name.err"
    start=$SECONDS
    if [ ! -f "$image" ]; then
        rc=127
        : > "$logs/$name.out"
    else
        timeout --foreground -k 5 "$tmo" "$qemu" "${cmd[@]}" -kernel "$image" \
            > "$logs/$name.out" 2>> "$logs/$name.err" < /dev/null
        rc=$?
    fi
    secs=$((SECONDS - start))

    # Renumber the group's TAP into the global stream.
    g_ok=0 g_fail=0 g_todo=0 g_skip=0 g_lines=0 g_plan=-1 bailed=0
    while IFS= read -r line; do
        line=${line%$'\r'}
        if [[ "$line" =~ ^1\.\.([0-9]+)$ ]]; then
            g_plan=${BASH_REMATCH[1]}
        elif [[ "$line" =~ ^(not\ ok|ok)\ [0-9]+(.*)$ ]]; then
            total=$((total + 1)) g_lines=$((g_lines + 1))
            st=${BASH_REMATCH[1]} rest=${BASH_REMATCH[2]}
            echo "$st $total$rest"
            if [ "$st" = ok ] && [[ "$rest" =~ \#\ *SKIP ]]; then
                g_skip=$((g_skip + 1))
            elif [ "$st" = ok ]; then
                g_ok=$((g_ok + 1))
            elif [[ "$rest" =~ \#\ *TODO ]]; then
                g_todo=$((g_todo + 1))
            else
                g_fail=$((g_fail + 1))
            fi
        elif [[ "$line" == "Bail out!"* ]]; then
            bailed=1
            echo "# $line"
        elif [[ "$line" == "#"* ]]; then
            echo "$line"
        elif [ -n "$line" ]; then
            echo "# > $line"
        fi
    done < "$logs/$name.out"

    why=""
    case $rc in
        1) ;;                                   # guest: pass
        3) [ $g_fail = 0 ] && why="guest reported failure" ;;
        124|137) why="timed out after ${tmo}s" ;;
        127) why="image $image missing" ;;
        *) why="QEMU exited with status $rc (crash?)" ;;
    esac
    if [ -z "$why" ] && [ "$g_plan" -ge 0 ] && [ "$g_lines" -lt "$g_plan" ]; then
        why="planned $g_plan checks, got $g_lines"
    fi
    [ -z "$why" ] && [ $bailed = 1 ] && why="guest bailed out"
    if [ -n "$why" ]; then
        total=$((total + 1)) g_fail=$((g_fail + 1))
        echo "not ok $total - $name/run: $why"
        grep -v 'warning: TCG doesn.t support' "$logs/$name.err" | grep -v '^# runner' |
            head -20 | sed 's/^/# stderr: /'
    fi
    echo "# ---- $name: $g_ok passed, $g_fail failed, $g_todo todo, $g_skip skipped in ${secs}s"
    passed_checks=$((passed_checks + g_ok))
    failed_checks=$((failed_checks + g_fail))
    todo_checks=$((todo_checks + g_todo))
    skip_checks=$((skip_checks + g_skip))
    [ $g_fail -gt 0 ] && bad_groups="$bad_groups $name"
done <<< "$GROUP_TABLE"

echo "1..$total"
echo "# total: $passed_checks passed, $failed_checks failed, $todo_checks todo, $skip_checks skipped${bad_groups:+; failed groups:$bad_groups}"
[ $failed_checks = 0 ]
