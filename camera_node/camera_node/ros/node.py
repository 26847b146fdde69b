"""The camera node: topics, static TF, parameters and the Viam services of one camera.

Threads: the capture thread (:mod:`camera_node.capture`) reads frame sets from the driver
and leaves the newest in a one-element slot; the publish thread takes it and publishes
every stream with one stamp (with ``publish_in_capture_thread:=true`` the capture thread
publishes itself and there is no publish thread); the executor thread only answers
services and parameters, so they answer whatever the camera does.
"""

from __future__ import annotations

from array import array
import copy
import signal
import sys
import threading
from typing import Any, Dict, List, Optional

import numpy as np
import rclpy
from rclpy.lifecycle import LifecycleNode, LifecycleState, TransitionCallbackReturn
from rclpy.node import Node
from rclpy.qos import (DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy)
from rclpy.qos_overriding_options import QoSOverridingOptions
from rcl_interfaces.msg import SetParametersResult
from builtin_interfaces.msg import Time
from geometry_msgs.msg import TransformStamped
from sensor_msgs.msg import CameraInfo, CompressedImage, Image, PointCloud2

from . import geometry, params
from . import viam_formats as vf
from .calibration import info_to_intrinsics
from .capture import CaptureThread, LatestSlot, RateMeter
from .drivers import CameraProperties, Driver, DriverUnavailableError, FrameSet, Intrinsics
from .drivers import driver_class, InvalidOptionError
from .orientation import quaternion_to_matrix, rotation_matrix_to_quaternion, rpy_to_quaternion

try:  # a real distro has tf2_msgs; ./dev setup builds a stand-in where it is missing
    from tf2_msgs.msg import TFMessage
except ImportError:  # pragma: no cover - reported at start
    TFMessage = None

#: QoS of /tf_static as tf2_ros uses it: reliable, transient local, depth 1
TF_STATIC_QOS = QoSProfile(depth=1, history=HistoryPolicy.KEEP_LAST,
                           reliability=ReliabilityPolicy.RELIABLE,
                           durability=DurabilityPolicy.TRANSIENT_LOCAL)


def stamp_msg(stamp_ns: int) -> Time:
    """Convert a nanosecond timestamp to builtin_interfaces/Time."""
    return Time(sec=stamp_ns // 1_000_000_000, nanosec=stamp_ns % 1_000_000_000)


def stream_qos() -> QoSProfile:
    """Return a fresh QoS profile for one stream publisher: reliable (REP-2003), keep last 1.

    Each publisher gets its own object because qos_overrides.* parameters are applied to
    the profile in place.
    """
    return QoSProfile(depth=1, history=HistoryPolicy.KEEP_LAST,
                      reliability=ReliabilityPolicy.RELIABLE,
                      durability=DurabilityPolicy.VOLATILE)


class ImageStream:
    """One image topic + its CameraInfo, with a message buffer reused frame after frame."""

    def __init__(self, node: Node, topic: str, info_topic: Optional[str], encoding: str,
                 frame_id: str) -> None:
        overriding = QoSOverridingOptions.with_default_policies()
        self.topic = topic
        self.pub = node.create_publisher(Image, topic, stream_qos(),
                                         qos_overriding_options=overriding)
        self.info_pub = None
        if info_topic:
            self.info_pub = node.create_publisher(CameraInfo, info_topic, stream_qos(),
                                                  qos_overriding_options=overriding)
        self.encoding = encoding
        self.frame_id = frame_id
        self.msg = Image()
        self.msg.header.frame_id = frame_id
        self.msg.encoding = encoding
        self.msg.is_bigendian = 0
        self.info: Optional[CameraInfo] = None
        self._view: Optional[np.ndarray] = None
        self.rate = RateMeter()

    def wanted(self) -> bool:
        """Whether anyone listens to the image or its CameraInfo."""
        n = self.pub.get_subscription_count()
        if self.info_pub is not None:
            n += self.info_pub.get_subscription_count()
        return n > 0

    def set_info(self, info: CameraInfo) -> None:
        """Use info (frame id filled in here) for the CameraInfo of every frame."""
        info.header.frame_id = self.frame_id
        self.info = info

    def fill(self, image: np.ndarray, stamp: Time) -> Image:
        """Copy image into the reused message (one memcpy) and stamp it."""
        h, w = image.shape[:2]
        msg = self.msg
        if self._view is None or self._view.shape != image.shape:
            msg.height, msg.width = h, w
            msg.step = int(image.strides[0]) if image.flags.c_contiguous else \
                w * image.itemsize * (image.shape[2] if image.ndim == 3 else 1)
            msg.data = array('B', bytes(msg.step * h))
            self._view = np.frombuffer(msg.data, dtype=image.dtype).reshape(image.shape)
        np.copyto(self._view, image)
        msg.header.stamp = stamp
        return msg

    def message(self, image: np.ndarray, stamp: Time) -> Image:
        """Return a new message of this stream holding a copy of image (service replies)."""
        image = np.ascontiguousarray(image)
        msg = Image(height=image.shape[0], width=image.shape[1], encoding=self.encoding,
                    is_bigendian=0, step=int(image.strides[0]),
                    data=array('B', image.tobytes()))
        msg.header.stamp = stamp
        msg.header.frame_id = self.frame_id
        return msg

    def publish(self, image: np.ndarray, stamp: Time) -> None:
        """Publish image and its CameraInfo with the same header."""
        msg = self.fill(image, stamp)
        self.pub.publish(msg)
        if self.info_pub is not None and self.info is not None:
            self.info.header.stamp = stamp
            self.info_pub.publish(self.info)
        self.rate.tick()


def camera_info(intr: Intrinsics) -> CameraInfo:
    """Build the CameraInfo of a mono imager (R identity, P from K)."""
    info = CameraInfo()
    info.width, info.height = int(intr.width), int(intr.height)
    info.distortion_model = intr.distortion_model or 'plumb_bob'
    d = [float(x) for x in intr.distortion]
    if info.distortion_model == 'plumb_bob' and not d:
        d = [0.0] * 5
    info.d = d
    info.k = [float(x) for x in intr.k()]
    info.r = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0]
    info.p = [float(x) for x in intr.p()]
    return info


class CameraNode(LifecycleNode):
    """A camera driver node. Construct, then spin; call :meth:`shutdown` before destroy.

    With ``lifecycle:=false`` (the default) it configures and activates itself at once and
    its capture thread keeps retrying a missing device. With ``lifecycle:=true`` it waits
    in *unconfigured* for a lifecycle manager: configure opens the device (and fails if it
    is missing), activate starts capture and publishing, deactivate stops them, cleanup
    releases the device.
    """

    def __init__(self, node_name: str = 'camera', **kwargs: Any) -> None:
        super().__init__(node_name, **kwargs)
        self._specs = {s.name: s for s in params.NODE_PARAMETERS}
        self.p: Dict[str, Any] = params.declare(self, params.NODE_PARAMETERS)
        name = self.p['driver']
        try:
            cls = driver_class(name)
        except DriverUnavailableError as exc:
            self.get_logger().fatal(str(exc))
            raise
        for s in cls.parameters:
            self._specs[s.name] = s
        self.driver_options = params.declare(self, cls.parameters)
        self.p.update(self.driver_options)
        self.driver: Driver = cls(self.driver_options)
        self.camera_name = self.p['camera_name']
        self.frames = {
            'link': self.camera_name + '_link',
            'color': self.camera_name + '_color_frame',
            'color_optical': self.camera_name + '_color_optical_frame',
            'depth': self.camera_name + '_depth_frame',
            'depth_optical': self.camera_name + '_depth_optical_frame',
        }
        self.streams: Dict[str, ImageStream] = {}
        self.compressed_pub = None
        self.cloud_pub = None
        self._cloud_msg: Optional[PointCloud2] = None
        self._cloud_buf: Optional[geometry.CloudBuffer] = None
        self._cloud_key: Any = None
        self.cloud_rate = RateMeter()
        self.props: Optional[CameraProperties] = None
        #: colour intrinsics in use and where they come from; set with the CameraInfos
        self._color_intr: Optional[Intrinsics] = None
        self._intr_source = ''
        self._setup_lock = threading.Lock()
        self._tf_pub = None
        self.publish_errors = 0
        self.published_sets = 0
        self.closed = False

        self._warn_unknown_parameters()
        self.active = False
        self._shut_down = False
        #: parameter name -> (check(value) -> reason or None, apply(value)); extensions add
        self.param_hooks: Dict[str, Any] = {}
        self.add_on_set_parameters_callback(self._on_set_parameters)
        self.slot = LatestSlot()
        self.capture = self._new_capture()
        self._stop = threading.Event()
        self._pub_thread: Optional[threading.Thread] = None
        self.extensions: List[Any] = []
        self._load_extensions()
        if not self.p['lifecycle']:
            self.trigger_configure()
            self.trigger_activate()

    def _warn_unknown_parameters(self) -> None:
        """Warn about given parameters this node and driver do not have (typos)."""
        overrides = getattr(self, '_parameter_overrides', {}) or {}
        unknown = sorted(n for n in overrides
                         if n not in self._specs and not n.startswith('qos_overrides.')
                         and n != 'use_sim_time')
        if unknown:
            self.get_logger().warning(
                'ignoring unknown parameter(s) %s: driver %r and the node take: %s'
                % (', '.join(unknown), self.driver.name, ', '.join(sorted(self._specs))))

    def _new_capture(self) -> CaptureThread:
        inline = bool(self.p['publish_in_capture_thread'])
        return CaptureThread(self.driver, self.slot, self.get_logger(),
                             on_open=self._on_device_opened,
                             read_timeout=float(self.p['read_timeout']),
                             max_backoff=float(self.p['reconnect_max_backoff']),
                             deliver=self._publish_one if inline else None)

    # -- extensions (calibration, services, diagnostics) --------------------------------
    def _load_extensions(self) -> None:
        """Attach the feature modules that take the node (composition)."""
        from .calibration import CalibrationManager
        from .diagnostics import Diagnostics
        from .services import ViamServices
        self.calibration = CalibrationManager(self)
        self.viam = ViamServices(self)
        self.diagnostics = Diagnostics(self)
        self.extensions += [self.calibration, self.viam, self.diagnostics]

    # -- lifecycle transitions ----------------------------------------------------------
    def on_configure(self, state: LifecycleState) -> TransitionCallbackReturn:
        """Open the device (lifecycle mode) or leave it to the capture thread (plain)."""
        self.closed = False
        if self.p['lifecycle']:
            try:
                self.driver.open()
            except Exception as exc:
                self.get_logger().error('configure failed: cannot open camera: %s' % exc)
                self.capture.last_error = str(exc)
                self.capture.state = 'error'
                return TransitionCallbackReturn.FAILURE
            self._on_device_opened()
        return TransitionCallbackReturn.SUCCESS

    def on_activate(self, state: LifecycleState) -> TransitionCallbackReturn:
        """Start the capture and publish threads."""
        if self.closed:
            self.get_logger().error('activate refused: the camera was closed (Close); '
                                    'clean up and configure again')
            return TransitionCallbackReturn.FAILURE
        self.slot = LatestSlot()
        self.capture = self._new_capture()
        self._stop.clear()
        self._pub_thread = None
        if self.capture.deliver is None:
            self._pub_thread = threading.Thread(target=self._publish_loop,
                                                name='camera_publish', daemon=True)
        self.active = True
        self.capture.start()
        if self._pub_thread is not None:
            self._pub_thread.start()
        return TransitionCallbackReturn.SUCCESS

    def on_deactivate(self, state: LifecycleState) -> TransitionCallbackReturn:
        """Stop capture and publishing; the device stays open."""
        self._stop_threads(close_driver=False)
        return TransitionCallbackReturn.SUCCESS

    def on_cleanup(self, state: LifecycleState) -> TransitionCallbackReturn:
        """Release the device."""
        self._stop_threads(close_driver=True)
        self.driver.close()
        return TransitionCallbackReturn.SUCCESS

    def on_shutdown(self, state: LifecycleState) -> TransitionCallbackReturn:
        """Stop everything and release the device."""
        self.shutdown()
        return TransitionCallbackReturn.SUCCESS

    def on_error(self, state: LifecycleState) -> TransitionCallbackReturn:
        """Release the device after an error in a transition."""
        self._stop_threads(close_driver=True)
        return TransitionCallbackReturn.SUCCESS

    def _stop_threads(self, close_driver: bool) -> None:
        self.active = False
        self._stop.set()
        self.slot.close()
        self.capture.stop(close_driver=close_driver)
        t = self._pub_thread
        if t is not None and t.is_alive() and threading.current_thread() is not t:
            t.join(5.0)
        self._pub_thread = None

    def lifecycle_state(self) -> str:
        """Return the lifecycle state's label (unconfigured, inactive, active...)."""
        try:
            return self._state_machine.current_state[1]
        except Exception:  # internal API differs between distros
            return 'active' if self.active else 'inactive'

    # -- device setup -------------------------------------------------------------------
    def _on_device_opened(self) -> None:
        """Set up streams and TF; run by the capture thread after each open."""
        props = self.driver.properties()
        with self._setup_lock:
            first = self.props is None
            self._make_streams(props)
            self.props = props  # after the streams: services then find intrinsics too
            self._publish_static_tf(props)
        if first:
            self._announce(props)

    def _make_streams(self, props: CameraProperties) -> None:
        f = self.frames
        if 'color' not in self.streams:
            self.streams['color'] = ImageStream(self, '~/color/image_raw', '~/color/camera_info',
                                                'rgb8', f['color_optical'])
            self.compressed_pub = self.create_publisher(
                CompressedImage, '~/color/image_raw/compressed', stream_qos(),
                qos_overriding_options=QoSOverridingOptions.with_default_policies())
        if props.has_depth and 'depth' not in self.streams:
            self.streams['depth'] = ImageStream(
                self, '~/depth/image_rect_raw', '~/depth/camera_info', '16UC1',
                f['depth_optical'])
            self.streams['aligned_depth'] = ImageStream(
                self, '~/aligned_depth_to_color/image_raw',
                '~/aligned_depth_to_color/camera_info', '16UC1', f['color_optical'])
            self.cloud_pub = self.create_publisher(
                PointCloud2, '~/depth/color/points', stream_qos(),
                qos_overriding_options=QoSOverridingOptions.with_default_policies())
        self._set_infos(props)

    def _set_infos(self, props: CameraProperties) -> None:
        """Set the CameraInfos and the colour intrinsics: the calibration is fitted here only."""
        calib = self.calibration.color_info(props.color.width, props.color.height)
        if calib is None:
            color = camera_info(props.color)
            self._color_intr, self._intr_source = props.color, props.intrinsics_source
        else:
            color = calib
            self._color_intr, self._intr_source = info_to_intrinsics(calib), 'calibration_file'
        self.streams['color'].set_info(color)
        if props.has_depth:
            self.streams['depth'].set_info(camera_info(props.depth))
            self.streams['aligned_depth'].set_info(copy.deepcopy(color))
        self._cloud_key = None

    def refresh_camera_info(self) -> None:
        """Rebuild CameraInfo (and cloud rays) after the calibration changed."""
        with self._setup_lock:
            if self.props is not None and self.streams:
                self._set_infos(self.props)

    def color_intrinsics(self) -> Optional[Intrinsics]:
        """Return the colour imager's intrinsics (the stored calibration when there is one)."""
        return self._color_intr

    def intrinsics_source(self) -> str:
        """Return where the colour intrinsics come from (device, default, calibration...)."""
        return self._intr_source

    def static_transforms(self, props: CameraProperties) -> List[TransformStamped]:
        """Return the camera's fixed frames (REP-103/105), stamped now."""
        now = self.get_clock().now().to_msg()
        f = self.frames
        out = []

        def tf(parent, child, xyz, q):
            t = TransformStamped()
            t.header.stamp = now
            t.header.frame_id = parent
            t.child_frame_id = child
            t.transform.translation.x, t.transform.translation.y, \
                t.transform.translation.z = (float(v) for v in xyz)
            r = t.transform.rotation
            r.x, r.y, r.z, r.w = (float(v) for v in q)
            out.append(t)

        if self.p['parent_frame']:
            m = [float(v) for v in self.p['mount_pose']]
            tf(self.p['parent_frame'], f['link'], m[:3], rpy_to_quaternion(*m[3:]))
        color_pos = props.color_to_link
        color_rot = (0.0, 0.0, 0.0, 1.0)
        if props.has_depth and props.depth_to_color is not None:
            # colour pose in the depth optical frame is the inverse of depth->colour
            r = np.asarray(props.depth_to_color.rotation, dtype=float)
            t = np.asarray(props.depth_to_color.translation, dtype=float)
            o = quaternion_to_matrix(geometry.OPTICAL_QUATERNION)
            color_pos = tuple(o @ (-r.T @ t))
            color_rot = rotation_matrix_to_quaternion(o @ r.T @ o.T)
            tf(f['link'], f['depth'], (0, 0, 0), (0, 0, 0, 1))
            tf(f['depth'], f['depth_optical'], (0, 0, 0), geometry.OPTICAL_QUATERNION)
        tf(f['link'], f['color'], color_pos, color_rot)
        tf(f['color'], f['color_optical'], (0, 0, 0), geometry.OPTICAL_QUATERNION)
        for ext in self.extensions:
            out.extend(getattr(ext, 'static_transforms', lambda: [])())
        return out

    def _publish_static_tf(self, props: CameraProperties) -> None:
        if TFMessage is None:
            self.get_logger().warning('tf2_msgs is not available: no static TF published')
            return
        if self._tf_pub is None:
            self._tf_pub = self.create_publisher(TFMessage, '/tf_static', TF_STATIC_QOS)
        self._tf_pub.publish(TFMessage(transforms=self.static_transforms(props)))

    def republish_static_tf(self) -> None:
        """Publish the static TF again (after geometries or mount changes)."""
        if self.props is not None:
            with self._setup_lock:
                self._publish_static_tf(self.props)

    def _announce(self, props: CameraProperties) -> None:
        c = props.color
        topics = sorted({self.resolve_topic_name(s.topic) for s in self.streams.values()})
        if self.cloud_pub is not None:
            topics.append(self.cloud_pub.topic_name)
        if self.compressed_pub is not None:
            topics.append(self.compressed_pub.topic_name)
        depth = ('depth %dx%d' % (props.depth.width, props.depth.height)
                 if props.has_depth else 'no depth')
        self.get_logger().info(
            'camera %r: driver %s (%s %s), colour %dx%d, %s, %.1f fps, intrinsics from %s; '
            'publishing %s; frames %s' % (
                self.camera_name, self.driver.name, props.model or '?', props.serial or '',
                c.width, c.height, depth, props.fps, self.intrinsics_source(),
                ', '.join(topics), self.frames['link']))

    # -- publishing ---------------------------------------------------------------------
    def _publish_loop(self) -> None:
        slot = self.slot
        while not self._stop.is_set() and self.context.ok():
            fs = slot.get(0.5)
            if fs is not None:
                self._publish_one(fs)

    def _publish_one(self, fs: FrameSet) -> None:
        """Publish a frame set while active; count (never raise) publish failures."""
        if self.closed or not self.active or self._stop.is_set() or not self.context.ok():
            return
        try:
            self.publish_frame_set(fs)
        except Exception as exc:  # publish() raises under back-pressure; keep going
            self.publish_errors += 1
            if self.publish_errors in (1, 10) or self.publish_errors % 1000 == 0:
                self.get_logger().warning('publishing failed (%d times): %s'
                                          % (self.publish_errors, exc))

    def publish_frame_set(self, fs: FrameSet) -> None:
        """Publish every stream of one frame set with the same stamp."""
        with self._setup_lock:
            stamp = stamp_msg(fs.stamp_ns)
            color = self.streams.get('color')
            if color is not None and color.wanted():
                color.publish(fs.color, stamp)
            if (self.compressed_pub is not None and self.p['publish_compressed']
                    and self.compressed_pub.get_subscription_count() > 0):
                self._publish_compressed(fs, stamp)
            depth = self.streams.get('depth')
            if depth is not None and fs.depth is not None and depth.wanted():
                depth.publish(fs.depth, stamp)
            aligned = self.streams.get('aligned_depth')
            if (aligned is not None and fs.aligned_depth is not None
                    and self.p['publish_aligned_depth'] and aligned.wanted()):
                aligned.publish(fs.aligned_depth, stamp)
            if (self.cloud_pub is not None and fs.aligned_depth is not None
                    and self.p['publish_cloud'] and self.cloud_pub.get_subscription_count()):
                self.cloud_pub.publish(self.build_cloud(fs, stamp))
                self.cloud_rate.tick()
            self.published_sets += 1

    def _publish_compressed(self, fs: FrameSet, stamp: Time) -> None:
        try:
            data = vf.encode_jpeg(fs.color, int(self.p['jpeg_quality']))
        except vf.FormatError:
            return
        msg = CompressedImage()
        msg.header.stamp = stamp
        msg.header.frame_id = self.frames['color_optical']
        msg.format = 'rgb8; jpeg compressed bgr8'
        msg.data = data
        self.compressed_pub.publish(msg)

    def build_cloud(self, fs: FrameSet, stamp: Time) -> PointCloud2:
        """XYZRGB cloud of a frame set in the colour optical frame (reused buffer)."""
        intr = self.color_intrinsics()
        dec = int(self.p['cloud_decimation'])
        key = (intr.width, intr.height, intr.fx, intr.fy, intr.cx, intr.cy, dec)
        if self._cloud_key != key:
            rays = geometry.RayTable(intr, dec)
            msg = PointCloud2()
            msg.header.frame_id = self.frames['color_optical']
            msg.height, msg.width = rays.height, rays.width
            msg.fields = geometry.point_fields()
            msg.is_bigendian = False
            msg.point_step = geometry.POINT_STEP
            msg.row_step = geometry.POINT_STEP * rays.width
            msg.data = array('B', bytes(rays.width * rays.height * geometry.POINT_STEP))
            self._cloud_buf = geometry.CloudBuffer(rays, msg.data)
            self._cloud_msg = msg
            self._cloud_key = key
        buf = self._cloud_buf
        msg = self._cloud_msg
        valid = buf.fill(fs.aligned_depth, fs.color)
        msg.header.stamp = stamp
        if self.p['cloud_dense']:
            dense = PointCloud2()
            dense.header = msg.header
            dense.fields = msg.fields
            dense.height, dense.width = 1, valid
            dense.point_step = geometry.POINT_STEP
            dense.row_step = geometry.POINT_STEP * valid
            dense.is_dense = True
            dense.data = buf.dense_bytes()
            return dense
        msg.is_dense = valid == msg.width * msg.height
        return msg

    # -- parameters ---------------------------------------------------------------------
    def _on_set_parameters(self, changes) -> SetParametersResult:
        for prm in changes:
            spec = self._specs.get(prm.name)
            if spec is None:
                continue  # qos_overrides.* and other declared parameters
            reason = params.validate(spec, prm.value)
            hook = self.param_hooks.get(prm.name)
            if not reason and hook is not None:
                reason = hook[0](prm.value)
            if reason:
                return SetParametersResult(successful=False, reason=reason)
        for prm in changes:
            spec = self._specs.get(prm.name)
            if spec is None or spec.read_only:
                continue
            if prm.name in self.driver_options:
                try:
                    self.driver.set_option(prm.name, prm.value)
                except InvalidOptionError as exc:
                    return SetParametersResult(successful=False, reason=str(exc))
                except Exception as exc:
                    return SetParametersResult(
                        successful=False, reason='%s: %s' % (type(exc).__name__, exc))
                self.driver_options[prm.name] = prm.value
            self.p[prm.name] = prm.value
            hook = self.param_hooks.get(prm.name)
            if hook is not None:
                hook[1](prm.value)
        return SetParametersResult(successful=True)

    # -- life cycle ---------------------------------------------------------------------
    def close_device(self) -> None:
        """Stop capture and release the device (Viam Close); services then refuse.

        In lifecycle mode, cleanup then configure opens the device again.
        """
        if self.closed:
            return
        self.closed = True
        self._stop_threads(close_driver=True)
        self.driver.close()

    def shutdown(self) -> None:
        """Stop every thread and release the device. Idempotent."""
        if self._shut_down:
            return
        self._shut_down = True
        self._stop_threads(close_driver=True)
        self.driver.close()
        for ext in self.extensions:
            close = getattr(ext, 'shutdown', None)
            if close:
                close()


def run_nodes(make_nodes, args: Optional[List[str]] = None) -> int:
    """Initialise rclpy, build nodes with make_nodes(), spin them until a signal, clean up.

    SIGINT and SIGTERM are handled here from the very first line (rclpy's own handlers
    are not installed: with the EventsExecutor they leave spin blocked forever), so a
    signal at any moment ends in a clean shutdown and exit code 0. make_nodes may raise
    DriverUnavailableError (exit code 2).
    """
    from . import runtime
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    runtime.tune_allocator()
    argv = args if args is not None else sys.argv
    try:
        from rclpy.signals import SignalHandlerOptions
        rclpy.init(args=argv, signal_handler_options=SignalHandlerOptions.NO)
    except (ImportError, TypeError):  # pragma: no cover - very old rclpy
        rclpy.init(args=argv)
    nodes: List[CameraNode] = []
    executor = None
    try:
        try:
            make_nodes(nodes)
        except DriverUnavailableError:
            return 2
        executor, name = runtime.make_executor(logger=nodes[0].get_logger())
        nodes[0].get_logger().debug('executor: %s' % name)
        for node in nodes:
            executor.add_node(node)
        # spin in slices: a signal sets stop, and the loop ends within one slice
        while not stop.is_set() and rclpy.ok():
            executor.spin_once(timeout_sec=0.1)
    except KeyboardInterrupt:
        pass
    finally:
        for node in nodes:
            node.get_logger().info('shutting down: stopping capture, closing the device')
            node.shutdown()
            if executor is not None:
                executor.remove_node(node)
        if executor is not None:
            executor.shutdown()
        for node in nodes:
            node.destroy_node()
        rclpy.try_shutdown()
    return 0


def main(args: Optional[List[str]] = None) -> int:
    """Entry point of ``ros2 run camera_node camera_node``."""
    return run_nodes(lambda nodes: nodes.append(CameraNode()), args)


if __name__ == '__main__':
    sys.exit(main())
