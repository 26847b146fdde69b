"""``/clock`` from a replayed recording, for nodes running with ``use_sim_time``.

A driver that replays a recording reports where playback stands
(:meth:`~camera_node.drivers.base.Driver.playback_time_ns`); drivers cannot publish, so this
small helper does: a thread (not a node timer: with ``use_sim_time`` a timer would run on
the very clock it is meant to drive) publishes ``rosgraph_msgs/Clock`` at a fixed rate while
the time moves, and once a second while it stands still (end, pause), so a node that
starts later still gets the time.
"""

from __future__ import annotations

import threading
from typing import Any, Callable, Optional

from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy
from rosgraph_msgs.msg import Clock

from .messages import stamp_msg

#: how often /clock is published while playback moves, Hz
CLOCK_HZ = 100.0
#: reliable keep-last-1: matches rclpy's and rclcpp's best-effort and reliable clock readers
CLOCK_QOS = QoSProfile(depth=1, history=HistoryPolicy.KEEP_LAST,
                       reliability=ReliabilityPolicy.RELIABLE,
                       durability=DurabilityPolicy.VOLATILE)


class ClockPublisher:
    """Publishes ``/clock`` from ``time_ns()`` (None: nothing to publish yet) until stopped."""

    def __init__(self, node: Any, time_ns: Callable[[], Optional[int]],
                 rate_hz: float = CLOCK_HZ) -> None:
        self._pub = node.create_publisher(Clock, '/clock', CLOCK_QOS)
        self._time_ns = time_ns
        self._period = 1.0 / rate_hz
        self._stop = threading.Event()
        self.published = 0
        self._log = node.get_logger()
        self._thread = threading.Thread(target=self._run, name='camera_clock', daemon=True)
        self._thread.start()

    def _run(self) -> None:
        last = None
        quiet = 0
        while not self._stop.wait(self._period):
            try:
                now = self._time_ns()
                quiet += 1
                if now is None or (now == last and quiet * self._period < 1.0):
                    continue
                self._pub.publish(Clock(clock=stamp_msg(int(now))))
                self.published += 1
                last, quiet = now, 0
            except Exception as exc:  # a shut-down context, a driver bug: keep going quietly
                self._log.debug('publishing /clock failed: %s' % exc)

    def stop(self) -> None:
        """Stop publishing and wait for the thread."""
        self._stop.set()
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join(2.0)
