"""The IMU path and the sensor geometry of the core, in process (no ROS, no SDK).

The queue must keep every sample while its consumer keeps up and count what it drops when
it does not; the uniter must reproduce realsense-ros' copy and linear interpolation; the
clock mapper must share one offset between streams that arrive interleaved; every sensor's
extrinsics must compose consistently.
"""

import math
import threading

import numpy as np
import pytest

from camera_node.core.clock import ClockMapper
from camera_node.core.frames import (extrinsics_between, extrinsics_pairs, FrameNames,
                                     sensor_pose_in_link, static_transforms,
                                     stereo_baseline_m)
from camera_node.core.imu import (ImuQueue, ImuUniter, UNITE_COPY, UNITE_LINEAR,
                                  UNITE_NONE)
from camera_node.core.orientation import quaternion_to_matrix
from camera_node.core.types import (CameraProperties, default_intrinsics, Extrinsics,
                                    ImuInfo, ImuSample)


def gyro(t_ms, x=0.0, y=0.0, z=0.0):
    return ImuSample('gyro', int(t_ms * 1e6), x, y, z)


def accel(t_ms, x=0.0, y=0.0, z=0.0):
    return ImuSample('accel', int(t_ms * 1e6), x, y, z)


# -- the queue ------------------------------------------------------------------------------
def test_queue_keeps_every_sample_in_order_across_threads():
    q = ImuQueue()
    q.open()
    got = []
    done = threading.Event()

    def consumer():
        while not done.is_set() or not q.figures()['imu_queue_depth'] == 0:
            got.extend(q.drain(0.05))

    t = threading.Thread(target=consumer)
    t.start()

    def produce(k):
        for i in range(2000):
            q.put(gyro(i, x=k))
    producers = [threading.Thread(target=produce, args=(k,)) for k in range(3)]
    for p in producers:
        p.start()
    for p in producers:
        p.join()
    done.set()
    t.join(5)
    assert len(got) == 6000 and q.dropped == 0 and q.received == 6000
    for k in range(3):       # each producer's samples stay in their order
        stamps = [s.stamp_ns for s in got if s.x == k]
        assert stamps == sorted(stamps) and len(stamps) == 2000


def test_queue_full_drops_the_oldest_and_counts():
    q = ImuQueue(capacity=10)
    q.open()
    for i in range(25):
        q.put(gyro(i))
    out = q.drain(0.0)
    assert [s.stamp_ns for s in out] == [int(i * 1e6) for i in range(15, 25)]
    f = q.figures()
    assert f['imu_samples_dropped'] == 15 and f['imu_samples_received'] == 25
    assert f['imu_queue_high_water'] == 10 and f['imu_queue_depth'] == 0


def test_closed_queue_discards_without_counting_and_wakes_the_consumer():
    q = ImuQueue()
    q.put(gyro(1))                     # not capturing yet
    assert q.received == 0 and q.drain(0.0) == []
    q.open()
    q.put(gyro(2))
    woke = []
    t = threading.Thread(target=lambda: woke.append(q.drain(10.0)))
    q.drain(0.0)
    t.start()
    q.close()
    t.join(2.0)
    assert not t.is_alive() and woke == [[]]
    assert q.dropped == 0


# -- uniting --------------------------------------------------------------------------------
def test_copy_pairs_each_gyro_with_the_newest_accel():
    u = ImuUniter(UNITE_COPY)
    assert u.add(gyro(0, 1)) == [] and u.unpaired == 1       # no accel yet
    assert u.add(accel(1, 0, 9.8)) == []
    out = u.add(gyro(2.5, 2))
    assert len(out) == 1 and out[0].stamp_ns == 2_500_000
    assert out[0].gyro == (2.0, 0.0, 0.0) and out[0].accel == (0.0, 9.8, 0.0)


def test_linear_interpolation_at_the_gyro_stamps():
    u = ImuUniter(UNITE_LINEAR)
    assert u.add(accel(0, 0.0, 10.0)) == []
    assert u.add(gyro(1, 1.0)) == []                 # waits for the next accel
    assert u.add(gyro(2.5, 2.0)) == []
    out = u.add(accel(5, 5.0, 0.0))
    assert [s.stamp_ns for s in out] == [1_000_000, 2_500_000]
    assert out[0].accel == pytest.approx((1.0, 8.0, 0.0))
    assert out[1].accel == pytest.approx((2.5, 5.0, 0.0))
    assert out[1].gyro == (2.0, 0.0, 0.0)
    # a gyro sample arriving after a later accel one is still interpolated
    u.add(accel(10, 10.0, 0.0))
    late = u.add(gyro(7.5, 3.0))
    assert len(late) == 1 and late[0].accel == pytest.approx((7.5, 0.0, 0.0))
    # older than every accel sample kept: cannot be united, counted
    assert u.add(gyro(-50)) == [] and u.unpaired == 1


def test_linear_gyro_at_an_accel_stamp_and_none_method():
    u = ImuUniter(UNITE_LINEAR)
    u.add(accel(0, 1.0))
    out = u.add(gyro(0, 7.0))
    assert len(out) == 1 and out[0].accel == (1.0, 0.0, 0.0)
    none = ImuUniter(UNITE_NONE)
    assert none.add(accel(0)) == [] and none.add(gyro(0)) == []


def test_pending_gyro_bounded_when_accel_stops():
    u = ImuUniter(UNITE_LINEAR)
    u.add(accel(0))
    for i in range(1, 200):
        assert u.add(gyro(i)) == []
    assert u.unpaired == 199 - ImuUniter.MAX_PENDING


# -- one clock for every stream ----------------------------------------------------------------
def test_clock_mapper_shares_the_offset_and_keeps_each_stream_increasing():
    c = ClockMapper()
    # images arrive 30 ms after capture, IMU samples 1 ms after: the IMU sets the offset
    assert c.to_system_ns(1_000_000, 31_000_000, 'color') == 31_000_000
    assert c.to_system_ns(2_000_000, 3_000_000, 'gyro') == 3_000_000
    assert c.to_system_ns(1_500_000, 2_600_000, 'accel') == 2_500_000   # interleaved
    # the next image is stamped with the IMU's (smaller) offset
    assert c.to_system_ns(34_000_000, 64_000_000, 'color') == 35_000_000
    # a stream whose stamps would step back moves 1 ns after its last one
    assert c.to_system_ns(2_000_000, 2_500_000, 'gyro') == 3_000_001
    # a recording that loops: that stream's device clock jumps back, the mapper re-anchors
    assert c.to_system_ns(0, 100_000_000, 'color') == 100_000_000


# -- geometry of every sensor -----------------------------------------------------------------
def rot_y(a):
    c, s = math.cos(a), math.sin(a)
    return np.array([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]])


def rot_z(a):
    c, s = math.cos(a), math.sin(a)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


def stereo_props():
    intr = default_intrinsics(64, 48, 60.0)
    return CameraProperties(
        color=intr, depth=intr, infra1=intr, infra2=intr,
        depth_to_color=Extrinsics(rot_y(0.01), np.array([-0.015, 0.0, 0.0])),
        sensor_extrinsics={
            'infra1': Extrinsics(),
            'infra2': Extrinsics(np.eye(3), np.array([-0.05, 0.0, 0.0])),
            'imu': Extrinsics(rot_z(0.2) @ rot_y(-0.1), np.array([0.006, -0.005, -0.01])),
        },
        imu=ImuInfo(400.0, 200.0))


def test_extrinsics_between_compose_and_invert():
    props = stereo_props()
    p = np.array([0.3, -0.2, 1.7])
    for a in props.sensors():
        for b in props.sensors():
            ab, ba = extrinsics_between(props, a, b), extrinsics_between(props, b, a)
            q = ab.rotation @ p + ab.translation
            assert ba.rotation @ q + ba.translation == pytest.approx(p, abs=1e-12)
    # through a third sensor gives the same point
    ci = extrinsics_between(props, 'color', 'imu')
    c2 = extrinsics_between(props, 'color', 'infra2')
    i2 = extrinsics_between(props, 'infra2', 'imu')
    direct = ci.rotation @ p + ci.translation
    assert i2.rotation @ (c2.rotation @ p + c2.translation) + i2.translation == \
        pytest.approx(direct, abs=1e-12)
    assert extrinsics_between(props, 'depth', 'color').translation == \
        pytest.approx([-0.015, 0.0, 0.0])


def test_pairs_are_every_pair_once_in_realsense_order():
    props = stereo_props()
    names = ['%s_to_%s' % (a, b) for a, b, _ in extrinsics_pairs(props)]
    assert names[:2] == ['depth_to_color', 'depth_to_infra1']
    assert len(names) == 10 and len(set(names)) == 10
    assert 'depth_to_imu' in names and 'infra1_to_infra2' in names


def test_baseline_and_frames():
    props = stereo_props()
    assert stereo_baseline_m(props) == pytest.approx(0.05)
    names = FrameNames('cam')
    tfs = {t.child: t for t in static_transforms(names, props)}
    for sensor in ('depth', 'color', 'infra1', 'infra2', 'imu'):
        assert tfs['cam_%s_frame' % sensor].parent == 'cam_link'
        assert tfs['cam_%s_optical_frame' % sensor].parent == 'cam_%s_frame' % sensor
    # infra2 is 50 mm to the right: -y in the link (x forward, y left, z up)
    assert tfs['cam_infra2_frame'].translation == pytest.approx((0.0, -0.05, 0.0))
    # the IMU's optical frame reproduces the extrinsics: link -> imu optical
    position, q = sensor_pose_in_link(props, 'imu')
    o = quaternion_to_matrix(tfs['cam_imu_optical_frame'].rotation)
    r_link_imu_opt = quaternion_to_matrix(q) @ o
    r_link_depth_opt = quaternion_to_matrix(tfs['cam_depth_optical_frame'].rotation)
    ext = props.from_reference('imu')
    # a point in depth optical -> link, then link -> imu optical == extrinsics
    p = np.array([0.1, 0.2, 1.0])
    in_link = r_link_depth_opt @ p
    in_imu = r_link_imu_opt.T @ (in_link - np.array(position))
    assert in_imu == pytest.approx(ext.rotation @ p + ext.translation, abs=1e-9)
    assert props.sensors() == ('depth', 'color', 'infra1', 'infra2', 'imu')
    without = CameraProperties(color=props.color)
    assert without.sensors() == ('color',) and stereo_baseline_m(without) is None
    with pytest.raises(KeyError):
        without.from_reference('imu')


def test_the_imu_thread_waits_instead_of_spinning_while_the_queue_is_closed():
    # after Close (or during a slow deactivate) the queue stays closed: drain() returns at
    # once by design (it wakes the consumer), so the publisher thread must not loop on it
    from types import SimpleNamespace
    from camera_node.ros.imu import ImuPublisher, POLL_S

    class Counting(ImuQueue):
        calls = 0

        def drain(self, timeout):
            Counting.calls += 1
            return super().drain(timeout)
    q = Counting()
    q.close()
    pub = ImuPublisher(None, SimpleNamespace(imu_optical='imu'), {'unite_imu_method': 2}, q)
    pub.start()
    threading.Event().wait(5 * POLL_S)
    pub.stop()
    assert Counting.calls <= 8        # about one per POLL_S (it was ~10^5 in that time)
