"""Webcam, video file, image sequence and network stream driver, through OpenCV.

One driver serves the registry names ``webcam`` and ``file``; the ``source`` option decides
what is opened:

* a device index (``'0'``) or a device path (``/dev/video2``, ``/dev/v4l/by-id/...``): a
  live V4L2 camera on Linux,
* a URL (``http://...``, ``rtsp://...``): a live network stream through FFmpeg, with
  bounded open and read timeouts,
* a ``printf`` pattern (``frames/img_%04d.png``): an image sequence,
* anything else: a video file.

Live sources are read by a background grabber thread that keeps only the newest frame, so
a slow consumer gets fresh frames rather than a queue of old ones (drops show as gaps in
``FrameSet.sequence``). Files and sequences are read in the caller's thread, every frame in
order, optionally paced at the file's rate (``realtime``).

Nothing this driver knows about the lens is measured: intrinsics are an honest default
built from ``default_hfov_deg`` (``intrinsics_source='default'``); the node replaces them
with a calibration file (``camera_info_url``) when one is given.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
import glob
import logging
import os
import re
import sys
import threading
import time
from typing import Any, Deque, Dict, List, Mapping, Optional, Tuple

import cv2
import numpy as np

from .base import (CameraProperties, CommandHandler, default_intrinsics, DeviceLostError,
                   DeviceNotFoundError, Driver, DriverError, EndOfStream, Extrinsics,
                   FrameSet, InvalidOptionError)
from .parameters import WEBCAM_PARAMETERS

_LOG = logging.getLogger(__name__)

#: FFmpeg's image2 demuxer (and this driver) look for the first file of a sequence here
FIRST_INDEX_RANGE = range(0, 5)
_SEQUENCE_RE = re.compile(r'%0?\d*d')
_INDEX_RE = re.compile(r'-?\d+')
_CREDENTIALS_RE = re.compile(r'(://[^/@:]*:)[^/@]*@')

_BACKENDS = {
    'auto': cv2.CAP_ANY,
    'v4l2': cv2.CAP_V4L2,
    'ffmpeg': cv2.CAP_FFMPEG,
    'images': cv2.CAP_IMAGES,
    'gstreamer': cv2.CAP_GSTREAMER,
}

_RUNTIME_OPTIONS = ('loop', 'realtime', 'depth_scale')

#: a live frame whose kernel timestamp is older than this is stamped with its arrival time
_MAX_KERNEL_AGE_NS = 2_000_000_000
#: pacing gives up catching up (re-anchors) when a file frame is this late
_MAX_LATE_NS = 1_000_000_000


def _fourcc_text(value: float) -> str:
    """Decode a CAP_PROP_FOURCC number into its four characters ('' if none)."""
    code = int(value) if value and value > 0 else 0
    if not code:
        return ''
    text = ''.join(chr((code >> (8 * i)) & 0xFF) for i in range(4))
    return text if text.isprintable() else ''


def redact(source: str) -> str:
    """Return source with any URL password replaced by ``***``."""
    return _CREDENTIALS_RE.sub(r'\1***@', source)


def source_kind(source: str) -> str:
    """Classify a source string: ``device``, ``url``, ``sequence`` or ``file``."""
    s = source.strip()
    if _INDEX_RE.fullmatch(s) or s.startswith('/dev/'):
        return 'device'
    if '://' in s and not s.startswith('file://'):
        return 'url'
    if _SEQUENCE_RE.search(s):
        return 'sequence'
    return 'file'


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
        name = _device_name(path)
        found.append('%s (%s)' % (path, name) if name else path)
    return found


def _device_name(path: str) -> str:
    """V4L2 card name of a device path from sysfs, or ''."""
    try:
        real = os.path.realpath(path)
        with open('/sys/class/video4linux/%s/name' % os.path.basename(real)) as f:
            return f.read().strip()
    except OSError:
        return ''


@dataclass
class _FileFrame:
    """A frame read from a file or sequence, not yet delivered."""

    image: np.ndarray
    depth: Optional[np.ndarray]
    index: int          # 0-based frame index in the file
    pos_msec: float     # the backend's CAP_PROP_POS_MSEC for this frame
    play_ms: float      # continuous play time (media time + loop offset), for pacing


class _Grabber:
    """Reads a live capture in a thread, keeping only the newest frame.

    The thread owns the capture: it releases it when it ends, so a ``stop`` that times out
    (a read blocked in the backend) never releases the capture under a running read.
    """

    def __init__(self, cap: 'cv2.VideoCapture', label: str) -> None:
        self.cap = cap
        self.cond = threading.Condition()
        self.latest: Optional[Tuple[np.ndarray, int, int, float, int]] = None
        self.lost: Optional[str] = None
        self.grabbed = 0
        self.dropped = 0
        self._arrivals: Deque[int] = deque(maxlen=31)
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name='webcam_grab_' + label,
                                       daemon=True)

    def start(self) -> None:
        self.thread.start()

    def _fail(self, reason: str) -> None:
        with self.cond:
            if self.lost is None and not self._stop.is_set():
                self.lost = reason
            self.cond.notify_all()

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                ok = self.cap.grab()
                wall_ns = time.time_ns()
                mono_ns = time.monotonic_ns()
                if self._stop.is_set():
                    break
                if not ok:
                    self._fail('the capture returned no frame (unplugged, stream ended or '
                               'read timeout)')
                    break
                ok, image = self.cap.retrieve()
                if not ok or image is None:
                    self._fail('a grabbed frame could not be decoded')
                    break
                pos_msec = float(self.cap.get(cv2.CAP_PROP_POS_MSEC))
                with self.cond:
                    if self.latest is not None:
                        self.dropped += 1
                    self.latest = (image, wall_ns, mono_ns, pos_msec, self.grabbed)
                    self.grabbed += 1
                    self._arrivals.append(mono_ns)
                    self.cond.notify_all()
        except Exception as exc:  # an OpenCV error must not kill the process silently
            self._fail('%s: %s' % (type(exc).__name__, exc))
        finally:
            try:
                self.cap.release()
            finally:
                with self.cond:
                    self.cond.notify_all()

    def take(self, timeout: float) -> Optional[Tuple[np.ndarray, int, int, float, int]]:
        """Return the newest frame, None after timeout; raise DeviceLostError when lost."""
        deadline = time.monotonic() + max(0.0, timeout)
        with self.cond:
            while True:
                if self.latest is not None:
                    item, self.latest = self.latest, None
                    return item
                if self.lost is not None:
                    raise DeviceLostError(self.lost)
                if self._stop.is_set():
                    return None
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None
                self.cond.wait(remaining)

    def measured_fps(self) -> float:
        """Arrival rate over the last 30 frames (0 before two frames)."""
        with self.cond:
            if len(self._arrivals) < 2:
                return 0.0
            span = self._arrivals[-1] - self._arrivals[0]
            return (len(self._arrivals) - 1) * 1e9 / span if span > 0 else 0.0

    def stop(self, join_timeout: float) -> bool:
        """Ask the thread to end and wait; True if it ended (and released the capture)."""
        self._stop.set()
        with self.cond:
            self.cond.notify_all()
        if self.thread.is_alive() and threading.current_thread() is not self.thread:
            self.thread.join(join_timeout)
        return not self.thread.is_alive()


class WebcamDriver(Driver):
    """Webcams (V4L2), video files, image sequences and network streams through OpenCV.

    Colour only, unless ``depth_source`` names a 16-bit PNG sequence that matches a file
    or sequence source frame by frame (RGB-D dataset replay).
    """

    name = 'webcam'
    parameters = WEBCAM_PARAMETERS

    def __init__(self, options: Optional[Mapping[str, Any]] = None) -> None:
        """Keep the options; nothing is opened before :meth:`open`."""
        super().__init__(options)
        self._cond = threading.Condition()     # guards the file capture and its state
        self._cap: Optional['cv2.VideoCapture'] = None
        self._grabber: Optional[_Grabber] = None
        self._props: Optional[CameraProperties] = None
        self._info: Dict[str, Any] = {}
        self._notes: List[str] = []
        self._kind = ''
        self._seq = 0                          # next FrameSet.sequence (kept across opens)
        self._delivered = 0
        # files and sequences
        self._pending: Optional[_FileFrame] = None
        self._index = 0                        # index of the next frame read from the file
        self._ended = False
        self._rate = 0.0                       # playback rate used for pacing (0: unknown)
        self._by_index = False                 # media time from index / rate, not POS_MSEC
        self._loop_offset_ms = 0.0
        self._last_play_ms: Optional[float] = None
        self._anchor: Optional[Tuple[int, int, float]] = None  # (mono_ns, wall_ns, play_ms)
        self._last_index = -1
        self._last_pos_msec = 0.0
        self._depth_start = 0
        self._live_seq_base = 0

    # -- options -------------------------------------------------------------------------
    def _opt(self, name: str) -> Any:
        if name in self.options:
            return self.options[name]
        for spec in self.parameters:
            if spec.name == name:
                return spec.default
        raise KeyError(name)

    def _source(self) -> str:
        source = str(self._opt('source')).strip()
        if not source:
            raise InvalidOptionError('source is empty: give a device index, a /dev/video path, '
                                     'a video file, an image-sequence pattern or a URL')
        if source.startswith('file://'):
            source = source[len('file://'):]
        return source

    def _backend(self, kind: str) -> int:
        choice = str(self._opt('backend'))
        if choice not in _BACKENDS:
            raise InvalidOptionError('backend must be one of %s, got %r'
                                     % (', '.join(_BACKENDS), choice))
        if choice != 'auto':
            return _BACKENDS[choice]
        if kind == 'device' and sys.platform.startswith('linux'):
            return cv2.CAP_V4L2
        if kind == 'url':
            return cv2.CAP_FFMPEG
        return cv2.CAP_ANY

    # -- open ----------------------------------------------------------------------------
    def _open(self) -> None:
        source = self._source()
        self._kind = source_kind(source)
        self._notes = []
        self._info = {}
        hfov = float(self._opt('default_hfov_deg'))
        if not 0.0 < hfov < 180.0:
            raise InvalidOptionError('default_hfov_deg must be within (0, 180), got %r' % hfov)
        if self._kind in ('file', 'sequence'):
            self._open_file(source)
        else:
            if str(self._opt('depth_source')):
                raise InvalidOptionError(
                    'depth_source replays a depth sequence alongside a file or image '
                    'sequence; it cannot be combined with the live source %r' % redact(source))
            self._open_live(source)

    def _open_live(self, source: str) -> None:
        backend = self._backend(self._kind)
        label = redact(source)
        open_timeout = float(self._opt('open_timeout'))
        read_timeout = float(self._opt('stream_read_timeout'))
        if self._kind == 'device':
            target: Any = int(source) if _INDEX_RE.fullmatch(source) else source
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
                params = [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, int(open_timeout * 1000),
                          cv2.CAP_PROP_READ_TIMEOUT_MSEC, int(read_timeout * 1000)]
            cap = cv2.VideoCapture(source, backend, params)
        if not cap.isOpened():
            cap.release()
            if self._kind == 'device':
                raise DeviceNotFoundError(self._no_device_message(
                    label, path, backend, 'exists but could not be opened'))
            raise DeviceNotFoundError(
                'could not open stream %s with %s (server down or unreachable, wrong path, '
                'or unsupported format; open_timeout=%.1f s)'
                % (label, self._backend_label(backend), open_timeout))
        try:
            backend_name = cap.getBackendName()
            if self._kind == 'device':
                self._request_device_format(cap)
            width = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH))
            height = int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
            fps, fps_source = self._live_fps(cap, source)
            fourcc = _fourcc_text(cap.get(cv2.CAP_PROP_FOURCC))
        except Exception:
            cap.release()
            raise
        hint = (' (in use by another process? a UVC metadata node? try the other '
                '/dev/video* of this camera)' if self._kind == 'device' else '')
        grabber = _Grabber(cap, 'device' if self._kind == 'device' else 'stream')
        grabber.start()
        first = None
        try:
            first = grabber.take(open_timeout)
        except DeviceLostError as exc:
            grabber.stop(1.0)
            raise DeviceNotFoundError('%s opened (%s) but delivered no frame: %s%s'
                                      % (label, backend_name, exc, hint)) from exc
        if first is None:
            grabber.stop(1.0)
            raise DeviceNotFoundError(
                '%s opened (%s) but delivered no frame within open_timeout=%.1f s%s'
                % (label, backend_name, open_timeout, hint))
        # put the first frame back: it is delivered by the first read()
        with grabber.cond:
            if grabber.latest is None:
                grabber.latest = first
        frame_h, frame_w = first[0].shape[:2]
        if (frame_w, frame_h) != (width, height):
            self._notes.append('backend reported %dx%d but frames are %dx%d: using the frames'
                               % (width, height, frame_w, frame_h))
            width, height = frame_w, frame_h
        self._grabber = grabber
        self._live_seq_base = self._seq
        model = _device_name(path) if path else ''
        if not model:
            model = 'V4L2 camera' if self._kind == 'device' else 'network stream'
        self._finish_open(label, backend_name, width, height, fps, fps_source, fourcc,
                          frame_count=None, model=model, depth=False)

    def _request_device_format(self, cap: 'cv2.VideoCapture') -> None:
        """Ask a device for fourcc, size and rate (in that order); results are read back."""
        fourcc = str(self._opt('fourcc')).strip()
        width, height = int(self._opt('width')), int(self._opt('height'))
        fps = float(self._opt('fps'))
        if fourcc:
            if len(fourcc) != 4:
                raise InvalidOptionError('fourcc must be 4 characters (e.g. MJPG, YUYV), '
                                         'got %r' % fourcc)
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
        got_fourcc = _fourcc_text(cap.get(cv2.CAP_PROP_FOURCC))
        if fourcc and got_fourcc and got_fourcc != fourcc:
            self._notes.append('requested fourcc %s, device gives %s' % (fourcc, got_fourcc))

    def _live_fps(self, cap: 'cv2.VideoCapture', source: str) -> Tuple[float, str]:
        reported = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
        requested = float(self._opt('fps'))
        if self._kind == 'device':
            if reported > 0:
                if requested > 0 and abs(reported - requested) > 0.01:
                    self._notes.append('requested %g fps, device gives %g'
                                       % (requested, reported))
                return reported, 'device'
            return 0.0, 'unknown'
        # FFmpeg's multipart-JPEG demuxer reports a made-up 25 fps: the stream has no rate
        fourcc = _fourcc_text(cap.get(cv2.CAP_PROP_FOURCC))
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
                 'backend %s' % self._backend_label(backend),
                 'video devices on this machine: %s' % (', '.join(seen) if seen else 'none')]
        if path and os.path.exists(path) and not os.access(path, os.R_OK | os.W_OK):
            parts.append('no read/write permission on %s (add the user to the video group)'
                         % path)
        elif path and os.path.exists(path):
            parts.append('is another process using it, or is it a metadata node?')
        return '; '.join(parts)

    @staticmethod
    def _backend_label(backend: int) -> str:
        for name, value in _BACKENDS.items():
            if value == backend:
                return 'auto (any)' if name == 'auto' else name.upper()
        return str(backend)

    def _open_file(self, source: str) -> None:
        backend = self._backend(self._kind)
        if self._kind == 'file':
            if not os.path.isfile(source):
                folder = os.path.dirname(os.path.abspath(source))
                raise DeviceNotFoundError(
                    'video file %s does not exist (folder %s %s)'
                    % (source, folder, 'exists' if os.path.isdir(folder) else 'does not exist'))
        else:
            tried = self._first_of_sequence(source)
            if tried[0] is None:
                raise DeviceNotFoundError(
                    'image sequence %s: no first file (tried %s)'
                    % (source, ', '.join(tried[1])))
        cap = cv2.VideoCapture(source, backend)
        if not cap.isOpened():
            cap.release()
            raise DeviceNotFoundError(
                '%s %s exists but OpenCV (%s) cannot open it (unsupported container or codec?)'
                % ('video file' if self._kind == 'file' else 'image sequence', source,
                   self._backend_label(backend)))
        try:
            self._setup_file(cap, source)
        except BaseException:
            cap.release()
            self._cap = None
            raise

    def _first_of_sequence(self, pattern: str) -> Tuple[Optional[int], List[str]]:
        tried = []
        for i in FIRST_INDEX_RANGE:
            try:
                path = pattern % i
            except (TypeError, ValueError) as exc:
                raise InvalidOptionError('bad image-sequence pattern %r: %s'
                                         % (pattern, exc)) from exc
            if os.path.isfile(path):
                return i, tried
            tried.append(path)
        return None, tried

    def _setup_file(self, cap: 'cv2.VideoCapture', source: str) -> None:
        backend_name = cap.getBackendName()
        width = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH))
        height = int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
        count = cap.get(cv2.CAP_PROP_FRAME_COUNT)
        frame_count = int(count) if count and 0 < count < 1e12 else None
        fourcc = _fourcc_text(cap.get(cv2.CAP_PROP_FOURCC))
        requested = float(self._opt('fps'))
        file_fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
        if requested > 0:
            fps, fps_source, by_index = requested, 'requested', True
        elif self._kind == 'sequence':
            # FFmpeg's image2 demuxer reports a made-up 25 fps: a sequence has no rate
            fps, fps_source, by_index = 0.0, 'unknown', True
        elif 0 < file_fps <= 1000:
            fps, fps_source, by_index = file_fps, 'file', False
        else:
            fps, fps_source, by_index = 0.0, 'unknown', False
        if int(self._opt('width')) or int(self._opt('height')):
            self._notes.append('width/height requests do not apply to files: frames keep '
                               'their size')
        if str(self._opt('fourcc')).strip():
            self._notes.append('fourcc requests do not apply to files')
        if fps <= 0 and by_index:
            self._notes.append('this source has no frame rate: set fps to pace it (realtime) '
                               'and to give it media stamps')
        depth_pattern = str(self._opt('depth_source')).strip()
        if depth_pattern:
            if not _SEQUENCE_RE.search(depth_pattern):
                raise InvalidOptionError('depth_source must be an image-sequence pattern like '
                                         'depth_%%04d.png, got %r' % depth_pattern)
            start, tried = self._first_of_sequence(depth_pattern)
            if start is None:
                raise DeviceNotFoundError('depth sequence %s: no first file (tried %s)'
                                          % (depth_pattern, ', '.join(tried)))
            self._depth_start = start
        with self._cond:
            self._cap = cap
            self._rate = fps
            self._by_index = by_index
            self._index = 0
            self._ended = False
            self._pending = None
            self._anchor = None
            self._loop_offset_ms = 0.0
            self._last_play_ms = None
            self._last_index = -1
            self._last_pos_msec = 0.0
            try:
                first = self._next_file_frame()
            except EndOfStream as exc:
                raise DeviceNotFoundError('%s %s opened (%s) but has no readable frame'
                                          % (self._kind.replace('sequence', 'image sequence'),
                                             source, backend_name)) from exc
            self._pending = first
        frame_h, frame_w = first.image.shape[:2]
        if (frame_w, frame_h) != (width, height):
            self._notes.append('backend reported %dx%d but frames are %dx%d: using the frames'
                               % (width, height, frame_w, frame_h))
            width, height = frame_w, frame_h
        if first.depth is not None and first.depth.shape[:2] != (height, width):
            raise InvalidOptionError(
                'depth images are %dx%d but colour frames are %dx%d: depth_source must be '
                'registered to the colour images (same size)'
                % (first.depth.shape[1], first.depth.shape[0], width, height))
        model = ('video file' if self._kind == 'file' else 'image sequence')
        if fourcc and self._kind == 'file':
            model += ' (%s)' % fourcc
        self._finish_open(source, backend_name, width, height, fps, fps_source, fourcc,
                          frame_count=frame_count, model=model,
                          depth=first.depth is not None)

    def _finish_open(self, label: str, backend_name: str, width: int, height: int,
                     fps: float, fps_source: str, fourcc: str, frame_count: Optional[int],
                     model: str, depth: bool) -> None:
        color = default_intrinsics(width, height, float(self._opt('default_hfov_deg')))
        depth_intr = default_intrinsics(width, height, float(self._opt('default_hfov_deg'))) \
            if depth else None
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
            'depth_source': str(self._opt('depth_source')) if depth else '',
        }
        self._props = CameraProperties(
            color=color, depth=depth_intr,
            depth_to_color=Extrinsics() if depth else None,
            fps=fps, intrinsics_source='default', model=model, serial=label,
            extra=dict(self._info, stamps=self._stamp_kind(), notes=list(self._notes)))
        for note in self._notes:
            _LOG.warning('%s: %s', label, note)

    def _stamp_kind(self) -> str:
        if self._kind in ('file', 'sequence'):
            return str(self._opt('file_stamp'))
        if self._kind == 'device':
            return 'kernel capture time (V4L2 buffer timestamp) when available, else arrival'
        return 'arrival'

    # -- files ---------------------------------------------------------------------------
    def _load_depth(self, index: int) -> Optional[np.ndarray]:
        """Depth image matching colour frame index, in mm; None when the sequence ended."""
        path = str(self._opt('depth_source')).strip() % (self._depth_start + index)
        if not os.path.isfile(path):
            return None
        depth = cv2.imread(path, cv2.IMREAD_UNCHANGED)
        if depth is None:
            raise DriverError('cannot decode depth image %s' % path)
        if depth.dtype != np.uint16 or depth.ndim != 2:
            raise InvalidOptionError('depth image %s must be single-channel 16-bit, got %s %s'
                                     % (path, depth.dtype, 'x'.join(map(str, depth.shape))))
        scale = float(self._opt('depth_scale'))
        if scale != 1.0:
            depth = np.clip(np.rint(depth * scale), 0, 65535).astype(np.uint16)
        return depth

    def _read_raw(self) -> Optional[Tuple[np.ndarray, Optional[np.ndarray], float]]:
        assert self._cap is not None
        ok, image = self._cap.read()
        if not ok or image is None:
            return None
        depth = None
        if str(self._opt('depth_source')).strip():
            depth = self._load_depth(self._index)
            if depth is None:
                return None
        return image, depth, float(self._cap.get(cv2.CAP_PROP_POS_MSEC))

    def _rewind(self) -> bool:
        assert self._cap is not None
        if not (self._cap.set(cv2.CAP_PROP_POS_FRAMES, 0)
                and int(self._cap.get(cv2.CAP_PROP_POS_FRAMES)) == 0):
            # some containers cannot seek: reopen the file instead
            source = self._source()
            self._cap.release()
            self._cap = cv2.VideoCapture(source, self._backend(self._kind))
            if not self._cap.isOpened():
                return False
        self._index = 0
        return True

    def _next_file_frame(self) -> _FileFrame:
        """Read the next frame (rewinding when looping); raise EndOfStream at the end."""
        raw = self._read_raw()
        if raw is None:
            end_index = self._index
            if self._opt('loop') and end_index > 0 and self._rewind():
                period = 1000.0 / self._rate if self._rate > 0 else 0.0
                if self._last_play_ms is not None:
                    self._loop_offset_ms = self._last_play_ms + period
                raw = self._read_raw()
            if raw is None:
                self._ended = True
                raise EndOfStream('%s ended after frame %d%s'
                                  % (self._info.get('source') or self._source(),
                                     max(0, end_index - 1),
                                     '' if self._opt('loop') else ' (loop is off)'))
        image, depth, pos_msec = raw
        index = self._index
        self._index += 1
        media_ms = index * 1000.0 / self._rate if self._by_index and self._rate > 0 \
            else pos_msec
        play_ms = self._loop_offset_ms + media_ms
        self._last_play_ms = play_ms
        return _FileFrame(image, depth, index, pos_msec, play_ms)

    def _pace_wait_ns(self, frame: _FileFrame, now_ns: int) -> int:
        """Nanoseconds until frame is due (<= 0: now); anchors the clock on first use."""
        if self._anchor is None:
            self._anchor = (now_ns, time.time_ns(), frame.play_ms)
            return 0
        if not self._opt('realtime') or self._rate <= 0:
            return 0
        anchor_mono, _, anchor_play = self._anchor
        due = anchor_mono + int((frame.play_ms - anchor_play) * 1e6)
        if now_ns - due > _MAX_LATE_NS or frame.play_ms < anchor_play:
            # far behind (slow consumer, paused) or went backwards: restart the clock here
            self._anchor = (now_ns, time.time_ns(), frame.play_ms)
            return 0
        return due - now_ns

    def _read_file(self, timeout: float) -> Optional[FrameSet]:
        deadline = time.monotonic() + max(0.0, timeout)
        with self._cond:
            while True:
                if self._cap is None:
                    return None            # closed while waiting
                if self._pending is None:
                    if self._ended:
                        raise EndOfStream('%s already ended' % self._info.get('source'))
                    self._pending = self._next_file_frame()
                frame = self._pending
                wait_ns = self._pace_wait_ns(frame, time.monotonic_ns())
                if wait_ns <= 0:
                    self._pending = None
                    return self._file_frameset(frame)
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None
                self._cond.wait(min(wait_ns / 1e9, remaining))

    def _file_frameset(self, frame: _FileFrame) -> FrameSet:
        media_ok = self._rate > 0 or not self._by_index
        if str(self._opt('file_stamp')) == 'media' and media_ok and self._anchor is not None:
            _, anchor_wall, anchor_play = self._anchor
            stamp = anchor_wall + int(round((frame.play_ms - anchor_play) * 1e6))
            domain = 'media'
        else:
            stamp = time.time_ns()
            domain = 'system'
        color = to_rgb(frame.image)
        h, w = color.shape[:2]
        if self._props is not None and (w, h) != (self._props.color.width,
                                                  self._props.color.height):
            self._resize_props(w, h)
        self._last_index = frame.index
        self._last_pos_msec = frame.pos_msec
        self._delivered += 1
        seq = self._seq
        self._seq += 1
        return FrameSet(color=color, depth=frame.depth, aligned_depth=frame.depth,
                        stamp_ns=stamp, sequence=seq, timestamp_domain=domain)

    def _resize_props(self, width: int, height: int) -> None:
        """Describe a new frame size (intrinsics too) after a file changed size mid-stream."""
        assert self._props is not None
        _LOG.warning('%s: frame size changed to %dx%d', self._info.get('source'), width, height)
        hfov = float(self._opt('default_hfov_deg'))
        self._props.color = default_intrinsics(width, height, hfov)
        if self._props.depth is not None:
            self._props.depth = default_intrinsics(width, height, hfov)
        self._info['width'], self._info['height'] = width, height
        self._props.extra.update(width=width, height=height)

    # -- live ----------------------------------------------------------------------------
    def _read_live(self, timeout: float) -> Optional[FrameSet]:
        grabber = self._grabber
        if grabber is None:
            return None
        item = grabber.take(timeout)
        if item is None:
            return None
        image, wall_ns, mono_ns, pos_msec, grab_index = item
        color = to_rgb(image)
        h, w = color.shape[:2]
        assert self._props is not None
        if (w, h) != (self._props.color.width, self._props.color.height):
            raise DeviceLostError('frame size changed from %dx%d to %dx%d; reopening'
                                  % (self._props.color.width, self._props.color.height, w, h))
        stamp, domain = wall_ns, 'system'
        if self._kind == 'device' and pos_msec > 0:
            # V4L2 buffer timestamps are CLOCK_MONOTONIC capture times on current kernels
            age = mono_ns - int(pos_msec * 1e6)
            if 0 <= age < _MAX_KERNEL_AGE_NS:
                stamp, domain = wall_ns - age, 'v4l2'
        seq = self._live_seq_base + grab_index
        self._seq = seq + 1
        self._delivered += 1
        self._last_index = grab_index
        self._last_pos_msec = pos_msec
        return FrameSet(color=color, stamp_ns=stamp, sequence=seq, timestamp_domain=domain)

    # -- Driver hooks ----------------------------------------------------------------------
    def _read(self, timeout: float) -> Optional[FrameSet]:
        if self._kind in ('file', 'sequence'):
            return self._read_file(timeout)
        return self._read_live(timeout)

    def _close(self) -> None:
        grabber, self._grabber = self._grabber, None
        if grabber is not None:
            join = min(float(self._opt('stream_read_timeout')), 10.0) + 1.0
            if not grabber.stop(join):
                _LOG.warning('%s: the capture is still blocked in a read; it is released '
                             'when that read returns', self._info.get('source'))
        with self._cond:
            cap, self._cap = self._cap, None
            self._pending = None
            self._cond.notify_all()
        if cap is not None:
            cap.release()

    def properties(self) -> CameraProperties:
        """Actual size, rate and default intrinsics of the open source."""
        if self._props is None:
            raise DriverError('webcam driver: properties() needs open() first')
        return self._props

    # -- runtime options and commands -------------------------------------------------------
    def set_option(self, name: str, value: Any) -> None:
        """Change ``loop``, ``realtime`` or ``depth_scale`` while streaming."""
        known = {spec.name for spec in self.parameters}
        if name not in known:
            raise InvalidOptionError('webcam driver has no option %r (options: %s)'
                                     % (name, ', '.join(sorted(known))))
        if name not in _RUNTIME_OPTIONS:
            raise InvalidOptionError('%s cannot change while streaming: restart the node '
                                     '(runtime options: %s)' % (name, ', '.join(_RUNTIME_OPTIONS)))
        if name in ('loop', 'realtime') and not isinstance(value, bool):
            raise InvalidOptionError('%s must be true or false, got %r' % (name, value))
        if name == 'depth_scale':
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
                raise InvalidOptionError('depth_scale must be a number > 0, got %r' % (value,))
            value = float(value)
        with self._cond:
            self.options[name] = value
            if name == 'loop' and value and self._ended and self._cap is not None:
                self._ended = not self._rewind()
            self._anchor = None if name == 'realtime' else self._anchor
            self._cond.notify_all()

    def runtime_options(self) -> Dict[str, Any]:
        """Return the current values of the options :meth:`set_option` takes."""
        return {name: self._opt(name) for name in _RUNTIME_OPTIONS}

    def commands(self) -> Dict[str, Tuple[str, CommandHandler]]:
        """``source_info`` always; ``seek`` for files and image sequences."""
        cmds: Dict[str, Tuple[str, CommandHandler]] = {
            'source_info': ('Backend, source kind, actual width/height/fps, frame count and '
                            'position of the last delivered frame.', self._cmd_source_info),
        }
        try:
            kind = source_kind(self._source())
        except InvalidOptionError:
            kind = ''
        if kind in ('file', 'sequence'):
            cmds['seek'] = ('Jump to {"frame": N} (0-based) or {"msec": T} in the file; the '
                            'next frame delivered is that one.', self._cmd_seek)
        return cmds

    def _cmd_source_info(self, args: Mapping[str, Any]) -> Dict[str, Any]:
        info: Dict[str, Any] = dict(self._info)
        info.update(open=self.is_open, frames_delivered=self._delivered,
                    position_frame=self._last_index, position_msec=self._last_pos_msec,
                    stamps=self._stamp_kind() if self._kind else '', notes=list(self._notes),
                    requested={k: self._opt(k) for k in ('width', 'height', 'fps', 'fourcc')})
        if self._kind in ('file', 'sequence'):
            info.update(loop=bool(self._opt('loop')), realtime=bool(self._opt('realtime')),
                        ended=self._ended)
        grabber = self._grabber
        if grabber is not None:
            info.update(measured_fps=round(grabber.measured_fps(), 3),
                        frames_grabbed=grabber.grabbed, frames_dropped=grabber.dropped)
        return info

    def _cmd_seek(self, args: Mapping[str, Any]) -> Dict[str, Any]:
        with self._cond:
            if self._cap is None:
                raise InvalidOptionError('seek needs an open file or image sequence')
            if 'frame' in args:
                frame = args['frame']
                if isinstance(frame, bool) or not isinstance(frame, (int, float)) \
                        or frame != int(frame) or frame < 0:
                    raise InvalidOptionError('frame must be an integer >= 0, got %r'
                                             % (frame,))
                frame = int(frame)
                count = self._info.get('frame_count')
                if count is not None and frame >= count:
                    raise InvalidOptionError('frame %d is past the end (%d frames)'
                                             % (frame, count))
                ok = self._cap.set(cv2.CAP_PROP_POS_FRAMES, frame)
            elif 'msec' in args:
                msec = args['msec']
                if isinstance(msec, bool) or not isinstance(msec, (int, float)) or msec < 0:
                    raise InvalidOptionError('msec must be a number >= 0, got %r' % (msec,))
                ok = self._cap.set(cv2.CAP_PROP_POS_MSEC, float(msec))
            else:
                raise InvalidOptionError('seek needs {"frame": N} or {"msec": T}')
            if not ok:
                raise InvalidOptionError('the %s backend cannot seek in this source'
                                         % self._info.get('backend'))
            index = int(round(self._cap.get(cv2.CAP_PROP_POS_FRAMES)))
            self._index = index
            self._pending = None
            self._ended = False
            self._anchor = None
            self._loop_offset_ms = 0.0
            self._last_play_ms = None
            self._cond.notify_all()
            return {'frame': index, 'msec': float(self._cap.get(cv2.CAP_PROP_POS_MSEC))}
