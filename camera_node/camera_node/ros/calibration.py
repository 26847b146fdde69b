"""``camera_info_url`` and ``set_camera_info`` (sensor_msgs/srv/SetCameraInfo).

``set_camera_info`` writes to the ``file://`` URL, or, when the URL is empty or a
``package://`` one (package shares are not writable), to
``$ROS_HOME/camera_info/<camera_name>.yaml`` (``~/.ros/camera_info``), and the camera uses
it at once. Where it may write, and what it refuses, is docs/security.md: the directory
must exist (only the default one is created), the name must be a plain ``.yaml`` name, and
an existing file is replaced (atomically, never through a link) only when it holds this
camera's calibration.
"""

from __future__ import annotations

import os
from typing import Any, Callable, Mapping, Optional, Tuple

from sensor_msgs.srv import SetCameraInfo

from ..core.calibration import (Calibration, calibration_camera_name, CalibrationError,
                                calibration_yaml, check_calibration, IntrinsicsResolver,
                                load_url, parse_calibration, resolve_url)
from ..core.files import ensure_private_dir, FileAccessError, replace_file, ros_home
from ..core.params import Handler
from ..core.session import CameraSession
from .messages import calibration_of
from .services import service_qos


class CameraInfoManager:
    """Loads the calibration file, reloads it on URL changes, serves ``set_camera_info``.

    :param refresh: called after the calibration changed (CameraInfo must be rebuilt).
    """

    def __init__(self, node: Any, settings: Mapping[str, Any], session: CameraSession,
                 intrinsics: IntrinsicsResolver, refresh: Callable[[], None]) -> None:
        self.log = node.get_logger()
        self.settings = settings
        self.session = session
        self.intrinsics = intrinsics
        self.refresh = refresh
        url = settings['camera_info_url']
        if url:
            try:
                intrinsics.set_stored(load_url(url))
                cal = intrinsics.stored
                self.log.info('calibration loaded from %s (%dx%d)'
                              % (resolve_url(url), cal.width, cal.height))
            except CalibrationError as exc:
                self.log.error("camera_info_url %r not used: %s; using the driver's "
                               'intrinsics' % (url[:200], exc))
        self.service = node.create_service(SetCameraInfo, '~/set_camera_info', self._set,
                                           qos_profile=service_qos())

    def handler(self) -> Handler:
        """Return what a ``camera_info_url`` change does: load (check), then use (apply)."""
        def check(url: str) -> Optional[Calibration]:
            if not url:
                return None
            try:
                return load_url(url)
            except CalibrationError as exc:
                raise CalibrationError('camera_info_url %r: %s' % (url[:200], exc)) from None

        def apply(cal: Optional[Calibration]) -> None:
            self.intrinsics.set_stored(cal)
            self.refresh()
        return Handler(apply=apply, check=check)

    def write_target(self) -> Tuple[str, str]:
        """Return (directory, file name) where set_camera_info stores the calibration.

        The ``file://`` URL's file (its directory must exist), else
        ``$ROS_HOME/camera_info/<camera_name>.yaml`` (that directory is created).
        """
        url = self.settings['camera_info_url']
        if url.startswith('file://'):
            path = resolve_url(url)
            directory, name = os.path.split(path)
            if not os.path.isdir(directory):
                raise CalibrationError('directory %s of camera_info_url does not exist (it is '
                                       'not created)' % directory)
            return directory, name
        directory = ensure_private_dir(os.path.join(ros_home(), 'camera_info'))
        return directory, self.settings['camera_name'] + '.yaml'

    def _ours(self, old: bytes) -> Optional[str]:
        """Return why an existing file must not be replaced (not this camera's), or None."""
        try:
            text = old.decode('utf-8')
        except UnicodeDecodeError:
            text = ''
        if calibration_camera_name(text) != self.settings['camera_name']:
            return ('the file there does not hold the calibration of camera %r: not '
                    'replaced (remove it, or point camera_info_url elsewhere)'
                    % self.settings['camera_name'])
        return None

    def _set(self, request: Any, response: Any) -> Any:
        try:
            cal = check_calibration(calibration_of(request.camera_info))
            props = self.session.props
            if props is None:
                raise CalibrationError('the camera is not open yet')
            c = props.color
            if (cal.width, cal.height) != (c.width, c.height):
                raise CalibrationError('calibration is %dx%d but the colour images are %dx%d'
                                       % (cal.width, cal.height, c.width, c.height))
            directory, name = self.write_target()
            text = calibration_yaml(cal, self.settings['camera_name'])
            stored = parse_calibration(text)
            path = replace_file(directory, name, text.encode('utf-8'), self._ours)
            self.intrinsics.set_stored(stored)
            self.refresh()
            response.success = True
            response.status_message = 'calibration stored in %s' % path
            self.log.info(response.status_message)
        except (CalibrationError, FileAccessError) as exc:
            response.success = False
            response.status_message = 'calibration not stored: %s' % exc
            self.log.error(response.status_message)
        except Exception as exc:  # never out of a service callback
            response.success = False
            response.status_message = 'calibration not stored: %s' % type(exc).__name__
            self.log.error('set_camera_info failed: %s: %s' % (type(exc).__name__, exc))
        return response
