"""IMU benchmark of issue 12: IMU delivery, latency and CPU while images stream.

``./dev exec python bench/imu_bench.py [--quick] [--repeat N] [--seconds S] [--json PATH]``

One synthetic camera node process (640x480, 30 fps, colour + aligned depth + cloud
subscribed, gyro 400 Hz + accelerometer 200 Hz united at 400 Hz on ``imu``) and one
subscriber process (reliable, keep last 1000 for ``imu``; depth 5 for the images), both
with the shipped transport settings (the Fast DDS large-data profile with UDP restricted to
127.0.0.1, the tuned allocator, the runtime's executor). Scenarios, interleaved when
repeated, each measured over the same window after a warm-up:

* ``images``: the same node and subscriber with the IMU off (the baseline);
* ``imu``: the IMU on;
* ``imu_split``: the IMU on, the images received by a second subscriber process, so the
  IMU subscriber's latency is not the time its executor spends on 5 MB clouds;
* ``floor``: no camera: a bare rclpy process publishing Imu messages at 400 Hz on the
  same schedule (stamp = due time) to an IMU-only subscriber: what Python, DDS and this
  machine's load cost by themselves. Node latencies are reported against it.

Figures: IMU samples delivered (distinct stamps received / stamps on the 2.5 ms grid
between the first and the last of the window), latency (receipt - header stamp; the
synthetic IMU stamps each sample with the time its thread is due to emit it, so this is
emit jitter + with linear interpolation the wait for the next accel sample + the node's
queue and publisher thread + DDS + the subscriber), the images' delivered rates, and the
node process's CPU (its share of one core) with and without the IMU: their difference is
the CPU the IMU path adds. The machine is shared: the load average
before and after each run is reported, and figures are medians of the runs.
DDS stays on this machine (LOCALHOST discovery, a ROS_DOMAIN_ID this run holds a lock on).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from typing import Any, Dict, List, Optional

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_common as cb  # noqa: E402  (shared runner, profile and node worker)
from camera_node.ros import runtime  # noqa: E402

GYRO_HZ, ACCEL_HZ = 400.0, 200.0
GRID_NS = int(round(1e9 / GYRO_HZ))
IMAGE_TOPICS = (('color', 'color/image_raw', 'image'),
                ('aligned_depth', 'aligned_depth_to_color/image_raw', 'image'),
                ('points', 'depth/color/points', 'cloud'))


def w_imu_sub(spec: Dict[str, Any]) -> Dict[str, Any]:
    """Subscribe to the images and the IMU; measure delivery, latency and the node's CPU."""
    rclpy, executor, name = cb._rclpy_init(spec['tuned'])
    from rclpy.qos import HistoryPolicy, QoSProfile, ReliabilityPolicy
    from sensor_msgs.msg import Image, Imu, PointCloud2
    node = rclpy.create_node('imu_bench_sub')
    ns = spec['namespace']
    image_qos = QoSProfile(depth=5, history=HistoryPolicy.KEEP_LAST,
                           reliability=ReliabilityPolicy.RELIABLE)
    imu_qos = QoSProfile(depth=1000, history=HistoryPolicy.KEEP_LAST,
                         reliability=ReliabilityPolicy.RELIABLE)
    images: Dict[str, List[int]] = {k: [] for k, _, _ in IMAGE_TOPICS
                                    if spec.get('images', True)}
    imu: List[tuple] = []
    subs = []
    for key, topic, kind in IMAGE_TOPICS if spec.get('images', True) else ():
        subs.append(node.create_subscription(
            PointCloud2 if kind == 'cloud' else Image, '/%s/camera/%s' % (ns, topic),
            lambda m, k=key: images[k].append(time.time_ns()), image_qos))
    if spec['imu']:
        subs.append(node.create_subscription(
            Imu, '/%s/camera/imu' % ns,
            lambda m: imu.append((m.header.stamp.sec * 1_000_000_000 + m.header.stamp.nanosec,
                                  time.time_ns())), imu_qos))
    executor.add_node(node)
    deadline = time.monotonic() + spec['start_timeout']
    while time.monotonic() < deadline and not (all(images.values())
                                               and (imu or not spec['imu'])):
        executor.spin_once(timeout_sec=0.05)
    started = all(images.values()) and (bool(imu) or not spec['imu'])
    end_warm = time.monotonic() + spec['warmup']
    while time.monotonic() < end_warm:
        executor.spin_once(timeout_sec=0.05)
    load0 = os.getloadavg()[0]
    w0 = time.time_ns()
    c0, m0 = cb._cpu_seconds([spec['node_pid']]), time.monotonic()
    s0 = cb._cpu_seconds([os.getpid()])
    w1 = w0 + int(spec['window'] * 1e9)
    while time.time_ns() < w1:
        executor.spin_once(timeout_sec=0.05)
    span = time.monotonic() - m0
    node_cpu = (cb._cpu_seconds([spec['node_pid']]) - c0) / span * 100.0
    sub_cpu = (cb._cpu_seconds([os.getpid()]) - s0) / span * 100.0
    tail = time.monotonic() + 1.0
    while time.monotonic() < tail:          # samples of the window still on their way
        executor.spin_once(timeout_sec=0.05)
    out: Dict[str, Any] = {'executor': name, 'started': started, 'node_cpu_pct': node_cpu,
                           'sub_cpu_pct': sub_cpu, 'load1_start': load0,
                           'load1_end': os.getloadavg()[0]}
    out['image_hz'] = {k: sum(1 for r in v if w0 <= r < w1) / spec['window']
                       for k, v in images.items()}
    if spec['imu']:
        inside = {s: r for s, r in imu if w0 <= s < w1}
        if inside:
            first, last = min(inside), max(inside)
            expected = (last - first) // GRID_NS + 1
            latency = [(r - s) / 1e6 for s, r in inside.items()]
            out['imu'] = {
                'received': len(inside), 'expected': int(expected),
                'delivered_pct': 100.0 * len(inside) / expected,
                'duplicates': sum(1 for s, _ in imu if w0 <= s < w1) - len(inside),
                'off_grid': sum(1 for s in inside if (s - first) % GRID_NS),
                'p50_ms': cb._pct(latency, 50), 'p99_ms': cb._pct(latency, 99),
                'max_ms': max(latency), 'rate_hz': len(inside) / spec['window']}
        else:
            out['imu'] = {'received': 0, 'expected': None, 'delivered_pct': 0.0}
    for s in subs:
        node.destroy_subscription(s)
    executor.remove_node(node)
    node.destroy_node()
    executor.shutdown()
    rclpy.try_shutdown()
    return out


def w_imu_floor(spec: Dict[str, Any]) -> Dict[str, Any]:
    """Publish bare Imu messages at 400 Hz, stamped with their due time, until SIGINT."""
    rclpy, executor, name = cb._rclpy_init(spec['tuned'])
    from rclpy.qos import HistoryPolicy, QoSProfile, ReliabilityPolicy
    from sensor_msgs.msg import Imu
    stop = cb._stop_event()
    node = rclpy.create_node('camera', namespace='/' + spec['namespace'])
    pub = node.create_publisher(Imu, '~/imu', QoSProfile(
        depth=1000, history=HistoryPolicy.KEEP_LAST, reliability=ReliabilityPolicy.RELIABLE))
    msg = Imu()
    print('READY floor', flush=True)
    mono0, epoch0, k = time.monotonic(), time.time_ns(), 0
    while not stop.is_set():
        delay = mono0 + k / GYRO_HZ - time.monotonic()
        if delay > 0 and stop.wait(delay):
            break
        stamp = epoch0 + k * GRID_NS
        msg.header.stamp.sec, msg.header.stamp.nanosec = divmod(stamp, 1_000_000_000)
        msg.angular_velocity.x = float(k)
        pub.publish(msg)
        k += 1
    node.destroy_node()
    executor.shutdown()
    rclpy.try_shutdown()
    return {'executor': name, 'published': k}


WORKERS = {'node': cb.w_node, 'imu_sub': w_imu_sub, 'floor': w_imu_floor}


class Runner(cb.Runner):
    """camera_bench's runner, starting this script's workers."""

    def start(self, name: str, spec: Dict[str, Any], tuned: bool = False,
              extra_env: Optional[Dict[str, str]] = None) -> Any:
        """Start a worker of this script."""
        import subprocess
        self.n += 1
        log = open(os.path.join(self.log_dir, '%02d_%s.log' % (self.n, name)), 'w')
        return subprocess.Popen(
            [sys.executable, os.path.abspath(__file__), '--worker', name, '--spec',
             json.dumps(spec)], stdout=subprocess.PIPE, stderr=log, text=True,
            env=self.env(tuned, extra_env))


def camera(ns: str, with_imu: bool, unite: int = 2) -> Dict[str, Any]:
    """Return the node worker's camera entry."""
    params = {'width': 640, 'height': 480, 'fps': 30.0, 'motion': False,
              'diagnostics_period': 0.0}
    if with_imu:
        params.update({'enable_gyro': True, 'enable_accel': True, 'gyro_fps': GYRO_HZ,
                       'accel_fps': ACCEL_HZ, 'unite_imu_method': unite})
    return {'namespace': ns, 'params': params}


def run_scenario(runner: Runner, with_imu: bool, cfg: Dict[str, Any],
                 split: Any = False) -> Dict[str, Any]:
    """Run one node and its subscriber(s); return the (IMU) subscriber's figures.

    With split, a second subscriber process takes the images and the first only the IMU;
    the image rates reported are the second one's. With split 'floor', the bare
    publisher replaces the node.
    """
    ns = 'imubench_%s' % ('split' if split else 'imu' if with_imu else 'img')
    if split == 'floor':
        ns = 'imubench_floor'
        proc = runner.start('floor', {'tuned': True, 'namespace': ns}, True)
    else:
        proc = runner.start('node', {'tuned': True, 'cameras': [
            camera(ns, with_imu, cfg['unite'])]}, True)
    spec = {'tuned': True, 'namespace': ns, 'imu': with_imu, 'warmup': cfg['warmup'],
            'window': cfg['window'], 'start_timeout': 30.0, 'node_pid': proc.pid}
    try:
        if not runner.wait_ready(proc):
            return {'error': 'node did not start'}
        if split == 'floor':
            return runner.run('imu_sub', dict(spec, images=False), True)
        if not split:
            return runner.run('imu_sub', spec, True)
        images = runner.start('imu_sub', dict(spec, imu=False), True)
        result = runner.run('imu_sub', dict(spec, images=False), True)
        result['image_hz'] = runner.finish(images, 60.0).get('image_hz', {})
        return result
    finally:
        runner.finish(proc, 30.0, stop=True)


def _median(runs: List[Dict[str, Any]], *path: str) -> Optional[float]:
    vals = []
    for r in runs:
        v: Any = r
        for p in path:
            v = v.get(p) if isinstance(v, dict) else None
        if isinstance(v, (int, float)):
            vals.append(float(v))
    return statistics.median(vals) if vals else None


def summary(results: Dict[str, List[Dict[str, Any]]]) -> List[tuple]:
    """Return the table rows: (figure, value, unit, goal, met)."""
    img, imu, split = results['images'], results['imu'], results['imu_split']
    floor = results['floor']
    ratios = []
    for q in ('p50_ms', 'p99_ms'):
        node_q, floor_q = _median(split, 'imu', q), _median(floor, 'imu', q)
        ratios.append(('IMU latency %s, node (images elsewhere) / bare publisher floor (%s ms)'
                       % (q[:3], _fmt(floor_q)),
                       None if not floor_q or node_q is None else node_q / floor_q, 'x',
                       'info', None))
    delivered = _median(imu, 'imu', 'delivered_pct')
    worst = min((r.get('imu', {}).get('delivered_pct', 0.0) for r in imu), default=None)
    cpu_img, cpu_imu = _median(img, 'node_cpu_pct'), _median(imu, 'node_cpu_pct')
    added = None if cpu_img is None or cpu_imu is None else cpu_imu - cpu_img
    rows = [
        ('IMU delivered to another process (median of runs)', delivered, '%', '>= 99.9',
         delivered is not None and delivered >= 99.9),
        ('IMU delivered, worst run', worst, '%', '>= 99.9',
         worst is not None and worst >= 99.9),
        ('IMU rate received', _median(imu, 'imu', 'rate_hz'), 'Hz', '400', None),
        ('IMU latency p50 (receipt - stamp)', _median(imu, 'imu', 'p50_ms'), 'ms', 'info',
         None),
        ('IMU latency p99', _median(imu, 'imu', 'p99_ms'), 'ms', 'info', None),
        ('IMU latency max', _median(imu, 'imu', 'max_ms'), 'ms', 'info', None),
        ('IMU delivered, images to another process', _median(split, 'imu', 'delivered_pct'),
         '%', '>= 99.9', None if not split else
         (_median(split, 'imu', 'delivered_pct') or 0.0) >= 99.9),
        ('IMU latency p50, images to another process', _median(split, 'imu', 'p50_ms'), 'ms',
         'info', None),
        ('IMU latency p99, images to another process', _median(split, 'imu', 'p99_ms'), 'ms',
         'info', None),
    ] + ratios
    for key, _, _ in IMAGE_TOPICS:
        rows.append(('%s rate with IMU (without)' % key, _median(imu, 'image_hz', key),
                     'Hz (%s)' % _fmt(_median(img, 'image_hz', key)), '30', None))
    rows += [
        ('node CPU, images only (baseline)', cpu_img, '% core', 'info', None),
        ('node CPU, images + IMU', cpu_imu, '% core', 'info', None),
        ('CPU the IMU path adds (difference)', added, '% core', 'info', None),
        ('node CPU ratio, with IMU / without', None if not cpu_img or cpu_imu is None
         else cpu_imu / cpu_img, 'x', 'info', None),
        ('subscriber CPU with IMU', _median(imu, 'sub_cpu_pct'), '% core', 'info', None),
        ('load average (1 min) during the runs',
         _median(img + imu + split + floor, 'load1_end'), '', 'info', None),
    ]
    return rows


def _fmt(v: Any) -> str:
    if v is None:
        return '-'
    if isinstance(v, float):
        return '%.4g' % v
    return str(v)


def main(argv: Optional[List[str]] = None) -> int:
    """Run the IMU benchmark (or one worker) from the command line."""
    ap = argparse.ArgumentParser(prog='bench/imu_bench.py', description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--quick', action='store_true', help='short windows (~30 s in all)')
    ap.add_argument('--seconds', type=float, default=20.0, help='measurement window')
    ap.add_argument('--repeat', type=int, default=1, help='runs of each scenario')
    ap.add_argument('--json', default='imu_bench.json', help='where to write the figures')
    ap.add_argument('--unite', type=int, choices=(1, 2), default=2,
                    help='unite_imu_method: 2 linear_interpolation (a united sample waits '
                    'for the next accel sample: up to 5 ms at 200 Hz), 1 copy')
    ap.add_argument('--worker', help=argparse.SUPPRESS)
    ap.add_argument('--spec', help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        cb._result(WORKERS[args.worker](json.loads(args.spec)))
        return 0
    cfg = {'window': 3.0 if args.quick else args.seconds,
           'warmup': 1.0 if args.quick else 3.0, 'unite': args.unite}
    domain, lock = runtime.claim_domain(range(201, 233), cb.BENCH_DOMAIN_LOCK)
    started, t0 = time.strftime('%Y-%m-%d %H:%M:%S %z'), time.monotonic()
    results: Dict[str, List[Dict[str, Any]]] = {'images': [], 'imu': [], 'imu_split': [],
                                                'floor': []}
    with tempfile.TemporaryDirectory(prefix='camera_node_imu_bench_') as tmp:
        log_dir = os.environ.get('CAMERA_NODE_BENCH_LOGS') or tmp
        src = next((p for p in cb.PROFILE_CANDIDATES if os.path.exists(p)), None)
        runner = Runner(domain, cb.loopback_profile(src, tmp) if src else None, log_dir)
        for i in range(max(1, args.repeat)):
            for key, with_imu, split in (('images', False, False), ('imu', True, False),
                                         ('imu_split', True, True), ('floor', True, 'floor')):
                print('[imu bench %5.1f s] run %d: %s' % (time.monotonic() - t0, i + 1, key),
                      file=sys.stderr, flush=True)
                results[key].append(run_scenario(runner, with_imu, cfg, split))
    lock.close()
    rows = summary(results)
    width = max(len(r[0]) for r in rows)
    print('%-*s  %-10s  %-14s  %-8s  %s' % (width, 'figure', 'value', 'unit', 'goal', 'met?'))
    for figure, value, unit, goal, met in rows:
        print('%-*s  %-10s  %-14s  %-8s  %s' % (width, figure, _fmt(value), unit, goal,
                                                '-' if met is None else
                                                ('yes' if met else 'NO')))
    cb.write_figures('imu_bench.py', argv, args.json, started, time.monotonic() - t0,
                     'compare the two scenarios of this run', domain_id=domain, config=cfg,
                     rows=[dict(zip(('figure', 'value', 'unit', 'goal', 'met'), r))
                           for r in rows], raw=results)
    return 0


if __name__ == '__main__':
    sys.exit(main())
