#!/bin/bash
# Live-migrate the Linux L1 while its L2 takes interrupts: the e2e
# "running" phase (tests/linux/l2-edu.c: KVM runs an L2 to which edu is
# assigned with VFIO; each MSI is posted by our IOMMU into the L2
# vCPU's backing page and rung in with a doorbell), on a QEMU that is
# migrated MIGRATIONS times (two QEMUs at a time on this machine, a unix
# socket, -incoming) while the L2 runs.  Then the L2's own count must be
# delivered == sent, and L1's kernel log must have no new error: every
# dmesg line at level err or worse, or with WARNING:, BUG:, Oops,
# "Call Trace" or "AMD-Vi: Event logged", that was not there before the
# L2 started (the wrapper /bin/l2-migrate prints both lists).
#
#   tests/linux/migrate-l1.sh [-k KERNEL] [-m MIGRATIONS] [COUNT]
# KERNEL: a pin (scripts/pins.sh; default the first) or paths, as for
# run-linux.sh.  COUNT: MSIs the L2 takes (default 2,000,000: 10-20
# seconds of the L2 running, whatever the host's load).
# TAP on stdout; logs in build/linux/migrate-l1-*.
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/scripts/pins.sh"
. "$top/tests/linux/tap.sh"
kernel=
migrations=2
while getopts k:m: opt; do
    case $opt in
    k) kernel=$OPTARG ;;
    m) migrations=$OPTARG ;;
    *) exit 2 ;;
    esac
done
shift $((OPTIND - 1))
count=${1:-2000000}
[ -z "$kernel" ] && kernel=${KERNEL:-${LINUX_PINS%% *}}

qemu=$top/build/qemu-system-x86_64
logs=$top/build/linux
mkdir -p "$logs"
work=$(mktemp -d /tmp/qemu-avic-migrate-l1.XXXXXX)
trap 'rm -rf "$work"' EXIT

# The initramfs, as run-linux.sh makes it, plus the wrapper.
tree=$("$top/scripts/fetch-linux.sh" "$kernel") || {
    echo "Bail out! no kernel '$kernel'"; exit 1; }
progs=()
for src in "$top"/tests/linux/*.c; do
    prog=$logs/$(basename "$src" .c)
    if [ ! -x "$prog" ] ||
       [ -n "$(find "$src" "$top"/tests/linux/vmm -newer "$prog")" ]; then
        gcc -static -O2 -pthread -Wall -Werror -I"$top/tests/linux" \
            -o "$prog" "$src" "$top"/tests/linux/vmm/*.c || exit 1
    fi
    progs+=(-b "$prog")
done
cat > "$work/l2-migrate" <<'EOF'
#!/bin/sh
# l2-migrate ARGS: l2-edu ARGS, with L1's kernel errors before and after.
errors() {
    dmesg -r | grep -E '^<[0-3]>|WARNING:|BUG:|Oops|Call Trace|AMD-Vi: Event logged'
}
errors > /tmp/errors.before
echo "l2-migrate: dmesg errors before the run: $(wc -l < /tmp/errors.before)"
sed 's/^/l2-migrate: before: /' /tmp/errors.before
l2-edu "$@"
rc=$?
errors > /tmp/errors.after
grep -vxF -f /tmp/errors.before /tmp/errors.after > /tmp/errors.new
echo "l2-migrate: new dmesg errors after the run: $(wc -l < /tmp/errors.new)"
sed 's/^/l2-migrate: new: /' /tmp/errors.new
exit $rc
EOF
chmod +x "$work/l2-migrate"
initrd=$work/initramfs.cpio.gz
"$top/scripts/mk-initramfs.sh" "${progs[@]}" -b "$work/l2-migrate" "$initrd" "$tree" \
    kvm-amd vfio-pci vfio_iommu_type1 > "$work/mk.log" 2>&1 || {
    cat "$work/mk.log"; echo "Bail out! mk-initramfs.sh failed"; exit 1; }

append="console=ttyS0 panic=-1 quiet no_timer_check qa.kvm_amd=avic=1"
append="$append qa.run=l2-migrate,$count,running qa.need=kvm,vfio,iommu"
# amd-iommu migrates only with its PCI function made on its own (pci-id).
args=(-display none -vga none -nic none -no-reboot -m 1G -monitor none
      -M q35 -accel tcg -cpu EPYC-Genoa,+svm,+avic,+x2avic -smp 2
      -device AMDVI-PCI,id=iommupci
      -device amd-iommu,pci-id=iommupci,id=iommu,xtsup=on,gappi=on
      -device edu -kernel "$tree/vmlinuz" -initrd "$initrd" -append "$append")

start=$SECONDS
out=$(python3 - "$qemu" "$work" "$logs" "$migrations" "${args[@]}" <<'EOF'
import importlib.util, os, re, subprocess, sys, time
qemu, work, logs, migrations = sys.argv[1:5]
args = sys.argv[5:]
top = os.path.dirname(os.path.dirname(logs))
sys.dont_write_bytecode = True
spec = importlib.util.spec_from_file_location(
    "qmp_counters", os.path.join(top, "scripts", "qmp-counters.py"))
mod = importlib.util.module_from_spec(spec)
spec.loader.exec_module(mod)

def start(n, incoming=None):
    log = os.path.join(logs, f"migrate-l1-{n}.log")
    sock = os.path.join(work, f"qmp{n}")
    cmd = [qemu] + args + ["-serial", f"file:{log}",
                           "-qmp", f"unix:{sock},server=on,wait=off"]
    if incoming:
        cmd += ["-incoming", incoming]
    err = open(log + ".stderr", "w")
    p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                         stdout=subprocess.DEVNULL, stderr=err)
    for _ in range(300):
        if p.poll() is not None:
            raise SystemExit(f"QEMU {n} exited ({p.returncode})")
        try:
            return p, mod.Qmp(sock), log
        except (FileNotFoundError, ConnectionRefusedError):
            time.sleep(0.1)
    raise SystemExit(f"QEMU {n}: no QMP")

def text(logs_):
    s = ""
    for log in logs_:
        try:
            s += open(log, errors="replace").read()
        except FileNotFoundError:
            pass
    return s.replace("\r", "")

procs = []
try:
    p, q, log = start(0)
    procs.append(p)
    seen = [log]
    t0 = time.time()
    # The L2 runs from "step: L2 start" until its report line.
    while time.time() - t0 < 600 and p.poll() is None:
        if "l2-edu: step: L2 start" in text(seen):
            break
        time.sleep(0.2)
    else:
        print("migrate-l1: the L2 never started")
    print(f"migrate-l1: L2 started at {time.time() - t0:.0f} s")
    for i in range(1, int(migrations) + 1):
        time.sleep(1)
        if "l2-edu: mode running" in text(seen):
            print(f"migrate-l1: migration {i}: the L2 had already finished")
            break
        uri = f"unix:{work}/mig{i}"
        p2, q2, log2 = start(i, uri)
        procs.append(p2)
        q.cmd("migrate", uri=uri)
        while True:
            info = q.cmd("query-migrate")
            if info.get("status") in ("completed", "failed", "cancelled"):
                break
            time.sleep(0.1)
        done = "l2-edu: mode running" in text(seen)
        print(f"migrate-l1: migration {i}: {info.get('status')}, "
              f"{info.get('total-time', '?')} ms, downtime "
              f"{info.get('downtime', '?')} ms, L2 "
              f"{'finished' if done else 'still running'}")
        if info.get("status") != "completed":
            p2.kill()
            break
        q.cmd("quit")
        p.wait(timeout=60)
        p, q, log = p2, q2, log2
        seen.append(log)
    try:
        rc = p.wait(timeout=600)
    except subprocess.TimeoutExpired:
        rc = None
    print(f"migrate-l1: last QEMU exited with status {rc}")
    for line in text(seen).splitlines():
        if line.startswith("qa: "):
            print(line)
finally:
    for p in procs:
        if p.poll() is None:
            p.kill()
EOF
)
secs=$((SECONDS - start))
echo "$out" | grep -E '^migrate-l1:|l2-edu: mode|l2-migrate:|run status' | sed 's/^/# /'
ndone=$(grep -c 'migrate-l1: migration [0-9]*: completed, .* L2 still running' <<< "$out")
check "migrate-l1: $ndone of $migrations migrations completed while the L2 took interrupts" \
    test "$ndone" = "$migrations"
check "migrate-l1: the L2 took every MSI after them (sent $count delivered $count)" \
    says "sent $count delivered $count"
check "migrate-l1: L1 ran it to the end (run status 0, last QEMU exited 0)" \
    eval 'says "run status: 0" && says "last QEMU exited with status 0"'
check "migrate-l1: L1: AMD-Vi: Virtual APIC enabled" \
    says "AMD-Vi: Virtual APIC enabled"
check "migrate-l1: no new error in L1's kernel log ($(grep -o 'new dmesg errors after the run: [0-9]*' <<< "$out"))" \
    says "new dmesg errors after the run: 0"
echo "# migrate-l1: Linux $kernel, $count MSIs, ${secs} s"
echo "1..$n"
exit $failed
