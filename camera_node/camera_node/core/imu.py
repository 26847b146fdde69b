"""The IMU path: a bounded, lossless-under-normal-load queue, and uniting gyro with accel.

IMU samples arrive at 200-400 Hz from an SDK callback thread and must not go through the
newest-only frame slot (:class:`~camera_node.core.capture.LatestSlot`): every sample is
queued in :class:`ImuQueue`, and a publisher thread drains the whole queue each time it
wakes. Only when the queue is full (its consumer stalled for seconds) is the oldest sample
dropped, and counted. :class:`ImuUniter` turns the two raw streams into united samples as
realsense-ros' ``unite_imu_method`` does: one per gyro sample, with the accelerometer
copied (the last one) or linearly interpolated to the gyro's stamp.
"""

from __future__ import annotations

import collections
from dataclasses import dataclass
import threading
from typing import Deque, List, Optional, Tuple

from .types import ImuSample

#: samples the queue holds: 10 s of 400 Hz gyro + 200 Hz accel
IMU_QUEUE_CAPACITY = 6000
#: unite_imu_method values, as realsense-ros numbers them
UNITE_NONE, UNITE_COPY, UNITE_LINEAR = 0, 1, 2

Vector = Tuple[float, float, float]


class ImuQueue:
    """A bounded FIFO of IMU samples between the driver's threads and one consumer.

    ``put`` never blocks (it runs in SDK callback threads). While closed (the camera is
    not capturing) samples are discarded without counting; while open, a sample that finds
    the queue full pushes out the oldest, which is counted in :attr:`dropped`.
    """

    def __init__(self, capacity: int = IMU_QUEUE_CAPACITY) -> None:
        self._cond = threading.Condition()
        self._items: Deque[ImuSample] = collections.deque()
        self.capacity = capacity
        self.received = 0
        self.dropped = 0
        self.high_water = 0
        self._closed = True

    def put(self, sample: ImuSample) -> None:
        """Queue one sample (from any thread); drop and count the oldest when full."""
        with self._cond:
            if self._closed:
                return
            self.received += 1
            if len(self._items) >= self.capacity:
                self._items.popleft()
                self.dropped += 1
            self._items.append(sample)
            if len(self._items) > self.high_water:
                self.high_water = len(self._items)
            self._cond.notify()

    def drain(self, timeout: float) -> List[ImuSample]:
        """Return every queued sample, oldest first, waiting up to timeout for the first."""
        with self._cond:
            if not self._items and not self._closed:
                self._cond.wait(timeout)
            out = list(self._items)
            self._items.clear()
            return out

    def open(self) -> None:
        """Accept samples from now on (capture started)."""
        with self._cond:
            self._closed = False

    def close(self) -> None:
        """Discard what is queued, refuse new samples and wake the consumer."""
        with self._cond:
            self._closed = True
            self._items.clear()
            self._cond.notify_all()

    @property
    def closed(self) -> bool:
        """Whether samples are refused (the camera is not capturing)."""
        return self._closed

    def figures(self) -> dict:
        """Return the counters: received, dropped, queued now, largest backlog."""
        with self._cond:
            return {'imu_samples_received': self.received, 'imu_samples_dropped': self.dropped,
                    'imu_queue_depth': len(self._items), 'imu_queue_high_water': self.high_water}


@dataclass(frozen=True)
class UnitedSample:
    """Angular velocity and specific force at one instant (the gyro sample's stamp)."""

    stamp_ns: int
    gyro: Vector
    accel: Vector


def _vec(s: ImuSample) -> Vector:
    return (s.x, s.y, s.z)


def _lerp(a: ImuSample, b: ImuSample, stamp_ns: int) -> Vector:
    span = b.stamp_ns - a.stamp_ns
    w = 0.0 if span <= 0 else (stamp_ns - a.stamp_ns) / span
    return (a.x + (b.x - a.x) * w, a.y + (b.y - a.y) * w, a.z + (b.z - a.z) * w)


class ImuUniter:
    """Unite gyro and accel samples into one stream at the gyro's rate.

    ``copy``: each gyro sample with the newest accel sample so far (none before the first
    accel). ``linear_interpolation``: each gyro sample with the accel interpolated between
    the two accel samples around its stamp, so a gyro sample waits for the next accel sample
    (at most one accel period). Gyro samples that cannot be united (older than every accel
    sample kept, or waiting while the accel stream stopped) are counted in :attr:`unpaired`.
    """

    #: accel samples kept for interpolation; gyro samples waiting at most
    ACCEL_HISTORY = 16
    MAX_PENDING = 64

    def __init__(self, method: int) -> None:
        self.method = method
        self._accels: Deque[ImuSample] = collections.deque(maxlen=self.ACCEL_HISTORY)
        self._pending: Deque[ImuSample] = collections.deque()
        self.unpaired = 0

    def add(self, sample: ImuSample) -> List[UnitedSample]:
        """Take one raw sample; return the united samples it completes (in stamp order)."""
        if self.method == UNITE_NONE:
            return []
        if sample.kind == 'accel':
            self._accels.append(sample)
            return self._flush() if self.method == UNITE_LINEAR else []
        if sample.kind != 'gyro':
            return []
        if self.method == UNITE_COPY:
            if not self._accels:
                self.unpaired += 1
                return []
            return [UnitedSample(sample.stamp_ns, _vec(sample), _vec(self._accels[-1]))]
        self._pending.append(sample)
        while len(self._pending) > self.MAX_PENDING:
            self._pending.popleft()
            self.unpaired += 1
        return self._flush()

    def _flush(self) -> List[UnitedSample]:
        out: List[UnitedSample] = []
        accels = self._accels
        while self._pending and accels and self._pending[0].stamp_ns <= accels[-1].stamp_ns:
            g = self._pending.popleft()
            united = self._interpolate(g)
            if united is None:
                self.unpaired += 1
            else:
                out.append(united)
        return out

    def _interpolate(self, g: ImuSample) -> Optional[UnitedSample]:
        previous = None
        for a in self._accels:
            if a.stamp_ns >= g.stamp_ns:
                if a.stamp_ns == g.stamp_ns:
                    return UnitedSample(g.stamp_ns, _vec(g), _vec(a))
                if previous is None:
                    return None
                return UnitedSample(g.stamp_ns, _vec(g), _lerp(previous, a, g.stamp_ns))
            previous = a
        return None

    def reset(self, method: Optional[int] = None) -> None:
        """Forget the history (after a reconnect, or to switch method)."""
        if method is not None:
            self.method = method
        self._accels.clear()
        self._pending.clear()
