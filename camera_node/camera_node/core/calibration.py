"""Calibration of the colour imager: ``camera_info_url`` and ``set_camera_info``.

The file format is camera_calibration_parsers' YAML (what the ``camera_calibration``
package writes), read and written here with PyYAML::

    image_width: 640
    image_height: 480
    camera_name: camera
    camera_matrix: {rows: 3, cols: 3, data: [fx, 0, cx, 0, fy, cy, 0, 0, 1]}
    distortion_model: plumb_bob
    distortion_coefficients: {rows: 1, cols: 5, data: [k1, k2, p1, p2, k3]}
    rectification_matrix: {rows: 3, cols: 3, data: [...]}
    projection_matrix: {rows: 3, cols: 4, data: [...]}

URLs: ``file:///abs/path.yaml`` or ``package://<package>/<path in its share folder>``;
an empty URL means the driver's own intrinsics. ``set_camera_info``
(sensor_msgs/srv/SetCameraInfo) writes to the ``file://`` URL, or, when the URL is empty
or a ``package://`` one (package shares are not writable), to
``~/.ros/camera_info/<camera_name>.yaml``, and starts using it at once. A calibration
whose size differs from the stream's is rescaled when the aspect ratio matches and
refused otherwise.
"""

from __future__ import annotations

import os
import threading
from typing import Optional
from urllib.parse import unquote, urlparse

import yaml

from .drivers.base import Intrinsics


class CalibrationError(ValueError):
    """A calibration URL or file that cannot be used, with the reason."""


def resolve_url(url: str) -> str:
    """Return the file path of a ``file://`` or ``package://`` URL."""
    parsed = urlparse(url)
    if parsed.scheme == 'file':
        path = unquote(parsed.netloc + parsed.path) if parsed.netloc else unquote(parsed.path)
        if not path.startswith('/'):
            raise CalibrationError('file:// URL must hold an absolute path: %r' % url)
        return path
    if parsed.scheme == 'package':
        try:
            from ament_index_python.packages import (PackageNotFoundError,
                                                     get_package_share_directory)
        except ImportError as exc:  # pragma: no cover - ament_index is part of rclpy
            raise CalibrationError('package:// needs ament_index_python: %s' % exc) from exc
        try:
            share = get_package_share_directory(parsed.netloc)
        except PackageNotFoundError as exc:
            raise CalibrationError('package %r of %r is not installed'
                                   % (parsed.netloc, url)) from exc
        return os.path.join(share, unquote(parsed.path).lstrip('/'))
    raise CalibrationError('unsupported calibration URL %r: use file:///... or '
                           'package://<package>/...' % url)


def _matrix(data: dict, key: str, rows: int, cols: int) -> list:
    m = data.get(key)
    if not isinstance(m, dict) or not isinstance(m.get('data'), list):
        raise CalibrationError('%s needs rows, cols and data' % key)
    values = m['data']
    if len(values) != rows * cols:
        raise CalibrationError('%s must hold %d numbers, has %d' % (key, rows * cols,
                                                                    len(values)))
    try:
        return [float(v) for v in values]
    except (TypeError, ValueError) as exc:
        raise CalibrationError('%s holds a value that is not a number' % key) from exc


def parse_calibration(text: str):
    """Parse calibration YAML into a sensor_msgs/CameraInfo (header left empty)."""
    from sensor_msgs.msg import CameraInfo
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise CalibrationError('not valid YAML: %s' % exc) from exc
    if not isinstance(data, dict):
        raise CalibrationError('calibration must be a YAML mapping')
    info = CameraInfo()
    try:
        info.width = int(data['image_width'])
        info.height = int(data['image_height'])
    except (KeyError, TypeError, ValueError) as exc:
        raise CalibrationError('image_width and image_height are required integers') from exc
    info.k = _matrix(data, 'camera_matrix', 3, 3)
    info.distortion_model = str(data.get('distortion_model', 'plumb_bob'))
    dist = data.get('distortion_coefficients', {'data': []})
    info.d = [float(v) for v in (dist.get('data') or [])] if isinstance(dist, dict) else []
    info.r = (_matrix(data, 'rectification_matrix', 3, 3) if 'rectification_matrix' in data
              else [1.0, 0, 0, 0, 1.0, 0, 0, 0, 1.0])
    if 'projection_matrix' in data:
        info.p = _matrix(data, 'projection_matrix', 3, 4)
    else:
        k = info.k
        info.p = [k[0], k[1], k[2], 0.0, k[3], k[4], k[5], 0.0, k[6], k[7], k[8], 0.0]
    if info.k[0] <= 0 or info.k[4] <= 0:
        raise CalibrationError('focal lengths in camera_matrix must be > 0')
    return info


def calibration_yaml(info, camera_name: str) -> str:
    """Write a CameraInfo in camera_calibration_parsers' YAML layout."""
    def mat(rows, cols, values):
        return {'rows': rows, 'cols': cols, 'data': [float(v) for v in values]}
    data = {
        'image_width': int(info.width), 'image_height': int(info.height),
        'camera_name': camera_name,
        'camera_matrix': mat(3, 3, info.k),
        'distortion_model': info.distortion_model or 'plumb_bob',
        'distortion_coefficients': mat(1, len(info.d), info.d),
        'rectification_matrix': mat(3, 3, info.r),
        'projection_matrix': mat(3, 4, info.p),
    }
    return yaml.safe_dump(data, sort_keys=False, default_flow_style=None)


def fit_to_size(info, width: int, height: int):
    """Return info for images of width x height: rescaled if the aspect ratio matches."""
    if (info.width, info.height) == (width, height):
        return info
    if info.width <= 0 or info.height <= 0 or \
            abs(info.width / info.height - width / height) > 1e-3:
        raise CalibrationError('calibration is for %dx%d but the images are %dx%d'
                               % (info.width, info.height, width, height))
    s = width / info.width
    from sensor_msgs.msg import CameraInfo
    out = CameraInfo()
    out.width, out.height = width, height
    out.distortion_model = info.distortion_model
    out.d = list(info.d)
    out.r = list(info.r)
    k = list(info.k)
    out.k = [k[0] * s, k[1], (k[2] + 0.5) * s - 0.5, k[3], k[4] * s, (k[5] + 0.5) * s - 0.5,
             k[6], k[7], k[8]]
    p = list(info.p)
    out.p = [p[0] * s, p[1], (p[2] + 0.5) * s - 0.5, p[3] * s, p[4], p[5] * s,
             (p[6] + 0.5) * s - 0.5, p[7], p[8], p[9], p[10], p[11]]
    return out


def info_to_intrinsics(info) -> Intrinsics:
    """Turn a CameraInfo into driver-style intrinsics."""
    k = info.k
    return Intrinsics(int(info.width), int(info.height), float(k[0]), float(k[4]),
                      float(k[2]), float(k[5]), info.distortion_model or 'plumb_bob',
                      [float(v) for v in info.d])


class CalibrationManager:
    """Loads ``camera_info_url`` and serves ``~/set_camera_info`` on a CameraNode."""

    def __init__(self, node) -> None:
        from sensor_msgs.srv import SetCameraInfo
        self.node = node
        self.log = node.get_logger()
        self._lock = threading.Lock()
        self.info = None          # CameraInfo from the file, as stored
        self.url = ''
        self._load(node.p['camera_info_url'], at_start=True)
        node.param_hooks['camera_info_url'] = (self._check_url, self._apply_url)
        self.service = node.create_service(SetCameraInfo, '~/set_camera_info', self._set)

    def _load(self, url: str, at_start: bool = False) -> None:
        self.url = url
        if not url:
            self.info = None
            return
        try:
            path = resolve_url(url)
            with open(path) as f:
                self.info = parse_calibration(f.read())
            size = (self.info.width, self.info.height)
            self.log.info('calibration loaded from %s (%dx%d)' % ((path,) + size))
        except (OSError, CalibrationError) as exc:
            self.info = None
            self.log.error("camera_info_url %r not used: %s; using the driver's intrinsics"
                           % (url, exc))
            if not at_start:
                raise CalibrationError(str(exc)) from exc

    def _check_url(self, url: str) -> Optional[str]:
        if not url:
            return None
        try:
            path = resolve_url(url)
            with open(path) as f:
                parse_calibration(f.read())
        except (OSError, CalibrationError) as exc:
            return 'camera_info_url %r: %s' % (url, exc)
        return None

    def _apply_url(self, url: str) -> None:
        with self._lock:
            self._load(url)
        self.node.refresh_camera_info()

    def color_info(self, width: int, height: int):
        """Return the stored calibration fitted to width x height, or None to use the driver's.

        A size mismatch that cannot be rescaled is logged and ignored.
        """
        with self._lock:
            info = self.info
        if info is None:
            return None
        try:
            return fit_to_size(info, width, height)
        except CalibrationError as exc:
            self.log.error('calibration not used: %s' % exc)
            return None

    def write_path(self) -> str:
        """Return where set_camera_info stores the calibration."""
        if self.url.startswith('file://'):
            return resolve_url(self.url)
        return os.path.join(os.path.expanduser('~'), '.ros', 'camera_info',
                            self.node.camera_name + '.yaml')

    def _set(self, request, response):
        info = request.camera_info
        try:
            props = self.node.props
            if props is None:
                raise CalibrationError('the camera is not open yet')
            c = props.color
            if (info.width, info.height) != (c.width, c.height):
                raise CalibrationError('calibration is %dx%d but the colour images are %dx%d'
                                       % (info.width, info.height, c.width, c.height))
            if len(info.k) != 9 or info.k[0] <= 0 or info.k[4] <= 0:
                raise CalibrationError('camera_info.k needs positive focal lengths')
            path = self.write_path()
            os.makedirs(os.path.dirname(path), exist_ok=True)
            text = calibration_yaml(info, self.node.camera_name)
            tmp = path + '.tmp'
            with open(tmp, 'w') as f:
                f.write(text)
            os.replace(tmp, path)
            with self._lock:
                self.info = parse_calibration(text)
            self.node.refresh_camera_info()
            response.success = True
            response.status_message = 'calibration stored in %s' % path
            self.log.info(response.status_message)
        except (OSError, CalibrationError) as exc:
            response.success = False
            response.status_message = 'calibration not stored: %s' % exc
            self.log.error(response.status_message)
        return response
