"""OpenCV helpers and :class:`OpenCvDriver`, the base of the webcam and file drivers.

Nothing these drivers know about the lens is measured: intrinsics are an honest default
built from ``default_hfov_deg`` (``intrinsics_source='default'``); the camera replaces
them with a calibration file (``camera_info_url``) when one is given.
"""

from __future__ import annotations

import glob
import logging
import os
import sys
from typing import Any, Callable, Dict, List, Optional, Tuple

import cv2
import numpy as np

from .sources import normalise
from ...core.errors import DriverError, InvalidOptionError
from ...core.types import CameraProperties, default_intrinsics, Extrinsics
from ..base import CommandHandler, Driver

_LOG = logging.getLogger(__name__)

#: the ``backend`` parameter's choices -> OpenCV API preference
BACKENDS = {
    'auto': cv2.CAP_ANY,
    'v4l2': cv2.CAP_V4L2,
    'ffmpeg': cv2.CAP_FFMPEG,
    'images': cv2.CAP_IMAGES,
    'gstreamer': cv2.CAP_GSTREAMER,
}


def fourcc_text(value: float) -> str:
    """Decode a CAP_PROP_FOURCC number into its four characters ('' if none)."""
    code = int(value) if value and value > 0 else 0
    if not code:
        return ''
    text = ''.join(chr((code >> (8 * i)) & 0xFF) for i in range(4))
    return text if text.isprintable() else ''


def backend_label(backend: int) -> str:
    """Return the name messages use for an OpenCV API preference."""
    for name, value in BACKENDS.items():
        if value == backend:
            return 'auto (any)' if name == 'auto' else name.upper()
    return str(backend)


def to_rgb(image: np.ndarray) -> np.ndarray:
    """Convert an OpenCV frame (BGR, BGRA, grey; 8 or 16 bit) to ``HxWx3 uint8`` RGB."""
    if image.dtype != np.uint8:
        if image.dtype == np.uint16:
            image = (image >> 8).astype(np.uint8)
        else:
            image = np.clip(image, 0, 255).astype(np.uint8)
    if image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2RGB)
    channels = image.shape[2]
    if channels == 3:
        return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
    if channels == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2RGB)
    if channels == 1:
        return cv2.cvtColor(image[:, :, 0], cv2.COLOR_GRAY2RGB)
    raise DriverError('cannot convert a %d-channel frame to RGB' % channels)


def video_devices() -> List[str]:
    """List ``/dev/video*`` on this machine, each with its V4L2 name when sysfs has it."""
    found = []
    for path in sorted(glob.glob('/dev/video*'), key=lambda p: (len(p), p)):
        name = device_name(path)
        found.append('%s (%s)' % (path, name) if name else path)
    return found


def device_name(path: str) -> str:
    """V4L2 card name of a device path from sysfs, or ''."""
    try:
        real = os.path.realpath(path)
        with open('/sys/class/video4linux/%s/name' % os.path.basename(real)) as f:
            return f.read().strip()
    except OSError:
        return ''


class OpenCvDriver(Driver):
    """What the webcam and file drivers share: the source, properties and ``source_info``.

    Subclasses set :attr:`source_check` (the ``source`` parameter's check, as a
    staticmethod), the runtime
    option names (:attr:`runtime`), the requests ``source_info`` echoes
    (:attr:`requested`), and implement the Driver hooks and :meth:`_stamp_kind`.
    """

    #: the ``source`` parameter's check (returns the reason a value is refused)
    source_check: Callable[[Any], Optional[str]]
    #: runtime (read_only=False) parameters
    runtime: Tuple[str, ...] = ()
    #: parameters ``source_info`` reports under ``requested``
    requested: Tuple[str, ...] = ()

    def __init__(self, options: Any = None) -> None:
        super().__init__(options)
        self._props: Optional[CameraProperties] = None
        self._info: Dict[str, Any] = {}
        self._notes: List[str] = []
        self._kind = ''
        self._delivered = 0
        self._last_index = -1
        self._last_pos_msec = 0.0

    # -- source and backend ----------------------------------------------------------------
    def _source(self) -> str:
        """Return the source to open; InvalidOptionError if this driver does not take it.

        The parameter's check refused a bad value when it was given; this also covers the
        default of a driver constructed without one.
        """
        reason = self.source_check(self.options['source'])
        if reason:
            raise InvalidOptionError('source %s' % reason)
        return normalise(self.options['source'])

    def _backend(self, kind: str) -> int:
        choice = str(self.options['backend'])
        if choice != 'auto':
            return BACKENDS[choice]
        if kind == 'device' and sys.platform.startswith('linux'):
            return cv2.CAP_V4L2
        if kind == 'url':
            return cv2.CAP_FFMPEG
        return cv2.CAP_ANY

    # -- properties ----------------------------------------------------------------------
    def _finish_open(self, label: str, backend_name: str, width: int, height: int,
                     fps: float, fps_source: str, fourcc: str, frame_count: Optional[int],
                     model: str, depth_pattern: str) -> None:
        """Record what was opened (``source_info``) and build the default-intrinsics props."""
        hfov = float(self.options['default_hfov_deg'])
        color = default_intrinsics(width, height, hfov)
        depth = default_intrinsics(width, height, hfov) if depth_pattern else None
        self._info = {
            'source': label,
            'kind': self._kind,
            'backend': backend_name,
            'width': width,
            'height': height,
            'fps': fps,
            'fps_source': fps_source,
            'fourcc': fourcc,
            'frame_count': frame_count,
            'depth_source': depth_pattern,
        }
        self._props = CameraProperties(
            color=color, depth=depth, depth_to_color=Extrinsics() if depth else None,
            fps=fps, intrinsics_source='default', model=model, serial=label)
        for note in self._notes:
            _LOG.warning('%s: %s', label, note)

    def properties(self) -> CameraProperties:
        """Actual size, rate and default intrinsics of the open source."""
        if self._props is None:
            raise DriverError('%s driver: properties() needs open() first' % self.name)
        return self._props

    def _stamp_kind(self) -> str:
        """Describe where frame stamps come from, for ``source_info``."""
        raise NotImplementedError

    # -- options and commands ----------------------------------------------------------------
    def check_option(self, name: str, value: Any) -> None:
        """Refuse names that are not runtime options of this driver (values: the specs')."""
        known = {spec.name for spec in self.parameters}
        if name not in known:
            raise InvalidOptionError('%s driver has no option %r (options: %s)'
                                     % (self.name, name, ', '.join(sorted(known))))
        if name not in self.runtime:
            raise InvalidOptionError(
                '%s cannot change while streaming: restart the node (runtime options: %s)'
                % (name, ', '.join(self.runtime) or 'none'))

    def commands(self) -> Dict[str, Tuple[str, CommandHandler]]:
        """``source_info``: what was opened and where playback or capture stands."""
        return {
            'source_info': ('Backend, source kind, actual width/height/fps, frame count and '
                            'position of the last delivered frame.', self._cmd_source_info),
        }

    def _cmd_source_info(self, args: Any) -> Dict[str, Any]:
        info: Dict[str, Any] = dict(self._info)
        info.update(open=self.is_open, frames_delivered=self._delivered,
                    position_frame=self._last_index, position_msec=self._last_pos_msec,
                    stamps=self._stamp_kind() if self._kind else '', notes=list(self._notes),
                    requested={k: self.options[k] for k in self.requested})
        return info
