"""``/diagnostics`` for the camera node (diagnostic_msgs/DiagnosticArray).

diagnostic_updater is not on PyPI, so the node publishes the array itself, at
``diagnostics_period`` seconds, with one status for the device and one per stream:

* ``<node>: device``: the capture state (streaming, waiting, searching, reconnecting,
  ended, closed, inactive), measured capture rate against the expected one, dropped frame
  sets, read timeouts, reconnects, the last error. ERROR while the device is missing or
  lost, WARN when the measured rate is below 80 % of the expected one or nothing arrived.
* ``<node>: <stream>``: published rate of each topic (0 while nobody subscribes: the
  node computes streams only for subscribers, so a 0 is then normal and OK).
* ``<node>: imu`` (cameras with an IMU): samples received from the driver and dropped on
  the way (queue overflow), published per topic and their rates, samples that could not
  be united. WARN once any sample was dropped.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, List, Tuple

from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue

from ..core.session import State

OK, WARN, ERROR = (DiagnosticStatus.OK, DiagnosticStatus.WARN, DiagnosticStatus.ERROR)


def device_level(state: str, measured: float, expected: float) -> Tuple[bytes, str]:
    """Return (level, message) of the device status for a session state and rates."""
    st = State(state)
    if st.failing:
        return ERROR, 'camera %s' % state
    if st not in (State.STREAMING, State.WAITING):
        return WARN, 'camera %s' % state
    if expected > 0 and measured < 0.8 * expected:
        return WARN, 'capture rate %.1f Hz below the expected %.1f Hz' % (measured, expected)
    return OK, 'streaming at %.1f Hz' % measured


class Diagnostics:
    """Publishes a camera's DiagnosticArray periodically.

    :param figures: returns the camera's figures (the DoCommand ``status`` ones).
    :param lifecycle_state: returns the node's lifecycle state label.
    """

    def __init__(self, node: Any, period: float, figures: Callable[[], Dict[str, Any]],
                 lifecycle_state: Callable[[], str]) -> None:
        self.node = node
        self.figures = figures
        self.lifecycle_state = lifecycle_state
        self.pub = node.create_publisher(DiagnosticArray, '/diagnostics', 10)
        self.timer = None
        self.start(float(period))

    def start(self, period: float) -> None:
        """Publish every period seconds from now on (0: stop)."""
        if self.timer is not None:
            self.node.destroy_timer(self.timer)
            self.timer = None
        if period > 0:
            self.timer = self.node.create_timer(float(period), self.publish)

    def statuses(self) -> List[DiagnosticStatus]:
        """Build the statuses of the device and of every stream."""
        node = self.node
        f = self.figures()
        expected = float(f['expected_fps'] or 0.0)
        measured = f['capture_fps']
        level, message = device_level(f['state'], measured, expected)
        base = node.get_fully_qualified_name()
        values: Dict[str, object] = {
            'driver': f['driver'], 'state': f['state'],
            'lifecycle_state': self.lifecycle_state(),
            'expected_rate_hz': '%.2f' % expected, 'measured_rate_hz': '%.2f' % measured,
        }
        values.update((k, f[k]) for k in (
            'frames_captured', 'dropped_frame_sets', 'read_timeouts', 'reconnects',
            'publish_errors', 'last_error', 'model', 'serial'))
        out = [_status(level, base + ': device', message, f['serial'], values)]
        if f.get('imu_published') is not None and f['imu_samples_received']:
            out.append(_imu_status(base, f))
        for name, rate in sorted(f['published_fps'].items()):
            out.append(_status(OK, '%s: %s' % (base, name), 'published at %.1f Hz' % rate, '',
                               {'published_rate_hz': '%.2f' % rate,
                                'expected_rate_hz': '%.2f' % expected}))
        return out

    def publish(self) -> None:
        """Publish one DiagnosticArray now."""
        msg = DiagnosticArray()
        msg.header.stamp = self.node.get_clock().now().to_msg()
        msg.status = self.statuses()
        self.pub.publish(msg)

    def shutdown(self) -> None:
        """Stop the timer."""
        if self.timer is not None:
            self.node.destroy_timer(self.timer)
            self.timer = None


def _imu_status(base: str, f: Dict[str, Any]) -> DiagnosticStatus:
    dropped = f['imu_samples_dropped']
    level = WARN if dropped else OK
    message = ('%d IMU samples dropped' % dropped if dropped else
               'no IMU sample dropped (%d received)' % f['imu_samples_received'])
    values: Dict[str, object] = {k: f[k] for k in (
        'imu_samples_received', 'imu_samples_dropped', 'imu_queue_high_water',
        'imu_not_united', 'imu_publish_errors')}
    for key, count in sorted(f['imu_published'].items()):
        values['published_%s' % key] = count
        values['published_%s_hz' % key] = '%.1f' % f['imu_published_hz'][key]
    return _status(level, base + ': imu', message, f['serial'], values)


def _status(level, name: str, message: str, hardware_id: str,
            values: Dict[str, object]) -> DiagnosticStatus:
    st = DiagnosticStatus(level=level, name=name, message=message, hardware_id=hardware_id)
    st.values = [KeyValue(key=k, value=str(v)) for k, v in values.items()]
    return st
