"""The processes of the benchmark suite (bench/camera_bench.py) other than the node itself.

``python bench/bench_workers.py NAME SPEC_JSON`` runs one worker: it prints ``READY`` /
``RECEIVING`` lines when asked to, and its result as one ``RESULT {json}`` line. The node
measured is never one of these: it is ``python -m camera_node`` started as a user starts it.

* ``floor``: the transport floor, shaped like the node: one process for the one camera,
  the same messages (colour Image + CameraInfo, aligned depth Image + CameraInfo, the
  organized XYZRGB PointCloud2, in the node's order), pre-filled once from a synthetic frame,
  published at the same rate on the same schedule (a fixed 1/fps grid, restarted when a
  tick is late by more than a period, as the synthetic camera does), each frame set with
  its own stamp: the tick it is published for. Same QoS, same transport settings as the
  node (the Fast DDS profile, the tuned allocator). Nothing else: no executor, no fills.
* ``sub``: what receives the streams and records (stream, stamp, receive time) for the
  orchestrator. ``plain`` is what a user writes (``create_subscription`` with depth 10,
  spun by a SingleThreadedExecutor as ``rclpy.spin`` does; no profile, default allocator);
  ``tuned`` adds the Fast DDS profile (set by the orchestrator), ``tune_allocator()`` and
  the EventsExecutor.
* ``getimage``: a plain client timing GetImage ``image/jpeg`` round trips (``call_async``
  + ``spin_until_future_complete``), then the JPEG encode of the same image alone.
* ``getimage_floor``: a bare GetImage service answering with a reply of the node's sizes
  built once: the round trip's floor; and the same reply with the raw pixels
  (``extra.ros_image``).
* ``driver``: the synthetic driver alone reading at fps in a process of its own (allocator
  tuned as in the node): its CPU is the driver's line of the table.
* ``busy``: a CPU-bound loop (the competing load), ends by itself.
* ``fill``, ``cloud``: in-process timings of the message fills and the cloud generation
  against what a competent user would write.
"""

from __future__ import annotations

from array import array
import json
import os
import statistics
import sys
import threading
import time
from typing import Any, Callable, Dict, List, Tuple

import numpy as np

from bench_common import _result, _stop_event   # this folder is on the path


def _median_ms(fn: Callable[[], Any], reps: int) -> float:
    """Median wall time of fn in ms over reps calls (after one untimed call)."""
    fn()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000.0)
    return statistics.median(times)


def _synthetic_frame(width: int, height: int) -> Tuple[Any, Any]:
    """One synthetic frame set (scene at rest) and the camera's properties."""
    from camera_node.drivers.synthetic.driver import SyntheticDriver
    drv = SyntheticDriver({'width': width, 'height': height, 'fps': 30.0})
    drv.open()
    try:
        return drv.read(2.0), drv.properties()
    finally:
        drv.close()


# ------------------------------------------------------------------------------- floor
def w_floor(spec: Dict[str, Any]) -> Dict[str, Any]:
    """Publish pre-filled copies of the node's messages on the node's schedule."""
    from camera_node.ros import runtime
    runtime.tune_allocator()
    import rclpy
    from rclpy.signals import SignalHandlerOptions
    from sensor_msgs.msg import CameraInfo, Image, PointCloud2
    from camera_node.core import cloud as geometry
    from camera_node.core.calibration import Calibration
    from camera_node.ros.messages import camera_info, point_fields
    from camera_node.ros.publishers import stream_qos
    stop = _stop_event()
    rclpy.init(signal_handler_options=SignalHandlerOptions.NO)
    node = rclpy.create_node(spec['node'], namespace=spec['namespace'])
    fs, props = _synthetic_frame(spec['width'], spec['height'])
    frame = spec['camera_name'] + '_color_optical_frame'
    info = camera_info(Calibration.from_intrinsics(props.color), frame)

    def image(data: np.ndarray, encoding: str) -> Image:
        msg = Image(height=data.shape[0], width=data.shape[1], encoding=encoding,
                    is_bigendian=0, step=int(data.strides[0]), data=array('B', data.tobytes()))
        msg.header.frame_id = frame
        return msg
    buf = geometry.CloudBuffer(geometry.ray_table(props.color))
    buf.fill(fs.aligned_depth, fs.color)
    cloud = PointCloud2(height=buf.rays.height, width=buf.rays.width, fields=point_fields(),
                        is_bigendian=False, point_step=geometry.POINT_STEP,
                        row_step=geometry.POINT_STEP * buf.rays.width, is_dense=False)
    cloud.data = buf.data
    cloud.header.frame_id = frame
    rows = [(Image, '~/color/image_raw', image(fs.color, 'rgb8')),
            (CameraInfo, '~/color/camera_info', info),
            (Image, '~/aligned_depth_to_color/image_raw', image(fs.aligned_depth, '16UC1')),
            (CameraInfo, '~/aligned_depth_to_color/camera_info', info),
            (PointCloud2, '~/depth/color/points', cloud)]
    pubs = [(node.create_publisher(cls, topic, stream_qos()), msg) for cls, topic, msg in rows]
    print('READY', flush=True)
    period = 1.0 / spec['fps']
    mono0, epoch0 = time.monotonic(), time.time_ns()
    due, sets, errors = mono0, 0, 0
    while not stop.is_set():
        wait = due - time.monotonic()
        if wait > 0 and stop.wait(wait):
            break
        if time.monotonic() - due > period:     # late by more than a period: restart
            due = time.monotonic()
        stamp_ns = epoch0 + int((due - mono0) * 1e9)
        due += period
        sec, nsec = divmod(stamp_ns, 1_000_000_000)
        for pub, msg in pubs:
            msg.header.stamp.sec, msg.header.stamp.nanosec = sec, nsec
            try:
                pub.publish(msg)
            except Exception:
                errors += 1
        sets += 1
    node.destroy_node()
    rclpy.try_shutdown()
    return {'published_sets': sets, 'publish_errors': errors}


# --------------------------------------------------------------------------- subscriber
def w_sub(spec: Dict[str, Any]) -> Dict[str, Any]:
    """Receive the streams until SIGINT; write every (stamp, receive time) to spec['out']."""
    tuned = spec['kind'] == 'tuned'
    if tuned:
        from camera_node.ros import runtime
        runtime.tune_allocator()
    import rclpy
    from sensor_msgs.msg import CompressedImage, Image, PointCloud2
    types = {'image': Image, 'cloud': PointCloud2, 'compressed': CompressedImage}
    got: Dict[str, List[Tuple[int, int]]] = {}
    announced = [False]

    def make_cb(key: str) -> Callable[[Any], None]:
        rec = got[key]

        def cb(msg: Any) -> None:
            rec.append((msg.header.stamp.sec * 1_000_000_000 + msg.header.stamp.nanosec,
                        time.time_ns()))
            if not announced[0] and all(got.values()):
                announced[0] = True
                print('RECEIVING', flush=True)
        return cb
    # stopped by SIGINT through a flag (an exception raised inside rclpy's message
    # conversion would surface as an unrelated error); spinning is rclpy.spin's loop
    from rclpy.signals import SignalHandlerOptions
    stop = _stop_event()
    rclpy.init(signal_handler_options=SignalHandlerOptions.NO)
    node = rclpy.create_node('bench_sub')
    for key, topic, kind in spec['topics']:
        got[key] = []
        node.create_subscription(types[kind], topic, make_cb(key), 10)
    if tuned:
        from camera_node.ros import runtime
        ex, executor = runtime.make_executor()
    else:
        from rclpy.executors import SingleThreadedExecutor
        ex, executor = SingleThreadedExecutor(), 'SingleThreadedExecutor'
    ex.add_node(node)
    while not stop.is_set():
        ex.spin_once(timeout_sec=0.1)
    ex.remove_node(node)
    ex.shutdown()
    with open(spec['out'], 'w') as f:
        json.dump(got, f)
    node.destroy_node()
    rclpy.try_shutdown()
    return {'executor': executor, 'received': {k: len(v) for k, v in got.items()}}


# ---------------------------------------------------------------------------- GetImage
def w_getimage(spec: Dict[str, Any]) -> Dict[str, Any]:
    """Time GetImage image/jpeg round trips as a plain client, then the encode alone (ms)."""
    import rclpy
    from camera_node_interfaces.srv import GetImage
    from camera_node.viam import codecs
    rclpy.init()
    node = rclpy.create_node('bench_getimage')
    client = node.create_client(GetImage, spec['service'])
    out: Dict[str, Any] = {}
    try:
        if not client.wait_for_service(timeout_sec=30.0):
            return {'error': 'service %s not ready' % spec['service']}
        rts, res = [], None
        for i in range(spec['calls'] + 2):
            t0 = time.perf_counter()
            fut = client.call_async(GetImage.Request(mime_type='image/jpeg',
                                                     extra=spec.get('extra', '')))
            rclpy.spin_until_future_complete(node, fut, timeout_sec=10.0)
            if not fut.done():
                return {'error': 'no reply within 10 s'}
            if i >= 2:
                rts.append((time.perf_counter() - t0) * 1000.0)
            res = fut.result()
            time.sleep(spec.get('gap_s', 0.0))
        if not res.success:
            return {'error': res.error}
        if res.image.data:
            img = np.frombuffer(bytes(res.image.data), np.uint8).reshape(
                res.image.height, res.image.width, 3)
        else:                   # a reply without the raw pixels: the JPEG's image
            img = codecs.decode_jpeg(bytes(res.data))
        q = spec['quality']
        out = {'rt_ms': rts, 'rt_p50_ms': statistics.median(rts),
               'encode_p50_ms': _median_ms(lambda: codecs.encode_jpeg(img, q), spec['calls']),
               'jpeg_bytes': len(res.data), 'image_bytes': len(res.image.data),
               'size': [int(img.shape[1]), int(img.shape[0])]}
    finally:
        node.destroy_node()
        rclpy.try_shutdown()
    return out


def w_getimage_floor(spec: Dict[str, Any]) -> Dict[str, Any]:
    """Serve GetImage with a reply of the node's sizes built once (no encode, no copy).

    The floor of a GetImage round trip: the same reply (the JPEG of a synthetic frame in
    ``data``, the header of ``image``) from a bare service with the node's transport
    settings, so what the node adds is the encode and its own work; a second service
    answers with the raw rgb8 frame in ``image`` too (what ``extra.ros_image`` asks for).
    """
    from camera_node.ros import runtime
    runtime.tune_allocator()
    import rclpy
    from rclpy.signals import SignalHandlerOptions
    from camera_node_interfaces.srv import GetImage
    from camera_node.ros.messages import image_message, stamp_msg
    from camera_node.viam import codecs
    stop = _stop_event()
    fs, _ = _synthetic_frame(spec['width'], spec['height'])
    jpeg = codecs.encode_jpeg(fs.color, spec['quality'])
    image = image_message(fs.color, 'rgb8', 'camera_color_optical_frame',
                          stamp_msg(fs.stamp_ns))
    rclpy.init(signal_handler_options=SignalHandlerOptions.NO)
    node = rclpy.create_node('bench_getimage_floor')

    header_only = GetImage.Response().image
    header_only.header = image.header

    def serve(req: Any, res: Any, with_pixels: bool = False) -> Any:
        res.success, res.mime_type, res.source_name = True, 'image/jpeg', 'color'
        res.data, res.image = jpeg, image if with_pixels else header_only
        return res
    node.create_service(GetImage, spec['service'], serve)
    node.create_service(GetImage, spec['service'] + '_with_pixels',
                        lambda req, res: serve(req, res, True))
    executor, _ = runtime.make_executor()
    executor.add_node(node)
    print('READY', flush=True)
    while not stop.is_set():
        executor.spin_once(timeout_sec=0.1)
    executor.remove_node(node)
    executor.shutdown()
    node.destroy_node()
    rclpy.try_shutdown()
    return {'jpeg_bytes': len(jpeg)}


# ------------------------------------------------------------------------ driver, load
def w_driver(spec: Dict[str, Any]) -> Dict[str, Any]:
    """CPU of the synthetic driver alone, reading at fps (a capture thread, as in the node)."""
    from camera_node.ros import runtime
    runtime.tune_allocator()
    from camera_node.drivers.synthetic.driver import SyntheticDriver
    drv = SyntheticDriver({'width': spec['width'], 'height': spec['height'],
                           'fps': spec['fps'], 'motion': spec['motion']})
    drv.open()
    stop = threading.Event()
    count = [0]

    def run() -> None:
        while not stop.is_set():
            if drv.read(0.5) is not None:
                count[0] += 1
    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    time.sleep(spec['warmup'])
    c0, t0, n0 = time.process_time(), time.monotonic(), count[0]
    time.sleep(spec['window'])
    elapsed = time.monotonic() - t0
    cpu = (time.process_time() - c0) / elapsed * 100.0
    frames = count[0] - n0
    stop.set()
    thread.join(2.0)
    drv.close()
    return {'cpu_pct': cpu, 'fps': frames / elapsed}


def w_busy(spec: Dict[str, Any]) -> Dict[str, Any]:
    """Spin on the CPU until SIGTERM or spec['seconds'] (a bound: it always ends)."""
    stop = _stop_event()
    end = time.monotonic() + spec['seconds']
    print('READY', flush=True)
    n = 0
    while not stop.is_set() and time.monotonic() < end:
        for _ in range(10000):
            n += 1
    return {'loops': n}


# ---------------------------------------------------------------------------- in process
def w_fill(spec: Dict[str, Any]) -> Dict[str, Any]:
    """Time the node's image fill against cv_bridge's way; check the bytes that go out."""
    from rclpy.serialization import deserialize_message, serialize_message
    from sensor_msgs.msg import Image
    from camera_node.ros.messages import stamp_msg
    from camera_node.ros.publishers import ImageStream
    from camera_node.ros.streams import STREAMS

    class _NoPublisher:
        def create_publisher(self, *args: Any, **kwargs: Any) -> None:
            return None
    w, h = spec['width'], spec['height']
    img = np.random.default_rng(3).integers(0, 256, size=(h, w, 3), dtype=np.uint8)
    stream = ImageStream(_NoPublisher(), STREAMS[0], 'f', {})
    stamp = stamp_msg(time.time_ns())
    ours_ms = _median_ms(lambda: stream.message(None, img, stamp), spec['reps'])

    def cv_bridge_way() -> Image:
        # what cv_bridge's cv2_to_imgmsg does: a new Image whose data gets the bytes
        msg = Image(height=h, width=w, encoding='rgb8', is_bigendian=0, step=w * 3)
        msg.data.frombytes(img.tobytes())
        msg.header.stamp = stamp
        return msg
    reused = Image(height=h, width=w, encoding='rgb8', step=w * 3)

    def tobytes_way() -> Image:
        reused.data = img.tobytes()
        return reused
    out = {'ours_ms': ours_ms, 'cv_bridge_ms': _median_ms(cv_bridge_way, spec['reps']),
           'tobytes_ms': _median_ms(tobytes_way, spec['reps'])}
    msg = stream.message(None, img, stamp)
    back = deserialize_message(serialize_message(msg), Image)
    out['bit_exact'] = bytes(back.data) == img.tobytes()
    return out


def w_cloud(spec: Dict[str, Any]) -> Dict[str, Any]:
    """CloudBuffer.fill against numpy-structured packing and Open3D, same moving frames."""
    from camera_node.ros import runtime
    runtime.tune_allocator()
    from camera_node.core import cloud as geometry
    from camera_node.drivers.synthetic.driver import SyntheticDriver
    w, h, n = spec['width'], spec['height'], spec['frames']
    drv = SyntheticDriver({'width': w, 'height': h, 'fps': 30.0, 'motion': True})
    drv.open()
    frames = [drv._render(seq) for seq in range(n)]
    intr = drv.properties().color
    drv.close()
    buf = geometry.CloudBuffer(geometry.ray_table(intr))
    i = [0]

    def frame() -> Any:
        i[0] += 1
        return frames[i[0] % n]

    def ours() -> None:
        fs = frame()
        buf.fill(fs.aligned_depth, fs.color)
    out: Dict[str, Any] = {'ours_ms': _median_ms(ours, spec['reps'])}
    u = (np.arange(w, dtype=np.float32) - intr.cx) / intr.fx
    v = (np.arange(h, dtype=np.float32) - intr.cy) / intr.fy
    dtype = np.dtype({'names': ['x', 'y', 'z', 'rgb'], 'formats': ['<f4'] * 4,
                      'offsets': [0, 4, 8, 12], 'itemsize': 16})

    def structured(fs: Any) -> bytes:
        # numpy written the straightforward way, as sensor_msgs_py.create_cloud packs
        z = fs.aligned_depth.astype(np.float32) / 1000.0
        z[fs.aligned_depth == 0] = np.nan
        pts = np.empty((h, w), dtype=dtype)
        pts['x'], pts['y'], pts['z'] = z * u[None, :], z * v[:, None], z
        c = fs.color.astype(np.uint32)
        pts['rgb'] = ((c[..., 0] << 16) | (c[..., 1] << 8) | c[..., 2]).view(np.float32)
        return pts.tobytes()
    out['structured_ms'] = _median_ms(lambda: structured(frame()), spec['reps'])
    fs = frames[0]
    buf.fill(fs.aligned_depth, fs.color)
    theirs = np.frombuffer(structured(fs), np.float32).reshape(h, w, 4)
    out['structured_same'] = bool(
        np.allclose(buf.points()[..., :3], theirs[..., :3], atol=1e-6, equal_nan=True)
        and bytes(buf.points()[..., 3].tobytes()) == theirs[..., 3].tobytes())
    try:
        import open3d as o3d
    except ImportError:
        out['open3d'] = 'not installed (./dev bench --with-open3d)'
        return out
    out['open3d'] = o3d.__version__
    pin = o3d.camera.PinholeCameraIntrinsic(w, h, intr.fx, intr.fy, intr.cx, intr.cy)

    def o3d_cloud(fs: Any) -> Any:
        rgbd = o3d.geometry.RGBDImage.create_from_color_and_depth(
            o3d.geometry.Image(np.ascontiguousarray(fs.color)),
            o3d.geometry.Image(np.ascontiguousarray(fs.aligned_depth)), depth_scale=1000.0,
            depth_trunc=1.0e4, convert_rgb_to_intensity=False)
        return o3d.geometry.PointCloud.create_from_rgbd_image(rgbd, pin)
    out['open3d_ms'] = _median_ms(lambda: o3d_cloud(frame()), spec['reps'])
    valid = fs.aligned_depth.reshape(-1) > 0
    mine = buf.points().reshape(-1, 4)[valid, :3]
    ref = np.asarray(o3d_cloud(fs).points)
    out['open3d_same_points'] = bool(mine.shape == ref.shape)
    if mine.shape == ref.shape:
        out['open3d_max_diff_m'] = float(np.max(np.abs(mine - ref)))
    return out


WORKERS = {'floor': w_floor, 'sub': w_sub, 'getimage': w_getimage,
           'getimage_floor': w_getimage_floor, 'driver': w_driver,
           'busy': w_busy, 'fill': w_fill, 'cloud': w_cloud}


if __name__ == '__main__':
    os.environ.setdefault('PYTHONUNBUFFERED', '1')
    _result(WORKERS[sys.argv[1]](json.loads(sys.argv[2])))
