"""Benchmark suite of issue 6: every goal measured beside its baseline in the same run.

``python -m camera_node.bench [--quick] [--only PART] [--repeat N] [--json PATH]`` (or
``./dev bench``) prints one table (figure, value, baseline, ratio, goal, met?) and writes
the figures as JSON. Each measurement runs in its own worker process (``--worker NAME``),
so the transport and allocator settings of one never leak into another. DDS stays on this
machine: every worker gets ``ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST`` and a ROS_DOMAIN_ID
this run holds a lock on, and the Fast DDS profile is used in a copy whose UDP transport
is restricted to 127.0.0.1 (same shared-memory settings as the shipped file).

Transport settings compared: ``stock`` (no profile, default malloc, SingleThreadedExecutor)
and ``tuned`` (config/fastdds_large_data.xml, :func:`runtime.tune_allocator`,
:func:`runtime.make_executor`), in every process of a scenario.
"""

from __future__ import annotations

import argparse
from array import array
import gc
import json
import os
import platform
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from typing import Any, Callable, Dict, List, Optional, Tuple

import numpy as np

from camera_node import launch_logic
from camera_node.ros import runtime

PKG_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                       'camera_node', 'camera_node')
PROFILE_CANDIDATES = (
    os.path.join(os.path.dirname(PKG_DIR), 'config', 'fastdds_large_data.xml'),
)

#: lock file of a ROS_DOMAIN_ID a bench run holds (201..232; tests use 20..199)
BENCH_DOMAIN_LOCK = '/tmp/camera_node_bench_domain_%d.lock'
#: every goal key the JSON holds (rows may say 'skipped' but the key is always there)
GOAL_KEYS = (
    'fill_640x480_rgb8', 'fill_1280x720_rgb8', 'fill_640x480_cloud',
    'fill_bit_exact_check_fields_off', 'fill_bit_exact_check_fields_on',
    'delivery_color_1280x720', 'delivery_aligned_depth_640x480', 'delivery_cloud_640x480',
    'latency_p50_color_1280x720', 'latency_p50_aligned_depth_640x480',
    'latency_p50_cloud_640x480',
    'latency_p99_color_1280x720', 'latency_p99_aligned_depth_640x480',
    'latency_p99_cloud_640x480',
    'cloud_generation_640x480', 'node_cpu_stream_set', 'getimage_jpeg_1280x720',
    'rss_growth_10k',
)
#: streams of the issue's stream set: key -> (camera index, topic suffix, kind)
STREAMS = {
    'color_1280x720': (0, 'color/image_raw', 'image'),
    'aligned_depth_640x480': (1, 'aligned_depth_to_color/image_raw', 'image'),
    'cloud_640x480': (1, 'depth/color/points', 'cloud'),
}


# ----------------------------------------------------------------------------- helpers
def _pct(values: List[float], q: float) -> Optional[float]:
    """Return the q-th percentile (0-100) of values, None when empty."""
    if not values:
        return None
    return float(np.percentile(np.asarray(values, dtype=float), q))


def _median_time(fn: Callable[[], Any], reps: int) -> float:
    """Return the median wall time of fn in milliseconds over reps calls (after one)."""
    fn()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000.0)
    return statistics.median(times)


def _result(obj: Dict[str, Any]) -> None:
    """Print a worker's result as the last stdout line."""
    print('RESULT ' + json.dumps(obj), flush=True)


def _stop_event() -> threading.Event:
    """Return an event set by SIGINT/SIGTERM (handlers installed in the main thread)."""
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    return stop


def _rclpy_init(tuned: bool) -> Tuple[Any, Any, str]:
    """Initialise rclpy without its signal handlers; return (rclpy, executor, name)."""
    if tuned:
        runtime.tune_allocator()
    import rclpy
    from rclpy.signals import SignalHandlerOptions
    rclpy.init(signal_handler_options=SignalHandlerOptions.NO)
    executor, name = runtime.make_executor(prefer=None if tuned else 'single')
    return rclpy, executor, name


def _frames(width: int, height: int, count: int, motion: bool = True):
    """Render count synthetic frame sets (moving sphere) of width x height."""
    from camera_node.drivers.synthetic.driver import SyntheticDriver
    drv = SyntheticDriver({'width': width, 'height': height, 'fps': 240.0, 'motion': motion})
    drv.open()
    out = []
    for seq in range(count):
        out.append(drv._render(seq))
    props = drv.properties()
    drv.close()
    return out, props


class _StubNode:
    """Just enough of a Node for ImageStream outside DDS."""

    def create_publisher(self, *args: Any, **kwargs: Any) -> Any:
        return None


# ----------------------------------------------------------------------------- workers
def w_fill(spec: Dict[str, Any]) -> Dict[str, Any]:
    """Time message fills (ours vs naive assignment) and check the bytes that go out."""
    from rclpy.serialization import deserialize_message, serialize_message
    from sensor_msgs.msg import Image, PointCloud2
    from camera_node.core import cloud as geometry
    from camera_node.ros.messages import point_fields, stamp_msg
    from camera_node.ros.streams import ImageStream, STREAMS
    out: Dict[str, Any] = {'check_fields': os.environ.get('ROS_PYTHON_CHECK_FIELDS', '')}
    rng = np.random.default_rng(3)
    exact = True
    for key, (w, h, kind) in spec['cases'].items():
        if kind == 'cloud':
            src = rng.integers(0, 256, size=(h, w, geometry.POINT_STEP), dtype=np.uint8)
            msg = PointCloud2()
            msg.height, msg.width = h, w
            msg.fields = point_fields()
            msg.point_step = geometry.POINT_STEP
            msg.row_step = geometry.POINT_STEP * w
            msg.data = array('B', bytes(src.size))
            view = np.frombuffer(msg.data, dtype=np.uint8).reshape(src.shape)

            def ours(msg=msg, view=view, src=src):
                np.copyto(view, src)
                return msg
            naive_msg = PointCloud2()
        else:
            src = rng.integers(0, 256, size=(h, w, 3), dtype=np.uint8)
            stream = ImageStream(_StubNode(), STREAMS[0], 'f', {})
            stamp = stamp_msg(time.time_ns())

            def ours(stream=stream, src=src, stamp=stamp):
                return stream.message(None, src, stamp)
            naive_msg = Image()
        ms_ours = _median_time(ours, spec['reps'])
        filled = ours()
        back = deserialize_message(serialize_message(filled), type(filled))
        ok = bytes(back.data) == src.tobytes()
        exact = exact and ok

        flat = src.reshape(-1)
        how = 'numpy array'

        def naive(flat=flat, m=naive_msg):
            m.data = flat
        try:
            naive()
        except Exception:  # rejected with ROS_PYTHON_CHECK_FIELDS=1: a list then
            how = 'list'

            def naive(flat=flat, m=naive_msg):
                m.data = flat.tolist()
        ms_naive = _median_time(naive, spec['naive_reps'])
        out[key] = {'ours_ms': ms_ours, 'naive_ms': ms_naive, 'naive_kind': how,
                    'bit_exact': ok}
    out['bit_exact'] = exact
    return out


def w_cloud(spec: Dict[str, Any]) -> Dict[str, Any]:
    """Time CloudBuffer.fill against Open3D create_from_rgbd_image on the same frames."""
    from camera_node.core import cloud as geometry
    w, h, n = spec['width'], spec['height'], spec['frames']
    frames, props = _frames(w, h, n)
    intr = props.color
    rays = geometry.RayTable(intr)
    buf = geometry.CloudBuffer(rays, array('B', bytes(w * h * geometry.POINT_STEP)))
    i = [0]

    def ours():
        fs = frames[i[0] % n]
        i[0] += 1
        buf.fill(fs.aligned_depth, fs.color)
    out: Dict[str, Any] = {'ours_ms': _median_time(ours, spec['reps'])}
    try:
        import open3d as o3d
    except ImportError:
        out['open3d'] = 'skipped: open3d not installed'
        return out
    out['open3d'] = o3d.__version__
    pin = o3d.camera.PinholeCameraIntrinsic(w, h, intr.fx, intr.fy, intr.cx, intr.cy)

    def o3d_cloud(fs):
        color = o3d.geometry.Image(np.ascontiguousarray(fs.color))
        depth = o3d.geometry.Image(np.ascontiguousarray(fs.aligned_depth))
        rgbd = o3d.geometry.RGBDImage.create_from_color_and_depth(
            color, depth, depth_scale=1000.0, depth_trunc=1.0e4,
            convert_rgb_to_intensity=False)
        return o3d.geometry.PointCloud.create_from_rgbd_image(rgbd, pin)

    def theirs():
        fs = frames[i[0] % n]
        i[0] += 1
        o3d_cloud(fs)
    pc2 = np.zeros((h * w, 4), dtype=np.float32)

    def theirs_packed():
        fs = frames[i[0] % n]
        i[0] += 1
        pcd = o3d_cloud(fs)
        pts = np.asarray(pcd.points)
        cols = (np.asarray(pcd.colors) * 255.0).astype(np.uint8)
        m = len(pts)
        pc2[:m, :3] = pts
        rgb = np.zeros((m, 4), np.uint8)
        rgb[:, 0], rgb[:, 1], rgb[:, 2] = cols[:, 2], cols[:, 1], cols[:, 0]
        pc2[:m, 3] = rgb.view(np.float32)[:, 0]
    out['open3d_ms'] = _median_time(theirs, spec['reps'])
    out['open3d_packed_ms'] = _median_time(theirs_packed, spec['reps'])
    # same points? (Open3D keeps valid depth only, in row-major order)
    fs = frames[0]
    buf.fill(fs.aligned_depth, fs.color)
    mine = buf.points().reshape(-1, 4)[fs.aligned_depth.reshape(-1) > 0, :3]
    ref = np.asarray(o3d_cloud(fs).points)
    out['same_points'] = bool(mine.shape == ref.shape)
    out['max_abs_diff_m'] = float(np.max(np.abs(mine - ref))) if mine.shape == ref.shape else None
    return out


def w_driver(spec: Dict[str, Any]) -> Dict[str, Any]:
    """CPU of the synthetic drivers alone (capture threads reading at fps)."""
    from camera_node.drivers.synthetic.driver import SyntheticDriver
    stop = threading.Event()
    drivers = []
    for w, h in spec['sizes']:
        d = SyntheticDriver({'width': w, 'height': h, 'fps': spec['fps'], 'motion': False})
        d.open()
        drivers.append(d)

    def run(d):
        while not stop.is_set():
            d.read(0.5)
    threads = [threading.Thread(target=run, args=(d,), daemon=True) for d in drivers]
    for t in threads:
        t.start()
    time.sleep(spec['warmup'])
    c0, t0 = time.process_time(), time.monotonic()
    time.sleep(spec['window'])
    cpu = (time.process_time() - c0) / (time.monotonic() - t0) * 100.0
    stop.set()
    for t in threads:
        t.join(2)
    return {'cpu_pct': cpu}


def w_node(spec: Dict[str, Any]) -> Dict[str, Any]:
    """Run camera nodes (several in one process if asked) until SIGINT; as node.main will."""
    rclpy, executor, name = _rclpy_init(spec['tuned'])
    from rclpy.parameter import Parameter
    from camera_node.ros.node import make_camera_node
    stop = _stop_event()
    nodes = []
    try:
        for cam in spec['cameras']:
            overrides = [Parameter(k, value=v) for k, v in cam['params'].items()]
            node = make_camera_node('camera', namespace=cam['namespace'],
                                    parameter_overrides=overrides)
            nodes.append(node)
            executor.add_node(node)
        print('READY %s' % name, flush=True)
        if not stop.is_set():  # a signal before spin() took over its handlers
            while not stop.is_set() and rclpy.ok():
                executor.spin_once(timeout_sec=0.1)
        errors = sum(n.camera.streams.publish_errors for n in nodes)
        sets = sum(n.camera.streams.published_sets for n in nodes)
    finally:
        for node in nodes:
            node.shutdown()
            executor.remove_node(node)
            node.destroy_node()
        executor.shutdown()
        rclpy.try_shutdown()
    return {'executor': name, 'publish_errors': errors, 'published_sets': sets}


def _make_msg(kind: str, w: int, h: int) -> Any:
    from sensor_msgs.msg import Image, PointCloud2
    from camera_node.core import cloud as geometry
    if kind == 'cloud':
        msg = PointCloud2()
        msg.height, msg.width = h, w
        from camera_node.ros.messages import point_fields
        msg.fields = point_fields()
        msg.point_step = geometry.POINT_STEP
        msg.row_step = geometry.POINT_STEP * w
        msg.data = array('B', bytes(h * w * geometry.POINT_STEP))
        return msg
    msg = Image()
    msg.height, msg.width = h, w
    msg.encoding = 'rgb8' if kind == 'image' else '16UC1'
    msg.step = w * (3 if kind == 'image' else 2)
    msg.data = array('B', bytes(msg.step * h))
    return msg


def w_floor(spec: Dict[str, Any]) -> Dict[str, Any]:
    """Bare rclpy publisher of pre-filled messages at fps (the transport floor)."""
    rclpy, executor, name = _rclpy_init(spec['tuned'])
    from sensor_msgs.msg import Image, PointCloud2
    from camera_node.ros.messages import stamp_msg
    from camera_node.ros.streams import stream_qos
    stop = _stop_event()
    node = rclpy.create_node('bench_floor')
    pubs = []
    for topic, kind, w, h in spec['streams']:
        msg = _make_msg(kind, w, h)
        pubs.append((node.create_publisher(PointCloud2 if kind == 'cloud' else Image, topic,
                                           stream_qos()), msg))
    print('READY %s' % name, flush=True)
    errors = 0
    period = 1.0 / spec['fps']
    nxt = time.monotonic()
    while not stop.is_set():
        wait = nxt - time.monotonic()
        if wait > 0:
            stop.wait(wait)
        nxt = max(nxt + period, time.monotonic() - period)
        stamp = stamp_msg(time.time_ns())
        for pub, msg in pubs:
            msg.header.stamp = stamp
            try:
                pub.publish(msg)
            except Exception:
                errors += 1
    node.destroy_node()
    executor.shutdown()
    rclpy.try_shutdown()
    return {'publish_errors': errors}


def _cpu_seconds(pids: List[int]) -> float:
    import psutil
    total = 0.0
    for pid in pids:
        try:
            t = psutil.Process(pid).cpu_times()
            total += t.user + t.system
        except psutil.Error:
            pass
    return total


def w_sub(spec: Dict[str, Any]) -> Dict[str, Any]:
    """Receive streams, measure delivery/latency and the publishers' CPU; call GetImage."""
    rclpy, executor, name = _rclpy_init(spec['tuned'])
    from rclpy.qos import HistoryPolicy, QoSProfile, ReliabilityPolicy
    from sensor_msgs.msg import Image, PointCloud2
    node = rclpy.create_node('bench_sub')
    qos = QoSProfile(depth=5, history=HistoryPolicy.KEEP_LAST,
                     reliability=ReliabilityPolicy.RELIABLE)
    got: Dict[str, List[Tuple[int, int]]] = {}
    subs = []
    for key, topic, kind in spec['topics']:
        got[key] = []

        def cb(m, k=key):
            got[k].append((m.header.stamp.sec * 1_000_000_000 + m.header.stamp.nanosec,
                           time.time_ns()))
        subs.append(node.create_subscription(PointCloud2 if kind == 'cloud' else Image,
                                             topic, cb, qos))
    executor.add_node(node)
    out: Dict[str, Any] = {'executor': name, 'streams': {}}
    deadline = time.monotonic() + spec['start_timeout']
    while time.monotonic() < deadline and not all(got.values()):
        executor.spin_once(timeout_sec=0.05)
    out['started'] = all(got.values())
    end_warm = time.monotonic() + spec['warmup']
    while time.monotonic() < end_warm:
        executor.spin_once(timeout_sec=0.05)
    w0 = time.time_ns()
    c0, m0 = _cpu_seconds(spec['cpu_pids']), time.monotonic()
    w1 = w0 + int(spec['window'] * 1e9)
    while time.time_ns() < w1:
        executor.spin_once(timeout_sec=0.05)
    out['cpu_pct'] = (_cpu_seconds(spec['cpu_pids']) - c0) / (time.monotonic() - m0) * 100.0
    tail = time.monotonic() + 0.5
    while time.monotonic() < tail:
        executor.spin_once(timeout_sec=0.05)
    expected = spec['window'] * spec['fps']
    for key, items in got.items():
        inside = {s: r for s, r in items if w0 <= s < w1}
        lat = [(r - s) / 1e6 for s, r in inside.items()]
        out['streams'][key] = {
            'received': len(inside), 'expected': expected,
            'delivered_pct': min(100.0, 100.0 * len(inside) / expected) if expected else None,
            'p50_ms': _pct(lat, 50), 'p95_ms': _pct(lat, 95), 'p99_ms': _pct(lat, 99)}
    for s in subs:
        node.destroy_subscription(s)
    if spec.get('getimage'):
        out['getimage'] = _getimage(node, executor, spec['getimage'], spec['getimage_calls'])
    executor.remove_node(node)
    node.destroy_node()
    executor.shutdown()
    rclpy.try_shutdown()
    return out


def _getimage(node: Any, executor: Any, service: str, calls: int) -> Dict[str, Any]:
    """Time GetImage image/jpeg round trips vs encoding the same frame alone (ms, p50)."""
    from camera_node_interfaces.srv import GetImage
    from camera_node.viam import codecs as vf
    client = node.create_client(GetImage, service)
    deadline = time.monotonic() + 20
    while not client.service_is_ready() and time.monotonic() < deadline:
        executor.spin_once(timeout_sec=0.05)
    if not client.service_is_ready():
        return {'error': 'service %s not ready' % service}
    rts = []
    res = None
    for _ in range(calls + 2):
        t0 = time.perf_counter()
        fut = client.call_async(GetImage.Request(mime_type='image/jpeg'))
        while not fut.done():
            executor.spin_once(timeout_sec=0.01)
        rts.append((time.perf_counter() - t0) * 1000.0)
        res = fut.result()
    rts = rts[2:]
    if res is None or not res.success:
        return {'error': getattr(res, 'error', 'no reply')}
    img = np.frombuffer(bytes(res.image.data), np.uint8).reshape(
        res.image.height, res.image.width, 3)
    enc = _median_time(lambda: vf.encode_jpeg(img, 80), calls)
    node.destroy_client(client)
    return {'rt_p50_ms': _pct(rts, 50), 'encode_p50_ms': enc, 'mime': res.mime_type,
            'size': [int(res.image.width), int(res.image.height)]}


def w_rss(spec: Dict[str, Any]) -> Dict[str, Any]:
    """RSS growth of a node publishing many frame sets in-process, every stream wanted."""
    import psutil
    rclpy, executor, name = _rclpy_init(spec['tuned'])
    from rclpy.parameter import Parameter
    from rclpy.qos import qos_profile_sensor_data
    from sensor_msgs.msg import CameraInfo, CompressedImage, Image, PointCloud2
    from camera_node.core.types import FrameSet
    from camera_node.ros.node import make_camera_node
    w, h = spec['width'], spec['height']
    frames, _ = _frames(w, h, 8)
    cam = make_camera_node('camera', namespace='/bench_rss', parameter_overrides=[
        Parameter('width', value=w), Parameter('height', value=h),
        Parameter('fps', value=0.5)])
    sub = rclpy.create_node('bench_rss_sub')
    received = [0]

    def count(_msg):
        received[0] += 1
    topics = [(Image, 'color/image_raw'), (Image, 'depth/image_rect_raw'),
              (Image, 'aligned_depth_to_color/image_raw'), (PointCloud2, 'depth/color/points'),
              (CompressedImage, 'color/image_raw/compressed'), (CameraInfo, 'color/camera_info')]
    for cls, t in topics:
        sub.create_subscription(cls, '/bench_rss/camera/' + t, count, qos_profile_sensor_data)
    executor.add_node(cam)
    executor.add_node(sub)
    stop = threading.Event()

    def spin():
        while not stop.is_set():
            executor.spin_once(timeout_sec=0.05)
    spinner = threading.Thread(target=spin, daemon=True)
    spinner.start()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        streams = cam.camera.streams.streams
        if 'points' in streams and all(s.pub.get_subscription_count()
                                       for s in streams.values()):
            break
        time.sleep(0.05)
    proc = psutil.Process()
    rss = []
    n, warm = spec['count'], spec['warmup']
    errors = 0
    t0 = time.monotonic()
    for i in range(n + warm):
        base = frames[i % len(frames)]
        fs = FrameSet(color=base.color, depth=base.depth, aligned_depth=base.aligned_depth,
                      stamp_ns=time.time_ns())
        before = cam.camera.streams.publish_errors
        cam.camera.streams.publish(fs)
        errors += cam.camera.streams.publish_errors - before
        if i == warm - 1:
            gc.collect()
            rss.append(proc.memory_info().rss)
        if i >= warm and (i - warm) % max(1, n // 10) == 0:
            rss.append(proc.memory_info().rss)
    elapsed = time.monotonic() - t0
    time.sleep(0.3)
    gc.collect()
    rss.append(proc.memory_info().rss)
    stop.set()
    spinner.join(2)
    cam.shutdown()
    executor.remove_node(cam)
    executor.remove_node(sub)
    cam.destroy_node()
    sub.destroy_node()
    executor.shutdown()
    rclpy.try_shutdown()
    return {'growth_mb': (rss[-1] - rss[0]) / 1e6, 'max_growth_mb': (max(rss) - rss[0]) / 1e6,
            'rss_start_mb': rss[0] / 1e6, 'frame_sets': n, 'warmup_sets': warm,
            'sets_per_s': (n + warm) / elapsed, 'received': received[0],
            'publish_errors': errors}


#: parts of the suite --only can pick; 'latency' is the tuned half of 'transport'
PARTS = ('fill', 'cloud', 'driver', 'transport', 'latency', 'rss', 'scaling')

WORKERS = {'fill': w_fill, 'cloud': w_cloud, 'driver': w_driver, 'node': w_node,
           'floor': w_floor, 'sub': w_sub, 'rss': w_rss}


# ------------------------------------------------------------------------ orchestration
class Runner:
    """Start workers with confined DDS and the transport settings of a scenario."""

    def __init__(self, domain: int, profile: Optional[str], log_dir: str) -> None:
        self.domain = domain
        self.profile = profile
        self.log_dir = log_dir
        self.n = 0

    def env(self, tuned: bool, extra: Optional[Dict[str, str]] = None) -> Dict[str, str]:
        """Return the environment of a worker."""
        env = dict(os.environ)
        for k in ('FASTRTPS_DEFAULT_PROFILES_FILE', 'FASTDDS_DEFAULT_PROFILES_FILE',
                  'MALLOC_MMAP_THRESHOLD_', 'MALLOC_TRIM_THRESHOLD_', 'MALLOC_TOP_PAD_',
                  'FASTDDS_BUILTIN_TRANSPORTS', 'CAMERA_NODE_NO_MALLOC_TUNING',
                  'CAMERA_NODE_EXECUTOR'):
            env.pop(k, None)
        env['ROS_DOMAIN_ID'] = str(self.domain)
        env['ROS_AUTOMATIC_DISCOVERY_RANGE'] = 'LOCALHOST'
        if tuned and self.profile:
            # the name this distro's Fast DDS reads (Jazzy's Fast DDS 2 ignores FASTDDS_...)
            env[launch_logic.fastdds_profile_variable(env)] = self.profile
        env.update(extra or {})
        return env

    def start(self, name: str, spec: Dict[str, Any], tuned: bool = False,
              extra_env: Optional[Dict[str, str]] = None) -> subprocess.Popen:
        """Start a worker; its stdout is a pipe, stderr goes to a log file."""
        self.n += 1
        log = open(os.path.join(self.log_dir, '%02d_%s.log' % (self.n, name)), 'w')
        return subprocess.Popen(
            [sys.executable, os.path.abspath(__file__), '--worker', name, '--spec',
             json.dumps(spec)], stdout=subprocess.PIPE, stderr=log, text=True,
            env=self.env(tuned, extra_env))

    @staticmethod
    def wait_ready(proc: subprocess.Popen, timeout: float = 60.0) -> bool:
        """Wait for a long-running worker's READY line."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if line.startswith('READY'):
                return True
            if not line and proc.poll() is not None:
                return False
        return False

    @staticmethod
    def finish(proc: subprocess.Popen, timeout: float = 120.0, stop: bool = False) -> Dict:
        """Return a worker's RESULT (after SIGINT when stop); {} when it failed."""
        if stop and proc.poll() is None:
            proc.send_signal(signal.SIGINT)
        try:
            out, _ = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, _ = proc.communicate()
        for line in reversed((out or '').splitlines()):
            if line.startswith('RESULT '):
                return json.loads(line[7:])
        return {'error': 'worker exited with %s' % proc.returncode}

    def run(self, name: str, spec: Dict[str, Any], tuned: bool = False,
            extra_env: Optional[Dict[str, str]] = None, timeout: float = 300.0) -> Dict:
        """Run a worker to completion and return its result."""
        return self.finish(self.start(name, spec, tuned, extra_env), timeout)


def loopback_profile(src: str, dst_dir: str) -> str:
    """Copy the profile with its UDPv4 transports restricted to 127.0.0.1."""
    with open(src) as f:
        text = f.read()
    text = re.sub(r'(<type>UDPv4</type>)', r'\1<interfaceWhiteList><address>127.0.0.1'
                  r'</address></interfaceWhiteList>', text)
    dst = os.path.join(dst_dir, 'fastdds_large_data_loopback.xml')
    with open(dst, 'w') as f:
        f.write(text)
    return dst


def scenario(runner: Runner, pub: str, pub_spec: Dict[str, Any], topics: List, fps: float,
             cfg: Dict[str, Any], tuned: bool, getimage: Optional[str] = None,
             extra_pubs: int = 0, pub_specs: Optional[List[Dict[str, Any]]] = None) -> Dict:
    """Run publisher worker(s) and a subscriber; return the subscriber's result."""
    specs = pub_specs or [pub_spec]
    procs = [runner.start(pub, s, tuned) for s in specs]
    try:
        ready = all(runner.wait_ready(p) for p in procs)
        if not ready:
            return {'error': 'publisher did not start'}
        res = runner.run('sub', {
            'tuned': tuned, 'topics': topics, 'fps': fps, 'warmup': cfg['warmup'],
            'window': cfg['window'], 'start_timeout': 30.0,
            'cpu_pids': [p.pid for p in procs], 'getimage': getimage,
            'getimage_calls': cfg['getimage_calls']}, tuned)
    finally:
        pubs = [runner.finish(p, 30.0, stop=True) for p in procs]
    res['publishers'] = pubs
    return res


def median_of_runs(results: List[Dict[str, Any]]) -> Dict[str, Any]:
    """Merge repeated runs of one scenario: per-stream figures and CPU are medians.

    The first run's other entries (getimage, publishers) are kept; every run's figures
    stay under ``runs``. One run is returned as it is.
    """
    if len(results) == 1:
        return results[0]
    out = dict(results[0])
    out['runs'] = results
    cpus = [r['cpu_pct'] for r in results if r.get('cpu_pct') is not None]
    out['cpu_pct'] = statistics.median(cpus) if cpus else None
    streams: Dict[str, Dict[str, Any]] = {}
    for key in results[0].get('streams', {}):
        merged = {}
        for fig in ('received', 'delivered_pct', 'p50_ms', 'p95_ms', 'p99_ms'):
            vals = [r['streams'][key][fig] for r in results
                    if r.get('streams', {}).get(key, {}).get(fig) is not None]
            merged[fig] = statistics.median(vals) if vals else None
        merged['expected'] = results[0]['streams'][key].get('expected')
        streams[key] = merged
    out['streams'] = streams
    return out


def camera_spec(ns: str, w: int, h: int, fps: float) -> Dict[str, Any]:
    """Return a node worker's camera entry."""
    return {'namespace': ns, 'params': {'width': w, 'height': h, 'fps': fps,
                                        'motion': False}}


def measure(args: argparse.Namespace) -> Dict[str, Any]:
    """Run every measurement; return the raw figures."""
    quick = args.quick
    cfg = {
        'fps': 30.0,
        'window': 1.5 if quick else 10.0, 'warmup': 0.5 if quick else 2.0,
        'scale_window': 1.0 if quick else 6.0,
        'getimage_calls': 5 if quick else 50,
        'color': (160, 120) if quick else (1280, 720),
        'depth': (96, 72) if quick else (640, 480),
        'fill_cases': {
            'fill_640x480_rgb8': (64, 48, 'image') if quick else (640, 480, 'image'),
            'fill_1280x720_rgb8': (128, 72, 'image') if quick else (1280, 720, 'image'),
            'fill_640x480_cloud': (64, 48, 'cloud') if quick else (640, 480, 'cloud')},
        'rss_count': 200 if quick else 10000, 'rss_warmup': 50 if quick else 1000,
        'rss_size': (64, 48) if quick else (320, 240),
        'scale': [1, 2] if quick else [1, 2, 4], 'scale_size': (64, 48) if quick else (640, 480),
        'repeat': max(1, int(getattr(args, 'repeat', 1) or 1)),
    }
    runner = Runner(args.domain, args.profile_used, args.log_dir)
    raw: Dict[str, Any] = {'config': cfg}
    t_start = time.monotonic()

    def log(msg: str) -> None:
        print('[bench %5.1f s] %s' % (time.monotonic() - t_start, msg), file=sys.stderr,
              flush=True)

    fill_spec = {'cases': cfg['fill_cases'], 'reps': 5 if quick else 50,
                 'naive_reps': 1 if quick else 3}
    cloud_spec = {'width': cfg['depth'][0], 'height': cfg['depth'][1],
                  'frames': 4 if quick else 30, 'reps': 5 if quick else 60}
    color, depth = cfg['color'], cfg['depth']
    driver_spec = {'sizes': [color, depth], 'fps': cfg['fps'], 'warmup': cfg['warmup'],
                   'window': cfg['window']}
    rss_spec = {'tuned': True, 'width': cfg['rss_size'][0], 'height': cfg['rss_size'][1],
                'count': cfg['rss_count'], 'warmup': cfg['rss_warmup']}
    only = set(args.only or PARTS)

    if only & {'fill', 'cloud', 'driver'}:
        log('fill, cloud generation, driver cost')
    # (raw key, worker, spec, tuned, extra environment)
    jobs: List[Tuple[str, str, Dict[str, Any], bool, Optional[Dict[str, str]]]] = []
    if 'fill' in only:
        jobs += [('fill_' + mode, 'fill', fill_spec, False, {'ROS_PYTHON_CHECK_FIELDS': flag})
                 for mode, flag in (('off', '0'), ('on', '1'))]
    if 'cloud' in only:
        jobs.append(('cloud', 'cloud', cloud_spec, False, None))
    if quick:  # accuracy does not matter: overlap the in-process measurements
        if 'rss' in only:
            jobs.append(('rss', 'rss', rss_spec, True, None))
        procs = {key: runner.start(*job) for key, *job in jobs}
        for key, p in procs.items():
            raw[key] = runner.finish(p)
    else:
        for key, *job in jobs:
            raw[key] = runner.run(*job)
    if 'driver' in only:
        raw['driver'] = runner.run('driver', driver_spec)

    node_spec = {'cameras': [camera_spec('/bench_c0', color[0], color[1], cfg['fps']),
                             camera_spec('/bench_c1', depth[0], depth[1], cfg['fps'])]}
    topics = [(key, '/bench_c%d/camera/%s' % (cam, suffix), kind)
              for key, (cam, suffix, kind) in STREAMS.items()]
    floor_streams = [('/bench_floor/color', 'image', color[0], color[1]),
                     ('/bench_floor/aligned_depth', 'depth', depth[0], depth[1]),
                     ('/bench_floor/cloud', 'cloud', depth[0], depth[1])]
    floor_topics = [('color_1280x720', '/bench_floor/color', 'image'),
                    ('aligned_depth_640x480', '/bench_floor/aligned_depth', 'image'),
                    ('cloud_640x480', '/bench_floor/cloud', 'cloud')]
    modes = [m for m in ('stock', 'tuned') if m == 'tuned' or 'transport' in only]
    if only & {'transport', 'latency'}:
        runs: Dict[str, List[Dict[str, Any]]] = {}
        for rep in range(cfg['repeat']):  # interleaved, so load changes hit both alike
            for mode in modes:
                tuned = mode == 'tuned'
                tag = '' if cfg['repeat'] == 1 else ' (run %d of %d)' % (rep + 1, cfg['repeat'])
                log('floor publisher, %s transport%s' % (mode, tag))
                runs.setdefault('floor_' + mode, []).append(scenario(
                    runner, 'floor', {'tuned': tuned, 'fps': cfg['fps'],
                                      'streams': floor_streams}, floor_topics,
                    cfg['fps'], cfg, tuned))
                log('camera node stream set, %s transport%s' % (mode, tag))
                runs.setdefault('node_' + mode, []).append(scenario(
                    runner, 'node', dict(node_spec, tuned=tuned), topics, cfg['fps'], cfg,
                    tuned, getimage='/bench_c0/camera/get_image'))
        for key, results in runs.items():
            raw[key] = median_of_runs(results)
    if 'rss' in only and not quick:
        log('RSS over %d frame sets' % cfg['rss_count'])
        raw['rss'] = runner.run('rss', rss_spec, True, timeout=900)
    sw, sh = cfg['scale_size']
    scale_cfg = dict(cfg, window=cfg['scale_window'], warmup=cfg['warmup'])
    for k in (cfg['scale'] if 'scaling' in only else []):
        cams = [camera_spec('/bench_s%d' % i, sw, sh, cfg['fps']) for i in range(k)]
        tops = []
        for i in range(k):
            for key, (_, suffix, kind) in STREAMS.items():
                if key != 'color_1280x720':
                    tops.append(('s%d_%s' % (i, key.split('_')[0]),
                                 '/bench_s%d/camera/%s' % (i, suffix), kind))
            tops.append(('s%d_color' % i, '/bench_s%d/camera/color/image_raw' % i, 'image'))
        log('scaling: %d camera(s) in %d process(es)' % (k, k))
        raw['scale_procs_%d' % k] = scenario(
            runner, 'node', {}, tops, cfg['fps'], scale_cfg, True,
            pub_specs=[{'tuned': True, 'cameras': [c]} for c in cams])
        if k > 1 or quick:
            log('scaling: %d cameras in one process' % k)
            raw['scale_inproc_%d' % k] = scenario(
                runner, 'node', {'tuned': True, 'cameras': cams}, tops, cfg['fps'],
                scale_cfg, True)
    raw['elapsed_s'] = time.monotonic() - t_start
    return raw


# ------------------------------------------------------------------------------ report
def _row(key: str, figure: str, value: Any, unit: str, baseline: Any = None,
         baseline_of: str = '', ratio: Optional[float] = None, goal: str = '',
         met: Optional[bool] = None, note: str = '') -> Dict[str, Any]:
    return {'key': key, 'figure': figure, 'value': value, 'unit': unit, 'baseline': baseline,
            'baseline_of': baseline_of, 'ratio': ratio, 'goal': goal, 'met': met,
            'note': note}


def _div(a: Optional[float], b: Optional[float]) -> Optional[float]:
    return a / b if a is not None and b else None


def rows_of(raw: Dict[str, Any]) -> List[Dict[str, Any]]:
    """Turn raw figures into table rows, one per goal plus informative ones."""
    rows = []
    cfg = raw['config']
    for key, (w, h, kind) in cfg['fill_cases'].items():
        r_off = raw.get('fill_off', {}).get(key, {})
        r_on = raw.get('fill_on', {}).get(key, {})
        ratio = _div(r_off.get('ours_ms'), r_off.get('naive_ms'))
        rows.append(_row(key, 'fill %dx%d %s, reused buffer vs naive (%s)'
                         % (w, h, kind, r_off.get('naive_kind', '?')), r_off.get('ours_ms'),
                         'ms', r_off.get('naive_ms'), 'naive assignment', ratio, '<= 0.01',
                         None if ratio is None else ratio <= 0.01,
                         'CHECK_FIELDS=1: %s ms vs %s ms (%s)' % (
                             _fmt(r_on.get('ours_ms')), _fmt(r_on.get('naive_ms')),
                             r_on.get('naive_kind', '?'))))
    for mode in ('off', 'on'):
        ok = raw.get('fill_' + mode, {}).get('bit_exact')
        rows.append(_row('fill_bit_exact_check_fields_' + mode,
                         'published bytes == frame bytes, ROS_PYTHON_CHECK_FIELDS %s' % mode,
                         ok, '', goal='true', met=ok))
    node, floor = raw.get('node_tuned', {}), raw.get('floor_tuned', {})
    node_stock = raw.get('node_stock', {})
    for key in STREAMS:
        s = node.get('streams', {}).get(key, {})
        st = node_stock.get('streams', {}).get(key, {})
        pct = s.get('delivered_pct')
        rows.append(_row('delivery_' + key, 'delivered %s, node, profile+malloc' % key, pct,
                         '%', st.get('delivered_pct'), 'stock transport', None, '>= 99',
                         None if pct is None else pct >= 99.0))
    for q, goal in (('p50', 1.3), ('p99', 2.0)):
        for key in STREAMS:
            s = node.get('streams', {}).get(key, {})
            f = floor.get('streams', {}).get(key, {})
            ratio = _div(s.get(q + '_ms'), f.get(q + '_ms'))
            rows.append(_row('latency_%s_%s' % (q, key), 'latency %s %s, node vs floor' % (q, key),
                             s.get(q + '_ms'), 'ms', f.get(q + '_ms'), 'bare publisher', ratio,
                             '<= %.1f' % goal, None if ratio is None else ratio <= goal))
    for key in STREAMS:  # informative: what the transport settings buy
        a = raw.get('floor_tuned', {}).get('streams', {}).get(key, {})
        b = raw.get('floor_stock', {}).get('streams', {}).get(key, {})
        n = node_stock.get('streams', {}).get(key, {})
        rows.append(_row('transport_%s' % key, 'floor p50 %s, profile+malloc vs stock' % key,
                         a.get('p50_ms'), 'ms', b.get('p50_ms'), 'stock', _div(
                             a.get('p50_ms'), b.get('p50_ms')), 'info', None,
                         'delivered %s%% vs %s%%; node stock p50 %s ms, p95 %s ms' % (
                             _fmt(a.get('delivered_pct')), _fmt(b.get('delivered_pct')),
                             _fmt(n.get('p50_ms')), _fmt(n.get('p95_ms')))))
    c = raw.get('cloud', {})
    if 'open3d_ms' in c:
        ratio = _div(c.get('ours_ms'), c.get('open3d_ms'))
        rows.append(_row('cloud_generation_640x480', 'cloud from depth+rgb, ours vs Open3D',
                         c.get('ours_ms'), 'ms', c.get('open3d_ms'),
                         'open3d %s create_from_rgbd_image' % c.get('open3d'), ratio, '<= 0.2',
                         None if ratio is None else ratio <= 0.2,
                         'Open3D + PointCloud2 packing %s ms; same points: %s (max diff %s m)'
                         % (_fmt(c.get('open3d_packed_ms')), c.get('same_points'),
                            _fmt(c.get('max_abs_diff_m')))))
    else:
        rows.append(_row('cloud_generation_640x480', 'cloud from depth+rgb, ours vs Open3D',
                         c.get('ours_ms'), 'ms', None, '', None, '<= 0.2', None,
                         c.get('open3d', c.get('error', 'skipped'))))
    drv = raw.get('driver', {}).get('cpu_pct')
    for mode in ('tuned', 'stock'):
        n = raw.get('node_' + mode, {})
        cpu = n.get('cpu_pct')
        net = None if cpu is None or drv is None else cpu - drv
        key = 'node_cpu_stream_set' if mode == 'tuned' else 'node_cpu_stream_set_stock'
        rows.append(_row(key, 'node CPU, stream set, driver excluded (%s)' % mode, net,
                         '% core', cpu, 'incl. driver', None,
                         '<= 25' if mode == 'tuned' else 'info',
                         (None if net is None else net <= 25.0) if mode == 'tuned' else None,
                         'driver alone %s%%; executor %s' % (_fmt(drv), (n.get(
                             'publishers') or [{}])[0].get('executor'))))
    g = node.get('getimage', {})
    ratio = _div(g.get('rt_p50_ms'), g.get('encode_p50_ms'))
    gs = node_stock.get('getimage', {})
    rows.append(_row('getimage_jpeg_1280x720', 'GetImage JPEG %s round trip vs encode'
                     % 'x'.join(str(v) for v in g.get('size', [])), g.get('rt_p50_ms'), 'ms',
                     g.get('encode_p50_ms'), 'encode alone', ratio, '<= 3',
                     None if ratio is None else ratio <= 3.0,
                     g.get('error', 'stock transport: %s ms' % _fmt(gs.get('rt_p50_ms')))))
    r = raw.get('rss', {})
    growth = r.get('growth_mb')
    rows.append(_row('rss_growth_10k', 'RSS growth over %s frame sets' % r.get('frame_sets'),
                     growth, 'MB', r.get('rss_start_mb'), 'RSS after warm-up', None, '<= 5',
                     None if growth is None else growth <= 5.0,
                     'max growth %s MB, %s sets/s, publish errors %s' % (
                         _fmt(r.get('max_growth_mb')), _fmt(r.get('sets_per_s')),
                         r.get('publish_errors'))))
    for key in sorted(k for k in raw if k.startswith('scale_')):
        s = raw[key]
        streams = s.get('streams', {})
        pcts = [v['delivered_pct'] for v in streams.values() if v.get('delivered_pct') is not None]
        p50s = [v['p50_ms'] for v in streams.values() if v.get('p50_ms') is not None]
        k = int(key.rsplit('_', 1)[1])
        where = 'one process' if 'inproc' in key else '%d process(es)' % k
        rows.append(_row(key, 'scaling: %d camera(s) %dx%d, %s' % (
            k, cfg['scale_size'][0], cfg['scale_size'][1], where), s.get('cpu_pct'), '% core',
            None, '', None, 'info', None, 'min delivered %s%%, median p50 %s ms' % (
                _fmt(min(pcts) if pcts else None), _fmt(statistics.median(p50s)
                                                        if p50s else None))))
    return rows


def _fmt(v: Any) -> str:
    if v is None:
        return '-'
    if isinstance(v, bool):
        return 'yes' if v else 'NO'
    if isinstance(v, float):
        if v != 0 and abs(v) < 0.01:
            return '%.2g' % v
        return '%.3g' % v if abs(v) < 100 else '%.0f' % v
    return str(v)


def table(rows: List[Dict[str, Any]]) -> str:
    """Format rows as a fixed-width text table."""
    head = ('figure', 'value', 'baseline', 'ratio', 'goal', 'met?')
    body = []
    for r in rows:
        unit = (' ' + r['unit']) if r['unit'] and r['value'] is not None else ''
        met = '-' if r['met'] is None else ('yes' if r['met'] else 'NO')
        body.append((r['figure'], _fmt(r['value']) + unit, _fmt(r['baseline']),
                     _fmt(r['ratio']), r['goal'], met))
    widths = [max(len(x[i]) for x in [head] + body) for i in range(len(head))]
    lines = ['  '.join(c.ljust(widths[i]) for i, c in enumerate(x)).rstrip()
             for x in [head] + body]
    lines.insert(1, '  '.join('-' * w for w in widths))
    notes = ['  %s: %s' % (r['key'], r['note']) for r in rows if r['note']]
    return '\n'.join(lines + ['', 'notes:'] + notes)


def machine() -> Dict[str, Any]:
    """Return the facts of this machine and software versions."""
    from importlib import metadata
    cpu = ''
    try:
        with open('/proc/cpuinfo') as f:
            cpu = next((ln.split(':', 1)[1].strip() for ln in f if ln.startswith('model name')),
                       '')
    except OSError:
        pass
    versions = {}
    for dist in ('ros-rclpy', 'ros-fastdds', 'ros-rmw-fastrtps-cpp', 'numpy',
                 'opencv-python-headless', 'open3d'):
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            versions[dist] = None
    return {'nproc': os.cpu_count(), 'cpu': cpu, 'python': platform.python_version(),
            'platform': platform.platform(), 'glibc': runtime.glibc_version(),
            'versions': versions}


def main(argv: Optional[List[str]] = None) -> int:
    """Run the suite (or one worker) from the command line."""
    ap = argparse.ArgumentParser(prog='bench/camera_bench.py', description=__doc__)
    ap.add_argument('--quick', action='store_true', help='tiny sizes and counts (< ~60 s)')
    ap.add_argument('--json', default='bench.json', help='where to write the figures')
    ap.add_argument('--profile', default=None, help='Fast DDS profile to measure '
                    '(default: config/fastdds_large_data.xml, UDP restricted to loopback)')
    ap.add_argument('--only', action='append', choices=PARTS, metavar='PART',
                    help='run only this part (repeatable): %s; latency = floor and node '
                    'with the tuned transport only, transport = stock and tuned'
                    % ', '.join(PARTS))
    ap.add_argument('--repeat', type=int, default=1, metavar='N',
                    help='run the floor and node scenarios N times, interleaved; their '
                    'figures are the medians (default 1)')
    ap.add_argument('--worker', help=argparse.SUPPRESS)
    ap.add_argument('--spec', help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        _result(WORKERS[args.worker](json.loads(args.spec)))
        return 0
    domain, lock = runtime.claim_domain(range(201, 233), BENCH_DOMAIN_LOCK)
    args.domain = domain
    with tempfile.TemporaryDirectory(prefix='camera_node_bench_') as tmp:
        args.log_dir = os.environ.get('CAMERA_NODE_BENCH_LOGS') or tmp
        src = args.profile or next((p for p in PROFILE_CANDIDATES if os.path.exists(p)), None)
        args.profile_used = loopback_profile(src, tmp) if src and not args.profile else src
        started = time.strftime('%Y-%m-%d %H:%M:%S %z')
        raw = measure(args)
    lock.close()
    rows = rows_of(raw)
    cli = argv if argv is not None else sys.argv[1:]
    doc = {'command': ' '.join(['python bench/camera_bench.py'] + cli),
           'date': started, 'quick': args.quick, 'machine': machine(),
           'profile': src, 'domain_id': domain,
           'goals': {r['key']: r for r in rows if r['key'] in GOAL_KEYS},
           'rows': rows, 'raw': raw}
    print(table(rows))
    print('\n%d of %d goals met; figures in %s (%.0f s)' % (
        sum(1 for r in rows if r['key'] in GOAL_KEYS and r['met']), len(GOAL_KEYS),
        args.json, raw['elapsed_s']))
    with open(args.json, 'w') as f:
        json.dump(doc, f, indent=1, default=str)
    return 0


if __name__ == '__main__':
    sys.exit(main())
