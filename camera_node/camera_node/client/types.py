"""What the camera client returns: images, properties, geometries, and its errors.

Shaped like viam-sdk's camera types (``ViamImage``, ``ResponseMetadata``,
``IntrinsicParameters``...); plain data, built from the services' answers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
import json
from typing import Any, List, Mapping, Optional, Tuple

import numpy as np

from camera_node_interfaces.msg import Geometry as GeometryMsg

from ..viam import codecs


class CameraError(RuntimeError):
    """The camera answered with ``success: false``; ``error`` holds its explanation."""

    def __init__(self, service: str, error: str) -> None:
        super().__init__('%s failed: %s' % (service, error or '(no error text)'))
        self.service = service
        self.error = error


class CameraClientError(RuntimeError):
    """The client cannot make the call (destroyed, or it would deadlock its executor)."""


# --------------------------------------------------------------------------- images

class ViamLikeImage:
    """An encoded image, like viam-sdk's ``ViamImage`` (and ``NamedImage``).

    ``data`` holds the bytes in ``mime_type``'s layout; decoding happens on demand.
    ``ros_image`` is the undecoded sensor_msgs/Image when the answer carried one
    (GetImage with ``extra={'ros_image': True}``), else None; ``captured_at`` is the
    capture time when known.
    """

    def __init__(self, data: bytes, mime_type: str, source_name: str = '',
                 ros_image: Any = None, captured_at: Optional[datetime] = None) -> None:
        self.data = bytes(data)
        self.mime_type = mime_type
        self.source_name = source_name
        self.ros_image = ros_image
        self.captured_at = captured_at
        self._size: Optional[Tuple[int, int]] = None

    @property
    def name(self) -> str:
        """Return ``source_name`` (what viam-sdk's ``NamedImage`` calls ``name``)."""
        return self.source_name

    def _mime(self) -> str:
        return codecs.normalize_mime(self.mime_type)

    def _dims(self) -> Tuple[int, int]:
        if self._size is None:
            try:
                self._size = codecs.image_size(self.mime_type, self.data)
            except codecs.FormatError as exc:
                raise ValueError('cannot tell the size of a %r image: %s'
                                 % (self.mime_type, exc)) from None
        return self._size

    @property
    def width(self) -> int:
        """Return the width in pixels (read from the header, not a full decode)."""
        return self._dims()[0]

    @property
    def height(self) -> int:
        """Return the height in pixels (read from the header, not a full decode)."""
        return self._dims()[1]

    def bytes_to_depth_array(self) -> np.ndarray:
        """Decode ``image/vnd.viam.dep`` to an ``HxW`` uint16 array of millimetres.

        Index it as ``depth[y][x]`` (or ``depth[y, x]``); 0 means no depth. Other MIME
        types raise ``ValueError``: use :meth:`to_numpy` for a 16-bit depth PNG.
        """
        if self._mime() != codecs.MIME_VIAM_DEP:
            raise ValueError('bytes_to_depth_array needs an %s image, this one is %r%s' % (
                codecs.MIME_VIAM_DEP, self.mime_type,
                ' (use to_numpy())' if self._mime() == codecs.MIME_PNG else ''))
        return codecs.decode_dep(self.data)

    def to_numpy(self) -> np.ndarray:
        """Decode to ``HxWx3`` uint8 RGB (colour) or ``HxW`` uint16 millimetres (depth).

        Viam RGBA and RGBA PNGs lose their alpha channel; 8-bit grey PNGs and JPEGs give
        ``HxW`` uint8.
        """
        try:
            return codecs.decode_image(self.mime_type, self.data)
        except codecs.FormatError as exc:
            raise ValueError('cannot decode a %r image: %s' % (self.mime_type, exc)) from None

    def to_pil(self) -> Any:
        """Return a ``PIL.Image.Image``: mode ``RGB`` for colour, ``I;16`` for depth."""
        from PIL import Image as PILImage
        return PILImage.fromarray(self.to_numpy())  # uint16 HxW gives mode I;16

    def __repr__(self) -> str:
        return 'ViamLikeImage(source_name=%r, mime_type=%r, %d bytes)' % (
            self.source_name, self.mime_type, len(self.data))


@dataclass
class ResponseMetadata:
    """Metadata of a GetImages/GetPointCloud answer (viam-sdk's ``ResponseMetadata``)."""

    captured_at: datetime
    """Capture time of the frame set, timezone-aware UTC."""
    stamp_ns: int
    """The same instant, nanoseconds since the epoch (the ROS stamp)."""


# --------------------------------------------------------------------------- properties

@dataclass
class IntrinsicParameters:
    """Pinhole intrinsics (Viam ``IntrinsicParameters``)."""

    width_px: int
    height_px: int
    focal_x_px: float
    focal_y_px: float
    center_x_px: float
    center_y_px: float


@dataclass
class DistortionParameters:
    """Lens distortion (Viam ``DistortionParameters``; Viam coefficient order)."""

    model: str
    parameters: List[float] = field(default_factory=list)


@dataclass
class ExtrinsicParameters:
    """Depth-to-colour extrinsics: ``p_color = R * p_depth + t``, in both forms."""

    translation_m: Tuple[float, float, float]
    rotation_xyzw: Tuple[float, float, float, float]
    translation_mm: Tuple[float, float, float]
    axis_angle: Tuple[float, float, float, float]
    """Viam/RDK form ``(rx, ry, rz, theta_radians)``."""


@dataclass
class Properties:
    """Answer of GetProperties (Viam ``Camera.Properties``)."""

    supports_pcd: bool
    intrinsic_parameters: IntrinsicParameters
    distortion_parameters: DistortionParameters
    mime_types: List[str]
    frame_rate: Optional[float]
    """Measured frame-set rate in Hz; None until the node has measured one."""
    extrinsics: Optional[ExtrinsicParameters]
    """Depth-to-colour extrinsics; None when the camera has no depth."""
    default_reference_frame: str
    intrinsics_are_default: bool
    """True when the intrinsics are assumed, not read from a device or calibration."""


# --------------------------------------------------------------------------- geometries

@dataclass
class ViamPose:
    """A Viam pose: millimetres, orientation vector and theta in degrees."""

    x: float
    y: float
    z: float
    o_x: float
    o_y: float
    o_z: float
    theta: float


@dataclass
class Geometry:
    """One geometry of the camera, its pose in the camera's frame (``frame_id``)."""

    label: str
    shape: str
    """``'box'``, ``'sphere'``, ``'capsule'`` (or ``'unknown(N)'``)."""
    center: ViamPose
    position_m: Tuple[float, float, float]
    orientation_xyzw: Tuple[float, float, float, float]
    frame_id: str
    dims_mm: Optional[Tuple[float, float, float]] = None
    """Box: full edge lengths; None for other shapes."""
    radius_mm: Optional[float] = None
    """Sphere and capsule; None for boxes."""
    length_mm: Optional[float] = None
    """Capsule: tip-to-tip length along local +Z; None for other shapes."""


_SHAPES = {GeometryMsg.BOX: 'box', GeometryMsg.SPHERE: 'sphere',
           GeometryMsg.CAPSULE: 'capsule'}


# --------------------------------------------------------------------------- conversions

def time_to_datetime(stamp: Any) -> Tuple[datetime, int]:
    """Return ``(aware UTC datetime, nanoseconds)`` of a builtin_interfaces/Time."""
    ns = int(stamp.sec) * 1_000_000_000 + int(stamp.nanosec)
    return datetime.fromtimestamp(ns / 1e9, tz=timezone.utc), ns


def extra_json(extra: Optional[Mapping[str, Any]]) -> str:
    if extra is None:
        return ''
    if not isinstance(extra, Mapping):
        raise TypeError('extra must be a dict (or None), got %s' % type(extra).__name__)
    return json.dumps(dict(extra))


def properties_of(res: Any) -> Properties:
    ip = res.intrinsic_parameters
    extr = None
    if res.has_extrinsics:
        t, r, mm = res.depth_to_color.translation, res.depth_to_color.rotation, \
            res.extrinsic_translation_mm
        extr = ExtrinsicParameters((t.x, t.y, t.z), (r.x, r.y, r.z, r.w), (mm.x, mm.y, mm.z),
                                   tuple(float(v) for v in res.extrinsic_axis_angle))
    return Properties(
        supports_pcd=bool(res.supports_pcd),
        intrinsic_parameters=IntrinsicParameters(
            int(ip.width_px), int(ip.height_px), ip.focal_x_px, ip.focal_y_px,
            ip.center_x_px, ip.center_y_px),
        distortion_parameters=DistortionParameters(
            res.distortion_parameters.model,
            [float(v) for v in res.distortion_parameters.parameters]),
        mime_types=list(res.mime_types),
        frame_rate=float(res.frame_rate) if res.has_frame_rate else None,
        extrinsics=extr,
        default_reference_frame=res.default_reference_frame,
        intrinsics_are_default=bool(res.intrinsics_are_default))


def geometry_of(msg: Any) -> Geometry:
    c = msg.center
    p = msg.pose
    shape = _SHAPES.get(msg.shape, 'unknown(%d)' % msg.shape)
    return Geometry(
        label=msg.label, shape=shape,
        center=ViamPose(c.x, c.y, c.z, c.o_x, c.o_y, c.o_z, c.theta),
        position_m=(p.position.x, p.position.y, p.position.z),
        orientation_xyzw=(p.orientation.x, p.orientation.y, p.orientation.z,
                          p.orientation.w),
        frame_id=msg.frame_id,
        dims_mm=(msg.dims_mm.x, msg.dims_mm.y, msg.dims_mm.z) if shape == 'box' else None,
        radius_mm=msg.radius_mm if shape in ('sphere', 'capsule') else None,
        length_mm=msg.length_mm if shape == 'capsule' else None)
