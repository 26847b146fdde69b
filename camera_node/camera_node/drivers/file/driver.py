"""The file driver: a video file or image sequence played as a camera, through OpenCV.

Frames are read in the caller's thread, every frame in order, optionally paced at the
file's rate (``realtime``). At the end the stream ends (:class:`EndOfStream`) unless
``loop`` is on; an ended file plays again from the start when ``loop`` is switched on,
or from where a ``seek`` command puts it: the next :meth:`read` delivers frames again.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from typing import Any, Dict, Mapping, Optional, Tuple

import cv2

from .params import PARAMETERS
from .playback import DepthSequence, FileFrame, first_of_sequence, Playback
from ...core.errors import DeviceNotFoundError, EndOfStream, InvalidOptionError
from ...core.types import default_intrinsics, FrameSet
from ..base import CommandHandler
from ..opencv.common import backend_label, fourcc_text, OpenCvDriver, to_rgb
from ..opencv.sources import check_file_source, source_kind

_LOG = logging.getLogger(__name__)


class FileDriver(OpenCvDriver):
    """Video files and image sequences through OpenCV; depth from a 16-bit PNG sequence.

    Colour only, unless ``depth_source`` names a 16-bit PNG sequence that matches the
    source frame by frame (RGB-D dataset replay).
    """

    name = 'file'
    parameters = PARAMETERS
    source_check = staticmethod(check_file_source)
    runtime = ('loop', 'realtime', 'depth_scale')
    requested = ('fps',)

    def __init__(self, options: Any = None) -> None:
        """Take the options; nothing is opened before :meth:`open`."""
        super().__init__(options)
        self._cond = threading.Condition()     # guards the playback
        self._pb: Optional[Playback] = None

    # -- open ----------------------------------------------------------------------------
    def _open(self) -> None:
        source = self._source()
        self._kind = source_kind(source)
        self._notes = []
        self._info = {}
        backend = self._backend(self._kind)
        if self._kind == 'file':
            if not os.path.isfile(source):
                folder = os.path.dirname(os.path.abspath(source))
                raise DeviceNotFoundError(
                    'video file %s does not exist (folder %s %s)'
                    % (source, folder, 'exists' if os.path.isdir(folder) else 'does not exist'))
        else:
            start, tried = first_of_sequence(source)
            if start is None:
                raise DeviceNotFoundError('image sequence %s: no first file (tried %s)'
                                          % (source, ', '.join(tried)))
        cap = cv2.VideoCapture(source, backend)
        if not cap.isOpened():
            cap.release()
            raise DeviceNotFoundError(
                '%s %s exists but OpenCV (%s) cannot open it (unsupported container or codec?)'
                % (self._kind_word(), source, backend_label(backend)))
        try:
            self._setup(cap, source, backend)
        except BaseException:
            cap.release()
            raise

    def _kind_word(self) -> str:
        return 'video file' if self._kind == 'file' else 'image sequence'

    def _rate(self, cap: 'cv2.VideoCapture') -> Tuple[float, str, bool]:
        """Return (playback rate, where it comes from, whether media time is index/rate)."""
        requested = float(self.options['fps'])
        file_fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
        if requested > 0:
            return requested, 'requested', True
        if self._kind == 'sequence':
            # FFmpeg's image2 demuxer reports a made-up 25 fps: a sequence has no rate
            return 0.0, 'unknown', True
        if 0 < file_fps <= 1000:
            return file_fps, 'file', False
        return 0.0, 'unknown', False

    def _setup(self, cap: 'cv2.VideoCapture', source: str, backend: int) -> None:
        backend_name = cap.getBackendName()
        width = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH))
        height = int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
        count = cap.get(cv2.CAP_PROP_FRAME_COUNT)
        frame_count = int(count) if count and 0 < count < 1e12 else None
        fourcc = fourcc_text(cap.get(cv2.CAP_PROP_FOURCC))
        fps, fps_source, by_index = self._rate(cap)
        if fps <= 0 and by_index:
            self._notes.append('this source has no frame rate: set fps to pace it (realtime) '
                               'and to give it media stamps')
        depth = None
        depth_pattern = str(self.options['depth_source']).strip()
        if depth_pattern:
            start, tried = first_of_sequence(depth_pattern)
            if start is None:
                raise DeviceNotFoundError('depth sequence %s: no first file (tried %s)'
                                          % (depth_pattern, ', '.join(tried)))
            depth = DepthSequence(depth_pattern, start, self.options)
        pb = Playback(cap, source, backend, fps, by_index, depth)
        try:
            first = pb.next_frame(loop=False)
        except EndOfStream as exc:
            raise DeviceNotFoundError('%s %s opened (%s) but has no readable frame'
                                      % (self._kind_word(), source, backend_name)) from exc
        pb.pending = first
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
        model = self._kind_word()
        if fourcc and self._kind == 'file':
            model += ' (%s)' % fourcc
        with self._cond:
            self._pb = pb
        self._finish_open(source, backend_name, width, height, fps, fps_source, fourcc,
                          frame_count=frame_count, model=model,
                          depth_pattern=depth_pattern if first.depth is not None else '')

    def _stamp_kind(self) -> str:
        return str(self.options['file_stamp'])

    # -- read / close --------------------------------------------------------------------
    def _read(self, timeout: float) -> Optional[FrameSet]:
        deadline = time.monotonic() + max(0.0, timeout)
        with self._cond:
            while True:
                pb = self._pb
                if pb is None or pb.cap is None:
                    return None            # closed while waiting
                if pb.pending is None:
                    loop = bool(self.options['loop'])
                    if pb.ended and not (loop and pb.restart()):
                        raise EndOfStream('%s already ended' % pb.source)
                    pb.pending = pb.next_frame(loop)
                frame = pb.pending
                wait_ns = pb.pace_wait_ns(frame, time.monotonic_ns(),
                                          bool(self.options['realtime']))
                if wait_ns <= 0:
                    pb.pending = None
                    return self._frameset(pb, frame)
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None
                self._cond.wait(min(wait_ns / 1e9, remaining))

    def _frameset(self, pb: Playback, frame: FileFrame) -> FrameSet:
        stamp = pb.stamp_ns(frame, str(self.options['file_stamp']) == 'media')
        color = to_rgb(frame.image)
        h, w = color.shape[:2]
        if self._props is not None and (w, h) != (self._props.color.width,
                                                  self._props.color.height):
            self._resize_props(w, h)
        self._last_index = frame.index
        self._last_pos_msec = frame.pos_msec
        self._delivered += 1
        return FrameSet(color=color, depth=frame.depth, aligned_depth=frame.depth,
                        stamp_ns=stamp)

    def _resize_props(self, width: int, height: int) -> None:
        """Describe a new frame size (intrinsics too) after a file changed size mid-stream."""
        assert self._props is not None
        _LOG.warning('%s: frame size changed to %dx%d', self._info.get('source'), width, height)
        hfov = float(self.options['default_hfov_deg'])
        self._props.color = default_intrinsics(width, height, hfov)
        if self._props.depth is not None:
            self._props.depth = default_intrinsics(width, height, hfov)
        self._info['width'], self._info['height'] = width, height

    def _close(self) -> None:
        with self._cond:
            pb, self._pb = self._pb, None
            self._cond.notify_all()
        if pb is not None:
            pb.release()

    # -- runtime options and commands -------------------------------------------------------
    def set_option(self, name: str, value: Any) -> None:
        """Take a new ``loop``, ``realtime`` or ``depth_scale`` (read from ``options``).

        A pacing wait is woken; switching ``realtime`` restarts the pacing clock. An ended
        file plays again at the next read once ``loop`` is on.
        """
        with self._cond:
            if name == 'realtime' and self._pb is not None:
                self._pb.anchor = None
            self._cond.notify_all()

    def commands(self) -> Dict[str, Tuple[str, CommandHandler]]:
        """``source_info`` and ``seek``."""
        cmds = super().commands()
        cmds['seek'] = ('Jump to {"frame": N} (0-based) or {"msec": T} in the file; the '
                        'next frame delivered is that one (also after the end).',
                        self._cmd_seek)
        return cmds

    def _cmd_source_info(self, args: Any) -> Dict[str, Any]:
        info = super()._cmd_source_info(args)
        with self._cond:
            ended = self._pb.ended if self._pb is not None else False
        info.update(loop=bool(self.options['loop']), realtime=bool(self.options['realtime']),
                    ended=ended)
        return info

    def _cmd_seek(self, args: Mapping[str, Any]) -> Dict[str, Any]:
        with self._cond:
            pb = self._pb
            if pb is None or pb.cap is None:
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
                ok = pb.seek(frame=frame)
            elif 'msec' in args:
                msec = args['msec']
                if isinstance(msec, bool) or not isinstance(msec, (int, float)) or msec < 0:
                    raise InvalidOptionError('msec must be a number >= 0, got %r' % (msec,))
                ok = pb.seek(msec=float(msec))
            else:
                raise InvalidOptionError('seek needs {"frame": N} or {"msec": T}')
            if not ok:
                raise InvalidOptionError('the %s backend cannot seek in this source'
                                         % self._info.get('backend'))
            self._cond.notify_all()
            return {'frame': pb.index, 'msec': pb.position_msec()}
