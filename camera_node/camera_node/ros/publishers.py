"""The publishers of the stream table's rows, one class per ``kind`` (:data:`KINDS`).

``image``: sensor_msgs/Image with a reused buffer (one memcpy a frame); ``jpeg``: the
colour image as CompressedImage (the source's own JPEG passed through when it delivered
one, else encoded, once per frame set and quality); ``compressed_depth``: a 16-bit depth
image in compressed_depth_image_transport's wire format; ``cloud``: PointCloud2 from
aligned depth and colour; ``metadata``: what the device said about the row's image.
"""

from __future__ import annotations

from array import array
import struct
from typing import Any, Dict, Mapping, Optional

from builtin_interfaces.msg import Time
import numpy as np
from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy
from rclpy.qos_overriding_options import QoSOverridingOptions
from sensor_msgs.msg import CameraInfo, CompressedImage, Image, PointCloud2

from camera_node_interfaces.msg import Metadata

from ..core import rvl
from ..core.calibration import Calibration
from ..core.capture import RateMeter
from ..core.cloud import CloudBuffer, POINT_STEP, ray_table
from ..core.types import FrameSet
from ..viam import encoded
from .messages import own_camera_info, point_fields


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

    def __init__(self, node: Any, spec: Any, frame_id: str,
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
        self._infos: Dict[Any, CameraInfo] = {}
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
        self._infos = {}

    def info_for(self, fs: FrameSet) -> Optional[CameraInfo]:
        """Return the CameraInfo of this frame set's image.

        A decimated depth image has intrinsics of its own (``FrameSet.depth_intrinsics``);
        every other image has the stream's.
        """
        intr = fs.depth_intrinsics if self.spec.field == 'depth' else None
        if intr is None or self.info is None:
            return self.info
        return own_camera_info(intr, self.frame_id, self._infos)

    def source(self, fs: FrameSet) -> Any:
        """Return what the row publishes from fs (its field), or None when fs has none."""
        return getattr(fs, self.spec.field)

    def publish(self, fs: FrameSet, stamp: Time) -> None:
        """Publish the frame set's field (if present) and its CameraInfo with one stamp."""
        data = self.source(fs)
        if data is None:
            return
        msg = self.message(fs, data, stamp)
        if msg is None:
            return
        self.pub.publish(msg)
        info = self.info_for(fs) if self.info_pub is not None else None
        if info is not None:
            info.header.stamp = stamp
            self.info_pub.publish(info)
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
    """A CompressedImage topic of the colour image (``rgb8; jpeg compressed bgr8``).

    A JPEG the source delivered goes out as it came (no decoding); otherwise the image is
    encoded at ``jpeg_quality`` into the frame set's cache, where GetImage(s) finds it.
    """

    msg_type = CompressedImage

    def source(self, fs: FrameSet) -> Any:
        """Return the frame set (its colour is read, or its JPEG taken, in message)."""
        return fs

    def message(self, fs: FrameSet, _: Any, stamp: Time) -> CompressedImage:
        """Return the colour image's JPEG as a message."""
        msg = CompressedImage()
        msg.header.stamp = stamp
        msg.header.frame_id = self.frame_id
        msg.format = 'rgb8; jpeg compressed bgr8'
        msg.data = encoded.color_jpeg(fs, int(self.settings['jpeg_quality']))
        return msg


#: compressed_depth_image_transport's ConfigHeader: int32 format (0: INV_DEPTH), float32
#: depthParam[2] (the inverse-depth quantisation; unused, 0, for 16-bit depth), in the
#: sender's byte order (little-endian here, as on every platform ROS 2 runs on)
DEPTH_HEADER = struct.pack('<iff', 0, 0.0, 0.0)


def compressed_depth(fs: FrameSet, field: str, fmt: str, png_level: int) -> bytes:
    """Return the data of a ``compressedDepth`` message of a 16UC1 image: header + body.

    ``png``: a 16-bit greyscale PNG (shared with GetImage's depth PNG at the same level);
    ``rvl``: width and height (uint32) then the RVL stream (:mod:`camera_node.core.rvl`).
    Lossless: unlike the C++ plugin, no depth_max cut (the threshold filter does that).
    """
    if fmt == 'rvl':
        image = getattr(fs, field)
        body = struct.pack('<II', image.shape[1], image.shape[0]) + rvl.encode(image)
    else:
        body = encoded.png(fs, field, png_level)
    return DEPTH_HEADER + body


class CompressedDepthStream(_Stream):
    """A ``.../compressedDepth`` topic (``16UC1; compressedDepth png`` or ``rvl``)."""

    msg_type = CompressedImage

    def message(self, fs: FrameSet, image: np.ndarray, stamp: Time) -> CompressedImage:
        """Encode the row's depth image as ``compressed_depth_format`` says."""
        fmt = str(self.settings['compressed_depth_format'])
        msg = CompressedImage()
        msg.header.stamp = stamp
        msg.header.frame_id = self.frame_id
        msg.format = '16UC1; compressedDepth %s' % fmt
        msg.data = compressed_depth(fs, self.spec.field, fmt, int(self.settings['png_level']))
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

    def source(self, fs: FrameSet) -> Any:
        """Return the device's metadata of the row's image (never the image itself)."""
        return fs.metadata.get(self.spec.field)

    def message(self, fs: FrameSet, md: Any, stamp: Time) -> Metadata:
        """Return the metadata of the row's field as a message."""
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


#: ``StreamSpec.kind`` -> the class publishing it
KINDS = {'image': ImageStream, 'jpeg': JpegStream, 'compressed_depth': CompressedDepthStream,
         'cloud': CloudStream, 'metadata': MetadataStream}
