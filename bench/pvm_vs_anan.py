#!/usr/bin/env python3
"""javm vs anan-as on the PVM assembly workloads of bench/workloads/*.s (driven by pvm_vs_anan.sh).

For every workload: assemble it with `javm asm`, run it on javm (`javm run --json`, best of
--javm-runs runs) and on each requested anan-as build (bench/anan_run.mjs, timed inside node
around the run call only), check that the engines agree on status, pc, the 13 registers and the
instruction count (anan-as charges 1 gas per instruction, so its count is its gas used), and print
a table of instructions per second and the javm / anan-as ratio.

Workload files declare what they need in header comments:
    ; bench-map: ADDR:LEN:rw        memory to map before the run (repeatable)
    ; bench-expect: status=halt r9=N ... instructions=N
                                    the documented result, checked on every engine

Exit status: 0 if every workload ran and all engines agreed, 1 otherwise (a mismatch is printed
loudly). Missing the 30x target is reported, not an error.
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ORDER = ['compute', 'memory', 'branchy', 'calls']
GAS = 10 ** 15
TARGET = 30.0
TIME_KEYS = ('wall_ns', 'time_ns', 'run_ns', 'elapsed_ns')
TIME_KEYS_S = ('wall_seconds', 'seconds', 'wall_time', 'time', 'elapsed')


def fail(msg):
    print('pvm_vs_anan: ' + msg, file=sys.stderr)


def workload_meta(path):
    maps, expect = [], {}
    with open(path) as f:
        for line in f:
            m = re.match(r'\s*[;#]+\s*bench-map:\s*(\S+)', line)
            if m:
                maps.append(m.group(1))
            m = re.match(r'\s*[;#]+\s*bench-expect:(.*)', line)
            if m:
                for kv in m.group(1).split():
                    k, _, v = kv.partition('=')
                    expect[k] = v if k == 'status' else int(v, 0)
    return {'maps': maps, 'expect': expect}


def check_expect(res, expect):
    """Differences between a result and the workload's documented bench-expect values."""
    diffs = []
    for k, v in expect.items():
        m = re.match(r'r([0-9]+)$', k)
        got = (res.get('regs') or [None] * 13)[int(m.group(1))] if m else res.get(k)
        if got != v:
            diffs.append('%s: got %s, the workload documents %s' % (k, got, v))
    return diffs


def run(cmd, timeout=900):
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout)
    return p.returncode, p.stdout.decode('utf-8', 'replace'), p.stderr.decode('utf-8', 'replace')


def last_json(text):
    for line in reversed(text.strip().splitlines()):
        line = line.strip()
        if line.startswith('{'):
            return json.loads(line)
    return json.loads(text)


def run_seconds(res):
    """The run time javm reports about itself, if its JSON carries one."""
    for k in TIME_KEYS:
        if isinstance(res.get(k), (int, float)):
            return res[k] / 1e9, k
    for k in TIME_KEYS_S:
        if isinstance(res.get(k), (int, float)):
            return float(res[k]), k
    return None, None


def javm_run(javm, engine, blob, meta, runs):
    """Runs the blob on javm: once with --json for the exact result, and for the timing either
    the run time the JSON reports (if it has one) or the "wall time" line of the text output
    (javm's own measurement around the run, without process start-up and loading)."""
    base = [javm, 'run', '--gas', str(GAS)]
    if engine != 'default':
        base += ['--engine', engine]
    for m in meta['maps']:
        base += ['--map', m]
    rc, out, err = run(base + ['--json', blob])
    if not out.strip():
        raise RuntimeError('javm run --json failed (exit %d): %s' % (rc, err.strip()))
    res = last_json(out)
    best, src = run_seconds(res)
    if best is not None:
        for _ in range(runs - 1):
            rc, out, err = run(base + ['--json', blob])
            r = last_json(out)
            if r.get('regs') != res.get('regs') or r.get('instructions') != res.get('instructions'):
                raise RuntimeError('two javm runs of the same program gave different results')
            best = min(best, run_seconds(r)[0])
    else:
        src = 'javm run "wall time"'
        for _ in range(runs):
            rc, out, err = run(base + [blob])
            m = re.search(r'^\s*wall time:\s*([0-9.eE+-]+)\s*s', out, re.M)
            n = re.search(r'^\s*instructions:\s*([0-9]+)', out, re.M)
            if not m or not n:
                raise RuntimeError('javm run printed no "wall time"/"instructions" (exit %d): %s'
                                   % (rc, (err or out).strip()[:200]))
            if int(n.group(1)) != res.get('instructions'):
                raise RuntimeError('javm run: instruction count differs between runs')
            s = float(m.group(1))
            best = s if best is None else min(best, s)
    res['_seconds'] = best
    res['_time_source'] = src
    return res


def anan_run(node, build, blob, meta, min_time, max_runs):
    cmd = [node, os.path.join(HERE, 'anan_run.mjs'), '--build', build, '--gas', str(GAS),
           '--min-time', str(min_time), '--max-runs', str(max_runs)]
    for m in meta['maps']:
        cmd += ['--map', m]
    cmd.append(blob)
    rc, out, err = run(cmd, timeout=3600)
    if rc != 0:
        raise RuntimeError('anan-as (%s) failed (exit %d): %s' % (build, rc, err.strip()))
    r = last_json(out)
    r['_seconds'] = r['seconds']
    return r


def encoding_check(name, blob):
    """Compares javm asm's blob with the independent encoding of gen_workloads.py."""
    try:
        sys.dont_write_bytecode = True
        sys.path.insert(0, HERE)
        import gen_workloads
    except ImportError:
        return 'encoding cross-check skipped (gen_workloads.py not importable)'
    w = gen_workloads.WORKLOADS.get(name)
    if w is None:
        return 'encoding cross-check: no independent encoding for this workload'
    with open(blob, 'rb') as f:
        mine = f.read()
    ref = w[0](w[1])
    if mine == ref:
        return 'assembled: %d bytes, identical to the independent encoding' % len(mine)
    return ('assembled: %d bytes; NOTE: differs from the independent encoding (%d bytes)'
            % (len(mine), len(ref)))


def compare(j, a, jn='javm', an='anan-as'):
    """Differences between two results (empty list = they agree)."""
    diffs = []
    for k in ('status', 'pc', 'instructions', 'gas_used'):
        if j.get(k) != a.get(k):
            diffs.append('%s: %s=%s %s=%s' % (k, jn, j.get(k), an, a.get(k)))
    jr, ar = j.get('regs') or [], a.get('regs') or []
    for i in range(13):
        jv = jr[i] if i < len(jr) else None
        av = ar[i] if i < len(ar) else None
        if jv != av:
            diffs.append('r%d: %s=%s %s=%s' % (i, jn, jv, an, av))
    return diffs


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--javm', default=os.environ.get('JAVM_BIN'), help='the javm tool')
    ap.add_argument('--workloads', default=os.path.join(HERE, 'workloads'))
    ap.add_argument('--node', default=shutil.which('node'))
    ap.add_argument('--anan-builds', default=os.environ.get('ANAN_BUILDS', 'release,release-mini'),
                    help='comma-separated anan-as exports; the first is the one the target is '
                         'measured against (default: release,release-mini)')
    ap.add_argument('--javm-runs', type=int, default=int(os.environ.get('JAVM_RUNS', '5')))
    ap.add_argument('--engines', default=os.environ.get('JAVM_ENGINES', 'soft,paged'),
                    help='comma-separated javm engines (javm run --engine); the first one is the '
                         'one the ratios use; "default" = no --engine option (default: soft,paged)')
    ap.add_argument('--anan-min-time', type=float, default=1.0)
    ap.add_argument('--anan-max-runs', type=int, default=3)
    ap.add_argument('--only', action='append', help='run only this workload (repeatable)')
    args = ap.parse_args()

    if not args.javm or not os.access(args.javm, os.X_OK):
        fail('javm tool not found (set JAVM_BIN or --javm): %s' % args.javm)
        return 1
    builds = [b for b in args.anan_builds.split(',') if b] if args.node else []
    if not args.node:
        print('anan-as comparison skipped (no node): javm numbers only')

    sources = {os.path.splitext(f)[0]: os.path.join(args.workloads, f)
               for f in os.listdir(args.workloads) if f.endswith('.s')}
    names = [n for n in ORDER if n in sources] + sorted(n for n in sources if n not in ORDER)
    if args.only:
        names = [n for n in names if n in args.only]
    if not names:
        fail('no workloads in %s' % args.workloads)
        return 1

    engines = [e for e in args.engines.split(',') if e]
    ok = True
    rows = []
    tmp = tempfile.mkdtemp(prefix='javm-bench-')
    try:
        for name in names:
            src = sources[name]
            meta = workload_meta(src)
            blob = os.path.join(tmp, name + '.pvm')
            rc, out, err = run([args.javm, 'asm', src, '-o', blob])
            if rc != 0:
                fail('%s: javm asm failed: %s' % (name, (err or out).strip()))
                ok = False
                continue
            print('%-8s %s' % (name, encoding_check(name, blob)))
            row = {'name': name, 'javm': {}, 'anan': {}}
            for e in engines:
                try:
                    j = javm_run(args.javm, e, blob, meta, max(1, args.javm_runs))
                except (RuntimeError, ValueError, subprocess.TimeoutExpired) as ex:
                    fail('%s: javm %s: %s' % (name, e, ex))
                    ok = False
                    continue
                if j.get('status') != 'halt':
                    print('!!! %s: javm %s ended with %s at pc %s (expected halt)'
                          % (name, e, j.get('status'), j.get('pc')))
                    ok = False
                diffs = check_expect(j, meta['expect'])
                if diffs:
                    ok = False
                    print('!!! WRONG RESULT on %s with javm %s:' % (name, e))
                    for d in diffs:
                        print('!!!     ' + d)
                    row.setdefault('diffs', []).extend(diffs)
                if row['javm']:
                    first_e, first = next(iter(row['javm'].items()))
                    diffs = compare(j, first, 'javm ' + e, 'javm ' + first_e)
                    if diffs:
                        ok = False
                        print('!!! MISMATCH on %s between javm engines %s and %s:'
                              % (name, e, first_e))
                        for d in diffs:
                            print('!!!     ' + d)
                        row.setdefault('diffs', []).extend(diffs)
                row['javm'][e] = j
            if not row['javm']:
                continue
            j = next(iter(row['javm'].values()))
            row['instr'] = j.get('instructions')
            for b in builds:
                try:
                    a = anan_run(args.node, b, blob, meta, args.anan_min_time, args.anan_max_runs)
                except (RuntimeError, ValueError, subprocess.TimeoutExpired) as e:
                    fail('%s: %s' % (name, e))
                    ok = False
                    continue
                diffs = compare(j, a, 'javm ' + next(iter(row['javm'])), 'anan-as ' + b)
                if diffs:
                    ok = False
                    print('!!! MISMATCH on %s between javm and anan-as %s:' % (name, b))
                    for d in diffs:
                        print('!!!     ' + d)
                row['anan'][b] = a
                row.setdefault('diffs', []).extend(diffs)
            rows.append(row)
            sys.stdout.flush()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    def mips(instr, s):
        return instr / s / 1e6 if instr and s else 0.0

    hdr = ['workload', 'instructions'] + ['javm %s Minstr/s' % e for e in engines]
    for b in builds:
        hdr += ['anan-as %s Minstr/s' % b, 'ratio']
    hdr.append('results')
    table = []
    ratios = {b: [] for b in builds}
    for r in rows:
        line = [r['name'], '%d' % (r['instr'] or 0)]
        rates = []
        for e in engines:
            j = r['javm'].get(e)
            rates.append(mips(j.get('instructions'), j['_seconds']) if j else 0.0)
            line.append('%.1f' % rates[-1] if j else '-')
        for b in builds:
            a = r['anan'].get(b)
            if a is None:
                line += ['-', '-']
                continue
            am = mips(a['instructions'], a['_seconds'])
            x = rates[0] / am if am else 0.0
            ratios[b].append((r['name'], x))
            line += ['%.1f' % am, '%.1fx' % x]
        line.append('MISMATCH' if r.get('diffs') else ('agree' if r['anan'] or
                                                       len(r['javm']) > 1 else '-'))
        table.append(line)
    widths = [max([len(h)] + [len(t[i]) for t in table]) for i, h in enumerate(hdr)]
    print()
    print('  '.join(h.rjust(w) for h, w in zip(hdr, widths)))
    for t in table:
        print('  '.join(c.rjust(w) for c, w in zip(t, widths)))
    print()
    srcs = sorted({j['_time_source'] for r in rows for j in r['javm'].values()})
    print('javm: best of %d runs, time source: %s.' % (args.javm_runs, ', '.join(srcs)))
    if builds:
        print('anan-as: time around runProgram() only (node start-up and program loading '
              'excluded), best of up to %d runs.' % args.anan_max_runs)
    if builds and engines:
        print('ratio = javm %s Minstr/s / anan-as Minstr/s.' % engines[0])
        b0 = builds[0]
        if ratios[b0]:
            below = [n for n, x in ratios[b0] if x < TARGET]
            print('target javm >= %.0fx anan-as %s on every workload: %s'
                  % (TARGET, b0, 'MET' if not below else 'NOT MET (%s)' % ', '.join(below)))
    if not ok:
        print('!!! pvm_vs_anan: FAILED (see the messages above)')
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())
