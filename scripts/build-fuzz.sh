#!/bin/bash
# The libFuzzer build of QEMU for make fuzz: build-fuzz/, from the same
# qemu/ tree as build/ (./configure with QEMU_AVIC_BUILD=build-fuzz),
# with clang 14 (Debian's, libclang_rt.fuzzer from llvm-14),
# --enable-fuzzing, ASan and UBSan, and only what the fuzz targets need:
# x86_64-softmmu, no optional features, the device set
# configs/devices/x86_64-softmmu/amd-avic-fuzz.mak (patch 0071: q35, the
# AMD IOMMU, edu).  Builds qemu-fuzz-x86_64 and prints how long it took.
#
#   scripts/build-fuzz.sh            # configure if needed, build
#   JOBS=2 scripts/build-fuzz.sh     # ninja -j2
#   FUZZ_BUILD=DIR scripts/build-fuzz.sh   # DIR instead of build-fuzz/
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

build=${FUZZ_BUILD:-build-fuzz}
if ! command -v clang-14 >/dev/null ||
   ! ls /usr/lib/llvm-14/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a \
        >/dev/null 2>&1; then
    echo "build-fuzz: needs clang-14 and libclang_rt.fuzzer (apt-get install clang-14 libclang-rt-14-dev)" >&2
    exit 1
fi
export QEMU_AVIC_BUILD=$build
# Our configure puts --cc first; QEMU's configure takes the last one.
./configure --cc="$top/scripts/ccache-clang" --cxx="$top/scripts/ccache-clang++" \
    --enable-fuzzing --enable-asan --enable-ubsan \
    --without-default-devices --with-devices-x86_64=amd-avic-fuzz
start=$SECONDS
ninja ${JOBS:+-j"$JOBS"} -C "$build" qemu-fuzz-x86_64
# SeaBIOS where a binary in build-fuzz/ looks (as scripts/link-firmware.sh
# does for build/; the qtest accelerator needs no option ROM).
for dir in /usr/share/seabios /usr/lib/ipxe/qemu; do
    mkdir -p "$(dirname "$build/qemu-bundle$dir")"
    ln -sfn "$dir" "$build/qemu-bundle$dir"
done
echo "# build-fuzz: build took $((SECONDS - start)) s"
