"""The hand-over between the capture thread and its consumer, a rate meter, thread names.

Only the newest frame set is ever kept (:class:`LatestSlot`); a frame set that was not
taken before the next one arrived counts as dropped.
"""

from __future__ import annotations

import collections
import ctypes
import sys
import threading
import time
from typing import Deque, Optional

from .types import FrameSet


class LatestSlot:
    """A one-element mailbox: put() replaces, get() waits for something newer."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._item: Optional[FrameSet] = None
        self._taken = True
        self.dropped = 0
        self._closed = False

    def put(self, item: FrameSet) -> None:
        """Store item, replacing (and counting as dropped) an untaken one."""
        with self._cond:
            if not self._taken:
                self.dropped += 1
            self._item = item
            self._taken = False
            self._cond.notify_all()

    def get(self, timeout: float) -> Optional[FrameSet]:
        """Return the newest untaken item, waiting up to timeout; None on timeout/close."""
        with self._cond:
            if self._taken and not self._closed:
                self._cond.wait(timeout)
            if self._taken or self._closed:
                return None
            self._taken = True
            return self._item

    @property
    def closed(self) -> bool:
        """Whether close() was called (gets return None at once)."""
        return self._closed

    def close(self) -> None:
        """Wake every waiter; later gets return None."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()


class RateMeter:
    """Measured event rate over a sliding window of the last events."""

    def __init__(self, window: int = 60) -> None:
        self._times: Deque[float] = collections.deque(maxlen=window)
        self.count = 0
        self._lock = threading.Lock()

    def tick(self, t: Optional[float] = None) -> None:
        """Record one event now (or at monotonic time t)."""
        with self._lock:
            self._times.append(time.monotonic() if t is None else t)
            self.count += 1

    def rate(self, stale_after: float = 2.0) -> float:
        """Events per second over the window; 0 when nothing arrived for stale_after s."""
        with self._lock:
            if len(self._times) < 2 or time.monotonic() - self._times[-1] > stale_after:
                return 0.0
            span = self._times[-1] - self._times[0]
            return (len(self._times) - 1) / span if span > 0 else 0.0


#: prctl option that names the calling thread (linux/prctl.h)
_PR_SET_NAME = 15


def name_os_thread() -> None:
    """Give the calling thread its Python name at the OS level too (Linux; else nothing).

    ``top -H``, ``ps -L``, ``/proc/PID/task/TID/comm`` and profilers then show
    ``camera_capture`` and ``camera_publish`` instead of ``python``; the benchmark reads the
    capture thread's CPU (the driver's) from there. Names are cut to 15 bytes.
    """
    if not sys.platform.startswith('linux'):
        return
    try:
        libc = ctypes.CDLL(None)
        libc.prctl(_PR_SET_NAME, threading.current_thread().name.encode()[:15], 0, 0, 0)
    except (OSError, AttributeError):  # pragma: no cover - no prctl in this C library
        pass
