"""Mapping a device clock to the ROS (system) clock."""

from __future__ import annotations

from typing import Optional


class ClockMapper:
    """Map a device clock to the ROS (system) clock.

    The offset ``system - device`` is taken as the smallest seen so far (the sample with the
    least transport delay), and re-anchored when the device clock jumps backwards (device
    reset) or the offset drifts past ``resync_ns``. The stamps returned strictly increase:
    when the offset shrinks, a stamp that would step back is put 1 ns after the last one.
    """

    def __init__(self, resync_ns: int = 500_000_000) -> None:
        self._offset: Optional[int] = None
        self._last_device: Optional[int] = None
        self._last_stamp: Optional[int] = None
        self._resync_ns = resync_ns

    def to_system_ns(self, device_ns: int, arrival_ns: int) -> int:
        """Return the system time of a device timestamp that arrived at arrival_ns."""
        offset = arrival_ns - device_ns
        if (self._offset is None or offset < self._offset
                or (self._last_device is not None and device_ns < self._last_device)
                or offset - self._offset > self._resync_ns):
            self._offset = offset
        self._last_device = device_ns
        stamp = device_ns + self._offset
        if self._last_stamp is not None and stamp <= self._last_stamp:
            stamp = self._last_stamp + 1
        self._last_stamp = stamp
        return stamp
