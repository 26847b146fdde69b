"""Capture side: a thread that reads frame sets and hands the newest one to the publisher.

Only the newest frame set is ever kept (:class:`LatestSlot`); a frame set that was not
taken before the next one arrived counts as dropped. The capture thread also owns the
device's life: it opens the driver, reconnects with bounded exponential backoff when the
device is lost or missing, and closes it on stop.
"""

from __future__ import annotations

import collections
import threading
import time
from typing import Callable, Deque, Optional

from .drivers.base import DeviceLostError, DeviceNotFoundError, Driver, EndOfStream, FrameSet


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


class CaptureThread:
    """Runs the driver: open (with retries), read, reconnect, close.

    :param driver: the driver to run.
    :param slot: where frame sets go.
    :param logger: an rclpy logger (or anything with info/warning/error).
    :param on_open: called (in this thread) after each successful open.
    :param read_timeout: seconds per read before a timeout is counted.
    :param max_backoff: upper bound of the wait between reconnect attempts.
    :param deliver: if given, called (in this thread) with each frame set instead of
        putting it into slot: the frame set is published before the next read.
    """

    def __init__(self, driver: Driver, slot: LatestSlot, logger,
                 on_open: Callable[[], None], read_timeout: float = 1.0,
                 max_backoff: float = 5.0,
                 deliver: Optional[Callable[[FrameSet], None]] = None) -> None:
        self.driver = driver
        self.slot = slot
        self.deliver = deliver
        self.log = logger
        self.on_open = on_open
        self.read_timeout = read_timeout
        self.max_backoff = max_backoff
        self.state = 'inactive'
        self.last_error = ''
        self.reconnects = 0
        self.timeouts = 0
        self.opens = 0
        self.rate = RateMeter()
        self.latest: Optional[FrameSet] = None
        self._stop = threading.Event()
        self._paused = threading.Event()
        self._thread = threading.Thread(target=self._run, name='camera_capture', daemon=True)

    def start(self) -> None:
        """Start the thread."""
        self.state = 'starting'
        self._thread.start()

    def stop(self, timeout: float = 5.0, close_driver: bool = True) -> None:
        """Stop the thread and wait for it; close the driver unless told not to."""
        self._stop.set()
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join(timeout)
        if close_driver:
            self.driver.close()
            self.state = 'closed'
        else:
            self.state = 'inactive'

    @property
    def alive(self) -> bool:
        """Whether the thread is running."""
        return self._thread.is_alive()

    def _backoff(self, attempt: int) -> None:
        delay = min(self.max_backoff, 0.2 * (2 ** min(attempt, 10)))
        self._stop.wait(delay)

    def _run(self) -> None:
        attempt = 0
        while not self._stop.is_set():
            if not self.driver.is_open:
                try:
                    self.driver.open()
                except Exception as exc:  # DriverError, or an SDK error we did not foresee
                    self._report_open_failure(exc, attempt)
                    attempt += 1
                    self._backoff(attempt)
                    continue
                if self.opens:
                    self.reconnects += 1
                    self.log.info('camera reconnected (reconnect #%d)' % self.reconnects)
                self.opens += 1
                attempt = 0
                self.state = 'streaming'
                self.last_error = ''
                try:
                    self.on_open()
                except Exception as exc:
                    self.log.error('setting up streams failed: %s' % exc)
                    self.last_error = str(exc)
            try:
                fs = self.driver.read(self.read_timeout)
            except EndOfStream as exc:
                self.state = 'ended'
                self.last_error = str(exc) or 'end of stream'
                self.log.info('source ended: %s; keeping the last frame for services'
                              % self.last_error)
                self._stop.wait()
                break
            except DeviceLostError as exc:
                self._lost('device lost: %s' % exc)
                continue
            except Exception as exc:
                self._lost('read failed: %s: %s' % (type(exc).__name__, exc))
                continue
            if fs is None:
                self.timeouts += 1
                if self.state == 'streaming':
                    self.state = 'waiting'
                continue
            self.state = 'streaming'
            self.latest = fs
            self.rate.tick()
            if self.deliver is not None:
                self.deliver(fs)
            else:
                self.slot.put(fs)

    def _lost(self, message: str) -> None:
        self.state = 'reconnecting'
        self.last_error = message
        self.log.warning(message + '; reconnecting')
        try:
            self.driver.close()
        except Exception as exc:
            self.log.warning('closing the lost device failed: %s' % exc)
        self._backoff(0)

    def _report_open_failure(self, exc: Exception, attempt: int) -> None:
        self.state = 'searching' if isinstance(exc, DeviceNotFoundError) else 'error'
        message = str(exc)
        if message != self.last_error or attempt in (0, 5) or attempt % 30 == 0:
            self.log.error('cannot open camera (attempt %d): %s' % (attempt + 1, message))
        self.last_error = message
