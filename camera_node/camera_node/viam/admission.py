"""Admission of requests under load: serve, or answer "busy, retry" at once.

Service callbacks share one executor thread with the parameter services and share the
interpreter with the capture and publish threads. Left alone, a crowd of clients would
take all of it: the streams would slow down and requests would queue past their callers'
deadlines. :class:`Admission` keeps a budget instead: service callbacks may use at most
``max_share`` of wall time over a sliding window; a request that arrives while the budget
is spent is refused at once with :data:`BUSY_PREFIX` and a retry hint. A refusal costs
microseconds, so a backlog of any size drains quickly, and every request gets an answer:
served, or busy. What an answer costs is the callback's time plus the delivery of its
bytes to every client of the service (:data:`FANOUT_BYTES_PER_S`): with 200 clients, one
GetImage answer carrying a 320x240 frame is 50 MB of copies on the machine.
"""

from __future__ import annotations

from collections import deque
import threading
import time
from typing import Callable, Deque, Tuple

#: how every busy answer starts (clients match it to retry)
BUSY_PREFIX = 'busy:'
#: requests (and answers) each service keeps queued in DDS: more than any number of clients
#: with one call outstanding each will send at once (ROS's default of 10 loses requests)
SERVICE_QUEUE_DEPTH = 1000
#: share of wall time service callbacks may use (the rest is the streams')
MAX_SHARE = 0.5
#: the window the share is measured over, seconds
WINDOW_S = 1.0
#: what delivering answers costs the machine, bytes per second of one core: DDS hands a
#: service's every answer to every client of that service (each discards the others'),
#: so an answer of B bytes to a service with N clients costs about B * N / this
FANOUT_BYTES_PER_S = 1e9


class Busy(Exception):
    """The request was not served because the budget is spent; the text says when to retry."""


class Admission:
    """A time budget for service callbacks over a sliding window.

    :param max_share: fraction of wall time callbacks may use (0 < max_share <= 1).
    :param window: seconds over which the share is measured.
    :param clock: monotonic seconds (injectable for tests).
    """

    def __init__(self, max_share: float = MAX_SHARE, window: float = WINDOW_S,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if not 0.0 < max_share <= 1.0 or window <= 0:
            raise ValueError('max_share must be in (0, 1] and window > 0')
        self.max_share = max_share
        self.window = window
        self.clock = clock
        self._spans: Deque[Tuple[float, float]] = deque()   # (end time, seconds used)
        self._used = 0.0
        self._lock = threading.Lock()
        self.admitted = 0
        self.refused = 0

    def _expire(self, now: float) -> None:
        while self._spans and self._spans[0][0] < now - self.window:
            self._used -= self._spans.popleft()[1]
        if not self._spans:
            self._used = 0.0

    def check(self) -> None:
        """Raise :class:`Busy` if the budget of the current window is spent."""
        now = self.clock()
        with self._lock:
            self._expire(now)
            budget = self.max_share * self.window
            if self._used < budget:
                self.admitted += 1
                return
            self.refused += 1
            # the oldest span leaves the window first: that is when room comes back
            wait = max(0.0, self._spans[0][0] + self.window - now) if self._spans else 0.0
        raise Busy('%s the camera is serving other requests; retry in %d ms'
                   % (BUSY_PREFIX, max(10, int(wait * 1000) + 1)))

    def record(self, seconds: float) -> None:
        """Count seconds a served callback used."""
        now = self.clock()
        with self._lock:
            self._spans.append((now, seconds))
            self._used += seconds
            self._expire(now)

    def figures(self) -> dict:
        """Return admitted and refused counts and the share used over the last window."""
        now = self.clock()
        with self._lock:
            self._expire(now)
            return {'requests_admitted': self.admitted, 'requests_refused_busy': self.refused,
                    'service_time_share': round(self._used / self.window, 3)}


def retry_delay(error: str, default: float = 0.05) -> float:
    """Return the seconds a busy answer asks the caller to wait (default if none given)."""
    marker = 'retry in '
    at = error.find(marker)
    if at < 0:
        return default
    digits = ''.join(c for c in error[at + len(marker):at + len(marker) + 8] if c.isdigit())
    return int(digits) / 1000.0 if digits else default
