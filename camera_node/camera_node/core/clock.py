"""Mapping a device clock to the ROS (system) clock."""

from __future__ import annotations

import threading
from typing import Dict, Optional


class ClockMapper:
    """Map a device clock to the ROS (system) clock, for every stream of one device.

    The offset ``system - device`` is taken as the smallest seen so far over all streams
    (the sample with the least transport delay: IMU samples, small and frequent, usually
    set it, and images share it), and re-anchored when a stream's device clock jumps
    backwards (device reset, a recording looping) or the offset drifts past ``resync_ns``.
    The stamps returned for one ``stream`` strictly increase: when the offset shrinks, a
    stamp that would step back is put 1 ns after that stream's last one. Streams are
    separate because they arrive interleaved (a gyro sample may arrive after a later
    accelerometer one). Thread-safe: SDK callback threads and the capture thread share it.
    """

    def __init__(self, resync_ns: int = 500_000_000) -> None:
        self._offset: Optional[int] = None
        self._last_device: Dict[str, int] = {}
        self._last_stamp: Dict[str, int] = {}
        self._resync_ns = resync_ns
        self._lock = threading.Lock()

    def to_system_ns(self, device_ns: int, arrival_ns: int, stream: str = '') -> int:
        """Return the system time of a device timestamp of ``stream`` that arrived now."""
        with self._lock:
            offset = arrival_ns - device_ns
            last_device = self._last_device.get(stream)
            if (self._offset is None or offset < self._offset
                    or (last_device is not None and device_ns < last_device)
                    or offset - self._offset > self._resync_ns):
                self._offset = offset
            self._last_device[stream] = device_ns
            stamp = device_ns + self._offset
            last = self._last_stamp.get(stream)
            if last is not None and stamp <= last:
                stamp = last + 1
            self._last_stamp[stream] = stamp
            return stamp
