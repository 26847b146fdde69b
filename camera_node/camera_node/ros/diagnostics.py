"""``/diagnostics`` for the camera node (diagnostic_msgs/DiagnosticArray).

diagnostic_updater is not on PyPI, so the node publishes the array itself, at
``diagnostics_period`` seconds, with one status for the device and one per stream:

* ``<node>: device``: the capture state (streaming, waiting, searching, reconnecting,
  ended, closed, inactive), measured capture rate against the expected one, dropped frame
  sets, read timeouts, reconnects, the last error. ERROR while the device is missing or
  lost, WARN when the measured rate is below 80 % of the expected one or nothing arrived.
* ``<node>: <stream>``: published rate of each topic (0 while nobody subscribes: the
  node computes streams only for subscribers, so a 0 is then normal and OK).
"""

from __future__ import annotations

from typing import Any, Dict, List, Tuple

from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue

OK, WARN, ERROR = (DiagnosticStatus.OK, DiagnosticStatus.WARN, DiagnosticStatus.ERROR)


def device_level(state: str, measured: float, expected: float) -> Tuple[bytes, str]:
    """Return (level, message) of the device status for a capture state and rates."""
    if state in ('searching', 'error', 'reconnecting'):
        return ERROR, 'camera %s' % state
    if state in ('closed', 'inactive', 'ended', 'starting'):
        return WARN, 'camera %s' % state
    if expected > 0 and measured < 0.8 * expected:
        return WARN, 'capture rate %.1f Hz below the expected %.1f Hz' % (measured, expected)
    return OK, 'streaming at %.1f Hz' % measured


def figures(node) -> Dict[str, Any]:
    """Return the node's state, rates and counters: what /diagnostics and status report.

    Rates are unrounded Hz; ``published_fps`` maps each stream (and ``points``) to its rate;
    ``expected_fps`` is None until the device was opened.
    """
    cap = node.capture
    props = node.props
    published = {name: s.rate.rate() for name, s in node.streams.items()}
    published['points'] = node.cloud_rate.rate()
    return {
        'driver': node.driver.name,
        'state': 'closed' if node.closed else cap.state,
        'last_error': cap.last_error,
        'model': props.model if props else '', 'serial': props.serial if props else '',
        'expected_fps': props.fps if props else None,
        'capture_fps': cap.rate.rate(),
        'published_fps': published,
        'frames_captured': cap.rate.count, 'frame_sets_published': node.published_sets,
        'dropped_frame_sets': node.slot.dropped, 'read_timeouts': cap.timeouts,
        'reconnects': cap.reconnects, 'publish_errors': node.publish_errors,
    }


class Diagnostics:
    """Publishes the node's DiagnosticArray (built from :func:`figures`) periodically."""

    def __init__(self, node) -> None:
        self.node = node
        self.pub = node.create_publisher(DiagnosticArray, '/diagnostics', 10)
        self.timer = None
        self._start(float(node.p['diagnostics_period']))
        node.param_hooks['diagnostics_period'] = (lambda v: None, self._start)

    def _start(self, period: float) -> None:
        if self.timer is not None:
            self.node.destroy_timer(self.timer)
            self.timer = None
        if period > 0:
            self.timer = self.node.create_timer(float(period), self.publish)

    def statuses(self) -> List[DiagnosticStatus]:
        """Build the statuses of the device and of every stream."""
        node = self.node
        f = figures(node)
        expected = float(f['expected_fps'] or 0.0)
        measured = f['capture_fps']
        level, message = device_level(f['state'], measured, expected)
        base = node.get_fully_qualified_name()
        values: Dict[str, object] = {
            'driver': f['driver'], 'state': f['state'],
            'lifecycle_state': node.lifecycle_state(),
            'expected_rate_hz': '%.2f' % expected, 'measured_rate_hz': '%.2f' % measured,
        }
        values.update((k, f[k]) for k in (
            'frames_captured', 'dropped_frame_sets', 'read_timeouts', 'reconnects',
            'publish_errors', 'last_error', 'model', 'serial'))
        out = [_status(level, base + ': device', message, f['serial'], values)]
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


def _status(level, name: str, message: str, hardware_id: str,
            values: Dict[str, object]) -> DiagnosticStatus:
    st = DiagnosticStatus(level=level, name=name, message=message, hardware_id=hardware_id)
    st.values = [KeyValue(key=k, value=str(v)) for k, v in values.items()]
    return st
