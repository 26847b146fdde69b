"""The webcam driver: V4L2 cameras and live network streams through OpenCV.

``source`` is a device index (``'0'``) or device path (``/dev/video2``,
``/dev/v4l/by-id/...``): a live V4L2 camera on Linux; or a URL (``http://...``,
``rtsp://...``): a live network stream through FFmpeg, with bounded open and read
timeouts. A :class:`~.grabber.Grabber` thread reads the capture and keeps only the newest
frame.
"""

from __future__ import annotations

import logging
import os
import sys
from typing import Any, Dict, Optional, Tuple

import cv2
import numpy as np

from .grabber import Grab, Grabber, jpeg_is_whole
from .params import PARAMETERS
from ...core.errors import DeviceLostError, DeviceNotFoundError
from ...core.jpeg import complete_jpeg, jpeg_size
from ...core.redact import redact
from ...core.types import FrameSet
from ..opencv.common import (backend_label, device_name, fourcc_text, OpenCvDriver, to_rgb,
                             video_devices)
from ..opencv.sources import check_live_source, INDEX_RE, source_kind

_LOG = logging.getLogger(__name__)

#: a live frame whose kernel timestamp is older than this is stamped with its arrival time
MAX_KERNEL_AGE_NS = 2_000_000_000


class WebcamDriver(OpenCvDriver):
    """Webcams (V4L2) and network streams through OpenCV; colour only."""

    name = 'webcam'
    parameters = PARAMETERS
    source_check = staticmethod(check_live_source)
    requested = ('width', 'height', 'fps', 'fourcc')

    def __init__(self, options: Any = None) -> None:
        """Take the options; nothing is opened before :meth:`open`."""
        super().__init__(options)
        self._grabber: Optional[Grabber] = None
        self._jpeg = False          # frames arrive as the source's JPEG bytes
        self._checked = False       # each JPEG of the source is checked whole
        self._truncated = 0         # passed-through JPEGs skipped (the grabber counts its own)
        self._undecodable = 0

    # -- open ----------------------------------------------------------------------------
    def _open(self) -> None:
        source = self._source()
        self._kind = source_kind(source)
        self._notes = []
        self._info = {}
        backend = self._backend(self._kind)
        label = redact(source)
        cap, path = self._capture(source, label, backend)
        try:
            backend_name = cap.getBackendName()
            if self._kind == 'device':
                self._request_device_format(cap)
            width = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH))
            height = int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
            fps, fps_source = self._live_fps(cap, source)
            fourcc = fourcc_text(cap.get(cv2.CAP_PROP_FOURCC))
            self._jpeg = self._ask_for_jpeg(cap, fourcc)
        except Exception:
            cap.release()
            raise
        # an MJPEG stream through FFmpeg, not passed through: the grabber takes the JPEG
        # bytes, checks each is whole and decodes it (passed through, _read checks them)
        raw = (not self._jpeg and self._kind == 'url' and fourcc == 'MJPG'
               and backend_name == 'FFMPEG' and bool(cap.set(cv2.CAP_PROP_FORMAT, -1)))
        self._checked = raw or self._jpeg
        grabber = Grabber(cap, 'device' if self._kind == 'device' else 'stream',
                          raw_jpeg=raw, on_bad=self._bad_frame)
        grabber.start()
        first = self._first_frame(grabber, label, backend_name)
        grabber.put_back(first)     # the first frame is delivered by the first read()
        frame_w, frame_h = self._frame_size(first)
        if (frame_w, frame_h) != (width, height):
            self._notes.append('backend reported %dx%d but frames are %dx%d: using the frames'
                               % (width, height, frame_w, frame_h))
            width, height = frame_w, frame_h
        self._grabber = grabber
        model = device_name(path) if path else ''
        if not model:
            model = 'V4L2 camera' if self._kind == 'device' else 'network stream'
        self._finish_open(label, backend_name, width, height, fps, fps_source, fourcc,
                          frame_count=None, model=model, depth_pattern='')

    def _capture(self, source: str, label: str,
                 backend: int) -> Tuple['cv2.VideoCapture', str]:
        """Open the capture; return it and the device path ('' for URLs)."""
        if self._kind == 'device':
            target: Any = int(source) if INDEX_RE.fullmatch(source) else source
            path = source if not isinstance(target, int) else (
                '/dev/video%d' % target if target >= 0 else '')   # -1: OpenCV picks one
            if sys.platform.startswith('linux') and path and not os.path.exists(path):
                raise DeviceNotFoundError(self._no_device_message(label, path, backend,
                                                                  'does not exist'))
            cap = cv2.VideoCapture(target, backend)
        else:
            path = ''
            params = []
            if backend in (cv2.CAP_FFMPEG, cv2.CAP_ANY):
                params = [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC,
                          int(float(self.options['open_timeout']) * 1000),
                          cv2.CAP_PROP_READ_TIMEOUT_MSEC,
                          int(float(self.options['stream_read_timeout']) * 1000)]
            cap = cv2.VideoCapture(source, backend, params)
        if not cap.isOpened():
            cap.release()
            if self._kind == 'device':
                raise DeviceNotFoundError(self._no_device_message(
                    label, path, backend, 'exists but could not be opened'))
            raise DeviceNotFoundError(
                'could not open stream %s with %s (server down or unreachable, wrong path, '
                'or unsupported format; open_timeout=%.1f s)'
                % (label, backend_label(backend), float(self.options['open_timeout'])))
        return cap, path

    def _ask_for_jpeg(self, cap: 'cv2.VideoCapture', fourcc: str) -> bool:
        """With jpeg_passthrough and an MJPG source, ask OpenCV for the undecoded frames.

        FFmpeg (streams) returns each packet, a whole JPEG, with ``CAP_PROP_FORMAT = -1``;
        V4L2 (devices) returns the driver's buffer with ``CAP_PROP_CONVERT_RGB = 0``.
        """
        if not self.options['jpeg_passthrough'] or fourcc != 'MJPG':
            return False
        if self._kind == 'device':
            return bool(cap.set(cv2.CAP_PROP_CONVERT_RGB, 0))
        return bool(cap.set(cv2.CAP_PROP_FORMAT, -1))

    def _frame_size(self, grab: Grab) -> Tuple[int, int]:
        """Return (width, height) of a grabbed frame (from its header when undecoded)."""
        if self._jpeg:
            image = grab.image
            if image.dtype == np.uint8 and image.ndim <= 2 and image.shape[0] == 1:
                try:
                    return jpeg_size(image.tobytes())
                except ValueError:
                    pass
            # the backend decoded after all: carry on decoding
            self._jpeg = False
            self._notes.append('the source is MJPG but OpenCV delivers decoded frames: '
                               'JPEG passthrough is off')
        return grab.image.shape[1], grab.image.shape[0]

    def _first_frame(self, grabber: Grabber, label: str, backend_name: str) -> Grab:
        """Wait for the first frame; stop the grabber and raise when none comes."""
        timeout = float(self.options['open_timeout'])
        hint = (' (in use by another process? a UVC metadata node? try the other '
                '/dev/video* of this camera)' if self._kind == 'device' else '')
        try:
            first = grabber.take(timeout)
        except DeviceLostError as exc:
            grabber.stop(1.0)
            raise DeviceNotFoundError('%s opened (%s) but delivered no frame: %s%s'
                                      % (label, backend_name, exc, hint)) from exc
        if first is None:
            grabber.stop(1.0)
            raise DeviceNotFoundError(
                '%s opened (%s) but delivered no frame within open_timeout=%.1f s%s'
                % (label, backend_name, timeout, hint))
        return first

    def _request_device_format(self, cap: 'cv2.VideoCapture') -> None:
        """Ask a device for fourcc, size and rate (in that order); results are read back."""
        fourcc = str(self.options['fourcc']).strip()
        width, height = int(self.options['width']), int(self.options['height'])
        fps = float(self.options['fps'])
        if fourcc:
            cap.set(cv2.CAP_PROP_FOURCC, cv2.VideoWriter_fourcc(*fourcc))
        if (width > 0) != (height > 0):
            self._notes.append('V4L2 changes the size only when both width and height are '
                               'given; got %dx%d' % (width, height))
        if width > 0:
            cap.set(cv2.CAP_PROP_FRAME_WIDTH, width)
        if height > 0:
            cap.set(cv2.CAP_PROP_FRAME_HEIGHT, height)
        if fps > 0:
            cap.set(cv2.CAP_PROP_FPS, fps)
        got_w = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH))
        got_h = int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
        if (width and width != got_w) or (height and height != got_h):
            self._notes.append('requested %sx%s, device gives %dx%d'
                               % (width or '-', height or '-', got_w, got_h))
        got_fourcc = fourcc_text(cap.get(cv2.CAP_PROP_FOURCC))
        if fourcc and got_fourcc and got_fourcc != fourcc:
            self._notes.append('requested fourcc %s, device gives %s' % (fourcc, got_fourcc))

    def _live_fps(self, cap: 'cv2.VideoCapture', source: str) -> Tuple[float, str]:
        reported = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
        requested = float(self.options['fps'])
        if self._kind == 'device':
            if reported > 0:
                if requested > 0 and abs(reported - requested) > 0.01:
                    self._notes.append('requested %g fps, device gives %g'
                                       % (requested, reported))
                return reported, 'device'
            return 0.0, 'unknown'
        # FFmpeg's multipart-JPEG demuxer reports a made-up 25 fps: the stream has no rate
        fourcc = fourcc_text(cap.get(cv2.CAP_PROP_FOURCC))
        no_rate = source.lower().startswith(('http://', 'https://')) and fourcc == 'MJPG'
        if requested > 0:
            return requested, 'declared'
        if no_rate or reported <= 0 or reported > 1000:
            return 0.0, 'unknown'
        return reported, 'stream'

    def _no_device_message(self, label: str, path: str, backend: int, what: str) -> str:
        seen = video_devices()
        parts = ['no camera at %s: %s %s' % (label, path, what) if path != label
                 else 'no camera at %s: it %s' % (label, what),
                 'backend %s' % backend_label(backend),
                 'video devices on this machine: %s' % (', '.join(seen) if seen else 'none')]
        if path and os.path.exists(path) and not os.access(path, os.R_OK | os.W_OK):
            parts.append('no read/write permission on %s (add the user to the video group)'
                         % path)
        elif path and os.path.exists(path):
            parts.append('is another process using it, or is it a metadata node?')
        return '; '.join(parts)

    def _bad_frame(self, kind: str, count: int) -> None:
        """Warn about skipped frames: the first, the 10th, the 100th, then every 1000th."""
        if count in (1, 10, 100) or count % 1000 == 0:
            _LOG.warning('%s: skipped %s JPEG frame #%d (not published; cut off by the network '
                         'or the camera?)', self._info.get('source'), kind, count)

    def _stamp_kind(self) -> str:
        if self._kind == 'device':
            return 'kernel capture time (V4L2 buffer timestamp) when available, else arrival'
        return 'arrival'

    # -- read / close --------------------------------------------------------------------
    def _read(self, timeout: float) -> Optional[FrameSet]:
        grabber = self._grabber
        if grabber is None:
            return None
        item = grabber.take(timeout)
        if item is None:
            return None
        color, jpeg = None, None
        if self._jpeg:
            data = item.image.tobytes()
            if not jpeg_is_whole(data):     # cut off by the network or the camera
                self._truncated += 1
                self._bad_frame('truncated', self._truncated)
                return None
            try:
                jpeg = complete_jpeg(data)
                w, h = jpeg_size(jpeg)
            except ValueError:              # no frame header: not a JPEG we can pass on
                self._undecodable += 1
                self._bad_frame('undecodable', self._undecodable)
                return None
        else:
            color = to_rgb(item.image)
            h, w = color.shape[:2]
        assert self._props is not None
        if (w, h) != (self._props.color.width, self._props.color.height):
            raise DeviceLostError('frame size changed from %dx%d to %dx%d; reopening'
                                  % (self._props.color.width, self._props.color.height, w, h))
        stamp = item.wall_ns
        if self._kind == 'device' and item.pos_msec > 0:
            # V4L2 buffer timestamps are CLOCK_MONOTONIC capture times on current kernels
            age = item.mono_ns - int(item.pos_msec * 1e6)
            if 0 <= age < MAX_KERNEL_AGE_NS:
                stamp = item.wall_ns - age
        self._delivered += 1
        self._last_index = item.index
        self._last_pos_msec = item.pos_msec
        return FrameSet(color=color, stamp_ns=stamp, color_jpeg=jpeg)

    def _close(self) -> None:
        grabber, self._grabber = self._grabber, None
        if grabber is not None:
            join = min(float(self.options['stream_read_timeout']), 10.0) + 1.0
            if not grabber.stop(join):
                _LOG.warning('%s: the capture is still blocked in a read; it is released '
                             'when that read returns', self._info.get('source'))

    # -- commands ------------------------------------------------------------------------
    def _cmd_source_info(self, args: Any) -> Dict[str, Any]:
        info = super()._cmd_source_info(args)
        grabber = self._grabber
        if grabber is not None:
            info.update(measured_fps=round(grabber.measured_fps(), 3),
                        frames_grabbed=grabber.grabbed, frames_dropped=grabber.dropped)
        truncated = self._truncated + (grabber.truncated if grabber is not None else 0)
        undecodable = self._undecodable + (grabber.corrupt if grabber is not None else 0)
        info.update(jpeg_passthrough=self._jpeg, jpeg_checked=self._checked,
                    frames_truncated=truncated, frames_undecodable=undecodable)
        return info
