"""The IMU topics: ``imu`` (gyro and accel united), ``gyro/sample`` and ``accel/sample``.

IMU samples never go through the frame-set slot. The driver puts every sample in the
session's :class:`~camera_node.core.imu.ImuQueue`; :class:`ImuPublisher`'s own thread
drains the whole queue each time it wakes and publishes every sample, in order, raw on
``gyro/sample`` / ``accel/sample`` (only the measured field filled, the other's covariance
-1) and united (:class:`~camera_node.core.imu.ImuUniter`, ``unite_imu_method``) on ``imu``,
all with frame ``<name>_imu_optical_frame`` and the sample's own stamp. Publishers are
reliable with a history of :data:`IMU_DEPTH` samples, so a (reliable) subscriber that
stalls for up to 2.5 s at 400 Hz loses nothing. Counters (published, failed, not united) go to
status and diagnostics.
"""

from __future__ import annotations

import threading
from typing import Any, Dict, Mapping, Optional

from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy
from rclpy.qos_overriding_options import QoSOverridingOptions
from sensor_msgs.msg import Imu

from ..core.capture import RateMeter
from ..core.frames import FrameNames
from ..core.imu import ImuQueue, ImuUniter, UNITE_NONE, UnitedSample
from ..core.types import ImuInfo, ImuSample

#: history of each IMU publisher: 2.5 s of 400 Hz samples (a reliable writer overwrites
#: what a stalled reader has not acknowledged beyond it; 100 lost samples here under load)
IMU_DEPTH = 1000
#: seconds the thread waits for samples before checking whether it should stop
POLL_S = 0.2


def imu_qos() -> QoSProfile:
    """Return a fresh QoS profile for one IMU publisher: reliable, keep last IMU_DEPTH."""
    return QoSProfile(depth=IMU_DEPTH, history=HistoryPolicy.KEEP_LAST,
                      reliability=ReliabilityPolicy.RELIABLE,
                      durability=DurabilityPolicy.VOLATILE)


def _diagonal(value: float) -> list:
    return [value, 0.0, 0.0, 0.0, value, 0.0, 0.0, 0.0, value]


class ImuPublisher:
    """Publishes one camera's IMU samples from a thread of its own.

    :param node: the node the publishers are created on.
    :param names: the camera's frame names.
    :param settings: live parameters: ``unite_imu_method``, ``angular_velocity_cov``,
        ``linear_accel_cov``.
    :param queue: the session's IMU queue.
    """

    def __init__(self, node: Any, names: FrameNames, settings: Mapping[str, Any],
                 queue: ImuQueue) -> None:
        self.node = node
        self.frame_id = names.imu_optical
        self.settings = settings
        self.queue = queue
        self.uniter = ImuUniter(int(settings['unite_imu_method']))
        self._method_wanted: Optional[int] = None
        self._lock = threading.Lock()
        self.pubs: Dict[str, Any] = {}
        self.info: Optional[ImuInfo] = None
        self.published = {'gyro': 0, 'accel': 0, 'imu': 0}
        self.rates = {'gyro': RateMeter(400), 'accel': RateMeter(400), 'imu': RateMeter(400)}
        self.publish_errors = 0
        self._msgs: Dict[str, Imu] = {}
        self._covariances: Any = None
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None

    # -- topics ---------------------------------------------------------------------------
    def _publisher(self, key: str, topic: str) -> None:
        if key not in self.pubs:
            self.pubs[key] = self.node.create_publisher(
                Imu, topic, imu_qos(),
                qos_overriding_options=QoSOverridingOptions.with_default_policies())

    def setup(self, info: Optional[ImuInfo]) -> None:
        """Create the topics the device's IMU has (after each open; never removed)."""
        with self._lock:
            self.info = info
            if info is None:
                return
            if info.gyro_hz > 0:
                self._publisher('gyro', '~/gyro/sample')
            if info.accel_hz > 0:
                self._publisher('accel', '~/accel/sample')
            self._ensure_united()

    def _ensure_united(self) -> None:
        info = self.info
        method = int(self.settings['unite_imu_method']) if self._method_wanted is None \
            else self._method_wanted
        if info is not None and info.gyro_hz > 0 and info.accel_hz > 0 \
                and method != UNITE_NONE:
            self._publisher('imu', '~/imu')

    def set_method(self, method: int) -> None:
        """Switch unite_imu_method (from the parameter handler); the thread applies it."""
        with self._lock:
            self._method_wanted = int(method)
            self._ensure_united()

    def topics(self) -> list:
        """Return the full names of the IMU topics."""
        return sorted(p.topic_name for p in self.pubs.values())

    # -- the thread -----------------------------------------------------------------------
    def start(self) -> None:
        """Start draining the queue (capture started)."""
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self.uniter.reset()
        self._thread = threading.Thread(target=self._run, name='camera_imu', daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the thread and wait for it."""
        self._stop.set()
        t = self._thread
        if t is not None and t.is_alive() and threading.current_thread() is not t:
            t.join(timeout)
        self._thread = None

    def _run(self) -> None:
        while not self._stop.is_set():
            batch = self.queue.drain(POLL_S)
            if not batch:
                if self.queue.closed:       # drain returns at once then: not capturing
                    self._stop.wait(POLL_S)
                continue
            with self._lock:
                if self._method_wanted is not None:
                    self.uniter.reset(self._method_wanted)
                    self._method_wanted = None
                self._refresh_messages()
                for sample in batch:
                    self._publish(sample)

    def _publish(self, sample: ImuSample) -> None:
        try:
            pub = self.pubs.get(sample.kind)
            if pub is not None and pub.get_subscription_count() > 0:
                pub.publish(self._raw(sample))
                self.published[sample.kind] += 1
                self.rates[sample.kind].tick()
            united = self.uniter.add(sample)
            pub = self.pubs.get('imu')
            if united and pub is not None and pub.get_subscription_count() > 0:
                for u in united:
                    pub.publish(self._united(u))
                    self.published['imu'] += 1
                    self.rates['imu'].tick()
        except Exception as exc:  # publish() can raise under back-pressure: count, go on
            self.publish_errors += 1
            if self.publish_errors in (1, 10) or self.publish_errors % 1000 == 0:
                self.node.get_logger().warning('publishing IMU samples failed (%d times): %s'
                                               % (self.publish_errors, exc))

    # -- messages -------------------------------------------------------------------------
    # One message per topic is kept and refilled: publish() serializes at once, so reusing
    # it is safe, and building an Imu (its covariance arrays) costs more than sending it.
    def _refresh_messages(self) -> None:
        """Rebuild the kept messages when the covariance parameters changed."""
        covariances = (float(self.settings['angular_velocity_cov']),
                       float(self.settings['linear_accel_cov']))
        if covariances == self._covariances:
            return
        self._covariances = covariances
        for key in ('gyro', 'accel', 'imu'):
            msg = Imu()
            msg.header.frame_id = self.frame_id
            msg.orientation.w = 0.0
            msg.orientation_covariance[0] = -1.0            # no orientation estimate
            msg.angular_velocity_covariance = _diagonal(covariances[0])
            msg.linear_acceleration_covariance = _diagonal(covariances[1])
            if key == 'gyro':                                # not measured in this message
                msg.linear_acceleration_covariance[0] = -1.0
            elif key == 'accel':
                msg.angular_velocity_covariance[0] = -1.0
            self._msgs[key] = msg

    def _stamped(self, key: str, stamp_ns: int) -> Imu:
        msg = self._msgs[key]
        msg.header.stamp.sec = stamp_ns // 1_000_000_000
        msg.header.stamp.nanosec = stamp_ns % 1_000_000_000
        return msg

    def _raw(self, s: ImuSample) -> Imu:
        msg = self._stamped(s.kind, s.stamp_ns)
        v = msg.angular_velocity if s.kind == 'gyro' else msg.linear_acceleration
        v.x, v.y, v.z = float(s.x), float(s.y), float(s.z)
        return msg

    def _united(self, u: UnitedSample) -> Imu:
        msg = self._stamped('imu', u.stamp_ns)
        w, a = msg.angular_velocity, msg.linear_acceleration
        w.x, w.y, w.z = (float(v) for v in u.gyro)
        a.x, a.y, a.z = (float(v) for v in u.accel)
        return msg

    def figures(self) -> Dict[str, Any]:
        """Return what was published, the measured rates and the failures."""
        return {'imu_published': dict(self.published),
                'imu_published_hz': {k: r.rate() for k, r in self.rates.items()},
                'imu_not_united': self.uniter.unpaired,
                'imu_publish_errors': self.publish_errors}
