#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Turn a trace of the amd-iommu timing model into a timeline.

QEMU with -device amd-iommu,...,timing=on and
-trace 'amdvi_timing_*',file=TRACE writes the model's delay per path
(amdvi_timing_config) and one line per step of each posted interrupt,
with its virtual time in ns:

    amdvi_timing_step id 7 step msi path galog t 1234567

Steps: msi (the MSI write reached the IOMMU), irr (modelled end of the
IRTE fetch and IRR write; the bit itself is visible at msi), due (when
the model schedules the notification), notify or early (when it ran;
early = the queue was full), then what it did: doorbell, galog-entry,
galog-intr, galog-overflow, gappi-intr, unnotified.

    scripts/timing-report.py TRACE [--csv OUT.csv] [--summary OUT.txt]

The CSV has one row per interrupt (times in ns of virtual time, empty
when a step did not happen); the summary gives, per path, the count and
the p50 / p99 / p99.9 latency from the MSI to the notification and to
the interrupt it raised.  Percentiles are nearest-rank.  Both depend
only on the trace, so two runs with the same timeline give the same
bytes (docs/specs/amd-iommu-timing.rst).
"""

import argparse
import csv
import math
import re
import sys

STEP = re.compile(r'amdvi_timing_step id (\d+) step (\S+) path (\S+) '
                  r't (-?\d+)')
CONFIG = re.compile(r'amdvi_timing_config path (\S+): notification (\d+) ns')
COLUMNS = ['msi', 'irr', 'due', 'notify', 'early', 'doorbell',
           'galog-entry', 'galog-intr', 'galog-overflow', 'gappi-intr',
           'unnotified']
# The step that tells the CPU, per path (the end of "raised" latency).
RAISED = {'doorbell': 'doorbell', 'galog': 'galog-intr',
          'gappi': 'gappi-intr'}


def parse(lines):
    """The interrupts, by id, and the model's delay per path."""
    irqs = {}
    delays = {}
    for line in lines:
        m = CONFIG.search(line)
        if m:
            delays[m.group(1)] = int(m.group(2))
            continue
        m = STEP.search(line)
        if not m:
            continue
        ident, step, path, t = (int(m.group(1)), m.group(2), m.group(3),
                                int(m.group(4)))
        irq = irqs.setdefault(ident, {'id': ident, 'path': path})
        irq[step] = t
    return [irqs[k] for k in sorted(irqs)], delays


def notified_at(irq):
    return irq.get('notify', irq.get('early'))


def percentile(values, p):
    """Nearest-rank percentile of a sorted list."""
    rank = max(1, math.ceil(p / 100.0 * len(values)))
    return values[rank - 1]


def write_csv(irqs, out):
    w = csv.writer(out, lineterminator='\n')
    w.writerow(['id', 'path'] + COLUMNS + ['notify_latency_ns',
                                           'raised_latency_ns'])
    for irq in irqs:
        n = notified_at(irq)
        raised = irq.get(RAISED.get(irq['path'], ''), None)
        w.writerow([irq['id'], irq['path']] +
                   [irq.get(c, '') for c in COLUMNS] +
                   ['' if n is None or 'msi' not in irq else n - irq['msi'],
                    '' if raised is None or 'msi' not in irq
                    else raised - irq['msi']])


def summary(irqs, delays):
    out = []
    if delays:
        out.append('model: ' + ', '.join('%s %d ns' % (p, delays[p])
                                         for p in sorted(delays)))
    out.append('%-9s %7s  %-8s %9s %9s %9s %9s %9s' %
               ('path', 'count', 'latency', 'min ns', 'p50 ns', 'p99 ns',
                'p99.9 ns', 'max ns'))
    for path in sorted({i['path'] for i in irqs}):
        mine = [i for i in irqs if i['path'] == path and 'msi' in i]
        for what, end in (('notify', notified_at),
                          ('raised', lambda i: i.get(RAISED.get(path, '')))):
            lat = sorted(end(i) - i['msi'] for i in mine
                         if end(i) is not None)
            if not lat:
                continue
            out.append('%-9s %7d  %-8s %9d %9d %9d %9d %9d' %
                       (path, len(lat), what, lat[0], percentile(lat, 50),
                        percentile(lat, 99), percentile(lat, 99.9),
                        lat[-1]))
    early = sum(1 for i in irqs if 'early' in i)
    pending = sum(1 for i in irqs if notified_at(i) is None)
    out.append('interrupts %d, early (queue full) %d, still in flight %d' %
               (len(irqs), early, pending))
    return '\n'.join(out) + '\n'


def check(irqs, delays):
    """What no timeline may show: a notification before its path's
    delay (unless the full queue made it early), or none at all."""
    soon = [i['id'] for i in irqs
            if 'notify' in i and 'msi' in i and i['path'] in delays and
            i['notify'] - i['msi'] < delays[i['path']]]
    lost = [i['id'] for i in irqs if notified_at(i) is None]
    sys.stdout.write('check: %d interrupts, %d notified before the model\'s '
                     'delay %s, %d never notified %s\n' %
                     (len(irqs), len(soon), soon[:5], len(lost), lost[:5]))
    return bool(irqs) and bool(delays) and not soon and not lost


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('trace')
    ap.add_argument('--csv', help='write the timeline here')
    ap.add_argument('--summary', help='write the percentiles here')
    ap.add_argument('--check', action='store_true',
                    help='exit 1 if a notification came before its delay '
                         'or never (the trace must include amdvi_timing_config)')
    args = ap.parse_args()

    with open(args.trace, errors='replace') as f:
        irqs, delays = parse(f)
    if args.csv:
        with open(args.csv, 'w') as f:
            write_csv(irqs, f)
    text = summary(irqs, delays)
    if args.summary:
        with open(args.summary, 'w') as f:
            f.write(text)
    sys.stdout.write(text)
    if args.check:
        return 0 if check(irqs, delays) else 1
    return 0 if irqs else 1


if __name__ == '__main__':
    sys.exit(main())
