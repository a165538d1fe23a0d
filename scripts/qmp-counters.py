#!/usr/bin/env python3
"""Read our counters from a running QEMU over QMP, then make it quit.

    qmp-counters.py SOCKET [IOMMU-QOM-PATH]

Prints one "name value" line per counter: the IOMMU's "ga-*" properties
(docs/specs/amd-iommu-ga.rst) and the "avic-*" properties of every CPU
(docs/specs/amd-avic.rst), summed over the CPUs.
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

    def counters(self, path, prefix):
        return {p["name"]: self.cmd("qom-get", path=path, property=p["name"])
                for p in self.cmd("qom-list", path=path)
                if p["name"].startswith(prefix)}


def main():
    qmp = Qmp(sys.argv[1])
    iommu = sys.argv[2] if len(sys.argv) > 2 else "/machine/peripheral/iommu"
    for name, value in sorted(qmp.counters(iommu, "ga-").items()):
        print(f"{name} {value}")
    totals = {}
    for cpu in qmp.cmd("query-cpus-fast"):
        for name, value in qmp.counters(cpu["qom-path"], "avic-").items():
            totals[name] = totals.get(name, 0) + value
    for name, value in sorted(totals.items()):
        print(f"{name} {value}")
    try:
        qmp.cmd("quit")
    except (OSError, ValueError):
        pass


if __name__ == "__main__":
    main()
