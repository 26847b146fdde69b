"""The driver seam: what every camera driver gives the node.

A driver owns one device (or file, or synthetic scene). The node calls, from its capture
thread only:

* :meth:`Driver.open` once (raises :class:`DeviceNotFoundError` naming what it searched),
* :meth:`Driver.read` in a loop, each call returning the next :class:`FrameSet` or
  ``None`` on timeout (raises :class:`DeviceLostError` when the device went away),
* :meth:`Driver.close` at the end (idempotent).

:meth:`Driver.properties` may be called from any thread after ``open``.
Images are numpy arrays in fixed conventions so the node never needs to know the SDK:
colour is ``HxWx3 uint8 RGB``; depth is ``HxW uint16`` in millimetres (0 = no depth).
"""

from __future__ import annotations

import abc
from dataclasses import dataclass, field
import math
import re
import threading
from typing import Any, Callable, Dict, Mapping, Optional, Sequence, Tuple
import warnings

import numpy as np


class DriverError(RuntimeError):
    """Base class of the errors a driver raises."""


class DriverUnavailableError(DriverError):
    """The driver name is unknown, or its SDK cannot be imported here."""


class DeviceNotFoundError(DriverError):
    """No device matched; the message names what was searched for and what was seen."""


class DeviceLostError(DriverError):
    """The device stopped delivering frames (unplugged, stream ended, server gone)."""


class EndOfStream(DriverError):
    """A finite source (file, recording) has no more frames and does not loop."""


class InvalidOptionError(DriverError, ValueError):
    """A driver option has a value the driver or the device cannot take."""


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

    def k(self) -> list:
        """Row-major 3x3 camera matrix as CameraInfo.k wants it."""
        return [self.fx, 0.0, self.cx, 0.0, self.fy, self.cy, 0.0, 0.0, 1.0]

    def p(self, tx: float = 0.0) -> list:
        """Row-major 3x4 projection matrix as CameraInfo.p wants it."""
        return [self.fx, 0.0, self.cx, tx, 0.0, self.fy, self.cy, 0.0, 0.0, 0.0, 1.0, 0.0]

    def scaled(self, width: int, height: int) -> 'Intrinsics':
        """Return these intrinsics for the same imager resampled to width x height."""
        sx = width / self.width
        sy = height / self.height
        return Intrinsics(width, height, self.fx * sx, self.fy * sy,
                          (self.cx + 0.5) * sx - 0.5, (self.cy + 0.5) * sy - 0.5,
                          self.distortion_model, list(self.distortion))


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
class CameraProperties:
    """What a driver knows about its device once open.

    :param color: intrinsics of the colour imager (the images in ``FrameSet.color``).
    :param depth: intrinsics of the depth imager (``FrameSet.depth``), None without depth.
    :param depth_to_color: extrinsics from the depth optical frame to the colour one.
    :param color_to_link: colour optical frame origin in the ``<name>_link`` body frame
        (x forward, y left, z up), metres; depth is assumed at the link origin.
    :param fps: nominal frame-set rate the device was configured for.
    :param intrinsics_source: where the intrinsics came from: ``device``,
        ``calibration_file``, ``synthetic`` or ``default`` (an assumed guess).
    :param model: human-readable device model; ``serial`` its serial or source.
    """

    color: Intrinsics
    depth: Optional[Intrinsics] = None
    depth_to_color: Optional[Extrinsics] = None
    color_to_link: Tuple[float, float, float] = (0.0, 0.0, 0.0)
    fps: float = 30.0
    intrinsics_source: str = 'device'
    model: str = ''
    serial: str = ''
    extra: Dict[str, Any] = field(default_factory=dict)

    @property
    def has_depth(self) -> bool:
        """Whether the driver delivers depth."""
        return self.depth is not None


@dataclass
class FrameSet:
    """Images captured together.

    :param color: ``HxWx3 uint8`` RGB.
    :param depth: ``HxW uint16`` millimetres in the depth imager's geometry, or None.
    :param aligned_depth: ``HxW uint16`` millimetres registered to the colour image
        (same size as ``color``), or None when the driver cannot align.
    :param stamp_ns: capture time on the ROS clock (nanoseconds since the epoch).
    :param sequence: frame counter from the driver (monotonic, gaps mean drops).
    :param timestamp_domain: which clock the capture time came from.
    """

    color: np.ndarray
    depth: Optional[np.ndarray] = None
    aligned_depth: Optional[np.ndarray] = None
    stamp_ns: int = 0
    sequence: int = 0
    timestamp_domain: str = 'system'


CommandHandler = Callable[[Mapping[str, Any]], Dict[str, Any]]


class Driver(abc.ABC):
    """Abstract camera driver; subclasses implement the ``_open``/``_read``/``_close`` hooks.

    :param options: driver options (already validated types, from node parameters).
    """

    #: registry name, set by subclasses
    name = ''
    #: node parameters this driver takes (declared by the node, passed as ``options``)
    parameters: Sequence['ParamSpec'] = ()
    #: Viam source names of the colour and depth imagers
    color_source = 'color'
    depth_source = 'depth'

    def __init__(self, options: Optional[Mapping[str, Any]] = None) -> None:
        self.options: Dict[str, Any] = dict(options or {})
        self._lock = threading.RLock()
        self._opened = False
        self._closed = False

    # -- public API ---------------------------------------------------------------------
    def open(self) -> None:
        """Open the device; raises DeviceNotFoundError naming what was searched."""
        with self._lock:
            if self._opened:
                return
            self._open()
            self._opened = True
            self._closed = False

    def read(self, timeout: float) -> Optional[FrameSet]:
        """Return the next frame set, or None when none arrived within timeout seconds."""
        if not self._opened:
            raise DriverError('driver %r is not open' % self.name)
        return self._read(timeout)

    def close(self) -> None:
        """Release the device. Safe to call more than once and from any thread."""
        with self._lock:
            if self._opened and not self._closed:
                try:
                    self._close()
                finally:
                    self._closed = True
                    self._opened = False

    @property
    def is_open(self) -> bool:
        """Whether open() succeeded and close() has not been called since."""
        return self._opened

    @abc.abstractmethod
    def properties(self) -> CameraProperties:
        """Intrinsics, extrinsics and device facts; valid after open()."""

    def commands(self) -> Dict[str, Tuple[str, CommandHandler]]:
        """Driver-specific DoCommand commands: name -> (description, handler)."""
        return {}

    def set_option(self, name: str, value: Any) -> None:
        """Apply a runtime option (exposure, laser power...); raise InvalidOptionError."""
        raise InvalidOptionError('driver %r has no runtime option %r' % (self.name, name))

    def runtime_options(self) -> Dict[str, Any]:
        """Runtime options this device supports, name -> current value."""
        return {}

    # -- context manager ----------------------------------------------------------------
    def __enter__(self) -> 'Driver':
        """Open on entering a with block."""
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        """Close on leaving a with block."""
        self.close()

    def __del__(self) -> None:
        """Warn about drivers that were opened and never closed."""
        if getattr(self, '_opened', False) and not getattr(self, '_closed', True):
            warnings.warn('camera driver %r was never closed' % self.name, ResourceWarning)

    # -- hooks --------------------------------------------------------------------------
    @abc.abstractmethod
    def _open(self) -> None:
        """Open the device (subclass hook)."""

    @abc.abstractmethod
    def _read(self, timeout: float) -> Optional[FrameSet]:
        """Read one frame set (subclass hook)."""

    @abc.abstractmethod
    def _close(self) -> None:
        """Close the device (subclass hook)."""


@dataclass
class ParamSpec:
    """A node parameter that a driver (or the node) takes.

    The type is the type of ``default``. ``read_only`` parameters need a restart;
    the others are applied at runtime through :meth:`Driver.set_option`.
    """

    name: str
    default: Any
    description: str
    read_only: bool = True
    choices: Optional[Sequence[Any]] = None
    min: Optional[float] = None
    max: Optional[float] = None
    step: Optional[float] = None


_PROFILE_RE = re.compile(r'^\s*(\d+)\s*[xX]\s*(\d+)\s*[xX]\s*(\d+(?:\.\d+)?)\s*$')


def parse_profile(text: Any, name: str, hint: str,
                  fractional_fps: bool = False) -> Tuple[int, int, Any]:
    """Parse a ``WIDTHxHEIGHTxFPS`` stream profile into (width, height, fps).

    fps is an int, or a float when fractional_fps; ranges are for the caller to check.

    :raises InvalidOptionError: naming the parameter name, with hint on what it takes.
    """
    match = _PROFILE_RE.match(text) if isinstance(text, str) else None
    if match is None or (not fractional_fps and '.' in match.group(3)):
        raise InvalidOptionError('%s must be WIDTHxHEIGHTxFPS (%s), got %r'
                                 % (name, hint, text))
    fps = float(match.group(3)) if fractional_fps else int(match.group(3))
    return int(match.group(1)), int(match.group(2)), fps


class ClockMapper:
    """Map a device clock to the ROS (system) clock.

    The offset ``system - device`` is taken as the smallest seen so far (the sample with the
    least transport delay), and re-anchored when the device clock jumps backwards (device
    reset) or the offset drifts past ``resync_ns``. The stamps returned strictly increase:
    when the offset shrinks, a stamp that would step back is put 1 ns after the last one.
    """

    def __init__(self, resync_ns: int = 500_000_000) -> None:
        self._offset: Optional[int] = None
        self._last_device: Optional[int] = None
        self._last_stamp: Optional[int] = None
        self._resync_ns = resync_ns

    def to_system_ns(self, device_ns: int, arrival_ns: int) -> int:
        """Return the system time of a device timestamp that arrived at arrival_ns."""
        offset = arrival_ns - device_ns
        if (self._offset is None or offset < self._offset
                or (self._last_device is not None and device_ns < self._last_device)
                or offset - self._offset > self._resync_ns):
            self._offset = offset
        self._last_device = device_ns
        stamp = device_ns + self._offset
        if self._last_stamp is not None and stamp <= self._last_stamp:
            stamp = self._last_stamp + 1
        self._last_stamp = stamp
        return stamp
