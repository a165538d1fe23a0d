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
    scripts/timing-report.py --workload DIR --params P --out DIR  (make compare)

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
import os
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


# ---------------------------------------------------------------------
# --workload: the tables of make compare (scripts/compare.sh)
# ---------------------------------------------------------------------

# The L1 costs of tests/guest/compare.c, charged as counted instructions
# (1 instruction = 1 ns of virtual time under -icount shift=0).
L1_COSTS = [
    ('irq', 'hard interrupt entry and exit, every L1 interrupt', 'assumption'),
    ('thread', 'GA log: waking Linux\'s threaded GA log handler and '
     'switching to it', 'assumption'),
    ('entry', 'GA log: per entry, head/tail bookkeeping and the GATag '
     'hash lookup (the consumer cost; table 6 sweeps it)', 'assumption'),
    ('wake', 'kvm_vcpu_wake_up() of a blocked vCPU', 'assumption'),
    ('scan', 'GAPPI: reading one blocked vCPU\'s IRR (8 words)',
     'assumption'),
    ('sched', 'the woken vCPU\'s CPU: schedule in, vcpu_load (plus the '
     'IRTE update the L1 really does)', 'assumption'),
    ('exit', '#VMEXIT + VMRUN round trip: about 1,350 cycles on Zen at '
     '2.4 GHz', 'published figure (issue 12)'),
    ('inject', 'remap baseline: irqfd to KVM\'s injection', 'assumption'),
]
PARAM = re.compile(r'^\s*(timing-[a-z-]+)=<uint32>\s+-\s+(.*) '
                   r'\(default: (\d+)\)\s*$')


def load_points(directory):
    """name -> {key: value} from compare.sh's NAME.out files."""
    pts = {}
    for fn in sorted(os.listdir(directory)):
        if not fn.endswith('.out'):
            continue
        d = {}
        with open(os.path.join(directory, fn)) as f:
            for line in f:
                if line.startswith('# compare:') or line.startswith('# point:'):
                    for kv in line.split(':', 1)[1].split():
                        k, _, v = kv.partition('=')
                        d[k] = int(v) if v.isdigit() else v
        pts[d.get('name', fn[:-4])] = d
    return pts


def per(d, k, scale=1):
    """k per wake-up, 2 decimals."""
    w = d.get('wakeups', 0)
    return '%.2f' % (d.get(k, 0) * scale / w) if w else '-'


def table(title, head, rows, note=None):
    widths = [max(len(str(x)) for x in col) for col in zip(head, *rows)]
    # Words left, numbers right, as in a mail.
    left = [bool(rows) and not re.match(r'^[-0-9.]+[kM]?$', str(rows[0][i]))
            for i in range(len(head))]
    fmt = '  '.join(('%%-%ds' if l else '%%%ds') % w
                    for w, l in zip(widths, left))
    out = [title, '-' * len(title)]
    out.append((fmt % tuple(head)).rstrip())
    out += [(fmt % tuple(r)).rstrip() for r in rows]
    if note:
        out += ['  ' + n for n in note]
    return '\n'.join(out) + '\n'


def rate_str(r):
    if r >= 1000000 and r % 100000 == 0:
        return '%gM' % (r / 1e6)
    if r >= 1000 and r % 1000 == 0:
        return '%dk' % (r // 1000)
    return str(r)


def achieved(d):
    ns = d.get('virt_ns', 0)
    return rate_str(int(round(d['sent'] * 1e9 / ns, -3))) if ns else '-'


def lat_rows(pts, names):
    rows = []
    for n in names:
        d = pts.get(n)
        if not d:
            continue
        rows.append([d['mode'], d['vcpus'], rate_str(d['rate']), d['wakeups'],
                     d['coalesced'], d['p50'], d['p99'], d['max'],
                     per(d, 'host_irqs'), d['l1_ns_per_wakeup'],
                     '%.2f' % (d['entries_x100'] / 100.0)
                     if d['mode'] == 'galog' else '-',
                     d['lost']])
    return rows


LAT_HEAD = ['mode', 'vCPUs', 'rate/s', 'wakeups', 'coalesced', 'p50 ns',
            'p99 ns', 'max ns', 'host irq/wake', 'L1 ns/wake',
            'entries/GA irq', 'lost']


def workload_report(pts, params, note):
    out = []
    P = lambda *a: out.append(' '.join(str(x) for x in a))
    any_pt = next(iter(pts.values()))
    P('amd-iommu timing model: GA log vs GAPPI (make compare)')
    P('=======================================================')
    P()
    if note:
        P(note)
    P('Workload: tests/guest/compare.c (the test hypervisor as L1, its L2s as')
    P('vCPUs), -device amd-iommu,...,timing=on, -icount shift=0,sleep=off,')
    P('-accel tcg,thread=single, -rtc clock=vm.  CPU 0 raises edu\'s MSI round')
    P('robin over the vCPUs\' IRTEs; each vCPU halts after its interrupt and its')
    P('CPU blocks it as KVM does (IsRun=0, per-CPU blocked list).  galog: the GA')
    P('log interrupt goes to a CPU of its own, which wakes vCPUs by GATag lookup')
    P('and IPI.  gappi: the GAPPI vector goes to the blocking CPU, which scans')
    P('its blocked vCPUs\' IRRs.  Latency: virtual ns from the MSI write to the')
    P('L2\'s handler, for the oldest interrupt a delivery served (MSIs that')
    P('find one already pending coalesce into it: "coalesced").  "host irq":')
    P('L1 interrupts (GA log, kick IPIs, GAPPI, remapped).  "L1 ns": L1 time')
    P('in handlers and in the block/wake paths; at shift=0 1 ns = 1 instruction.')
    P('Rates are totals over the vCPUs, in MSIs per second of virtual time.')
    P()
    P('Parameters.  ALL ARE ASSUMPTIONS except where marked; reasoning in')
    P('docs/specs/amd-iommu-timing.rst.  Device model (cycles at timing-mhz):')
    for name, dflt, what in params:
        P('  %-22s %6s  %s' % (name, dflt, what))
    P('L1 work (instructions, tests/guest/compare.c; these values in this run):')
    for k, what, src in L1_COSTS:
        P('  %-7s %6s  %s [%s]' % (k, any_pt.get(k, '?'), what, src))
    P()
    P('Not modelled (see the docs): the virtual clock counts the instructions')
    P('of ALL CPUs (QEMU icount), so work that real CPUs do in parallel is')
    P('serialized in virtual time: multi-vCPU latencies are upper bounds, and')
    P('more so for GAPPI, whose handlers run on several CPUs.  No IRT cache')
    P('timing, no memory contention, no interrupt remapping cache misses.')
    P()

    # --- headline ---
    rows = []
    for m in ('galog', 'gappi'):
        for v in (1, 2, 4):
            for r in (100000, 400000):
                d = pts.get('lat-%s-v%d-r%d' % (m, v, r))
                if d:
                    rows.append([m, v, rate_str(r), d['p50'], d['p99'],
                                 per(d, 'host_irqs'), d['l1_ns_per_wakeup'],
                                 per(d, 'entries')])
    d = pts.get('lat-galog-v1-r100000-thread0')
    if d:
        rows.append(['galog thread=0', 1, '100k', d['p50'], d['p99'],
                     per(d, 'host_irqs'), d['l1_ns_per_wakeup'],
                     per(d, 'entries')])
    for m in ('galog', 'gappi'):
        d = pts.get('rr-%s-v1' % m)
        if d:
            rows.append([m + ' RR', 1, 'RR', d['p50'], d['p99'],
                         per(d, 'host_irqs'), d['l1_ns_per_wakeup'],
                         per(d, 'entries')])
    for m in ('running', 'remap'):
        d = pts.get('base-%s-v1-r100000' % m)
        if d:
            rows.append([m + ' (baseline)', 1, '100k', d['p50'], d['p99'],
                         per(d, 'host_irqs'), d['l1_ns_per_wakeup'],
                         per(d, 'entries')])
    onset = overflow_onsets(pts)
    note_h = []
    for e, r in onset:
        note_h.append('GA log overflow, 512 entries, consumer cost %s ns/entry, '
                      'vCPU woken 200 us late: %s' % (e, r))
    note_h.append('thread=0: the GA log without the assumed 2 us of waking '
                  'Linux\'s GA log IRQ thread.')
    note_h.append('RR: request/response, one request at a time, 20 us '
                  'think time (netperf TCP_RR-like).')
    note_h.append('Virtual ns under icount; every L1 cost is an assumption '
                  '(parameter block above).')
    out.append(table('Headline: wake-up of halted vCPUs, MSI to L2 handler '
                     '(baselines: vCPU running)',
                     ['mode', 'vCPUs', 'rate/s', 'p50 ns', 'p99 ns',
                      'host irq/wake', 'L1 ns/wake', 'GA entries/wake'],
                     rows, note_h))

    names = ['lat-%s-v%d-r%d' % (m, v, r) for m in ('galog', 'gappi')
             for v in (1, 2, 4) for r in (20000, 100000, 400000)]
    out.append(table('Table 1: wake-up latency vs rate and vCPUs (one vCPU per '
                     'CPU, halted between interrupts)', LAT_HEAD,
                     lat_rows(pts, names)))

    rows = []
    for m in ('running', 'remap'):
        for v, r in ((1, 20000), (1, 100000), (1, 400000), (4, 100000)):
            d = pts.get('base-%s-v%d-r%d' % (m, v, r))
            if d:
                rows.append([m, v, rate_str(r), d['wakeups'], d['p50'],
                             d['p99'], d['max'], per(d, 'host_irqs'),
                             per(d, 'intr_exits'), d['l1_ns_per_wakeup']])
    out.append(table('Table 2: baselines, the vCPU running (spinning): posted '
                     '(doorbell) and remapped (#VMEXIT, EVENTINJ)',
                     ['mode', 'vCPUs', 'rate/s', 'deliveries', 'p50 ns',
                      'p99 ns', 'max ns', 'host irq/wake', 'exits/wake',
                      'L1 ns/wake'], rows))

    names = ['burst-%s-v4-b%d' % (m, b) for m in ('galog', 'gappi')
             for b in (8, 32)]
    rows = lat_rows(pts, names)
    for r, n in zip(rows, [n for n in names if n in pts]):
        r.insert(3, pts[n]['burst'])
    head = LAT_HEAD[:3] + ['burst'] + LAT_HEAD[3:]
    out.append(table('Table 3: bursts (B back-to-back MSIs every B/rate s), '
                     '4 vCPUs', head, rows))

    rows = []
    for m in ('galog', 'gappi'):
        d = pts.get('rr-%s-v1' % m)
        if d:
            rows.append([m, d['sent'], d['p50'], d['p99'], d['max'],
                         per(d, 'host_irqs'), per(d, 'entries'),
                         per(d, 'gappi_irqs'), d['l1_ns_per_wakeup']])
    out.append(table('Table 4: request/response (netperf TCP_RR-like): one '
                     'request at a time, 20 us think time, vCPU halts between',
                     ['mode', 'requests', 'p50 ns', 'p99 ns', 'max ns',
                      'host irq/req', 'GA entries/req', 'GAPPIs/req',
                      'L1 ns/req'], rows))

    rows = []
    for m in ('galog', 'gappi'):
        for pc in (1, 2):
            d = pts.get('scan-%s-v4-p%d' % (m, pc))
            if d:
                rows.append([m, d['vcpus'], d['pcpus'], d['p50'], d['p99'],
                             per(d, 'host_irqs'), d['galog_irqs'],
                             d['gappi_irqs'], d['spurious'],
                             d.get('gappi_suppressed', '-'),
                             '%.2f' % (d['scan_avg_x100'] / 100.0)
                             if m == 'gappi' else '-',
                             d['scan_max'] if m == 'gappi' else '-'])
    for m in ('gappi',):
        for v in (1, 2, 4):
            d = pts.get('lat-%s-v%d-r100000' % (m, v))
            if d:
                rows.append([m, v, v, d['p50'], d['p99'], per(d, 'host_irqs'),
                             d['galog_irqs'], d['gappi_irqs'], d['spurious'],
                             d.get('gappi_suppressed', '-'),
                             '%.2f' % (d['scan_avg_x100'] / 100.0),
                             d['scan_max']])
    out.append(table('Table 5: notifications and GAPPI list scans, 4 vCPUs on '
                     '1 or 2 CPUs (and 1, 2, 4 on their own), 100k/s',
                     ['mode', 'vCPUs', 'CPUs', 'p50 ns', 'p99 ns',
                      'host irq/wake', 'GA irqs', 'GAPPIs', 'spurious',
                      'suppressed', 'scan avg', 'scan max'], rows,
                     ['spurious: a GAPPI whose scan woke nobody; suppressed: '
                      'MSIs for a blocked vCPU (IsRun=0) whose IRR',
                      'already had a bit, for which the IOMMU sends no GAPPI '
                      '(counted by the sender)']))

    rows = []
    for e in (200, 2000, 'gappi'):
        for r in (250000, 500000, 1000000, 2000000, 4000000):
            d = pts.get('ovf-rate-e%s-r%d' % (e, r) if e != 'gappi' else
                        'ovf-rate-gappi-r%d' % r)
            if d:
                rows.append(['galog' if e != 'gappi' else 'gappi',
                             e if e != 'gappi' else '-', rate_str(r),
                             achieved(d), d['entries'], d['galog_irqs'],
                             '%.2f' % (d['entries_x100'] / 100.0)
                             if e != 'gappi' else '-',
                             d['max_batch'], d['overflows'], d['gappi_irqs'],
                             d.get('gappi_suppressed', '-'), d['lost'],
                             d['p50'], d['p99']])
    out.append(table('Table 6: overload: GA log overflow vs rate, 512 entries, '
                     '1 vCPU woken 200 us late (overcommitted host), 20000 MSIs',
                     ['mode', 'entry cost', 'rate/s', 'achieved/s', 'entries',
                      'GA irqs', 'entries/irq', 'max batch', 'overflows',
                      'GAPPIs', 'suppressed', 'lost', 'p50 ns', 'p99 ns'], rows,
                     ['onset (lowest swept rate with an overflow): ' +
                      '; '.join('entry %s: %s' % o for o in onset),
                      'achieved: the generator shares the virtual clock with '
                      'the consumer (see the docs)']))

    rows = []
    for size in (512, 1024, 2048, 4096):
        tried = sorted((d['burst'], d['overflows']) for n, d in pts.items()
                       if n.startswith('ovf-size-s%d-' % size))
        if not tried:
            continue
        first = [b for b, o in tried if o]
        rows.append([size, ' '.join('%d:%d' % t for t in tried),
                     first[0] if first else 'none',
                     '%.2f' % (first[0] / size) if first else '-'])
    out.append(table('Table 7: GA log overflow onset vs its size: one burst '
                     'of B back-to-back MSIs to a blocked vCPU, entry cost 200',
                     ['entries', 'B:overflows tried', 'onset B', 'onset/size'],
                     rows))
    return '\n'.join(out)


def overflow_onsets(pts):
    res = []
    for e in (200, 2000):
        seen = [(r, pts['ovf-rate-e%d-r%d' % (e, r)]['overflows'])
                for r in (250000, 500000, 1000000, 2000000, 4000000)
                if 'ovf-rate-e%d-r%d' % (e, r) in pts]
        if not seen:
            continue
        first = [r for r, o in seen if o]
        res.append((e, rate_str(first[0]) + '/s' if first else
                    'none up to %s/s' % rate_str(seen[-1][0])))
    return res


def read_params(path):
    res = []
    if path and os.path.exists(path):
        with open(path) as f:
            for line in f:
                m = PARAM.match(line)
                if m:
                    res.append((m.group(1), m.group(3), m.group(2)))
    return res


PLOTS = {
    'latency-vs-rate': ('Wake-up latency vs rate (1 vCPU)', 'MSIs/s',
                        'latency ns', True),
    'latency-vs-vcpus': ('Wake-up latency vs vCPUs (100k MSIs/s)', 'vCPUs',
                         'latency ns', False),
    'overflow-onset': ('GA log overflow onset vs size (one burst)',
                       'GA log entries', 'smallest overflowing burst (MSIs)',
                       True),
}


def write_plots(pts, outdir):
    """SVGs with gnuplot; False (and one line on stderr) without it."""
    import shutil
    import subprocess
    if not shutil.which('gnuplot'):
        sys.stderr.write('compare: gnuplot not found (scripts/install-deps.sh '
                         'installs gnuplot-nox): no plots, report only\n')
        return False
    series = {}
    for m in ('galog', 'gappi'):
        series[('latency-vs-rate', m)] = [
            (r, pts[n]['p50'], pts[n]['p99'])
            for r in (20000, 100000, 400000)
            for n in ['lat-%s-v1-r%d' % (m, r)] if n in pts]
        series[('latency-vs-vcpus', m)] = [
            (v, pts[n]['p50'], pts[n]['p99'])
            for v in (1, 2, 4)
            for n in ['lat-%s-v%d-r100000' % (m, v)] if n in pts]
    for m in ('running', 'remap'):
        series[('latency-vs-rate', m)] = [
            (r, pts[n]['p50'], pts[n]['p99'])
            for r in (20000, 100000, 400000)
            for n in ['base-%s-v1-r%d' % (m, r)] if n in pts]
    ons = []
    for size in (512, 1024, 2048, 4096):
        first = sorted(d['burst'] for n, d in pts.items()
                       if n.startswith('ovf-size-s%d-' % size) and
                       d['overflows'])
        if first:
            ons.append((size, first[0], first[0]))
    series[('overflow-onset', 'galog')] = ons
    for plot, (title, xl, yl, logx) in PLOTS.items():
        mine = [(m, pts_) for (p, m), pts_ in sorted(series.items())
                if p == plot and pts_]
        if not mine:
            continue
        gp = ['set terminal svg size 720,480 dynamic enhanced',
              'set output "%s"' % os.path.join(outdir, plot + '.svg'),
              'set title "%s"' % title, 'set xlabel "%s"' % xl,
              'set ylabel "%s"' % yl, 'set key top left', 'set grid',
              'set logscale y' if plot != 'overflow-onset' else '',
              'set logscale x 2' if plot == 'overflow-onset' else
              ('set logscale x' if logx else 'set xtics 1')]
        plots = []
        for m, data in mine:
            dat = os.path.join(outdir, '%s-%s.dat' % (plot, m))
            with open(dat, 'w') as f:
                for row in data:
                    f.write(' '.join(str(x) for x in row) + '\n')
            if plot == 'overflow-onset':
                plots.append('"%s" using 1:2 with linespoints title "onset"'
                             % dat)
            else:
                plots.append('"%s" using 1:2 with linespoints title "%s p50"'
                             % (dat, m))
                plots.append('"%s" using 1:3 with linespoints dashtype 2 '
                             'title "%s p99"' % (dat, m))
        gp.append('plot ' + ', '.join(plots))
        subprocess.run(['gnuplot'], input='\n'.join(gp) + '\n', text=True,
                       check=True)
    return True


def workload_main(args):
    pts = load_points(args.workload)
    if not pts:
        sys.stderr.write('timing-report: no points in %s\n' % args.workload)
        return 1
    text = workload_report(pts, read_params(args.params), args.note)
    out = args.out or '.'
    with open(os.path.join(out, 'report.txt'), 'w') as f:
        f.write(text)
    # The headline on its own, for the docs and the README.
    head = text[text.index('Headline:'):text.index('Table 1:')]
    with open(os.path.join(out, 'headline.txt'), 'w') as f:
        f.write(head)
    if not args.no_plots:
        write_plots(pts, out)
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('trace', nargs='?')
    ap.add_argument('--workload', metavar='DIR',
                    help='make compare: the tables from DIR/*.out')
    ap.add_argument('--params', help='with --workload: amd-iommu,help output')
    ap.add_argument('--out', help='with --workload: where report.txt goes')
    ap.add_argument('--note', help='with --workload: a line for the header')
    ap.add_argument('--no-plots', action='store_true',
                    help='with --workload: no gnuplot')
    ap.add_argument('--csv', help='write the timeline here')
    ap.add_argument('--summary', help='write the percentiles here')
    ap.add_argument('--check', action='store_true',
                    help='exit 1 if a notification came before its delay '
                         'or never (the trace must include amdvi_timing_config)')
    args = ap.parse_args()
    if args.workload:
        return workload_main(args)
    if not args.trace:
        ap.error('a trace file, or --workload DIR')

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
