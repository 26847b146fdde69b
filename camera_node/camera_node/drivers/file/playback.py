"""Reading a video file or image sequence frame by frame: loop, seek, pace, stamp.

:class:`Playback` holds the open capture and where playback stands. It is not thread-safe:
the file driver calls it under its own lock.
"""

from __future__ import annotations

from dataclasses import dataclass
import os
import time
from typing import Any, List, Mapping, Optional, Tuple

import cv2
import numpy as np

from ...core.errors import DriverError, EndOfStream, InvalidOptionError

#: FFmpeg's image2 demuxer (and this driver) look for the first file of a sequence here
FIRST_INDEX_RANGE = range(0, 5)
#: pacing gives up catching up (re-anchors) when a frame is this late
MAX_LATE_NS = 1_000_000_000


def first_of_sequence(pattern: str) -> Tuple[Optional[int], List[str]]:
    """Return the first index of a sequence whose file exists (or None), and the paths tried.

    Indexes are tried in FIRST_INDEX_RANGE.

    :raises InvalidOptionError: the pattern does not format with an integer.
    """
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


@dataclass
class FileFrame:
    """A frame read from a file or sequence, not yet delivered."""

    image: np.ndarray
    depth: Optional[np.ndarray]
    index: int          # 0-based frame index in the file
    pos_msec: float     # the backend's CAP_PROP_POS_MSEC for this frame
    play_ms: float      # continuous play time (media time + loop offset), for pacing


class DepthSequence:
    """16-bit PNG depth images matching the colour frames one to one.

    :param pattern: image-sequence pattern; frame i is ``pattern % (start + i)``.
    :param options: the camera's parameters (``depth_scale`` is read at each image).
    """

    def __init__(self, pattern: str, start: int, options: Mapping[str, Any]) -> None:
        self.pattern = pattern
        self.start = start
        self.options = options

    def load(self, index: int) -> Optional[np.ndarray]:
        """Depth image matching colour frame index, in mm; None when the sequence ended."""
        path = self.pattern % (self.start + index)
        if not os.path.isfile(path):
            return None
        depth = cv2.imread(path, cv2.IMREAD_UNCHANGED)
        if depth is None:
            raise DriverError('cannot decode depth image %s' % path)
        if depth.dtype != np.uint16 or depth.ndim != 2:
            raise InvalidOptionError('depth image %s must be single-channel 16-bit, got %s %s'
                                     % (path, depth.dtype, 'x'.join(map(str, depth.shape))))
        scale = float(self.options['depth_scale'])
        if scale != 1.0:
            depth = np.clip(np.rint(depth * scale), 0, 65535).astype(np.uint16)
        return depth


class Playback:
    """An open video file or image sequence and where playback stands.

    :param cap: the open capture (owned from now on: :meth:`release` releases it).
    :param source: path or pattern (reopened when a container cannot seek back).
    :param backend: OpenCV API preference used to open it.
    :param rate: playback rate for pacing and media stamps (0: unknown).
    :param by_index: media time is index / rate (sequences, a rate override) rather than
        the backend's position.
    :param depth: the matching depth images, or None.
    """

    def __init__(self, cap: 'cv2.VideoCapture', source: str, backend: int, rate: float,
                 by_index: bool, depth: Optional[DepthSequence]) -> None:
        self.cap: Optional['cv2.VideoCapture'] = cap
        self.source = source
        self.backend = backend
        self.rate = rate
        self.by_index = by_index
        self.depth = depth
        self.index = 0              # index of the next frame read from the file
        self.ended = False
        self.pending: Optional[FileFrame] = None
        #: (monotonic ns, system ns, play ms) of the frame pacing and media stamps start at
        self.anchor: Optional[Tuple[int, int, float]] = None
        self._loop_offset_ms = 0.0
        self._last_play_ms: Optional[float] = None

    def release(self) -> None:
        """Release the capture (idempotent)."""
        cap, self.cap = self.cap, None
        self.pending = None
        if cap is not None:
            cap.release()

    # -- reading ---------------------------------------------------------------------------
    def _read_raw(self) -> Optional[Tuple[np.ndarray, Optional[np.ndarray], float]]:
        assert self.cap is not None
        ok, image = self.cap.read()
        if not ok or image is None:
            return None
        depth = None
        if self.depth is not None:
            depth = self.depth.load(self.index)
            if depth is None:
                return None
        return image, depth, float(self.cap.get(cv2.CAP_PROP_POS_MSEC))

    def rewind(self) -> bool:
        """Go back to the first frame (reopening if the container cannot seek)."""
        assert self.cap is not None
        if not (self.cap.set(cv2.CAP_PROP_POS_FRAMES, 0)
                and int(self.cap.get(cv2.CAP_PROP_POS_FRAMES)) == 0):
            self.cap.release()
            self.cap = cv2.VideoCapture(self.source, self.backend)
            if not self.cap.isOpened():
                return False
        self.index = 0
        return True

    def next_frame(self, loop: bool) -> FileFrame:
        """Read the next frame (rewinding at the end when loop); EndOfStream at the end."""
        raw = self._read_raw()
        if raw is None:
            end_index = self.index
            if loop and end_index > 0 and self.rewind():
                period = 1000.0 / self.rate if self.rate > 0 else 0.0
                if self._last_play_ms is not None:
                    self._loop_offset_ms = self._last_play_ms + period
                raw = self._read_raw()
            if raw is None:
                self.ended = True
                raise EndOfStream('%s ended after frame %d%s'
                                  % (self.source, max(0, end_index - 1),
                                     '' if loop else ' (loop is off)'))
        image, depth, pos_msec = raw
        index = self.index
        self.index += 1
        media_ms = index * 1000.0 / self.rate if self.by_index and self.rate > 0 \
            else pos_msec
        play_ms = self._loop_offset_ms + media_ms
        self._last_play_ms = play_ms
        return FileFrame(image, depth, index, pos_msec, play_ms)

    def _restart_clock(self) -> None:
        """Forget the pacing anchor and play time: the next frame starts them afresh."""
        self.pending = None
        self.ended = False
        self.anchor = None
        self._loop_offset_ms = 0.0
        self._last_play_ms = None

    def restart(self) -> bool:
        """Play again from the first frame after the end; False if the file cannot rewind."""
        if self.cap is None or not self.rewind():
            return False
        self._restart_clock()
        return True

    def seek(self, frame: Optional[int] = None, msec: Optional[float] = None) -> bool:
        """Make frame (0-based) or the one at msec the next frame; False if it cannot."""
        assert self.cap is not None
        if frame is not None:
            ok = self.cap.set(cv2.CAP_PROP_POS_FRAMES, frame)
        else:
            ok = self.cap.set(cv2.CAP_PROP_POS_MSEC, float(msec or 0.0))
        if not ok:
            return False
        self.index = int(round(self.cap.get(cv2.CAP_PROP_POS_FRAMES)))
        self._restart_clock()
        return True

    def position_msec(self) -> float:
        """Return the backend's position (ms) of the next frame."""
        return float(self.cap.get(cv2.CAP_PROP_POS_MSEC)) if self.cap is not None else 0.0

    # -- pacing and stamps -----------------------------------------------------------------
    def pace_wait_ns(self, frame: FileFrame, now_ns: int, realtime: bool) -> int:
        """Nanoseconds until frame is due (<= 0: now); anchors the clock on first use."""
        if self.anchor is None:
            self.anchor = (now_ns, time.time_ns(), frame.play_ms)
            return 0
        if not realtime or self.rate <= 0:
            return 0
        anchor_mono, _, anchor_play = self.anchor
        due = anchor_mono + int((frame.play_ms - anchor_play) * 1e6)
        if now_ns - due > MAX_LATE_NS or frame.play_ms < anchor_play:
            # far behind (slow consumer, paused) or went backwards: restart the clock here
            self.anchor = (now_ns, time.time_ns(), frame.play_ms)
            return 0
        return due - now_ns

    def stamp_ns(self, frame: FileFrame, media: bool) -> int:
        """Return frame's stamp: media time from the anchor, or now (arrival)."""
        media_ok = self.rate > 0 or not self.by_index
        if media and media_ok and self.anchor is not None:
            _, anchor_wall, anchor_play = self.anchor
            return anchor_wall + int(round((frame.play_ms - anchor_play) * 1e6))
        return time.time_ns()
