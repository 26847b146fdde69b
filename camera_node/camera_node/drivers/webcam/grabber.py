"""A thread reading a live OpenCV capture that keeps only the newest frame.

A slow consumer gets fresh frames rather than a queue of old ones (the frames it missed
are counted as dropped). With ``raw_jpeg`` the capture hands over the JPEG bytes of an
MJPEG stream (OpenCV's raw mode) and the grabber decodes them itself, after checking that
each is whole: a truncated JPEG (no end-of-image marker: a frame cut off by the network or
the camera) or one that does not decode is counted and skipped, never delivered as a good
frame.
"""

from __future__ import annotations

from collections import deque
import threading
import time
from typing import Callable, Deque, NamedTuple, Optional

import cv2
import numpy as np

from ...core.errors import DeviceLostError


def jpeg_is_whole(data: bytes) -> bool:
    """Return whether data starts with a JPEG start-of-image and ends with end-of-image.

    Padding after the end marker (zeros, CR/LF, as some cameras send) is allowed.
    """
    return data[:2] == b'\xff\xd8' and data.rstrip(b'\x00\r\n ')[-2:] == b'\xff\xd9'


class Grab(NamedTuple):
    """One grabbed frame and when it arrived."""

    image: np.ndarray
    wall_ns: int        # system time of arrival
    mono_ns: int        # monotonic time of arrival
    pos_msec: float     # the backend's CAP_PROP_POS_MSEC (V4L2: kernel capture time)
    index: int          # 0-based count of frames grabbed by this grabber


class Grabber:
    """Reads a live capture in a thread, keeping only the newest frame.

    The thread owns the capture: it releases it when it ends, so a ``stop`` that times out
    (a read blocked in the backend) never releases the capture under a running read.
    """

    def __init__(self, cap: 'cv2.VideoCapture', label: str, raw_jpeg: bool = False,
                 on_bad: Optional[Callable[[str, int], None]] = None) -> None:
        self.cap = cap
        self.raw_jpeg = raw_jpeg
        self.on_bad = on_bad
        self.truncated = 0
        self.corrupt = 0
        self.cond = threading.Condition()
        self.latest: Optional[Grab] = None
        self.lost: Optional[str] = None
        self.grabbed = 0
        self.dropped = 0
        self._arrivals: Deque[int] = deque(maxlen=31)
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name='webcam_grab_' + label,
                                       daemon=True)

    def start(self) -> None:
        """Start the thread."""
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
                if self.raw_jpeg:
                    image = self._decode(image)
                    if image is None:
                        continue
                pos_msec = float(self.cap.get(cv2.CAP_PROP_POS_MSEC))
                with self.cond:
                    if self.latest is not None:
                        self.dropped += 1
                    self.latest = Grab(image, wall_ns, mono_ns, pos_msec, self.grabbed)
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

    def _decode(self, packet: np.ndarray) -> Optional[np.ndarray]:
        """Return the decoded image of one raw JPEG, or None (counted) if it is not whole."""
        data = packet.tobytes()
        if not jpeg_is_whole(data):
            self.truncated += 1
            if self.on_bad is not None:
                self.on_bad('truncated', self.truncated)
            return None
        image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
        if image is None:
            self.corrupt += 1
            if self.on_bad is not None:
                self.on_bad('undecodable', self.corrupt)
        return image

    def take(self, timeout: float) -> Optional[Grab]:
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

    def put_back(self, item: Grab) -> None:
        """Make item the newest frame again unless a newer one arrived meanwhile."""
        with self.cond:
            if self.latest is None:
                self.latest = item

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
