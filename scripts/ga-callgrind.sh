#!/bin/bash
# Instructions per interrupt through the AMD IOMMU, measured with
# callgrind in one QEMU run: N remapped-mode interrupts (GuestMode = 0,
# upstream's path), N posted ones with IsRun = 1 (IRR bit + doorbell),
# N posted ones with IsRun = 0 that append a GA log entry.
#   scripts/ga-callgrind.sh [N]          (default 16; needs valgrind)
#   TIMING=on scripts/ga-callgrind.sh [N]   the same with timing=on; the
#       posted interrupts' notifications then run later, in the timing
#       model's timer: a second QEMU run measures that callback
#       (amdvi_timing_fire, one dump per notification)
# Each interrupt is one callgrind dump (--dump-after=amdvi_mem_ir_write,
# collecting only inside it), so a dump holds exactly one interrupt:
# the IOMMU's remapping or posting plus, for remapped mode, the delivery
# to the local APIC.  Prints the median of each group and, per group,
# the inclusive cost of the main functions in one representative dump.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
n=${1:-16}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

ninja -C "$top/build" tests/qtest/amd-iommu-ga-test > /dev/null
opts=""
[ "${TIMING:-}" = on ] && opts=",timing=on"
# One QEMU under callgrind collecting (and dumping after) function $2
# only, into directory $1.
bench() {
    mkdir -p "$1"
    AMD_IOMMU_GA_BENCH=$n AMD_IOMMU_GA_BENCH_OPTS=$opts \
    G_TEST_DBUS_DAEMON=/bin/true \
    QTEST_QEMU_BINARY="valgrind --tool=callgrind --callgrind-out-file=$1/cg.%p \
--collect-atstart=no --toggle-collect=$2 --dump-after=$2 \
$top/build/qemu-system-x86_64" \
        "$top/build/tests/qtest/amd-iommu-ga-test" \
        -p /x86_64/amd-iommu-ga/bench --tap 2>/dev/null | grep -E '^(not )?ok'
}
summaries() {
    ls "$1" | grep -E '^cg\.[0-9]+\.[0-9]+$' | sort -t. -k3 -n |
        sed "s|^|$1/|" | xargs sed -n 's/^summary: //p'
}
median() { sort -n | sed -n "$(( (n + 1) / 2 ))p"; }
bench "$out" amdvi_mem_ir_write

# Dumps in order; the first ones come from machine reset (IOAPIC, IOMMU
# still off): the last 3N are ours.
mapfile -t dumps < <(ls "$out" | grep -E '^cg\.[0-9]+\.[0-9]+$' |
                     sort -t. -k3 -n | sed "s|^|$out/|")
total=${#dumps[@]}
[ "$total" -ge $((3 * n)) ] || { echo "only $total dumps" >&2; exit 1; }
first=$((total - 3 * n))

funcs='amdvi_mem_ir_write$|amdvi_int_remap_msi$|apic_send_msi$|amdvi_get_dte$|amdvi_ga_read_irte$|amdvi_ga_post$|amdvi_ga_map_ram$|amd_avic_doorbell_ring$|amdvi_galog_append$|amdvi_timing_defer$'
for g in 0 1 2; do
    name=("remapped (GuestMode = 0)" "posted, IsRun = 1 (doorbell)" \
          "posted, IsRun = 0 (GA log entry)")
    ir=()
    for ((i = first + g * n; i < first + (g + 1) * n; i++)); do
        ir+=("$(sed -n 's/^summary: //p' "${dumps[$i]}")")
    done
    median=$(printf '%s\n' "${ir[@]}" | sort -n | sed -n "$(( (n + 1) / 2 ))p")
    echo "${name[$g]}: median $median instructions per interrupt" \
         "(min $(printf '%s\n' "${ir[@]}" | sort -n | head -1)," \
         "max $(printf '%s\n' "${ir[@]}" | sort -n | tail -1))"
    callgrind_annotate --inclusive=yes --auto=no "${dumps[$((first + g * n + n / 2))]}" \
        2>/dev/null | sed -E 's| \[[^]]*\]$||' |
        grep -E "^ *[0-9,]+ .*/[^/ ]+\.c:($funcs)" |
        sed -E 's|[^ ]*/([^/ ]+:)|\1|; s/^/    /' | awk '!seen[$NF]++'
done

# timing=on: the notifications, run by the timer (the last 2N dumps:
# N doorbells, then N GA log entries).
if [ -n "$opts" ]; then
    bench "$out/timer" amdvi_timing_fire
    mapfile -t t < <(summaries "$out/timer" | tail -n $((2 * n)))
    [ "${#t[@]}" = $((2 * n)) ] || { echo "only ${#t[@]} timer dumps" >&2; exit 1; }
    echo "timer, doorbell notification: median" \
         "$(printf '%s\n' "${t[@]:0:n}" | median) instructions"
    echo "timer, GA log notification: median" \
         "$(printf '%s\n' "${t[@]:n:n}" | median) instructions"
fi
