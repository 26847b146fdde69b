#!/usr/bin/env python3
"""What a user's run costs at two (or more) revisions of this repository, side by side.

Each revision is checked out in a worktree of its own and set up by its own ``./dev
setup``; then, in turns (A B A B ...), each one's ``./dev run -p width:=W -p height:=H -p
motion:=true`` is started exactly as its README says, and a plain subscriber (what a user
writes: depth 10, ``rclpy.spin``'s executor, no profile; this checkout's bench worker)
takes colour, aligned depth and the cloud. Over a window after a warm-up the script
records the CPU of the node's whole process tree (driver included: the node a user runs),
the share of frame sets delivered, and the latency from stamp to receipt.

Left out: anything a revision's ``./dev run`` does not do by default (the tuned subscriber,
GetImage, IR and IMU streams); the machine's other load, which is printed beside every
window. DDS stays on this machine (LOCALHOST, a ROS_DOMAIN_ID this run holds).

    python bench/compare_revisions.py 3972daf HEAD --repeat 3 --seconds 20
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Any, Dict, List

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_common as common  # noqa: E402
import camera_bench as cb  # noqa: E402
from camera_node.ros import runtime  # noqa: E402

#: what this checkout's ./dev sets: a revision's ./dev starts from a shell without them
_DEV_ENV = ('CAMERA_NODE_VENV', 'CAMERA_NODE_DISTRO', 'VIRTUAL_ENV', 'AMENT_PREFIX_PATH',
            'CMAKE_PREFIX_PATH', 'COLCON_PREFIX_PATH', 'LD_LIBRARY_PATH', 'PYTHONPATH',
            'RMW_IMPLEMENTATION', 'ROS_DISTRO', 'ROS_PYTHON_VERSION', 'ROS_VERSION',
            '_ROS_WHEELS_BOOTSTRAP_COMPLETE')   # set by the wheels' import of rclpy here


def fresh_env(base: Dict[str, str]) -> Dict[str, str]:
    """base as a new shell has it: without what this checkout's ./dev added (PATH too)."""
    env = {k: v for k, v in base.items() if k not in _DEV_ENV}
    env['PATH'] = ':'.join(p for p in base.get('PATH', '').split(':')
                           if p and not p.startswith(common.ROOT + os.sep))
    return env


def tree_cpu(pid: int) -> float:
    """CPU seconds so far of a process and all its descendants."""
    import psutil
    try:
        root = psutil.Process(pid)
        procs = [root] + root.children(recursive=True)
    except psutil.Error:
        return 0.0
    return common._cpu_seconds([p.pid for p in procs])


def checkout(rev: str, base: str) -> str:
    """A worktree of rev under base, set up by its own ./dev setup; return its path."""
    sha = subprocess.check_output(['git', '-C', common.ROOT, 'rev-parse', '--short', rev],
                                  text=True).strip()
    path = os.path.join(base, sha)
    if not os.path.isdir(path):
        subprocess.check_call(['git', '-C', common.ROOT, 'worktree', 'add', '--detach',
                               path, sha], stdout=subprocess.DEVNULL)
    env = fresh_env(dict(os.environ))
    subprocess.check_call([os.path.join(path, 'dev'), 'setup'], env=env, cwd=path,
                          stdout=subprocess.DEVNULL)
    return path


def one_window(bench: cb.Bench, path: str, args: argparse.Namespace) -> Dict[str, Any]:
    """Start a revision's node and a plain subscriber; measure one window."""
    w, h = args.size
    env = fresh_env(bench.runner.env(False))
    cmd = [os.path.join(path, 'dev'), 'run', '-p', 'width:=%d' % w, '-p', 'height:=%d' % h,
           '-p', 'motion:=true']
    node = cb.Proc(subprocess.Popen(cmd, cwd=path, env=env, stdout=subprocess.PIPE,
                                    stderr=subprocess.STDOUT, text=True,
                                    start_new_session=True), 'node')
    bench.live.append(node)
    try:
        sub = bench.sub('plain', list(cb.STREAMS), os.path.basename(path))
        if not sub.wait_for('RECEIVING', 90.0):
            return {'error': 'the subscriber received nothing; node said: %s'
                    % ' | '.join(node.lines[-5:])}
        time.sleep(args.warmup)
        c0, t0, w0 = tree_cpu(node.pid), time.monotonic(), time.time_ns()
        load0 = os.getloadavg()[0]
        time.sleep(args.seconds)
        cpu = (tree_cpu(node.pid) - c0) / (time.monotonic() - t0) * 100.0
        w1 = time.time_ns()
        bench.stop(sub)
        streams = cb.stream_figures(sub.out, w0, w1, args.fps)
        return {'node_cpu_pct': cpu, 'streams': streams,
                'load1': max(load0, os.getloadavg()[0])}
    finally:
        if node.popen.poll() is None:
            os.killpg(node.popen.pid, signal.SIGINT)
        bench.stop_all()


def main(argv: List[str] = None) -> int:
    ap = argparse.ArgumentParser(prog='bench/compare_revisions.py', description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('revs', nargs='+', help='git revisions (commits, branches, tags)')
    ap.add_argument('--repeat', type=int, default=3)
    ap.add_argument('--seconds', type=float, default=20.0, help='measured window')
    ap.add_argument('--warmup', type=float, default=5.0)
    ap.add_argument('--size', default='1280x720')
    ap.add_argument('--fps', type=float, default=30.0, help='the node default rate')
    ap.add_argument('--worktrees', default=os.path.join(tempfile.gettempdir(),
                                                        'camera_node_revisions'))
    ap.add_argument('--json', default=None, help='also write every window here')
    args = ap.parse_args(argv)
    args.size = tuple(int(v) for v in args.size.split('x'))
    os.makedirs(args.worktrees, exist_ok=True)
    paths = {rev: checkout(rev, args.worktrees) for rev in args.revs}
    domain, lock = runtime.claim_domain(range(201, 233), common.BENCH_DOMAIN_LOCK)
    log_dir = tempfile.mkdtemp(prefix='compare_revisions_')
    bench = cb.Bench(cb._Runner(domain, None, log_dir), {}, log_dir)
    runs: Dict[str, List[Dict[str, Any]]] = {rev: [] for rev in args.revs}
    try:
        for rep in range(args.repeat):
            order = args.revs if rep % 2 == 0 else list(reversed(args.revs))
            for rev in order:
                bench.say('%s (run %d of %d)' % (rev, rep + 1, args.repeat))
                result = one_window(bench, paths[rev], args)
                if result.get('error'):
                    bench.say('%s: %s' % (rev, result['error']))
                runs[rev].append(result)
    finally:
        lock.close()
    print('%s, moving, %s s windows, %d runs each (medians; spread in brackets); logs: %s'
          % ('x'.join(map(str, args.size)), args.seconds, args.repeat, log_dir))
    print('| revision | node CPU (% core, driver included) | delivered colour / depth / '
          'cloud | latency p50 colour / depth / cloud (ms) | load avg |')
    print('| --- | --- | --- | --- | --- |')
    for rev in args.revs:
        ok = [r for r in runs[rev] if not r.get('error')]
        if not ok:
            print('| %s | failed | | | |' % rev)
            continue
        cpu = [r['node_cpu_pct'] for r in ok]
        keys = ('color', 'aligned_depth', 'cloud')

        def med(key: str, fig: str) -> str:
            vals = [r['streams'][key][fig] for r in ok if r['streams'][key][fig] is not None]
            return '%.3g' % statistics.median(vals) if vals else '-'
        print('| %s | %.1f [%.1f-%.1f] | %s | %s | %.2f |' % (
            rev, statistics.median(cpu), min(cpu), max(cpu),
            ' / '.join(med(k, 'delivered_pct') + '%' for k in keys),
            ' / '.join(med(k, 'p50_ms') for k in keys),
            statistics.median(r['load1'] for r in ok)))
    if args.json:
        with open(args.json, 'w') as f:
            json.dump({'revs': args.revs, 'runs': runs}, f, indent=1)
    return 0 if all(r and not any(x.get('error') for x in r) for r in runs.values()) else 2


if __name__ == '__main__':
    sys.exit(main())
