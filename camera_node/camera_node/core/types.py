"""The data the core passes around: intrinsics, extrinsics, device properties, frame sets.

Images are numpy arrays in fixed conventions so nothing above the drivers needs to know an
SDK: colour is ``HxWx3 uint8 RGB``; depth is ``HxW uint16`` in millimetres (0 = no depth);
infrared is ``HxW uint8``. IMU samples travel on their own path (:class:`ImuSample`, see
:mod:`camera_node.core.imu`), never in a frame set.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
import math
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np


@dataclass
class Intrinsics:
    """Pinhole intrinsics and distortion of one imager, for images of width x height.

    ``distortion_model`` uses ROS names (``plumb_bob`` with ``[k1, k2, p1, p2, k3]`` or
    ``rational_polynomial`` with 8 coefficients); an empty list means no distortion.
    """

    width: int
    height: int
    fx: float
    fy: float
    cx: float
    cy: float
    distortion_model: str = 'plumb_bob'
    distortion: Sequence[float] = field(default_factory=lambda: [0.0] * 5)

    def k(self) -> List[float]:
        """Row-major 3x3 camera matrix as CameraInfo.k wants it."""
        return [self.fx, 0.0, self.cx, 0.0, self.fy, self.cy, 0.0, 0.0, 1.0]

    def p(self, tx: float = 0.0) -> List[float]:
        """Row-major 3x4 projection matrix as CameraInfo.p wants it."""
        return [self.fx, 0.0, self.cx, tx, 0.0, self.fy, self.cy, 0.0, 0.0, 0.0, 1.0, 0.0]


def default_intrinsics(width: int, height: int, hfov_deg: float) -> Intrinsics:
    """Pinhole guess: square pixels, horizontal field of view hfov_deg, centred, no distortion.

    The principal point is the image centre in ROS pixel coordinates (pixel centres at
    integers): ``((w - 1) / 2, (h - 1) / 2)``.
    """
    f = (width / 2.0) / math.tan(math.radians(hfov_deg) / 2.0)
    return Intrinsics(width, height, f, f, (width - 1) / 2.0, (height - 1) / 2.0,
                      'plumb_bob', [0.0] * 5)


@dataclass
class Extrinsics:
    """Rigid transform from one imager's optical frame to another's.

    A point ``p_from`` maps to ``p_to = rotation @ p_from + translation`` (metres).
    """

    rotation: np.ndarray = field(default_factory=lambda: np.eye(3))
    translation: np.ndarray = field(default_factory=lambda: np.zeros(3))


@dataclass
class ImuInfo:
    """The inertial sensor of a device: which streams it delivers and at what rates.

    :param gyro_hz: rate of angular velocity samples (0: no gyro stream).
    :param accel_hz: rate of specific force samples (0: no accelerometer stream).
    :param model: the chip or module, when known.
    """

    gyro_hz: float = 0.0
    accel_hz: float = 0.0
    model: str = ''


#: the sensors a camera may have, in the order extrinsics and frames are listed
SENSORS = ('depth', 'color', 'infra1', 'infra2', 'imu')


@dataclass
class CameraProperties:
    """What a driver knows about its device once open.

    :param color: intrinsics of the colour imager (the images in ``FrameSet.color``).
    :param depth: intrinsics of the depth imager (``FrameSet.depth``), None without depth.
    :param depth_to_color: extrinsics from the depth optical frame to the colour one. The
        depth imager sits at the ``<name>_link`` origin; without depth the colour imager does.
        That imager (:meth:`reference`) is the one every other sensor is placed from.
    :param infra1: intrinsics of the left infrared imager (``FrameSet.infra1``), or None.
    :param infra2: intrinsics of the right infrared imager (``FrameSet.infra2``), or None.
    :param sensor_extrinsics: for ``infra1``, ``infra2`` and ``imu``: the extrinsics from the
        reference imager's optical frame to that sensor's (optical) frame, as
        ``depth_to_color`` is for colour. The IMU's samples are in its frame.
    :param imu: the inertial sensor, None without one.
    :param fps: nominal frame-set rate the device was configured for.
    :param intrinsics_source: where the intrinsics came from: ``device``, ``synthetic``,
        ``recording`` or ``default`` (an assumed guess).
    :param model: human-readable device model; ``serial`` its serial or source.
    """

    color: Intrinsics
    depth: Optional[Intrinsics] = None
    depth_to_color: Optional[Extrinsics] = None
    fps: float = 30.0
    intrinsics_source: str = 'device'
    model: str = ''
    serial: str = ''
    infra1: Optional[Intrinsics] = None
    infra2: Optional[Intrinsics] = None
    sensor_extrinsics: Dict[str, Extrinsics] = field(default_factory=dict)
    imu: Optional[ImuInfo] = None

    @property
    def has_depth(self) -> bool:
        """Whether the driver delivers depth."""
        return self.depth is not None

    def reference(self) -> str:
        """Return the imager at the ``<name>_link`` origin: ``depth``, or ``color`` without."""
        return 'depth' if self.has_depth else 'color'

    def sensors(self) -> Tuple[str, ...]:
        """Return the sensors this device has, in :data:`SENSORS` order."""
        present = {'color': True, 'depth': self.has_depth,
                   'infra1': self.infra1 is not None, 'infra2': self.infra2 is not None,
                   'imu': self.imu is not None}
        return tuple(s for s in SENSORS if present[s])

    def from_reference(self, sensor: str) -> Extrinsics:
        """Return the extrinsics from the reference imager's optical frame to ``sensor``'s.

        :raises KeyError: the device has no such sensor, or did not say where it is.
        """
        if sensor == self.reference():
            return Extrinsics()
        if sensor == 'color':
            return self.depth_to_color if self.depth_to_color is not None else Extrinsics()
        if sensor not in self.sensors():
            raise KeyError('this camera has no %s sensor' % sensor)
        return self.sensor_extrinsics[sensor]


@dataclass
class FrameMetadata:
    """What the device reports about one image; None where it does not say.

    :param frame_counter: the sensor's own frame number.
    :param exposure_us: actual exposure time, microseconds.
    :param gain: actual gain, in the device's units.
    :param emitter_on: whether the IR projector lit this frame (emitter on/off alternation).
    :param laser_power_mw: projector power, milliwatts.
    :param temperature_c: sensor or projector temperature, degrees Celsius.
    """

    frame_counter: Optional[int] = None
    exposure_us: Optional[float] = None
    gain: Optional[float] = None
    emitter_on: Optional[bool] = None
    laser_power_mw: Optional[float] = None
    temperature_c: Optional[float] = None


#: the FrameSet fields that hold images
IMAGE_FIELDS = ('color', 'depth', 'aligned_depth', 'infra1', 'infra2')


class _Colour:
    """``FrameSet.color``: the array given, or the JPEG ``color_jpeg`` decoded when first read.

    A source that delivers JPEG (an MJPEG webcam or stream, an OAK's encoder) hands its
    bytes over undecoded; whoever needs pixels (a raw image topic, the cloud, a service
    asking for PNG) reads ``color`` and decodes them then, once per frame set (two threads
    reading at the same moment may both decode; both get the same pixels).
    """

    def __get__(self, obj: Any, owner: Any = None) -> Any:
        if obj is None:
            return None        # the field's default
        value = obj.__dict__.get('_color')
        if value is None and obj.__dict__.get('color_jpeg') is not None:
            from .jpeg import decode_rgb   # OpenCV is imported only where JPEG is decoded
            value = decode_rgb(obj.__dict__['color_jpeg'])
            value.flags.writeable = False
            obj.__dict__['_color'] = value
        return value

    def __set__(self, obj: Any, value: Any) -> None:
        obj.__dict__['_color'] = value


@dataclass
class FrameSet:
    """Images captured together.

    Consumers never change a frame set (the pre-event buffer keeps references to them):
    a step that changes an image makes a new one (:meth:`replace`).

    :param color: ``HxWx3 uint8`` RGB; with ``color_jpeg`` it may be left None and is
        decoded from the JPEG when first read.
    :param depth: ``HxW uint16`` millimetres in the depth imager's geometry, or None.
    :param aligned_depth: ``HxW uint16`` millimetres registered to the colour image
        (same size as ``color``), or None when the driver cannot align.
    :param stamp_ns: capture time on the ROS clock (nanoseconds since the epoch).
    :param infra1: ``HxW uint8`` left infrared image (rectified), or None.
    :param infra2: ``HxW uint8`` right infrared image (rectified, row-aligned with infra1),
        or None.
    :param metadata: per image (``color``, ``depth``, ``infra1``, ``infra2``), what the
        device reported about it; images without an entry have none.
    :param depth_intrinsics: the intrinsics of this ``depth`` image when they are not the
        device's ``CameraProperties.depth`` (a decimated image); None: those.
    :param color_jpeg: the colour image as the source delivered it, a complete JPEG, or
        None; published as is on the compressed topic.

    ``encoded`` caches encodings of this frame set's images, keyed ``(format, field,
    setting)`` (``('jpeg', 'color', 80)``, ``('png', 'aligned_depth', 1)``): the
    compressed topics fill it, the Viam services reuse what is there.
    """

    color: np.ndarray = _Colour()
    depth: Optional[np.ndarray] = None
    aligned_depth: Optional[np.ndarray] = None
    stamp_ns: int = 0
    infra1: Optional[np.ndarray] = None
    infra2: Optional[np.ndarray] = None
    metadata: Dict[str, FrameMetadata] = field(default_factory=dict)
    depth_intrinsics: Optional[Intrinsics] = None
    color_jpeg: Optional[bytes] = None
    encoded: Dict[Tuple[str, str, Any], bytes] = field(default_factory=dict, init=False,
                                                       repr=False, compare=False)

    @property
    def has_color_pixels(self) -> bool:
        """Whether the colour pixels are at hand (given, or decoded already)."""
        return self.__dict__.get('_color') is not None

    def replace(self, **changes: Any) -> 'FrameSet':
        """Return a copy with some fields changed, without decoding a JPEG colour image.

        Encodings cached for the fields that did not change are kept.
        """
        values = {f.name: self.__dict__.get('_color') if f.name == 'color'
                  else getattr(self, f.name) for f in fields(self) if f.init}
        values.update(changes)
        out = FrameSet(**values)
        out.encoded.update((k, v) for k, v in list(self.encoded.items())
                           if k[1] not in changes)
        return out

    def held(self) -> List[np.ndarray]:
        """Return the arrays this frame set holds (a JPEG's bytes as a uint8 view)."""
        arrays = (self.__dict__.get('_color') if f == 'color' else getattr(self, f)
                  for f in IMAGE_FIELDS)
        out = [a for a in arrays if isinstance(a, np.ndarray)]
        if self.color_jpeg is not None:
            out.append(np.frombuffer(self.color_jpeg, dtype=np.uint8))
        return out


@dataclass(frozen=True)
class ImuSample:
    """One inertial measurement, in the IMU's frame (``<name>_imu_optical_frame``).

    :param kind: ``gyro`` (angular velocity, rad/s) or ``accel`` (specific force, m/s^2,
        gravity included: a device at rest reads 9.81 m/s^2 upwards).
    :param stamp_ns: sample time on the ROS clock, mapped as the images' stamps are.
    :param x, y, z: the three axes.
    """

    kind: str
    stamp_ns: int
    x: float
    y: float
    z: float
