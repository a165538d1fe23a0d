#!/bin/bash
# Coverage of our IOMMU files by a fuzz corpus: replay the corpus once
# (-runs=0) with libFuzzer's -print_coverage=1, which lists, for every
# instrumented function, the SanitizerCoverage edges the corpus reached
# ("COVERED_FUNC: hits: H edges: C/T name file:line", or
# "UNCOVERED_FUNC" with none) and the source line of every edge it did
# not.  This sums them per file of ours (hw/i386/amd_iommu_*.c,
# amd_avic_*.c) and counts the distinct source lines with an uncovered
# edge.  Only hw/ is instrumented in the fuzz build (QEMU's
# instrumentation filter), and the qtest accelerator runs no guest
# code, so target/i386/tcg/system/avic.c is not measured (0).
#
#   tests/fuzz/coverage.sh [TARGET...]    # default: both targets
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
bin=build-fuzz/qemu-fuzz-x86_64
out=build-fuzz/fuzz-run
targets=("${@:-generic-fuzz amd-avic-fuzz}")
targets=(${targets[*]})

export QEMU_FUZZ_ARGS="-M q35 -cpu EPYC-Genoa,+svm,+avic,+x2avic \
-device amd-iommu,intremap=on,xtsup=on,gappi=on -device edu"
export QEMU_FUZZ_OBJECTS="amd-iommu amdvi-pci edu"
export ASAN_OPTIONS="detect_leaks=0:symbolize=1"

all=$out/coverage-all.txt
: > "$all"
for t in "${targets[@]}"; do
    mkdir -p "$out/$t"
    log=$out/$t/coverage.txt
    nice -n 10 "$bin" --fuzz-target="$t" -runs=0 -print_coverage=1 \
        -timeout=30 -rss_limit_mb=4096 \
        "build-fuzz/corpus/$t" "tests/fuzz/corpus/$t" > "$log" 2>&1
    echo "# $t: $(grep -c . "build-fuzz/corpus/$t"/* 2>/dev/null | wc -l) corpus inputs replayed ($log)"
    cat "$log" >> "$all"
done

# Per file: edges covered/total.  With two targets a function counts
# with the better of its two results (a lower bound of their union);
# an uncovered line is one some target left uncovered in a function it
# entered.
awk '
/^(COVERED|UNCOVERED)_FUNC:/ {
    n = split($0, w, " ")
    loc = w[n]; sub(/:[0-9]+$/, "", loc)
    if (loc !~ /hw\/i386\/amd_(iommu_[a-z]+|avic_[a-z]+)\.c$/) { cur = ""; next }
    file = loc; sub(/.*\//, "", file)
    fn = w[n - 1]
    split(w[5], e, "/"); c = e[1]; tot = e[2]
    key = file SUBSEP fn
    if (!(key in best) || c > best[key]) best[key] = c
    total[key] = tot; files[file] = 1; cur = file
    next
}
/^ *UNCOVERED_PC:/ && cur != "" { unc[cur SUBSEP $2] = 1 }
END {
    for (k in best) {
        split(k, p, SUBSEP)
        fc[p[1]] += best[k]; ft[p[1]] += total[k]; nf[p[1]]++
        if (best[k] > 0) hitf[p[1]]++
    }
    for (k in unc) { split(k, p, SUBSEP); ul[p[1]]++ }
    printf "0 %-24s %9s %18s %8s\n", "file", "functions", "edges", "uncovered lines"
    for (f in files) {
        printf "1 %-24s %4d/%-4d %5d/%-5d %5.1f%% %6d\n", f, hitf[f], nf[f], fc[f], ft[f],
               ft[f] ? 100 * fc[f] / ft[f] : 0, ul[f]
        C += fc[f]; T += ft[f]; HF += hitf[f]; NF += nf[f]
    }
    printf "2 %-24s %4d/%-4d %5d/%-5d %5.1f%%\n", "all", HF, NF, C, T, T ? 100 * C / T : 0
}' "$all" | sort | cut -c3-
