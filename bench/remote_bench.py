"""Subscribers on another machine (issue 13): raw vs compressed over a rate-limited link.

``./dev exec python bench/remote_bench.py [--quick] [--seconds S] [--repeat N]
[--sizes 640x480,1280x720] [--rates 100mbit,1gbit] [--transports udp,large_data]
[--noise MM] [--json PATH]`` (as root: it creates network namespaces)

The camera node (synthetic, 30 fps) runs in one network namespace and the subscriber in
another, joined by a veth pair whose two ends are each shaped by a token bucket (``tc
qdisc ... tbf``, ``rate`` 100 Mbit/s or 1 Gbit/s, 50 ms of queue): the link between a
robot and the workstation watching it. The namespaces hold only ``lo`` and their end of
the pair, so DDS (discovery by multicast, data over UDP) can only use that link; nothing
touches the machine's own interfaces, and shared memory is not used across them (checked:
the link carries the bytes). Both namespaces and the pair are removed after each
scenario, also when it fails.

For each image size and link rate, two stream sets: ``raw`` (``color/image_raw`` +
``depth/image_rect_raw``) and ``compressed`` (``color/image_raw/compressed`` +
``depth/image_rect_raw/compressedDepth``), each with a reliable subscriber (depth 5, as
rviz). The baseline is the same streams on one machine: node and subscriber in this
namespace, DDS on localhost with the shipped large-data profile (shared memory), as a user
runs them locally. Figures per stream: delivered frame rate (distinct stamps received in
the window / window), latency p50 / p95 (receipt - capture stamp: the namespaces share the
clock), message size, bytes on the link and what tbf dropped, the node's CPU. Transports:
``udp`` (Fast DDS's builtin UDPv4 only) and ``large_data`` (the shipped profile, shared
memory + UDPv4, in both processes). The goal (issue 13): over 100 Mbit/s, compressed
colour + compressedDepth at 640x480 delivered at >= 29 fps with p50 latency <= 2x the same
streams on one machine. The machine is shared: compare ratios within a run.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import zlib
from typing import Any, Dict, List, Optional, Tuple

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_common as cb  # noqa: E402  (shared runner helpers, profile, machine facts)
from camera_node.ros import runtime  # noqa: E402

NODE_NS = 'remote_bench'
STREAM_SETS = {
    'raw': (('color', 'color/image_raw', 'image'), ('depth', 'depth/image_rect_raw', 'image')),
    'compressed': (('color', 'color/image_raw/compressed', 'compressed'),
                   ('depth', 'depth/image_rect_raw/compressedDepth', 'compressed')),
}
#: ROS variables a scenario sets itself
_DDS_VARS = ('FASTRTPS_DEFAULT_PROFILES_FILE', 'FASTDDS_DEFAULT_PROFILES_FILE',
             'FASTDDS_BUILTIN_TRANSPORTS', 'ROS_AUTOMATIC_DISCOVERY_RANGE', 'ROS_STATIC_PEERS',
             'ROS_LOCALHOST_ONLY')


def _run(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(list(args), capture_output=True, text=True, check=check,
                          timeout=30)


def netns_unavailable() -> Optional[str]:
    """Return why network namespaces cannot be made here, or None when they can."""
    if os.geteuid() != 0:
        return 'creating network namespaces needs root (ip netns add); running as uid %d' \
            % os.geteuid()
    for tool in ('ip', 'tc'):
        if shutil.which(tool) is None:
            return '%s (iproute2) is not installed' % tool
    probe = 'cnprobe%d' % os.getpid()
    res = _run('ip', 'netns', 'add', probe, check=False)
    if res.returncode != 0:
        return 'ip netns add failed: %s' % res.stderr.strip()
    _run('ip', 'netns', 'del', probe, check=False)
    return None


class Link:
    """Two network namespaces joined by a veth pair, both ends shaped by tbf at ``rate``.

    Names and addresses are unique to this process; :meth:`close` (also on leaving a
    ``with`` block, whatever happened) stops what runs inside and deletes both namespaces,
    which deletes the veth pair with them.
    """

    def __init__(self, rate: str, tag: str = '') -> None:
        k = (os.getpid() + hash(tag)) % 200 + 20
        base = 'cn%d%s' % (os.getpid() % 100000, tag)
        self.rate = rate
        self.ns = (base + 'a', base + 'b')
        self.dev = ('vth%sa' % base[2:], 'vth%sb' % base[2:])
        self.addr = ('10.213.%d.1' % k, '10.213.%d.2' % k)
        self.procs: List[subprocess.Popen] = []
        self.made: List[str] = []

    def __enter__(self) -> 'Link':
        try:
            self._create()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def _create(self) -> None:
        for ns in self.ns:
            _run('ip', 'netns', 'add', ns)
            self.made.append(ns)
        _run('ip', 'link', 'add', self.dev[0][:15], 'type', 'veth', 'peer', 'name',
             self.dev[1][:15])
        rate_bits = _bits(self.rate)
        burst = max(256 * 1024, rate_bits // 8 // 100)          # >= 10 ms at the rate
        for ns, dev, addr in zip(self.ns, self.dev, self.addr):
            dev = dev[:15]
            _run('ip', 'link', 'set', dev, 'netns', ns)
            _run('ip', '-n', ns, 'addr', 'add', addr + '/24', 'dev', dev)
            _run('ip', '-n', ns, 'link', 'set', 'lo', 'up')
            _run('ip', '-n', ns, 'link', 'set', dev, 'up')
            _run('ip', '-n', ns, 'route', 'add', '224.0.0.0/4', 'dev', dev)   # discovery
            _run('tc', '-n', ns, 'qdisc', 'add', 'dev', dev, 'root', 'tbf', 'rate',
                 self.rate, 'burst', str(burst), 'latency', '50ms')

    def command(self, side: int, argv: List[str]) -> List[str]:
        """Return argv run inside namespace ``side`` (0: node, 1: subscriber)."""
        return ['ip', 'netns', 'exec', self.ns[side]] + argv

    def stats(self, side: int = 0) -> Dict[str, int]:
        """Return the bytes, packets and drops of a side's tbf so far."""
        res = _run('tc', '-n', self.ns[side], '-s', 'qdisc', 'show', 'dev',
                   self.dev[side][:15], check=False)
        m = re.search(r'Sent (\d+) bytes (\d+) pkt \(dropped (\d+)', res.stdout)
        return {'bytes': int(m.group(1)), 'packets': int(m.group(2)),
                'dropped': int(m.group(3))} if m else {}

    def close(self) -> None:
        """Stop every process started inside, then delete the namespaces (and the pair)."""
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)
        for proc in self.procs:
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        for ns in reversed(self.made):
            res = _run('ip', 'netns', 'pids', ns, check=False)
            for pid in res.stdout.split():          # only ours can be in our namespace
                try:
                    os.kill(int(pid), signal.SIGKILL)
                except (ProcessLookupError, ValueError):
                    pass
            _run('ip', 'netns', 'del', ns, check=False)
        self.made = []


def _bits(rate: str) -> int:
    m = re.fullmatch(r'(\d+(?:\.\d+)?)([kmg]?)bit', rate.lower())
    if m is None:
        raise ValueError('rate must be like 100mbit or 1gbit, got %r' % rate)
    return int(float(m.group(1)) * {'': 1, 'k': 1e3, 'm': 1e6, 'g': 1e9}[m.group(2)])


def w_sub(spec: Dict[str, Any]) -> Dict[str, Any]:
    """Subscribe to a stream set; measure rate, latency, sizes and the node's CPU."""
    rclpy, executor, name = cb._rclpy_init(True)
    from rclpy.qos import HistoryPolicy, QoSProfile, ReliabilityPolicy
    from sensor_msgs.msg import CompressedImage, Image
    node = rclpy.create_node('remote_bench_sub')
    qos = QoSProfile(depth=5, history=HistoryPolicy.KEEP_LAST,
                     reliability=ReliabilityPolicy.RELIABLE)
    got: Dict[str, List[Tuple[int, int, int]]] = {}
    crcs = {k: set() for k, _, kind in spec['topics'] if kind == 'compressed'}
    subs = []
    for key, topic, kind in spec['topics']:
        got[key] = []

        def keep(m, k=key):
            got[k].append((m.header.stamp.sec * 1_000_000_000 + m.header.stamp.nanosec,
                           time.time_ns(), len(m.data)))
            if spec.get('crc') and k in crcs:
                crcs[k].add(zlib.crc32(m.data))
        subs.append(node.create_subscription(
            CompressedImage if kind == 'compressed' else Image,
            '/%s/camera/%s' % (spec.get('namespace', NODE_NS), topic), keep, qos))
    executor.add_node(node)
    deadline = time.monotonic() + spec['start_timeout']
    while time.monotonic() < deadline and not all(got.values()):
        executor.spin_once(timeout_sec=0.05)
    out: Dict[str, Any] = {'executor': name, 'started': all(got.values()), 'streams': {}}
    warm = time.monotonic() + spec['warmup']
    while time.monotonic() < warm:
        executor.spin_once(timeout_sec=0.05)
    w0 = time.time_ns()
    c0, m0 = cb._cpu_seconds([spec['node_pid']]), time.monotonic()
    w1 = w0 + int(spec['window'] * 1e9)
    while time.time_ns() < w1:
        executor.spin_once(timeout_sec=0.05)
    out['node_cpu_pct'] = (cb._cpu_seconds([spec['node_pid']]) - c0) / (
        time.monotonic() - m0) * 100.0
    tail = time.monotonic() + 1.0
    while time.monotonic() < tail:            # what was captured in the window, still coming
        executor.spin_once(timeout_sec=0.05)
    for key, items in got.items():
        inside = {s: (r, n) for s, r, n in items if w0 <= s < w1}
        lat = [(r - s) / 1e6 for s, (r, _) in inside.items()]
        sizes = [n for r, n in inside.values()]
        out['streams'][key] = {
            'fps': len(inside) / spec['window'], 'received': len(inside),
            'p50_ms': cb._pct(lat, 50), 'p95_ms': cb._pct(lat, 95),
            'bytes': statistics.mean(sizes) if sizes else None}
    out['load1'] = os.getloadavg()[0]
    if spec.get('crc'):
        out['crc'] = {k: sorted(v)[:1000] for k, v in crcs.items()}
    for s in subs:
        node.destroy_subscription(s)
    executor.remove_node(node)
    node.destroy_node()
    executor.shutdown()
    rclpy.try_shutdown()
    return out


class Bench:
    """Runs scenarios: the node and its subscriber, over a link or on one machine."""

    def __init__(self, domain: int, tmp: str, log_dir: str, cfg: Dict[str, Any]) -> None:
        self.domain = domain
        self.cfg = cfg
        self.log_dir = log_dir
        self.n = 0
        src = next((p for p in cb.PROFILE_CANDIDATES if os.path.exists(p)), None)
        self.shipped = src
        self.local_profile = cb.loopback_profile(src, tmp) if src else None

    def env(self, transport: str) -> Dict[str, str]:
        """Return a process's environment: ``local``, ``udp`` or ``large_data``."""
        env = {k: v for k, v in os.environ.items() if k not in _DDS_VARS}
        env['ROS_DOMAIN_ID'] = str(self.domain)
        variable = cb.launch_logic.fastdds_profile_variable(env)
        if transport == 'local':
            env['ROS_AUTOMATIC_DISCOVERY_RANGE'] = 'LOCALHOST'
            if self.local_profile:
                env[variable] = self.local_profile
        elif transport == 'udp':
            env['FASTDDS_BUILTIN_TRANSPORTS'] = 'UDPv4'      # no shared memory at all
        elif transport == 'large_data' and self.shipped:
            env[variable] = self.shipped
        return env

    def _popen(self, argv: List[str], env: Dict[str, str], name: str,
               stdout: Any = None) -> Tuple[subprocess.Popen, str]:
        self.n += 1
        path = os.path.join(self.log_dir, '%02d_%s.log' % (self.n, name))
        log = open(path, 'w')
        proc = subprocess.Popen(argv, stdout=stdout or log, stderr=log, env=env,
                                text=True)
        return proc, path

    def scenario(self, size: Tuple[int, int], streams: str, transport: str,
                 link: Optional[Link]) -> Dict[str, Any]:
        """Run the node and a subscriber once; return the subscriber's figures."""
        w, h = size
        node_argv = [sys.executable, '-m', 'camera_node', '--ros-args', '-r',
                     '__ns:=/' + NODE_NS, '-r', '__node:=camera', '-p', 'width:=%d' % w,
                     '-p', 'height:=%d' % h, '-p', 'fps:=30.0', '-p',
                     'diagnostics_period:=0.0', '-p', 'depth_noise:=%s' % self.cfg['noise']]
        env = self.env(transport)
        node, node_log = self._popen(link.command(0, node_argv) if link else node_argv, env,
                                     'node')
        if link:
            link.procs.append(node)
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and node.poll() is None:
                with open(node_log) as f:
                    if 'publishing' in f.read():
                        break
                time.sleep(0.2)
            else:
                return {'error': 'node did not start: see %s' % node_log}
            spec = {'topics': STREAM_SETS[streams], 'node_pid': node.pid,
                    'warmup': self.cfg['warmup'], 'window': self.cfg['window'],
                    'start_timeout': 30.0}
            argv = [sys.executable, os.path.abspath(__file__), '--worker', 'sub', '--spec',
                    json.dumps(spec)]
            sub, _ = self._popen(link.command(1, argv) if link else argv, env, 'sub',
                                 stdout=subprocess.PIPE)
            if link:
                link.procs.append(sub)
            result = cb.Runner.finish(sub, spec['start_timeout'] + spec['window'] + 60)
            if link:
                result['link'] = link.stats(0)
            return result
        finally:
            cb.stop_process(node)


def rows_of(results: Dict[str, List[Dict[str, Any]]]) -> List[Dict]:
    """Return one row per scenario (medians of its runs) plus the goal rows."""
    rows = []
    local: Dict[Tuple[str, str], Dict[str, Optional[float]]] = {}
    for key, runs in results.items():
        size, link, transport, streams = key.split('|')
        row: Dict[str, Any] = {'size': size, 'link': link, 'transport': transport,
                               'streams': streams, 'runs': len(runs),
                               'errors': [r['error'] for r in runs if 'error' in r]}
        ok = [r for r in runs if 'streams' in r]
        for s in ('color', 'depth'):
            for q in ('fps', 'p50_ms', 'p95_ms', 'bytes'):
                vals = [r['streams'][s][q] for r in ok
                        if r['streams'].get(s, {}).get(q) is not None]
                row['%s_%s' % (s, q)] = statistics.median(vals) if vals else None
        row['node_cpu_pct'] = _med(ok, 'node_cpu_pct')
        row['payload_mbit_s'] = sum((row['%s_bytes' % s] or 0) * (row['%s_fps' % s] or 0)
                                    for s in ('color', 'depth')) * 8 / 1e6
        links = [r['link'] for r in ok if r.get('link')]
        row['tbf_dropped'] = statistics.median(x['dropped'] for x in links) if links else None
        if link == 'local':
            local[(size, streams)] = {s: row['%s_p50_ms' % s] for s in ('color', 'depth')}
        rows.append(row)
    for row in rows:
        base = local.get((row['size'], row['streams']))
        for s in ('color', 'depth'):
            p = row['%s_p50_ms' % s]
            row['%s_p50_vs_local' % s] = (p / base[s]) if base and base.get(s) and p else None
    return rows


def _med(runs: List[Dict[str, Any]], key: str) -> Optional[float]:
    vals = [r[key] for r in runs if isinstance(r.get(key), (int, float))]
    return statistics.median(vals) if vals else None


def goal(rows: List[Dict[str, Any]]) -> Dict[str, Any]:
    """The issue's goal: 640x480 compressed over 100 Mbit/s: >= 29 fps, p50 <= 2x local."""
    out = {}
    for row in rows:
        if (row['size'], row['link'], row['streams']) == ('640x480', '100mbit', 'compressed'):
            fps = min(row['color_fps'] or 0.0, row['depth_fps'] or 0.0)
            ratio = max(row['color_p50_vs_local'] or 99.0, row['depth_p50_vs_local'] or 99.0)
            out[row['transport']] = {'min_fps': fps, 'p50_ratio': ratio,
                                     'met': fps >= 29.0 and ratio <= 2.0}
    return out


def _f(v: Any, fmt: str = '%.1f') -> str:
    return '-' if v is None else fmt % v


def table(rows: List[Dict[str, Any]]) -> str:
    """Format the rows as a fixed-width table."""
    head = ('size', 'link', 'transport', 'streams', 'colour fps', 'depth fps',
            'p50 ms c/d', 'p95 ms c/d', 'p50 vs local', 'KB/msg c/d', 'Mbit/s',
            'tbf drops', 'node CPU %')
    lines = ['  '.join('%-13s' % h for h in head)]
    for r in rows:
        cells = (r['size'], r['link'], r['transport'], r['streams'], _f(r['color_fps']),
                 _f(r['depth_fps']), '%s/%s' % (_f(r['color_p50_ms']), _f(r['depth_p50_ms'])),
                 '%s/%s' % (_f(r['color_p95_ms']), _f(r['depth_p95_ms'])),
                 '%s/%s' % (_f(r['color_p50_vs_local'], '%.2f'),
                            _f(r['depth_p50_vs_local'], '%.2f')),
                 '%s/%s' % (_f(r['color_bytes'] and r['color_bytes'] / 1e3, '%.0f'),
                            _f(r['depth_bytes'] and r['depth_bytes'] / 1e3, '%.0f')),
                 _f(r['payload_mbit_s']), _f(r['tbf_dropped'], '%.0f'), _f(r['node_cpu_pct']))
        lines.append('  '.join('%-13s' % c for c in cells))
    return '\n'.join(lines)


def main(argv: Optional[List[str]] = None) -> int:
    """Run the remote benchmark (or its subscriber worker)."""
    ap = argparse.ArgumentParser(prog='bench/remote_bench.py', description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--quick', action='store_true', help='640x480, 100 Mbit/s, short windows')
    ap.add_argument('--seconds', type=float, default=10.0, help='measurement window')
    ap.add_argument('--repeat', type=int, default=1, help='runs of each scenario')
    ap.add_argument('--sizes', default='640x480,1280x720')
    ap.add_argument('--rates', default='100mbit,1gbit')
    ap.add_argument('--transports', default='udp', help='udp and/or large_data')
    ap.add_argument('--noise', type=float, default=0.0,
                    help='synthetic depth_noise (mm at 1 m): realistic compressedDepth sizes')
    ap.add_argument('--json', default='remote_bench.json')
    ap.add_argument('--worker', help=argparse.SUPPRESS)
    ap.add_argument('--spec', help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        cb._result(w_sub(json.loads(args.spec)))
        return 0
    reason = netns_unavailable()
    if reason:
        print('remote bench not run: %s' % reason, file=sys.stderr)
        return 3
    sizes = ['640x480'] if args.quick else args.sizes.split(',')
    rates = ['100mbit'] if args.quick else args.rates.split(',')
    transports = args.transports.split(',')
    cfg = {'window': 3.0 if args.quick else args.seconds, 'warmup': 1.0 if args.quick
           else 2.0, 'noise': args.noise}
    domain, lock = runtime.claim_domain(range(201, 233), cb.BENCH_DOMAIN_LOCK)
    started, t0 = time.strftime('%Y-%m-%d %H:%M:%S %z'), time.monotonic()
    results: Dict[str, List[Dict[str, Any]]] = {}
    with tempfile.TemporaryDirectory(prefix='camera_node_remote_bench_') as tmp:
        bench = Bench(domain, tmp, os.environ.get('CAMERA_NODE_BENCH_LOGS') or tmp, cfg)
        for i in range(max(1, args.repeat)):
            for size in sizes:
                wh = tuple(int(v) for v in size.split('x'))
                for streams in ('compressed', 'raw'):
                    plan = [('local', 'local')] + [(r, t) for r in rates for t in transports]
                    for link, transport in plan:
                        key = '|'.join((size, link, transport, streams))
                        print('[remote bench %5.0f s] run %d: %s' % (
                            time.monotonic() - t0, i + 1, key), file=sys.stderr, flush=True)
                        if link == 'local':
                            out = bench.scenario(wh, streams, 'local', None)
                        else:
                            with Link(link, str(bench.n)) as net:
                                out = bench.scenario(wh, streams, transport, net)
                        results.setdefault(key, []).append(out)
    lock.close()
    rows = rows_of(results)
    goals = goal(rows)
    print(table(rows))
    for transport, g in goals.items():
        print('\ngoal (640x480 compressed over 100 Mbit/s, %s): %.1f fps (>= 29), p50 %.2fx '
              'local (<= 2): %s' % (transport, g['min_fps'], g['p50_ratio'],
                                    'met' if g['met'] else 'NOT met'))
    cb.write_figures('remote_bench.py', argv, args.json, started, time.monotonic() - t0,
                     domain_id=domain, config=cfg, rows=rows, goal=goals, raw=results)
    return 0


if __name__ == '__main__':
    sys.exit(main())
