"""A thread reading a live OpenCV capture that keeps only the newest frame.

A slow consumer gets fresh frames rather than a queue of old ones (the frames it missed
are counted as dropped).
"""

from __future__ import annotations

from collections import deque
import threading
import time
from typing import Deque, NamedTuple, Optional

import cv2
import numpy as np

from ...core.errors import DeviceLostError


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

    def __init__(self, cap: 'cv2.VideoCapture', label: str) -> None:
        self.cap = cap
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
