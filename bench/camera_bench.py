"""Benchmark suite (issues 6 and 15): what a user runs, beside its floor, in the same run.

``./dev bench [--with-open3d] [--quick] [--repeat N] [--only PART] [--json PATH]
[--write-docs docs/performance.md]`` prints one table (figure, value, baseline, ratio, goal,
met?), writes every figure as JSON, and exits 1 when a goal is missed (2 when a
measurement failed; ``--quick`` judges no goal: its sizes are not the issue's).

* **The node** is the real process, started as a user starts it: ``python -m camera_node
  --ros-args -r __ns:=/camera -p width:=1280 -p height:=720 -p motion:=true`` (the README's
  ``./dev run`` with the default parameters; the Fast DDS profile set as ``./dev run``
  sets it), one camera, the scene moving.
* **The floor** is shaped like the node (bench_workers.w_floor): one process, the same
  messages in the same order, the same rate and schedule, its own stamps, pre-filled.
* **Subscribers**: ``plain`` (what a user writes: ``rclpy.spin``, depth 10, no profile,
  no allocator tuning) and ``tuned`` (the profile, the tuned allocator, EventsExecutor),
  each taking colour, aligned depth and the cloud.
* Every timed figure is measured ``--repeat`` times (3 by default, declared in the
  table's header), interleaved so changes of the machine's load hit node and floor alike,
  and the figure is the median of the runs. The CPU that other processes used during each
  window and the load average are recorded beside it.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from typing import Any, Dict, List, Optional

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_common as common  # noqa: E402
from bench_common import BENCH_DOMAIN_LOCK, loopback_profile, machine, Runner  # noqa: E402,F401
import bench_report as report  # noqa: E402
from bench_report import _row, GOAL_KEYS, table  # noqa: E402,F401
from camera_node.ros import runtime  # noqa: E402

WORKERS_SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'bench_workers.py')
#: parts --only can pick
PARTS = ('micro', 'driver', 'streams', 'load', 'getimage', 'rss', 'profile')
#: the streams measured: key, topic, message kind
STREAMS = (('color', '/camera/camera/color/image_raw', 'image'),
           ('aligned_depth', '/camera/camera/aligned_depth_to_color/image_raw', 'image'),
           ('cloud', '/camera/camera/depth/color/points', 'cloud'))
COMPRESSED = ('compressed', '/camera/camera/color/image_raw/compressed', 'compressed')


def config(quick: bool, repeat: Optional[int]) -> Dict[str, Any]:
    """Return the sizes, windows and counts of a full or a quick run."""
    return {
        'size': (160, 120) if quick else (1280, 720), 'fps': 30.0,
        'repeat': max(1, int(repeat or (1 if quick else 3))),
        'warmup': 0.5 if quick else 3.0, 'window': 1.5 if quick else 10.0,
        'getimage_calls': 5 if quick else 40, 'busy': 2,
        'rss_seconds': 4.0 if quick else 90.0, 'rss_warm': 1.0 if quick else 15.0,
        'micro_reps': 5 if quick else 30, 'cloud_frames': 3 if quick else 8,
        'jpeg_quality': 80, 'node_params': [],
    }


class Proc:
    """A started process whose stdout lines a thread collects; stop() ends it for sure."""

    def __init__(self, popen: subprocess.Popen, name: str) -> None:
        self.popen, self.name = popen, name
        self.out: Optional[str] = None     # a subscriber's file of records
        self.lines: List[str] = []
        self._cv = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    @property
    def pid(self) -> int:
        """The process id."""
        return self.popen.pid

    def _read(self) -> None:
        for line in self.popen.stdout:
            with self._cv:
                self.lines.append(line.rstrip('\n'))
                self._cv.notify_all()
        with self._cv:
            self._cv.notify_all()

    def wait_for(self, token: str, timeout: float) -> bool:
        """Wait until a line starting with token arrives (False on exit or timeout)."""
        deadline = time.monotonic() + timeout
        with self._cv:
            while not any(ln.startswith(token) for ln in self.lines):
                left = deadline - time.monotonic()
                if left <= 0 or (self.popen.poll() is not None and not self._reader.is_alive()):
                    return False
                self._cv.wait(min(left, 0.5))
        return True

    def stop(self, timeout: float = 30.0) -> Dict[str, Any]:
        """SIGINT, wait (kill after timeout); return the RESULT line or an error.

        A process that printed its RESULT is first given a few seconds to exit by itself.
        """
        if any(ln.startswith('RESULT ') for ln in self.lines):
            try:
                self.popen.wait(5.0)
            except subprocess.TimeoutExpired:
                pass
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGINT)
        try:
            self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait(10)
        self._reader.join(5)
        for line in reversed(self.lines):
            if line.startswith('RESULT '):
                return json.loads(line[7:])
        return {'error': '%s exited with %s' % (self.name, self.popen.returncode),
                'exit_code': self.popen.returncode}


class Bench:
    """Starts every process of a run (and stops each, whatever happens)."""

    def __init__(self, runner: Runner, cfg: Dict[str, Any], log_dir: str) -> None:
        self.runner, self.cfg, self.log_dir = runner, cfg, log_dir
        self.live: List[Proc] = []
        self.t0 = time.monotonic()

    def say(self, msg: str) -> None:
        """Progress on stderr."""
        print('[bench %5.0f s] %s' % (time.monotonic() - self.t0, msg), file=sys.stderr,
              flush=True)

    def _spawn(self, name: str, cmd: List[str], tuned: bool) -> Proc:
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=self.runner.log(name),
                             text=True, env=self.runner.env(tuned))
        proc = Proc(p, name)
        self.live.append(proc)
        return proc

    def worker(self, name: str, spec: Dict[str, Any], tuned: bool) -> Proc:
        """Start a bench_workers.py worker."""
        return self._spawn(name, [sys.executable, WORKERS_SCRIPT, name, json.dumps(spec)],
                           tuned)

    def node(self) -> Proc:
        """Start the node as a user does (./dev run's command and transport settings)."""
        w, h = self.cfg['size']
        params = ['width:=%d' % w, 'height:=%d' % h, 'motion:=true'] + self.cfg['node_params']
        return self._spawn('node', [sys.executable, '-m', 'camera_node', '--ros-args', '-r',
                                    '__ns:=/camera'] + [a for p in params for a in ('-p', p)],
                           True)

    def floor(self) -> Proc:
        """Start the floor publisher (same transport settings as the node)."""
        w, h = self.cfg['size']
        return self.worker('floor', {'width': w, 'height': h, 'fps': self.cfg['fps'],
                                     'node': 'camera', 'namespace': '/camera',
                                     'camera_name': 'camera'}, True)

    def sub(self, kind: str, topics: List[tuple], tag: str) -> Proc:
        """Start a plain or tuned subscriber recording into a file of this run."""
        out = os.path.join(self.log_dir, 'sub_%s_%d.json' % (tag, self.runner.n + 1))
        proc = self.worker('sub', {'kind': kind, 'topics': topics, 'out': out},
                           kind == 'tuned')
        proc.out = out
        return proc

    def stop(self, proc: Proc, timeout: float = 30.0) -> Dict[str, Any]:
        """Stop a process started by this run."""
        try:
            return proc.stop(timeout)
        finally:
            if proc in self.live:
                self.live.remove(proc)

    def stop_all(self) -> None:
        """Stop whatever is still running (after a failure)."""
        for proc in list(self.live):
            self.stop(proc, 10.0)

    # ------------------------------------------------------------------ scenarios
    def streams(self, pub: str, sub_kind: str, busy: int = 0) -> Dict[str, Any]:
        """One publisher (node or floor) and one subscriber over a window; figures."""
        cfg = self.cfg
        busy_procs = [self.worker('busy', {'seconds': 4 * cfg['window'] + 90}, False)
                      for _ in range(busy)]
        out: Dict[str, Any] = {'pub': pub, 'sub': sub_kind, 'busy': busy}
        try:
            publisher = self.node() if pub == 'node' else self.floor()
            rss = RssSampler(publisher.pid)
            sub = self.sub(sub_kind, list(STREAMS), '%s_%s' % (pub, sub_kind))
            if not sub.wait_for('RECEIVING', 60.0):
                out['error'] = '%s: the subscriber received nothing (see %s)' % (
                    pub, self.log_dir)
                return out
            time.sleep(cfg['warmup'])
            out.update(measure_window(cfg['window'], [publisher.pid], [sub.pid],
                                      [p.pid for p in busy_procs]))
            out['sub_result'] = self.stop(sub)
            if not os.path.exists(sub.out):
                out['error'] = 'the subscriber wrote no records: %s' % out['sub_result']
                return out
            out['streams'] = stream_figures(sub.out, out['w0'], out['w1'], cfg['fps'])
            out['rss_mb'] = rss.stop()
            out['pub_result'] = self.stop(publisher)
            if out['pub_result'].get('exit_code') not in (None, 0):
                out['error'] = '%s exited with %s' % (pub, out['pub_result']['exit_code'])
        finally:
            self.stop_all()
        return out

    def getimage(self) -> Dict[str, Any]:
        """Time GetImage with no stream subscribed, with the streams, and with the JPEG too."""
        cfg = self.cfg
        # one call per frame set (a gap of 1.2 frame periods): the node answers a second
        # call on the same frame set from its encoding cache (viam/encoded.py), which is
        # not the encode this figure is about
        spec = {'service': '/camera/camera/get_image', 'calls': cfg['getimage_calls'],
                'gap_s': 1.2 / cfg['fps'],
                'quality': cfg['jpeg_quality']}
        out: Dict[str, Any] = {}
        w, h = cfg['size']
        try:
            server = self.worker('getimage_floor', dict(spec, service='/bench/get_image',
                                                        width=w, height=h), True)
            for phase, name in (('floor', '/bench/get_image'),
                                ('floor_raw', '/bench/get_image_with_pixels')):
                if server.wait_for('READY', 60.0):
                    client = self.worker('getimage', dict(spec, service=name), False)
                    client.wait_for('RESULT', 120.0)
                    out[phase] = self.stop(client, 5.0)
            self.stop(server)
            self.node()
            # each subscriber stays on: later phases have the earlier phases' topics too
            phases = (('idle', [], ''), ('streams', list(STREAMS), ''),
                      ('streams_raw', [], '{"ros_image": true}'),
                      ('streams_jpeg', [COMPRESSED], ''))
            for phase, topics, extra in phases:
                if topics:
                    sub = self.sub('plain', topics, 'getimage_' + phase)
                    if not sub.wait_for('RECEIVING', 60.0):
                        out[phase] = {'error': 'subscriber received nothing'}
                        continue
                    time.sleep(cfg['warmup'] / 2)
                client = self.worker('getimage', dict(spec, extra=extra), False)
                client.wait_for('RESULT', 120.0)
                out[phase] = self.stop(client, 5.0)
        finally:
            self.stop_all()
        return out

    def rss(self) -> Dict[str, Any]:
        """Sample the node's RSS over a longer run, a tuned subscriber taking the streams."""
        cfg = self.cfg
        try:
            node = self.node()
            sampler = RssSampler(node.pid, 1.0)
            sub = self.sub('tuned', list(STREAMS), 'rss')
            if not sub.wait_for('RECEIVING', 60.0):
                return {'error': 'the subscriber received nothing'}
            t_start = time.monotonic()
            time.sleep(cfg['rss_seconds'])
            series = sampler.stop()
            node_result = self.stop(node)
        finally:
            self.stop_all()
        warm = [mb for t, mb in series if t >= t_start + cfg['rss_warm']]
        if not warm:
            return {'error': 'no RSS samples', 'series': series}
        return {'series': series, 'rss_warm_mb': warm[0], 'rss_end_mb': warm[-1],
                'rss_max_mb': max(warm), 'growth_mb': warm[-1] - warm[0],
                'seconds': cfg['rss_seconds'] - cfg['rss_warm'],
                'frame_sets': (cfg['rss_seconds'] - cfg['rss_warm']) * cfg['fps'],
                'exit_code': node_result.get('exit_code', 0)}

    def profile(self) -> Dict[str, Any]:
        """Where the node's CPU goes (py-spy samples of the real process), if py-spy is here."""
        spy = shutil.which('py-spy', path=os.path.dirname(sys.executable)) or \
            shutil.which('py-spy')
        if not spy:
            return {'skipped': 'py-spy not installed (./dev bench --with-open3d installs '
                               'requirements/bench.txt)'}
        raw = os.path.join(self.log_dir, 'py-spy.txt')
        try:
            node = self.node()
            sub = self.sub('tuned', list(STREAMS), 'profile')
            if not sub.wait_for('RECEIVING', 60.0):
                return {'error': 'the subscriber received nothing'}
            time.sleep(self.cfg['warmup'])
            c0, t0 = common._cpu_seconds([node.pid]), time.monotonic()
            subprocess.run([spy, 'record', '--pid', str(node.pid), '--duration',
                            str(int(self.cfg['window'])), '--rate', '100', '--nonblocking',
                            '--format', 'raw', '--output', raw], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, timeout=self.cfg['window'] + 60)
            cpu = (common._cpu_seconds([node.pid]) - c0) / (time.monotonic() - t0) * 100.0
        finally:
            self.stop_all()
        if not os.path.exists(raw):
            return {'error': 'py-spy wrote nothing (ptrace not permitted?)'}
        return dict(report.profile_shares(raw), node_cpu_pct=cpu)


class RssSampler:
    """Samples a process's RSS (MB) every period seconds in a thread."""

    def __init__(self, pid: int, period: float = 0.5) -> None:
        import psutil
        self._proc = psutil.Process(pid)
        self._period = period
        self.series: List[tuple] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        import psutil
        while not self._stop.is_set():
            try:
                self.series.append((time.monotonic(), self._proc.memory_info().rss / 1e6))
            except psutil.Error:
                return
            self._stop.wait(self._period)

    def stop(self) -> List[tuple]:
        """Stop sampling; return [(monotonic time, RSS MB)]."""
        self._stop.set()
        self._thread.join(2)
        return self.series


def _machine_busy() -> float:
    """Busy CPU seconds of the whole machine so far (all cores, from /proc/stat)."""
    with open('/proc/stat') as f:
        fields = [int(v) for v in f.readline().split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return (sum(fields[:8]) - idle) / os.sysconf('SC_CLK_TCK')


def thread_cpu(pid: int) -> Dict[str, float]:
    """CPU seconds so far of a process's threads, summed by thread name (``comm``)."""
    out: Dict[str, float] = {}
    tick = os.sysconf('SC_CLK_TCK')
    try:
        tids = os.listdir('/proc/%d/task' % pid)
    except OSError:
        return out
    for tid in tids:
        try:
            with open('/proc/%d/task/%s/stat' % (pid, tid)) as f:
                stat = f.read()
        except OSError:
            continue
        name = stat[stat.index('(') + 1:stat.rindex(')')]
        fields = stat[stat.rindex(')') + 2:].split()
        out[name] = out.get(name, 0.0) + (int(fields[11]) + int(fields[12])) / tick
    return out


def measure_window(seconds: float, pub: List[int], sub: List[int],
                   busy: List[int]) -> Dict[str, Any]:
    """CPU of the publisher (and its named threads), subscriber, load and everyone else."""
    groups = {'pub': pub, 'sub': sub, 'busy': busy}
    c0 = {k: common._cpu_seconds(v) for k, v in groups.items()}
    th0 = thread_cpu(pub[0])
    m0, t0, w0 = _machine_busy(), time.monotonic(), time.time_ns()
    time.sleep(seconds)
    c1 = {k: common._cpu_seconds(v) for k, v in groups.items()}
    th1 = thread_cpu(pub[0])
    m1, dt, w1 = _machine_busy(), time.monotonic() - t0, time.time_ns()
    out: Dict[str, Any] = {'%s_cpu_pct' % k: (c1[k] - c0[k]) / dt * 100.0 for k in groups}
    out['pub_threads_pct'] = {k: (th1[k] - th0.get(k, 0.0)) / dt * 100.0 for k in th1}
    ours = sum(c1[k] - c0[k] for k in groups)
    out['others_cpu_pct'] = max(0.0, (m1 - m0 - ours) / dt * 100.0)
    out['load1'] = os.getloadavg()[0]
    out['w0'], out['w1'] = w0, w1
    return out


def stream_figures(path: str, w0: int, w1: int, fps: float) -> Dict[str, Any]:
    """Per stream: delivered % of the frame sets due in [w0, w1) and latency percentiles."""
    with open(path) as f:
        got = json.load(f)
    expected = (w1 - w0) / 1e9 * fps
    out = {}
    for key, items in got.items():
        inside = {s: r for s, r in items if w0 <= s < w1}
        lat = [(r - s) / 1e6 for s, r in inside.items()]
        out[key] = {'received': len(inside), 'expected': expected,
                    'delivered_pct': min(100.0, 100.0 * len(inside) / expected),
                    'p50_ms': common._pct(lat, 50), 'p95_ms': common._pct(lat, 95),
                    'p99_ms': common._pct(lat, 99), 'max_ms': max(lat) if lat else None}
    return out


def measure(args: argparse.Namespace, bench: Bench) -> Dict[str, Any]:
    """Run every part asked for, each timed one --repeat times, interleaved."""
    cfg = bench.cfg
    only = set(args.only or PARTS)
    if args.quick:
        only.discard('profile')
    runs: Dict[str, List[Dict[str, Any]]] = {}
    w, h = cfg['size']

    def add(kind: str, result: Dict[str, Any]) -> None:
        runs.setdefault(kind, []).append(result)
        if result.get('error'):
            bench.say('%s: %s' % (kind, result['error']))

    for rep in range(cfg['repeat']):
        tag = 'run %d of %d' % (rep + 1, cfg['repeat'])
        if 'micro' in only:
            bench.say('fills and cloud generation (%s)' % tag)
            add('fill', bench.runner.run('fill', {'width': w, 'height': h,
                                                  'reps': cfg['micro_reps']}))
            add('fill_check_fields', bench.runner.run(
                'fill', {'width': w, 'height': h, 'reps': 2}, False,
                {'ROS_PYTHON_CHECK_FIELDS': '1'}))
            add('cloud', bench.runner.run('cloud', {'width': w, 'height': h,
                                                    'frames': cfg['cloud_frames'],
                                                    'reps': cfg['micro_reps']}))
        if 'driver' in only:
            bench.say('synthetic driver alone (%s)' % tag)
            add('driver', bench.runner.run('driver', {
                'width': w, 'height': h, 'fps': cfg['fps'], 'motion': True,
                'warmup': cfg['warmup'], 'window': cfg['window']}))
        if 'streams' in only:
            for sub in ('tuned', 'plain'):
                order = ('floor', 'node') if rep % 2 == 0 else ('node', 'floor')
                for pub in order:
                    bench.say('%s, %s subscriber (%s)' % (pub, sub, tag))
                    add('%s_%s' % (pub, sub), bench.streams(pub, sub))
        if 'load' in only:
            for pub in ('floor', 'node') if rep % 2 == 0 else ('node', 'floor'):
                bench.say('%s under load: %d busy processes (%s)' % (pub, cfg['busy'], tag))
                add('%s_load' % pub, bench.streams(pub, 'tuned', busy=cfg['busy']))
        if 'getimage' in only:
            bench.say('GetImage, plain client (%s)' % tag)
            add('getimage', bench.getimage())
    if 'rss' in only:
        bench.say('node RSS over %.0f s' % cfg['rss_seconds'])
        add('rss', bench.rss())
    if 'profile' in only:
        bench.say('py-spy profile of the node')
        add('profile', bench.profile())
    return runs


class _Runner(Runner):
    """bench_common's Runner, starting bench_workers.py workers (``NAME SPEC``)."""

    def start(self, name: str, spec: Dict[str, Any], tuned: bool = False,
              extra_env: Optional[Dict[str, str]] = None) -> subprocess.Popen:
        """Start a worker; stdout is a pipe, stderr a log file."""
        return subprocess.Popen([sys.executable, WORKERS_SCRIPT, name, json.dumps(spec)],
                                stdout=subprocess.PIPE, stderr=self.log(name), text=True,
                                env=self.env(tuned, extra_env))


def main(argv: Optional[List[str]] = None) -> int:
    """Run the suite; exit 0 (every goal met), 1 (a goal missed), 2 (a measurement failed)."""
    ap = argparse.ArgumentParser(prog='bench/camera_bench.py', description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--quick', action='store_true',
                    help='160x120, one short run of each part (~1 min); judges no goal')
    ap.add_argument('--repeat', type=int, default=None, metavar='N',
                    help='runs of every timed figure (medians); default 3 (quick: 1)')
    ap.add_argument('--only', action='append', choices=PARTS, metavar='PART',
                    help='run only this part (repeatable): %s' % ', '.join(PARTS))
    ap.add_argument('--json', default='bench.json', help='where to write the figures')
    ap.add_argument('--write-docs', metavar='PATH', default=None,
                    help='replace the recorded-run section of this file (docs/performance.md)')
    ap.add_argument('--node-param', action='append', default=[], metavar='NAME:=VALUE',
                    help='one more -p for the node (repeatable; for experiments: the '
                    'recorded run uses the defaults)')
    ap.add_argument('--profile', default=None, help='Fast DDS profile to measure '
                    '(default: config/fastdds_large_data.xml, UDP restricted to loopback)')
    args = ap.parse_args(argv)
    cfg = config(args.quick, args.repeat)
    cfg['node_params'] = list(args.node_param)
    domain, lock = runtime.claim_domain(range(201, 233), BENCH_DOMAIN_LOCK)
    started = time.strftime('%Y-%m-%d %H:%M %Z')
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix='camera_node_bench_') as tmp:
        log_dir = os.environ.get('CAMERA_NODE_BENCH_LOGS') or tmp
        os.makedirs(log_dir, exist_ok=True)
        src = args.profile or next((p for p in common.PROFILE_CANDIDATES
                                    if os.path.exists(p)), None)
        profile = loopback_profile(src, tmp) if src and not args.profile else src
        bench = Bench(_Runner(domain, profile, log_dir), cfg, log_dir)
        bench.say('repeats: %d of every timed figure (medians); %dx%d, %g fps; domain %d'
                  % (cfg['repeat'], cfg['size'][0], cfg['size'][1], cfg['fps'], domain))
        try:
            runs = measure(args, bench)
        finally:
            bench.stop_all()
        elapsed = time.monotonic() - bench.t0
    lock.close()
    cli = argv if argv is not None else sys.argv[1:]
    prefix = ['./dev bench'] + [w for w in [os.environ.get('CAMERA_NODE_BENCH_WITH', '')] if w]
    doc = {'command': ' '.join(prefix + cli), 'date': started, 'quick': args.quick,
           'config': cfg, 'machine': machine(), 'profile': src, 'domain_id': domain,
           'load_before': load_before, 'load_after': os.getloadavg(),
           'elapsed_s': elapsed, 'runs': runs}
    rows = report.rows_of(doc)
    doc['rows'] = rows
    doc['goals'] = {r['key']: r for r in rows if r['key'] in GOAL_KEYS}
    print(report.header(doc))
    print(table(rows))
    code = report.exit_code(rows, args.quick)
    print(report.verdict(rows, args.quick, code, args.json, elapsed))
    with open(args.json, 'w') as f:
        json.dump(doc, f, indent=1, default=str)
    if args.write_docs:
        report.write_docs(args.write_docs, doc)
        print('wrote the recorded run into %s' % args.write_docs)
    return code


if __name__ == '__main__':
    sys.exit(main())
