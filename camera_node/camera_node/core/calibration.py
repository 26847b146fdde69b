"""Calibration of the colour imager: the YAML file, its fitting, and which intrinsics win.

The file format is camera_calibration_parsers' YAML (what the ``camera_calibration``
package writes)::

    image_width: 640
    image_height: 480
    camera_name: camera
    camera_matrix: {rows: 3, cols: 3, data: [fx, 0, cx, 0, fy, cy, 0, 0, 1]}
    distortion_model: plumb_bob
    distortion_coefficients: {rows: 1, cols: 5, data: [k1, k2, p1, p2, k3]}
    rectification_matrix: {rows: 3, cols: 3, data: [...]}
    projection_matrix: {rows: 3, cols: 4, data: [...]}

URLs: ``file:///abs/path.yaml`` or ``package://<package>/<path in its share folder>``; an
empty URL means the driver's own intrinsics. A calibration whose size differs from the
stream's is rescaled when the aspect ratio matches and refused otherwise.
:class:`IntrinsicsResolver` decides, in one place, what the colour imager's intrinsics are.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
import math
import threading
from typing import Any, List, Optional, Tuple
from urllib.parse import unquote, urlparse

import yaml

from .bounded import load_yaml, TextError
from .files import FileAccessError, package_path, read_small_file
from .types import CameraProperties, Intrinsics

_IDENTITY_3 = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0]


class CalibrationError(ValueError):
    """A calibration URL or file that cannot be used, with the reason."""


@dataclass
class Calibration:
    """A mono imager's calibration, CameraInfo-shaped (row-major K, R, P; ROS D order)."""

    width: int
    height: int
    k: List[float]
    distortion_model: str = 'plumb_bob'
    d: List[float] = field(default_factory=list)
    r: List[float] = field(default_factory=lambda: list(_IDENTITY_3))
    p: List[float] = field(default_factory=list)

    @classmethod
    def from_intrinsics(cls, intr: Intrinsics) -> 'Calibration':
        """Return the calibration of driver intrinsics (R identity, P from K)."""
        d = [float(x) for x in intr.distortion]
        model = intr.distortion_model or 'plumb_bob'
        if model == 'plumb_bob' and not d:
            d = [0.0] * 5
        return cls(int(intr.width), int(intr.height), [float(x) for x in intr.k()], model, d,
                   list(_IDENTITY_3), [float(x) for x in intr.p()])

    def intrinsics(self) -> Intrinsics:
        """Return these as driver-style intrinsics."""
        k = self.k
        return Intrinsics(int(self.width), int(self.height), float(k[0]), float(k[4]),
                          float(k[2]), float(k[5]), self.distortion_model or 'plumb_bob',
                          [float(v) for v in self.d])

    def fitted(self, width: int, height: int) -> 'Calibration':
        """Return this calibration for images of width x height: rescaled if the aspect matches."""
        if (self.width, self.height) == (width, height):
            return self
        if self.width <= 0 or self.height <= 0 or \
                abs(self.width / self.height - width / height) > 1e-3:
            raise CalibrationError('calibration is for %dx%d but the images are %dx%d'
                                   % (self.width, self.height, width, height))
        s = width / self.width
        k, p = self.k, self.p
        return replace(self, width=width, height=height,
                       k=[k[0] * s, k[1], (k[2] + 0.5) * s - 0.5, k[3], k[4] * s,
                          (k[5] + 0.5) * s - 0.5, k[6], k[7], k[8]],
                       p=[p[0] * s, p[1], (p[2] + 0.5) * s - 0.5, p[3] * s, p[4], p[5] * s,
                          (p[6] + 0.5) * s - 0.5, p[7], p[8], p[9], p[10], p[11]],
                       d=list(self.d), r=list(self.r))


#: file name endings a calibration file may have (so no other kind of file is read)
SUFFIXES = ('.yaml', '.yml')
#: longest distortion vector accepted (OpenCV's thin-prism + tilted model has 14)
MAX_DISTORTION = 14
#: largest image side a calibration may describe, pixels
MAX_SIDE = 65535
#: longest distortion model name
MAX_MODEL_CHARS = 64


def _short_url(url: str) -> str:
    return url if len(url) <= 200 else url[:200] + '...'


def resolve_url(url: str) -> str:
    """Return the file path of a ``file://`` or ``package://`` URL of a ``.yaml`` file.

    ``file://`` needs an absolute path; ``package://<pkg>/<path>`` stays inside the
    package's share folder. Either must end in ``.yaml`` or ``.yml``.
    """
    if not isinstance(url, str) or '\0' in url:
        raise CalibrationError('calibration URL must be text without NUL characters')
    parsed = urlparse(url)
    if parsed.scheme == 'file':
        if parsed.netloc not in ('', 'localhost'):
            raise CalibrationError('file:// URL must hold an absolute path (file:///...): %r'
                                   % _short_url(url))
        path = unquote(parsed.path)
        if not path.startswith('/'):
            raise CalibrationError('file:// URL must hold an absolute path: %r'
                                   % _short_url(url))
    elif parsed.scheme == 'package':
        try:
            from ament_index_python.packages import (PackageNotFoundError,
                                                     get_package_share_directory)
        except ImportError as exc:  # pragma: no cover - ament_index is part of rclpy
            raise CalibrationError('package:// needs ament_index_python: %s' % exc) from exc
        try:
            share = get_package_share_directory(parsed.netloc)
        except (PackageNotFoundError, ValueError):
            raise CalibrationError('package %r of %r is not installed'
                                   % (parsed.netloc[:100], _short_url(url))) from None
        try:
            path = package_path(share, unquote(parsed.path))
        except FileAccessError as exc:
            raise CalibrationError(str(exc)) from None
    else:
        raise CalibrationError('unsupported calibration URL %r: use file:///... or '
                               'package://<package>/...' % _short_url(url))
    if not path.lower().endswith(SUFFIXES):
        raise CalibrationError('calibration URL must name a .yaml or .yml file: %r'
                               % _short_url(url))
    return path


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise CalibrationError('%s must hold numbers' % where)
    try:
        f = float(value)
    except OverflowError:
        f = math.inf
    if not math.isfinite(f):
        raise CalibrationError('%s must hold finite numbers' % where)
    return f


def _matrix(data: dict, key: str, rows: int, cols: int) -> List[float]:
    m = data.get(key)
    if not isinstance(m, dict) or not isinstance(m.get('data'), list):
        raise CalibrationError('%s needs rows, cols and data' % key)
    values = m['data']
    if len(values) != rows * cols:
        raise CalibrationError('%s must hold %d numbers, has %d' % (key, rows * cols,
                                                                    len(values)))
    return [_number(v, key) for v in values]


def _side(data: dict, key: str) -> int:
    value = data.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_SIDE:
        raise CalibrationError('%s must be an integer in [1, %d]' % (key, MAX_SIDE))
    return value


def check_calibration(cal: Calibration) -> Calibration:
    """Return cal if every field is usable; raise CalibrationError naming the first that is not.

    Sizes in [1, 65535], K 9 / R 9 / P 12 finite numbers, positive focal lengths, at most
    14 finite distortion coefficients, a short model name. Used for files and for
    ``set_camera_info`` alike, so no NaN or infinite value is ever stored.
    """
    for key, value in (('width', cal.width), ('height', cal.height)):
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_SIDE:
            raise CalibrationError('%s must be an integer in [1, %d]' % (key, MAX_SIDE))
    for key, values, n in (('K', cal.k, 9), ('R', cal.r, 9), ('P', cal.p, 12)):
        if len(values) != n:
            raise CalibrationError('%s must hold %d numbers, has %d' % (key, n, len(values)))
        for v in values:
            _number(v, key)
    if len(cal.d) > MAX_DISTORTION:
        raise CalibrationError('D holds %d coefficients; at most %d are accepted'
                               % (len(cal.d), MAX_DISTORTION))
    for v in cal.d:
        _number(v, 'D')
    if not isinstance(cal.distortion_model, str) or \
            len(cal.distortion_model) > MAX_MODEL_CHARS:
        raise CalibrationError('distortion_model must be a name of at most %d characters'
                               % MAX_MODEL_CHARS)
    if cal.k[0] <= 0 or cal.k[4] <= 0:
        raise CalibrationError('focal lengths (K[0], K[4]) must be > 0')
    return cal


def parse_calibration(text: str) -> Calibration:
    """Parse calibration YAML; raise CalibrationError with the reason (never the text)."""
    try:
        data = load_yaml(text, 'calibration file')
    except TextError as exc:
        raise CalibrationError(str(exc)) from None
    if not isinstance(data, dict):
        raise CalibrationError('calibration must be a YAML mapping')
    width, height = _side(data, 'image_width'), _side(data, 'image_height')
    k = _matrix(data, 'camera_matrix', 3, 3)
    dist = data.get('distortion_coefficients', {'data': []})
    if not isinstance(dist, dict) or not isinstance(dist.get('data') or [], list):
        raise CalibrationError('distortion_coefficients needs data: [numbers]')
    d = [_number(v, 'distortion_coefficients') for v in dist.get('data') or []]
    r = (_matrix(data, 'rectification_matrix', 3, 3) if 'rectification_matrix' in data
         else list(_IDENTITY_3))
    p = (_matrix(data, 'projection_matrix', 3, 4) if 'projection_matrix' in data
         else [k[0], k[1], k[2], 0.0, k[3], k[4], k[5], 0.0, k[6], k[7], k[8], 0.0])
    model = data.get('distortion_model', 'plumb_bob')
    if not isinstance(model, str):
        raise CalibrationError('distortion_model must be a name')
    return check_calibration(Calibration(width, height, k, model, d, r, p))


def calibration_camera_name(text: str) -> Optional[str]:
    """Return the ``camera_name`` of calibration YAML, or None if it is not a calibration."""
    try:
        data = load_yaml(text, 'calibration file')
        parse_calibration(text)
    except (TextError, CalibrationError):
        return None
    name = data.get('camera_name') if isinstance(data, dict) else None
    return name if isinstance(name, str) else None


def calibration_yaml(cal: Calibration, camera_name: str) -> str:
    """Write a calibration in camera_calibration_parsers' YAML layout."""
    def mat(rows: int, cols: int, values: Any) -> dict:
        return {'rows': rows, 'cols': cols, 'data': [float(v) for v in values]}
    data = {
        'image_width': int(cal.width), 'image_height': int(cal.height),
        'camera_name': camera_name,
        'camera_matrix': mat(3, 3, cal.k),
        'distortion_model': cal.distortion_model or 'plumb_bob',
        'distortion_coefficients': mat(1, len(cal.d), cal.d),
        'rectification_matrix': mat(3, 3, cal.r),
        'projection_matrix': mat(3, 4, cal.p),
    }
    return yaml.safe_dump(data, sort_keys=False, default_flow_style=None)


def load_url(url: str) -> Calibration:
    """Read and parse the calibration a URL names; raise CalibrationError.

    The file is read under the policy of :mod:`camera_node.core.files` (a regular file of
    at most 64 KiB, never blocking); no error quotes the file.
    """
    path = resolve_url(url)
    try:
        raw = read_small_file(path, 'the file')
    except FileAccessError as exc:
        raise CalibrationError(str(exc)) from None
    try:
        text = raw.decode('utf-8')
    except UnicodeDecodeError:
        raise CalibrationError('the file is not UTF-8 text (not a calibration file)') from None
    return parse_calibration(text)


class IntrinsicsResolver:
    """Which intrinsics the colour imager has: the calibration file's, else the driver's.

    The stored calibration is fitted to the stream once per change (device open or new
    calibration), not per request.
    """

    def __init__(self, logger: Any) -> None:
        self.log = logger
        self._lock = threading.Lock()
        self.stored: Optional[Calibration] = None
        self._color: Optional[Tuple[Calibration, str]] = None

    def set_stored(self, cal: Optional[Calibration]) -> None:
        """Use cal (None: the driver's intrinsics) from the next :meth:`resolve` on."""
        with self._lock:
            self.stored = cal

    def resolve(self, props: CameraProperties) -> Tuple[Calibration, str]:
        """Fit the colour imager's calibration to props; return it and where it came from.

        A stored calibration that does not fit the stream is logged and ignored.
        """
        with self._lock:
            stored = self.stored
        color = props.color
        result = (Calibration.from_intrinsics(color), props.intrinsics_source)
        if stored is not None:
            try:
                result = (stored.fitted(color.width, color.height), 'calibration_file')
            except CalibrationError as exc:
                self.log.error('calibration not used: %s' % exc)
        self._color = result
        return result

    @property
    def color(self) -> Optional[Tuple[Calibration, str]]:
        """Return the last resolved (calibration, source), or None before the first open."""
        return self._color
