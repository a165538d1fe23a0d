#!/usr/bin/env python3
"""Read our counters from a running QEMU over QMP, then make it quit.

    qmp-counters.py [--no-quit] SOCKET [IOMMU-QOM-PATH]

Prints one "name value" line per counter: the "ga-*" counters of the
amd-iommu at IOMMU-QOM-PATH (default /machine/peripheral/iommu;
docs/specs/amd-iommu-ga.rst) and the "avic-*" counters of every CPU
(docs/specs/amd-avic.rst), summed over the CPUs.  One QMP command reads
them all: x-query-amd-avic-counters (hw/i386/amd_avic_monitor.c), whose
text has a header line per object ("PATH (amd-iommu):", "CPU N
(PATH):", "all CPUs:") followed by "  name value" lines.
"""

import json
import socket
import sys


class Qmp:
    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(path)
        self.file = self.sock.makefile("rw")
        self.recv()                                 # the greeting
        self.cmd("qmp_capabilities")

    def recv(self):
        while True:
            msg = json.loads(self.file.readline())
            if "event" not in msg:
                return msg

    def cmd(self, name, **args):
        self.file.write(json.dumps({"execute": name, "arguments": args}))
        self.file.flush()
        reply = self.recv()
        if "error" in reply:
            raise RuntimeError(f"{name}: {reply['error']['desc']}")
        return reply["return"]


def sections(text):
    """x-query-amd-avic-counters' text as (header, {name: value}) pairs."""
    out = []
    for line in text.splitlines():
        if not line.startswith(" "):
            out.append((line.rstrip(":"), {}))
        elif out and len(line.split()) == 2:
            name, value = line.split()
            out[-1][1][name] = int(value)
    return out


def counters(text, iommu):
    """The IOMMU's ga-* counters and the per-CPU avic-* ones, summed."""
    found = None
    totals = {}
    for header, values in sections(text):
        if header == f"{iommu} (amd-iommu)":
            found = values
        elif header.startswith("CPU "):
            for name, value in values.items():
                totals[name] = totals.get(name, 0) + value
    if found is None:
        raise RuntimeError(f"no amd-iommu at {iommu} in"
                           " x-query-amd-avic-counters")
    return found, totals


def main():
    args = sys.argv[1:]
    quit_after = "--no-quit" not in args
    args = [a for a in args if a != "--no-quit"]
    qmp = Qmp(args[0])
    iommu = args[1] if len(args) > 1 else "/machine/peripheral/iommu"
    text = qmp.cmd("x-query-amd-avic-counters")["human-readable-text"]
    ga, avic = counters(text, iommu)
    for name, value in sorted(ga.items()) + sorted(avic.items()):
        print(f"{name} {value}")
    if quit_after:
        try:
            qmp.cmd("quit")
        except (OSError, ValueError):
            pass


if __name__ == "__main__":
    main()
