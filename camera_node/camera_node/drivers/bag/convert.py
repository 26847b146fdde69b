"""Recorded messages to the core's types: Image to arrays, CameraInfo to intrinsics, TF.

The messages are the objects ``mcap_ros2`` decodes (attributes named as the fields).
Images keep the bytes the recording holds wherever the layout allows (a read-only view,
no copy): ``rgb8`` colour and little-endian ``16UC1``/``mono16`` depth, as this package and
realsense-ros record them. Other encodings are converted; unknown ones are refused with
the list of those understood.
"""

from __future__ import annotations

from typing import Any, Dict, Optional, Tuple

import numpy as np

from ...core.errors import InvalidOptionError
from ...core.orientation import quaternion_to_matrix
from ...core.types import Extrinsics, Intrinsics

#: colour encodings -> (channels, order of R, G, B in them)
COLOR_ENCODINGS = {'rgb8': (3, (0, 1, 2)), 'bgr8': (3, (2, 1, 0)), '8UC3': (3, (2, 1, 0)),
                   'rgba8': (4, (0, 1, 2)), 'bgra8': (4, (2, 1, 0)), '8UC4': (4, (2, 1, 0)),
                   'mono8': (1, (0, 0, 0)), '8UC1': (1, (0, 0, 0))}
#: depth encodings (millimetres as uint16; 32FC1 is metres)
DEPTH_ENCODINGS = ('16UC1', 'mono16', '32FC1')


def stamp_ns(msg: Any) -> int:
    """Return a message header's stamp in nanoseconds."""
    s = msg.header.stamp
    return int(s.sec) * 1_000_000_000 + int(s.nanosec)


def _rows(msg: Any, dtype: Any, channels: int) -> np.ndarray:
    h, w = int(msg.height), int(msg.width)
    item = np.dtype(dtype).itemsize * channels
    step = int(msg.step) or w * item
    data = msg.data
    if step < w * item or len(data) < step * h:
        raise InvalidOptionError('image %dx%d %s: %d bytes with step %d do not hold it'
                                 % (w, h, msg.encoding, len(data), step))
    flat = np.frombuffer(data, dtype=np.uint8, count=step * h).reshape(h, step)
    rows = flat[:, :w * item]
    a = rows.view(np.dtype(dtype).newbyteorder('>' if msg.is_bigendian else '<'))
    a = a.reshape(h, w, channels) if channels > 1 else a.reshape(h, w)
    return a


def color_array(msg: Any) -> np.ndarray:
    """Return an Image as ``HxWx3 uint8`` RGB (a view of the message when it is rgb8)."""
    found = COLOR_ENCODINGS.get(msg.encoding)
    if found is None:
        raise InvalidOptionError('colour encoding %r is not supported (supported: %s)'
                                 % (msg.encoding, ', '.join(COLOR_ENCODINGS)))
    channels, order = found
    a = _rows(msg, np.uint8, channels)
    if channels == 1:
        return np.repeat(a[:, :, None], 3, axis=2)
    if channels == 3 and order == (0, 1, 2):
        return a if a.flags.c_contiguous else np.ascontiguousarray(a)
    return np.ascontiguousarray(a[:, :, list(order)])


def depth_array(msg: Any) -> np.ndarray:
    """Return a depth Image as ``HxW uint16`` millimetres (a view when it is LE 16-bit)."""
    if msg.encoding not in DEPTH_ENCODINGS:
        raise InvalidOptionError('depth encoding %r is not supported (supported: %s)'
                                 % (msg.encoding, ', '.join(DEPTH_ENCODINGS)))
    if msg.encoding == '32FC1':
        metres = _rows(msg, np.float32, 1).astype(np.float64)
        metres[~np.isfinite(metres)] = 0.0
        return np.clip(np.rint(metres * 1000.0), 0, 65535).astype(np.uint16)
    a = _rows(msg, np.uint16, 1)
    if msg.is_bigendian:
        return a.astype(np.uint16)
    return a if a.flags.c_contiguous else np.ascontiguousarray(a)


def intrinsics_of(info: Any) -> Intrinsics:
    """Return the intrinsics a CameraInfo holds (K, D, model, size)."""
    k = [float(v) for v in info.k]
    if len(k) != 9 or k[0] <= 0 or k[4] <= 0:
        raise InvalidOptionError('camera_info has no usable K matrix: %r' % (k,))
    return Intrinsics(int(info.width), int(info.height), k[0], k[4], k[2], k[5],
                      info.distortion_model or 'plumb_bob', [float(v) for v in info.d])


Pose = Tuple[np.ndarray, np.ndarray]      # rotation matrix, translation: child in parent


def add_transforms(tree: Dict[str, Tuple[str, Pose]], tf_message: Any) -> None:
    """Add a TFMessage's transforms to tree (child -> (parent, pose of child in parent))."""
    for t in tf_message.transforms:
        tr, q = t.transform.translation, t.transform.rotation
        pose = (quaternion_to_matrix((q.x, q.y, q.z, q.w)), np.array([tr.x, tr.y, tr.z]))
        tree[t.child_frame_id.lstrip('/')] = (t.header.frame_id.lstrip('/'), pose)


def _to_root(tree: Dict[str, Tuple[str, Pose]], frame: str) -> Tuple[str, Pose]:
    r, t = np.eye(3), np.zeros(3)
    seen = set()
    while frame in tree and frame not in seen:
        seen.add(frame)
        parent, (pr, pt) = tree[frame]
        r, t = pr @ r, pr @ t + pt
        frame = parent
    return frame, (r, t)


def extrinsics_between(tree: Dict[str, Tuple[str, Pose]], source: str,
                       target: str) -> Optional[Extrinsics]:
    """Return the transform mapping points of frame source into frame target, or None.

    None when the two frames are not connected by the recorded transforms.
    """
    if not source or not target:
        return None
    root_s, (rs, ts) = _to_root(tree, source.lstrip('/'))
    root_t, (rt, tt) = _to_root(tree, target.lstrip('/'))
    if root_s != root_t:
        return None
    return Extrinsics(rt.T @ rs, rt.T @ (ts - tt))


def field_array(field: str, msg: Any) -> np.ndarray:
    """Return the pixels of a frame set field: RGB colour, millimetre depth, or as recorded.

    ``color`` is converted to RGB; a depth encoding to ``uint16`` millimetres; a one-channel
    8-bit image (infrared) stays ``HxW uint8``; anything else is taken as colour.
    """
    if field == 'color':
        return color_array(msg)
    if msg.encoding in DEPTH_ENCODINGS:
        return depth_array(msg)
    if msg.encoding in ('mono8', '8UC1'):
        return _rows(msg, np.uint8, 1)
    return color_array(msg)
