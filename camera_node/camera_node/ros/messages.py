"""Message builders: stamps, CameraInfo, Image copies, PointCloud2 fields, transforms."""

from __future__ import annotations

from array import array
from typing import Any, Dict, Iterable, List

from builtin_interfaces.msg import Time
from geometry_msgs.msg import TransformStamped
import numpy as np
from sensor_msgs.msg import CameraInfo, Image, PointField

from ..core.calibration import Calibration
from ..core.frames import Transform


def stamp_msg(stamp_ns: int) -> Time:
    """Convert a nanosecond timestamp to builtin_interfaces/Time."""
    return Time(sec=stamp_ns // 1_000_000_000, nanosec=stamp_ns % 1_000_000_000)


def camera_info(cal: Calibration, frame_id: str = '') -> CameraInfo:
    """Build the CameraInfo of a calibration (header stamp left for the publisher)."""
    info = CameraInfo()
    info.header.frame_id = frame_id
    info.width, info.height = int(cal.width), int(cal.height)
    info.distortion_model = cal.distortion_model
    info.d = [float(v) for v in cal.d]
    info.k = [float(v) for v in cal.k]
    info.r = [float(v) for v in cal.r]
    info.p = [float(v) for v in cal.p]
    return info


def own_camera_info(intr: Any, frame_id: str, cache: Dict[tuple, CameraInfo]) -> CameraInfo:
    """Return the CameraInfo of an image with intrinsics of its own (decimated depth).

    Made once per intrinsics and frame and kept in cache (emptied past 8 entries).
    """
    key = (intr.width, intr.height, intr.fx, intr.fy, intr.cx, intr.cy, frame_id)
    info = cache.get(key)
    if info is None:
        if len(cache) > 8:
            cache.clear()
        info = cache[key] = camera_info(Calibration.from_intrinsics(intr), frame_id)
    return info


def calibration_of(info: CameraInfo) -> Calibration:
    """Return the calibration a CameraInfo holds."""
    return Calibration(int(info.width), int(info.height), [float(v) for v in info.k],
                       info.distortion_model or 'plumb_bob', [float(v) for v in info.d],
                       [float(v) for v in info.r], [float(v) for v in info.p])


def image_message(image: np.ndarray, encoding: str, frame_id: str, stamp: Time) -> Image:
    """Return a new Image holding a copy of image (for service replies)."""
    image = np.ascontiguousarray(image)
    msg = Image(height=image.shape[0], width=image.shape[1], encoding=encoding,
                is_bigendian=0, step=int(image.strides[0]),
                data=array('B', image.tobytes()))
    msg.header.stamp = stamp
    msg.header.frame_id = frame_id
    return msg


def point_fields() -> List[PointField]:
    """Return the PointCloud2 fields of a 16-byte x, y, z, rgb point."""
    return [PointField(name=n, offset=o, datatype=PointField.FLOAT32, count=1)
            for n, o in (('x', 0), ('y', 4), ('z', 8), ('rgb', 12))]


def transform_messages(transforms: Iterable[Transform], stamp: Time) -> List[TransformStamped]:
    """Return TransformStamped messages of fixed transforms, all with one stamp."""
    out = []
    for tf in transforms:
        t = TransformStamped()
        t.header.stamp = stamp
        t.header.frame_id = tf.parent
        t.child_frame_id = tf.child
        tr = t.transform.translation
        tr.x, tr.y, tr.z = (float(v) for v in tf.translation)
        r = t.transform.rotation
        r.x, r.y, r.z, r.w = (float(v) for v in tf.rotation)
        out.append(t)
    return out
