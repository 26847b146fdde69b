"""The camera's topics: one row of :data:`STREAMS` per topic, and the publishers behind them.

A row names the topic, the CameraInfo topic beside it, the encoding, the frame, the
parameter that enables it, and the :class:`~camera_node.core.types.FrameSet` field it
publishes. ``kind`` picks the publisher: ``image`` (sensor_msgs/Image with a reused
buffer), ``jpeg`` (CompressedImage of colour), ``cloud`` (PointCloud2 from aligned depth
and colour) or ``metadata`` (camera_node_interfaces/Metadata: what the device said about
that field's image). Every stream is computed only while someone subscribes, and all
streams of one frame set carry its capture stamp. To add a topic, add a row. (IMU samples
do not come in frame sets: :mod:`camera_node.ros.imu` publishes them.)
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass
import threading
from typing import Any, Dict, List, Mapping, Optional

from builtin_interfaces.msg import Time
import numpy as np
from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy
from rclpy.qos_overriding_options import QoSOverridingOptions
from sensor_msgs.msg import CameraInfo, CompressedImage, Image, PointCloud2

from camera_node_interfaces.msg import Metadata

from ..core.calibration import Calibration, IntrinsicsResolver
from ..core.capture import name_os_thread, RateMeter
from ..core.cloud import CloudBuffer, POINT_STEP, ray_table
from ..core.frames import FrameNames, stereo_baseline_m
from ..core.types import CameraProperties, FrameSet
from ..viam import codecs
from .messages import camera_info, point_fields, stamp_msg


@dataclass(frozen=True)
class StreamSpec:
    """One topic of the camera.

    :param key: name in status and diagnostics.
    :param kind: ``image``, ``jpeg`` or ``cloud``.
    :param topic: node-relative topic.
    :param info_topic: node-relative CameraInfo topic published beside it, or None.
    :param encoding: sensor_msgs/Image encoding (``image`` rows).
    :param frame: :class:`FrameNames` attribute of the frame the pixels are in.
    :param field: the FrameSet field published.
    :param info: whose CameraInfo: ``color``, ``depth``, ``infra1`` or ``infra2``.
    :param enable: boolean parameter that switches the topic on, or None (always).
    :param needs: the sensor the camera must have for the topic to exist (``depth``,
        ``infra1``...; a name of ``CameraProperties.sensors()``), or '' (always).
    """

    key: str
    kind: str
    topic: str
    info_topic: Optional[str]
    encoding: str
    frame: str
    field: str
    info: str
    enable: Optional[str] = None
    needs: str = ''


STREAMS = (
    StreamSpec('color', 'image', '~/color/image_raw', '~/color/camera_info', 'rgb8',
               'color_optical', 'color', 'color'),
    StreamSpec('compressed', 'jpeg', '~/color/image_raw/compressed', None, '',
               'color_optical', 'color', 'color', 'publish_compressed'),
    StreamSpec('depth', 'image', '~/depth/image_rect_raw', '~/depth/camera_info', '16UC1',
               'depth_optical', 'depth', 'depth', needs='depth'),
    StreamSpec('aligned_depth', 'image', '~/aligned_depth_to_color/image_raw',
               '~/aligned_depth_to_color/camera_info', '16UC1', 'color_optical',
               'aligned_depth', 'color', 'publish_aligned_depth', needs='depth'),
    StreamSpec('points', 'cloud', '~/depth/color/points', None, '', 'color_optical',
               'aligned_depth', 'color', 'publish_cloud', needs='depth'),
    StreamSpec('infra1', 'image', '~/infra1/image_rect_raw', '~/infra1/camera_info', 'mono8',
               'infra1_optical', 'infra1', 'infra1', needs='infra1'),
    StreamSpec('infra2', 'image', '~/infra2/image_rect_raw', '~/infra2/camera_info', 'mono8',
               'infra2_optical', 'infra2', 'infra2', needs='infra2'),
    StreamSpec('color_metadata', 'metadata', '~/color/metadata', None, '', 'color_optical',
               'color', 'color'),
    StreamSpec('depth_metadata', 'metadata', '~/depth/metadata', None, '', 'depth_optical',
               'depth', 'depth', needs='depth'),
    StreamSpec('infra1_metadata', 'metadata', '~/infra1/metadata', None, '',
               'infra1_optical', 'infra1', 'infra1', needs='infra1'),
    StreamSpec('infra2_metadata', 'metadata', '~/infra2/metadata', None, '',
               'infra2_optical', 'infra2', 'infra2', needs='infra2'),
)


def stream_qos() -> QoSProfile:
    """Return a fresh QoS profile for one stream publisher: reliable (REP-2003), keep last 1.

    Each publisher gets its own object because qos_overrides.* parameters are applied to
    the profile in place.
    """
    return QoSProfile(depth=1, history=HistoryPolicy.KEEP_LAST,
                      reliability=ReliabilityPolicy.RELIABLE,
                      durability=DurabilityPolicy.VOLATILE)


class _Stream:
    """The publisher(s) of one row; subclasses fill the message."""

    msg_type: Any = None

    def __init__(self, node: Any, spec: StreamSpec, frame_id: str,
                 settings: Mapping[str, Any]) -> None:
        overriding = QoSOverridingOptions.with_default_policies()
        self.spec = spec
        self.frame_id = frame_id
        self.settings = settings
        self.pub = node.create_publisher(self.msg_type, spec.topic, stream_qos(),
                                         qos_overriding_options=overriding)
        self.info_pub = None
        if spec.info_topic:
            self.info_pub = node.create_publisher(CameraInfo, spec.info_topic, stream_qos(),
                                                  qos_overriding_options=overriding)
        self.info: Optional[CameraInfo] = None
        self.rate = RateMeter()

    def wanted(self) -> bool:
        """Whether it is enabled and anyone listens to it or its CameraInfo."""
        if self.spec.enable and not self.settings[self.spec.enable]:
            return False
        n = self.pub.get_subscription_count()
        if self.info_pub is not None:
            n += self.info_pub.get_subscription_count()
        return n > 0

    def set_info(self, info: CameraInfo, calibration: Calibration) -> None:
        """Use info (frame id filled in here) for this stream's CameraInfo."""
        info.header.frame_id = self.frame_id
        self.info = info

    def publish(self, fs: FrameSet, stamp: Time) -> None:
        """Publish the frame set's field (if present) and its CameraInfo with one stamp."""
        data = getattr(fs, self.spec.field)
        if data is None:
            return
        msg = self.message(fs, data, stamp)
        if msg is None:
            return
        self.pub.publish(msg)
        if self.info_pub is not None and self.info is not None:
            self.info.header.stamp = stamp
            self.info_pub.publish(self.info)
        self.rate.tick()

    def message(self, fs: FrameSet, data: np.ndarray, stamp: Time) -> Any:
        """Return the message to publish (subclass hook)."""
        raise NotImplementedError


class ImageStream(_Stream):
    """An Image topic whose message buffer is reused frame after frame (one memcpy)."""

    msg_type = Image

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.msg = Image()
        self.msg.header.frame_id = self.frame_id
        self.msg.encoding = self.spec.encoding
        self.msg.is_bigendian = 0
        self._view: Optional[np.ndarray] = None

    def message(self, fs: FrameSet, image: np.ndarray, stamp: Time) -> Image:
        """Copy image into the reused message and stamp it."""
        msg = self.msg
        if self._view is None or self._view.shape != image.shape \
                or self._view.dtype != image.dtype:
            h, w = image.shape[:2]
            msg.height, msg.width = h, w
            msg.step = w * image.itemsize * (image.shape[2] if image.ndim == 3 else 1)
            msg.data = array('B', bytes(msg.step * h))
            self._view = np.frombuffer(msg.data, dtype=image.dtype).reshape(image.shape)
        np.copyto(self._view, image)
        msg.header.stamp = stamp
        return msg


class JpegStream(_Stream):
    """A CompressedImage topic of the colour image (``rgb8; jpeg compressed bgr8``)."""

    msg_type = CompressedImage

    def message(self, fs: FrameSet, image: np.ndarray, stamp: Time) -> CompressedImage:
        """Encode the colour image at ``jpeg_quality``."""
        msg = CompressedImage()
        msg.header.stamp = stamp
        msg.header.frame_id = self.frame_id
        msg.format = 'rgb8; jpeg compressed bgr8'
        msg.data = codecs.encode_jpeg(image, int(self.settings['jpeg_quality']))
        return msg


class CloudStream(_Stream):
    """An XYZRGB PointCloud2 of aligned depth and colour, organized unless ``cloud_dense``."""

    msg_type = PointCloud2

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self._calibration: Optional[Calibration] = None
        self._key: Any = None
        self._buf: Optional[CloudBuffer] = None
        self._msg: Optional[PointCloud2] = None

    def set_info(self, info: CameraInfo, calibration: Calibration) -> None:
        """Remember the colour calibration: its intrinsics back-project the depth."""
        self._calibration = calibration
        self._key = None

    def message(self, fs: FrameSet, depth: np.ndarray, stamp: Time) -> PointCloud2:
        """Fill the reused cloud buffer from aligned depth and colour."""
        intr = self._calibration.intrinsics()
        dec = int(self.settings['cloud_decimation'])
        key = (intr.width, intr.height, intr.fx, intr.fy, intr.cx, intr.cy, dec)
        if self._key != key:
            rays = ray_table(intr, dec)
            msg = PointCloud2()
            msg.header.frame_id = self.frame_id
            msg.height, msg.width = rays.height, rays.width
            msg.fields = point_fields()
            msg.is_bigendian = False
            msg.point_step = POINT_STEP
            msg.row_step = POINT_STEP * rays.width
            msg.data = array('B', bytes(rays.width * rays.height * POINT_STEP))
            self._buf = CloudBuffer(rays, msg.data)
            self._msg = msg
            self._key = key
        valid = self._buf.fill(depth, fs.color)
        msg = self._msg
        msg.header.stamp = stamp
        if self.settings['cloud_dense']:
            dense = PointCloud2()
            dense.header = msg.header
            dense.fields = msg.fields
            dense.height, dense.width = 1, valid
            dense.point_step = POINT_STEP
            dense.row_step = POINT_STEP * valid
            dense.is_dense = True
            dense.data = self._buf.dense_bytes()
            return dense
        msg.is_dense = valid == msg.width * msg.height
        return msg


class MetadataStream(_Stream):
    """What the device reported about the row's image (Metadata), if it reported anything."""

    msg_type = Metadata

    def message(self, fs: FrameSet, image: np.ndarray, stamp: Time) -> Optional[Metadata]:
        """Return the metadata of the row's field, or None when the frame set has none."""
        md = fs.metadata.get(self.spec.field)
        if md is None:
            return None
        msg = Metadata()
        msg.header.stamp = stamp
        msg.header.frame_id = self.frame_id
        msg.frame_counter = -1 if md.frame_counter is None else int(md.frame_counter)
        msg.emitter = (Metadata.EMITTER_UNKNOWN if md.emitter_on is None else
                       Metadata.EMITTER_ON if md.emitter_on else Metadata.EMITTER_OFF)
        nan = float('nan')
        for name in ('exposure_us', 'gain', 'laser_power_mw', 'temperature_c'):
            value = getattr(md, name)
            setattr(msg, name, nan if value is None else float(value))
        return msg


_KINDS = {'image': ImageStream, 'jpeg': JpegStream, 'cloud': CloudStream,
          'metadata': MetadataStream}


class StreamSet:
    """Every topic of one camera: made on the first open, refreshed on calibration changes."""

    def __init__(self, node: Any, names: FrameNames, settings: Mapping[str, Any],
                 intrinsics: IntrinsicsResolver) -> None:
        self.node = node
        self.names = names
        self.settings = settings
        self.intrinsics = intrinsics
        self.streams: Dict[str, _Stream] = {}
        self.lock = threading.Lock()
        self.published_sets = 0
        self.publish_errors = 0
        self._props: Optional[CameraProperties] = None

    def setup(self, props: CameraProperties) -> None:
        """Create the topics the device has (once) and set every CameraInfo."""
        with self.lock:
            sensors = props.sensors()
            for spec in STREAMS:
                if spec.key in self.streams or (spec.needs and spec.needs not in sensors):
                    continue
                self.streams[spec.key] = _KINDS[spec.kind](
                    self.node, spec, getattr(self.names, spec.frame), self.settings)
            self._props = props
            self._set_infos(props)

    def refresh(self) -> None:
        """Set the CameraInfos again (after the calibration changed)."""
        with self.lock:
            if self._props is not None:
                self._set_infos(self._props)

    def _set_infos(self, props: CameraProperties) -> None:
        color, _ = self.intrinsics.resolve(props)
        cals = {'color': color}
        for imager in ('depth', 'infra1', 'infra2'):
            intr = getattr(props, imager)
            if intr is not None:
                cals[imager] = Calibration.from_intrinsics(intr)
        baseline = stereo_baseline_m(props)
        if baseline is not None:   # the right imager's P carries the baseline (ROS stereo)
            cals['infra2'].p[3] = -cals['infra2'].p[0] * baseline
        for stream in self.streams.values():
            cal = cals.get(stream.spec.info)
            if cal is not None:
                stream.set_info(camera_info(cal), cal)

    def topics(self) -> List[str]:
        """Return the full names of every topic, images first."""
        images = sorted(s.pub.topic_name for s in self.streams.values()
                        if s.spec.kind == 'image')
        others = sorted((s for s in self.streams.values() if s.spec.kind != 'image'),
                        key=lambda s: s.spec.kind)
        return images + [s.pub.topic_name for s in others]

    def publish(self, fs: FrameSet) -> None:
        """Publish every wanted stream of one frame set with the same stamp.

        A failed publish (``publish()`` raises under back-pressure) is counted and logged
        now and then, never raised: the next frame set is published as usual.
        """
        with self.lock:
            stamp = stamp_msg(fs.stamp_ns)
            try:
                for stream in self.streams.values():
                    if stream.wanted():
                        stream.publish(fs, stamp)
            except Exception as exc:
                self.publish_errors += 1
                if self.publish_errors in (1, 10) or self.publish_errors % 1000 == 0:
                    self.node.get_logger().warning('publishing failed (%d times): %s'
                                                   % (self.publish_errors, exc))
                return
            self.published_sets += 1

    def rates(self) -> Dict[str, float]:
        """Return the measured publish rate of every stream, Hz."""
        return {key: s.rate.rate() for key, s in self.streams.items()}


class PublishThread:
    """Takes the newest frame set from the session and publishes it, until stopped."""

    def __init__(self, session: Any, streams: StreamSet, ok: Any) -> None:
        self._session = session
        self._streams = streams
        self._ok = ok
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name='camera_publish', daemon=True)
        self._thread.start()

    def _run(self) -> None:
        name_os_thread()
        slot = self._session.slot
        while not self._stop.is_set() and not slot.closed and self._ok():
            fs = slot.get(0.5)
            if fs is not None and not self._stop.is_set():
                self._streams.publish(fs)

    def stop(self, timeout: float = 5.0) -> None:
        """Stop publishing and wait for the thread."""
        self._stop.set()
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join(timeout)
