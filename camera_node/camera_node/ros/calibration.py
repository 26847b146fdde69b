"""``camera_info_url`` and ``set_camera_info`` (sensor_msgs/srv/SetCameraInfo).

``set_camera_info`` writes to the ``file://`` URL, or, when the URL is empty or a
``package://`` one (package shares are not writable), to
``~/.ros/camera_info/<camera_name>.yaml``, and the camera uses it at once.
"""

from __future__ import annotations

import os
from typing import Any, Callable, Mapping, Optional

from sensor_msgs.srv import SetCameraInfo

from ..core.calibration import (Calibration, CalibrationError, calibration_yaml,
                                IntrinsicsResolver, load_url, parse_calibration, resolve_url)
from ..core.params import Handler
from ..core.session import CameraSession
from .messages import calibration_of


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
                               'intrinsics' % (url, exc))
        self.service = node.create_service(SetCameraInfo, '~/set_camera_info', self._set)

    def handler(self) -> Handler:
        """Return what a ``camera_info_url`` change does: load (check), then use (apply)."""
        def check(url: str) -> Optional[Calibration]:
            if not url:
                return None
            try:
                return load_url(url)
            except CalibrationError as exc:
                raise CalibrationError('camera_info_url %r: %s' % (url, exc)) from None

        def apply(cal: Optional[Calibration]) -> None:
            self.intrinsics.set_stored(cal)
            self.refresh()
        return Handler(apply=apply, check=check)

    def write_path(self) -> str:
        """Return where set_camera_info stores the calibration."""
        url = self.settings['camera_info_url']
        if url.startswith('file://'):
            return resolve_url(url)
        return os.path.join(os.path.expanduser('~'), '.ros', 'camera_info',
                            self.settings['camera_name'] + '.yaml')

    def _set(self, request: Any, response: Any) -> Any:
        try:
            cal = calibration_of(request.camera_info)
            props = self.session.props
            if props is None:
                raise CalibrationError('the camera is not open yet')
            c = props.color
            if (cal.width, cal.height) != (c.width, c.height):
                raise CalibrationError('calibration is %dx%d but the colour images are %dx%d'
                                       % (cal.width, cal.height, c.width, c.height))
            if len(cal.k) != 9 or cal.k[0] <= 0 or cal.k[4] <= 0:
                raise CalibrationError('camera_info.k needs positive focal lengths')
            path = self.write_path()
            os.makedirs(os.path.dirname(path), exist_ok=True)
            text = calibration_yaml(cal, self.settings['camera_name'])
            tmp = path + '.tmp'
            with open(tmp, 'w') as f:
                f.write(text)
            os.replace(tmp, path)
            self.intrinsics.set_stored(parse_calibration(text))
            self.refresh()
            response.success = True
            response.status_message = 'calibration stored in %s' % path
            self.log.info(response.status_message)
        except (OSError, CalibrationError) as exc:
            response.success = False
            response.status_message = 'calibration not stored: %s' % exc
            self.log.error(response.status_message)
        return response
