#!/usr/bin/env python3
"""Live-migrate the test hypervisor while its stress test runs.

    tests/guest/migrate.py                  # short: make check's 'migrate'
    tests/guest/migrate.py --long           # the full stress, 10 migrations
    tests/guest/migrate.py --savevm only    # just the savevm/loadvm part
    tests/guest/migrate.py --image stress --migrations 6 --interval 3
    (a guest that finishes before the last of these is not a failure)

One QEMU runs a tests/guest image (default migrate-stress: the stress
test with 30,000 interrupts per mode).  At each migration point a new
QEMU is started on this machine with -incoming on a unix socket and the
running one migrates to it over QMP, then quits; the guest goes on in
the new one.  The short run migrates twice in each of the stress test's
three phases (CPU-only self-check, GA log mode, GAPPI mode), 0.1-0.3 s
after the guest's output shows the phase has begun and 0.2 s later, so
the interrupts are flowing whatever the machine's speed; each check line says which
phase the migration landed in.  --migrations N migrates every
--interval seconds instead.  The guest's TAP (its serial output, spread over the QEMUs) is
printed renumbered, after one check per migration.  It passes when every
migration completed while the guest was running, every guest check
passed (delivered == sent in each mode, after all the migrations), and
the last QEMU ends with the guest's "pass" (isa-debug-exit status 1).

Then (unless --savevm no) savevm/loadvm during GA log bursts: the
savevm-galog image stops at each of its 4 bursts (32 GA log entries
written and not read, both vCPUs blocked with IsRun = 0, the GA log
interrupt pending at CPU 0); the VM is stopped, its GA log ring, tail
buffer, head/tail/status registers, backing-page IRRs and CPU 0's local
APIC IRR are read, savevm (to a qcow2 image QEMU itself makes), the
round runs, and at the next stop loadvm brings that state back: it must
read the same, and the round runs again.  Every round's guest count,
before and after each restore, must be delivered == sent == entries.

QEMU= (binary), QEMU_AVIC_BUILD= (build dir) and OUT= (images) as for
tests/guest/run.sh.
"""

import argparse
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
# The QMP client of scripts/qmp-counters.py (no __pycache__ left in
# the tree: tests/ is overlaid onto qemu/).
sys.dont_write_bytecode = True
_spec = importlib.util.spec_from_file_location(
    "qmp_counters", os.path.join(TOP, "scripts", "qmp-counters.py"))
_qmp = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_qmp)
Qmp = _qmp.Qmp

# As tests/guest/run.sh's stress line, with the IOMMU's PCI function
# created on its own: amd-iommu migrates only that way (pci-id).
ARGS = """-nodefaults -M q35 -accel tcg -m 256M -display none -vga none
  -nic none -serial stdio -no-reboot -device isa-debug-exit,iobase=0xf4,iosize=4
  -smp 3 -cpu EPYC-Genoa,+svm,+x2apic,+avic,+x2avic
  -device AMDVI-PCI,id=iommupci
  -device amd-iommu,pci-id=iommupci,intremap=on,xtsup=on,gappi=on
  -device edu""".split()

checks = 0
failed = 0


def report(ok, name):
    global checks, failed
    checks += 1
    failed += not ok
    print(f"{'ok' if ok else 'not ok'} {checks} - migrate/{name}", flush=True)
    return ok


class Vm:
    """One QEMU of the chain, its QMP socket and its output files."""

    def __init__(self, qemu, image, tmp, n, incoming, extra=(),
                 stdin=subprocess.DEVNULL):
        self.n = n
        self.out = os.path.join(tmp, f"out{n}")
        self.err = os.path.join(tmp, f"err{n}")
        qmp = os.path.join(tmp, f"qmp{n}")
        cmd = [qemu] + ARGS + list(extra) + [
            "-kernel", image, "-qmp", f"unix:{qmp},server=on,wait=off"]
        if incoming:
            cmd += ["-incoming", incoming]
        with open(self.out, "w") as out, open(self.err, "w") as err:
            self.proc = subprocess.Popen(cmd, stdout=out, stderr=err,
                                         stdin=stdin)
        for _ in range(300):
            if self.proc.poll() is not None:
                raise RuntimeError(f"QEMU {n} exited: {self.stderr()}")
            try:
                self.qmp = Qmp(qmp)
                return
            except (FileNotFoundError, ConnectionRefusedError):
                time.sleep(0.1)
        raise RuntimeError(f"QEMU {n}: no QMP")

    def stderr(self):
        with open(self.err) as f:
            return "\n".join(line for line in f.read().splitlines()
                             if "TCG doesn't support" not in line)

    def output(self):
        with open(self.out, errors="replace") as f:
            return f.read()

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


# The stress test's phases, in order, as its "# stress: mode=" lines
# (printed at the end of each) name them.
MODES = ["soft-post", "galog", "gappi"]
# What the guest prints as each phase begins.
PHASES = [r"^ok \d+ - stress/at least 3 CPUs",
          r"^# stress: mode=soft-post", r"^# stress: mode=galog"]


def wait_output(vms, pattern, timeout):
    """Wait until the guest's output so far matches @pattern."""
    deadline = time.time() + timeout
    while time.time() < deadline and vms[-1].proc.poll() is None:
        if re.search(pattern, "".join(vm.output() for vm in vms), re.M):
            return
        time.sleep(0.05)


def migrate(src, dst_uri, timeout):
    """Migrate @src to @dst_uri; the result of query-migrate."""
    try:
        src.qmp.cmd("migrate", uri=dst_uri)
        deadline = time.time() + timeout
        while time.time() < deadline:
            info = src.qmp.cmd("query-migrate")
            if info.get("status") in ("completed", "failed", "cancelled"):
                return info
            time.sleep(0.05)
    except (OSError, ValueError):
        src.proc.wait(timeout=30)
        return {"status": f"the source exited ({src.proc.returncode})"}
    return {"status": "timed out"}


def guest_tap(text):
    """The guest's TAP lines, renumbered into ours, and its counts."""
    ok = True
    lines = 0
    plan = None
    counts = None
    for line in text.splitlines():
        line = line.rstrip("\r")
        m = re.match(r"^(not ok|ok) \d+(.*)$", line)
        if m:
            lines += 1
            good = m.group(1) == "ok" or "# TODO" in m.group(2)
            ok &= good
            report(good, "guest" + m.group(2).replace(" - ", " ", 1))
        elif re.match(r"^1\.\.(\d+)$", line):
            plan = int(line[3:])
        elif line.startswith("# counts:"):
            counts = dict(kv.split("=") for kv in line.split()[2:])
            print(line)
        elif line.startswith("#"):
            print(line)
    return ok, lines, plan, counts


def make_qcow2(qemu, tmp, path, size=64 << 20):
    """A new empty qcow2 image at @path, made by QEMU itself (QMP
    blockdev-create: the build has no qemu-img)."""
    open(path, "wb").close()
    qmp_path = os.path.join(tmp, "qmp-mkimg")
    proc = subprocess.Popen(
        [qemu, "-machine", "none", "-nodefaults", "-display", "none",
         "-blockdev", f"driver=file,filename={path},node-name=img",
         "-qmp", f"unix:{qmp_path},server=on,wait=off"],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE)
    try:
        for _ in range(300):
            try:
                qmp = Qmp(qmp_path)
                break
            except (FileNotFoundError, ConnectionRefusedError):
                time.sleep(0.1)
        qmp.cmd("blockdev-create", **{"job-id": "mk", "options": {
            "driver": "qcow2", "file": "img", "size": size}})
        for _ in range(600):
            jobs = {j["id"]: j for j in qmp.cmd("query-jobs")}
            if jobs["mk"]["status"] == "concluded":
                break
            time.sleep(0.05)
        err = jobs["mk"].get("error")
        qmp.cmd("job-dismiss", id="mk")
        qmp.cmd("quit")
        if err:
            raise RuntimeError(f"blockdev-create: {err}")
    finally:
        proc.wait(timeout=30)


def hmp(vm, line):
    return vm.qmp.cmd("human-monitor-command", **{"command-line": line})


def xp_words(vm, addr, n):
    """@n 64-bit words of guest-physical memory (or MMIO) at @addr."""
    words = []
    for line in hmp(vm, f"xp /{n}gx {addr:#x}").splitlines():
        if ":" in line:
            words += [int(w, 16) for w in line.split(":", 1)[1].split()]
    return words


def galog_state(vm, point):
    """What savevm must keep of a GA log burst: the ring and the tail
    buffer in guest memory, the IOMMU's GA log head, tail and status,
    both backing pages' IRRs, and CPU 0's local APIC IRR (the GA log
    interrupt, still pending)."""
    st = {"ring": xp_words(vm, point["galog"], 512),
          "tailbuf": xp_words(vm, point["tailbuf"], 1),
          "head": xp_words(vm, point["mmio"] + 0x2040, 1),
          "tail": xp_words(vm, point["mmio"] + 0x2048, 1),
          "status": xp_words(vm, point["mmio"] + 0x2020, 1)}
    for b in ("backing0", "backing1"):
        st[b + "-irr"] = xp_words(vm, point[b] + 0x200, 16)[::2]
    lapic = hmp(vm, "info lapic 0")
    st["cpu0-irr"] = [line.strip() for line in lapic.splitlines()
                      if line.strip().startswith("IRR")]
    return st


POINT = re.compile(r"^# savevm-(?:point (\d+): pending=(\d+) galog=(\S+) "
                   r"tailbuf=(\S+) mmio=(\S+) backing0=(\S+) backing1=(\S+)"
                   r"|done)", re.M)


def wait_point(vm, count, timeout):
    """Wait for the guest's @count-th stop ("# savevm-point" or
    "# savevm-done"); the point's fields ({} for done), None if none."""
    deadline = time.time() + timeout
    while time.time() < deadline and vm.proc.poll() is None:
        found = POINT.findall(vm.output())
        if len(found) >= count:
            f = found[count - 1]
            if not f[0]:
                return {}
            keys = ("galog", "tailbuf", "mmio", "backing0", "backing1")
            return dict({"round": int(f[0]), "pending": int(f[1])},
                        **{k: int(v, 16) for k, v in zip(keys, f[2:])})
        time.sleep(0.05)
    return None


def go(vm):
    """Let the guest past its stop (a byte on COM1)."""
    vm.proc.stdin.write(b"g")
    vm.proc.stdin.flush()


def savevm_run(qemu, out, tmp, timeout):
    """savevm at each GA log burst of savevm-galog, run the round, then
    loadvm at the next burst and compare; the round runs again from the
    snapshot.  Every round's guest count must be delivered == sent."""
    image = os.path.join(out, "savevm-galog.elf")
    disk = os.path.join(tmp, "snap.qcow2")
    make_qcow2(qemu, tmp, disk)
    vm = Vm(qemu, image, tmp, "s", None,
            extra=["-drive", f"if=none,id=snap,format=qcow2,file={disk}"],
            stdin=subprocess.PIPE)
    restores = 0
    try:
        seen = 0
        for r in range(1, 5):
            seen += 1
            point = wait_point(vm, seen, timeout)
            if not report(point is not None and point["round"] == r and
                          point["pending"] == 32,
                          f"savevm round {r}: the guest reached the burst "
                          f"({point and point['pending']} GA log entries "
                          f"pending)"):
                break
            hmp(vm, "stop")
            before = galog_state(vm, point)
            print(f"# savevm burst{r}: GA log head {before['head'][0]:#x} "
                  f"tail {before['tail'][0]:#x} status {before['status'][0]:#x}"
                  f", CPU 0 {before['cpu0-irr'][0] if before['cpu0-irr'] else 'IRR ?'}")
            msg = hmp(vm, f"savevm burst{r}")
            saved = "Error" not in msg
            report(saved, f"savevm burst{r} with the burst in flight"
                   f"{': ' + msg.strip() if msg.strip() else ''}")
            if not saved:
                break
            vm.qmp.cmd("cont")
            go(vm)
            # The round runs; at the next stop, go back.
            seen += 1
            if wait_point(vm, seen, timeout) is None:
                report(False, f"savevm round {r}: the guest did not stop again")
                break
            hmp(vm, "stop")
            moved = galog_state(vm, point)
            changed = [k for k in before if before[k] != moved[k]]
            msg = hmp(vm, f"loadvm burst{r}")
            after = galog_state(vm, point)
            same = [k for k in before if before[k] == after[k]]
            diff = [k for k in before if before[k] != after[k]]
            restores += 1
            report("Error" not in msg and not diff,
                   f"loadvm burst{r}: GA log ring ({sum(1 for w in before['ring'] if w)} "
                   f"entries), tail buffer, head/tail/status registers, "
                   f"backing-page IRRs and CPU 0's pending GA log interrupt "
                   f"as at savevm ({len(same)} of {len(before)} the same, "
                   f"{len(changed)} had changed since"
                   f"{', differ: ' + ', '.join(diff) if diff else ''})"
                   f"{' ' + msg.strip() if msg.strip() else ''}")
            vm.qmp.cmd("cont")
            go(vm)
        if wait_point(vm, seen + 1, timeout) == {}:
            go(vm)                      # the last round ran again: finish
        try:
            rc = vm.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            rc = None
        text = vm.output()
        rounds = re.findall(r"^# round (\d+): sent (\d+) delivered (\d+) "
                            r"entries (\d+)(.*)$", text, re.M)
        good = [x for x in rounds if x[1] == x[2] == x[3] and not x[4].strip()]
        report(len(rounds) == 8 and len(good) == len(rounds),
               f"savevm: every round, before and after each restore, "
               f"delivered == sent == GA log entries ({len(good)} of "
               f"{len(rounds)} rounds, 8 expected)")
        gok, lines, plan, counts = guest_tap(text)
        report(rc == 1 and gok and plan is not None and lines == plan,
               f"savevm: the guest completed after {restores} restores "
               f"(status {rc}, {lines} of {plan} checks)")
        if rc != 1 and vm.stderr():
            print(f"# stderr: {vm.stderr()[:2000]}")
    finally:
        vm.kill()


def migrate_run(qemu, image, tmp, points, a, vms):
    """The migration chain: one check per migration, then the guest's."""
    print(f"# migrate: {qemu} {' '.join(ARGS)} -kernel {image}")
    start = time.time()
    vms.append(Vm(qemu, image, tmp, 0, None))
    for i, (phase, pause) in enumerate(points, 1):
        src = vms[-1]
        uri = f"unix:{tmp}/mig{i}"
        dst = Vm(qemu, image, tmp, i, uri)      # ready before the point
        if phase:
            wait_output(vms, phase, a.timeout)
        time.sleep(pause)
        if src.proc.poll() is not None:
            dst.kill()
            if phase is None and i > 1:
                # Every --interval: the guest was just faster.
                print(f"# migrate: the guest finished before "
                      f"migration {i}")
                break
            report(False, f"migration {i}: the guest had already "
                   f"finished (status {src.proc.returncode})")
            break
        vms.append(dst)
        info = migrate(src, uri, 60)
        done = info.get("status") == "completed"
        sofar = "".join(vm.output() for vm in vms)
        ran = "# result:" not in sofar
        modes = re.findall(r"^# stress: mode=(\S+)", sofar, re.M)
        during = next((m for m in MODES if m not in modes), "the end")
        report(done and ran,
               f"migration {i} at {time.time() - start:.1f} s, "
               f"during {during}: {info.get('status')}, "
               f"{info.get('total-time', '?')} ms, "
               f"downtime {info.get('downtime', '?')} ms"
               f"{'' if ran else ', but the guest had finished'}")
        if not done:
            print(f"# source stderr: {src.stderr()}")
            print(f"# destination stderr: {dst.stderr()}")
            dst.kill()          # the guest stays in the source
            vms.pop()
            break
        src.qmp.cmd("quit")
        src.proc.wait(timeout=30)

    last = vms[-1]
    try:
        rc = last.proc.wait(timeout=a.timeout)
    except subprocess.TimeoutExpired:
        rc = None
    text = "".join(vm.output() for vm in vms)
    ok, lines, plan, counts = guest_tap(text)
    report(rc == 1, f"the guest passed in the last QEMU (status {rc})")
    report(plan is not None and lines == plan,
           f"the guest ran all its checks ({lines} of {plan})")
    report(counts is not None and int(counts["sent"]) > 0 and
           counts["sent"] == counts["delivered"],
           "delivered == sent over all the migrations (" +
           (f"{counts['sent']} sent, {counts['delivered']} delivered"
            if counts else "no counts") + ")")
    if rc != 1:
        for vm in vms:
            if vm.stderr():
                print(f"# stderr {vm.n}: {vm.stderr()[:2000]}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--image", default="migrate-stress")
    ap.add_argument("--migrations", type=int, default=None,
                    help="migrate this many times, every --interval s")
    ap.add_argument("--interval", type=float, default=2,
                    help="seconds between migrations")
    ap.add_argument("--timeout", type=float, default=240)
    ap.add_argument("--long", action="store_true",
                    help="--image stress --migrations 10 (every --interval s)")
    ap.add_argument("--savevm", choices=("yes", "no", "only"), default="yes",
                    help="also savevm/loadvm during GA log bursts "
                    "(savevm-galog); 'only': nothing else")
    a = ap.parse_args()
    if a.long:
        a.image, a.migrations = "stress", a.migrations or 10
    if a.migrations is None:
        # Twice in each phase: 0.1-0.3 s after it begins, and again
        # 0.2 s after that migration (the self-check is the shortest
        # phase, 0.5 s on an idle host: its second one may land in the
        # GA log phase).
        points = []
        for phase, pause in zip(PHASES, [0.1, 0.3, 0.3]):
            points += [(phase, pause), (None, 0.2)]
    else:
        points = [(None, a.interval)] * a.migrations

    build = os.environ.get("QEMU_AVIC_BUILD", "build")
    build = os.path.join(TOP, build)
    qemu = os.environ.get("QEMU", os.path.join(build, "qemu-system-x86_64"))
    out = os.environ.get("OUT", os.path.join(TOP, "build", "guest"))
    if subprocess.call(["make", "-s", "-C", HERE, f"OUT={out}"],
                       stdout=sys.stderr) != 0:
        print("Bail out! build of tests/guest failed")
        return 2
    image = os.path.join(out, a.image + ".elf")

    tmp = tempfile.mkdtemp(prefix="qemu-avic-migrate-")
    vms = []
    start = time.time()
    try:
        if a.savevm != "only":
            migrate_run(qemu, image, tmp, points, a, vms)
        if a.savevm != "no":
            savevm_run(qemu, out, tmp, a.timeout)
        print(f"1..{checks}")
        print(f"# migrate: {checks - failed} passed, {failed} failed in "
              f"{time.time() - start:.1f} s")
        return 0 if failed == 0 else 1
    finally:
        for vm in vms:
            vm.kill()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
