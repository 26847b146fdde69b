"""The IMU, infrared, metadata and extrinsics topics of a node in its own process, over DDS.

A synthetic camera with both infrared imagers, gyro and accelerometer, the emitter
alternating, moving on its trajectory: what a VIO user subscribes to must arrive with the
right types, frames, stamps and values (the values against the driver's own ground truth,
asked over DoCommand).
"""

import json

import cv2
import numpy as np
import pytest
from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import CameraInfo, Image, Imu
from tf2_msgs.msg import TFMessage

from camera_node.core.types import default_intrinsics
from camera_node_interfaces.msg import Extrinsics, Metadata
from camera_node_interfaces.srv import DoCommand, GetImage, GetImages

from conftest import NodeProcess

W, H, FPS = 160, 120, 15.0
LATCHED = QoSProfile(depth=1, history=HistoryPolicy.KEEP_LAST,
                     reliability=ReliabilityPolicy.RELIABLE,
                     durability=DurabilityPolicy.TRANSIENT_LOCAL)
RELIABLE = QoSProfile(depth=200, reliability=ReliabilityPolicy.RELIABLE)


@pytest.fixture(scope='module')
def node():
    proc = NodeProcess(namespace='vio', name='cam', params={
        'width': W, 'height': H, 'fps': FPS, 'camera_name': 'rig', 'trajectory': True,
        'enable_infra1': True, 'enable_infra2': True, 'emitter_on_off': True,
        'enable_gyro': True, 'enable_accel': True, 'gyro_fps': 400.0, 'accel_fps': 200.0,
        'angular_velocity_cov': 0.02, 'linear_accel_cov': 0.03})
    assert proc.wait_output('publishing', 30), proc.output()
    yield proc
    assert proc.stop() == 0, proc.output()


def command(probe, node, text):
    res = probe.call(DoCommand, node.topic('do_command'), DoCommand.Request(command=text))
    assert res is not None and res.success, res.error if res else 'no answer'
    return json.loads(res.result)


def test_start_message_lists_the_new_topics(node):
    out = node.output()
    for topic in ('infra1/image_rect_raw', 'infra2/image_rect_raw', 'imu', 'gyro/sample',
                  'accel/sample', 'infra1/metadata'):
        assert node.topic(topic) in out, topic


def test_infrared_images_and_the_baseline_in_p(node, probe):
    for side in ('infra1', 'infra2'):
        img = probe.collect(Image, node.topic(side + '/image_rect_raw'))[0]
        assert (img.encoding, img.width, img.height, img.step) == ('mono8', W, H, W)
        assert img.header.frame_id == 'rig_%s_optical_frame' % side
    fx = default_intrinsics(W, H, 60.0).fx
    left = probe.collect(CameraInfo, node.topic('infra1/camera_info'))[0]
    right = probe.collect(CameraInfo, node.topic('infra2/camera_info'))[0]
    assert left.p[3] == 0.0 and left.p[0] == pytest.approx(fx)
    assert right.p[3] == pytest.approx(-fx * 0.05)           # Tx = -fx * baseline
    assert -right.p[3] / right.p[0] == pytest.approx(0.05)  # what stereo_image_proc reads
    assert list(right.k) == list(left.k) and right.header.frame_id == 'rig_infra2_optical_frame'


def test_emitter_state_alternates_per_frame_in_the_metadata(node, probe):
    got = probe.collect(Metadata, node.topic('infra1/metadata'), count=8, qos=RELIABLE)
    assert len(got) == 8
    counters = [m.frame_counter for m in got]
    states = {m.frame_counter: m.emitter for m in got}
    for counter, state in states.items():
        assert state == (Metadata.EMITTER_ON if counter % 2 == 0 else Metadata.EMITTER_OFF)
    assert len(set(states.values())) == 2 and counters == sorted(counters)
    assert got[0].header.frame_id == 'rig_infra1_optical_frame'
    assert got[0].exposure_us == 8500.0 and np.isnan(got[0].temperature_c)


def test_imu_topics_carry_the_true_motion(node, probe):
    united = probe.collect(Imu, node.topic('imu'), count=200, qos=RELIABLE)
    gyro = probe.collect(Imu, node.topic('gyro/sample'), count=50, qos=RELIABLE)
    accel = probe.collect(Imu, node.topic('accel/sample'), count=50, qos=RELIABLE)
    assert len(united) == 200 and len(gyro) == 50 and len(accel) == 50
    for msg in united + gyro + accel:
        assert msg.header.frame_id == 'rig_imu_optical_frame'
        assert msg.orientation_covariance[0] == -1.0
    u = united[-1]
    assert list(u.angular_velocity_covariance) == [0.02, 0, 0, 0, 0.02, 0, 0, 0, 0.02]
    assert list(u.linear_acceleration_covariance) == [0.03, 0, 0, 0, 0.03, 0, 0, 0, 0.03]
    assert gyro[0].linear_acceleration_covariance[0] == -1.0     # not measured there
    assert accel[0].angular_velocity_covariance[0] == -1.0

    def ns(m):
        return m.header.stamp.sec * 1_000_000_000 + m.header.stamp.nanosec
    # consecutive stamps: 2.5 ms apart at 400 Hz (nothing lost on the way)
    steps = np.diff([ns(m) for m in united])
    assert np.all(np.abs(steps - 2_500_000) <= 1), steps
    assert np.all(np.abs(np.diff([ns(m) for m in accel]) - 5_000_000) <= 1)
    # values: the driver's ground truth at the same stamps (gyro exact, accel interpolated)
    for m in (gyro[-1], united[-1]):
        truth = command(probe, node, json.dumps({'command': 'ground_truth',
                                                 'stamp_ns': ns(m)}))['imu']
        w = m.angular_velocity
        assert [w.x, w.y, w.z] == pytest.approx(truth['angular_velocity_body_radps'],
                                                abs=1e-9)
    a = accel[-1].linear_acceleration
    truth = command(probe, node, json.dumps({'command': 'ground_truth',
                                             'stamp_ns': ns(accel[-1])}))['imu']
    assert [a.x, a.y, a.z] == pytest.approx(truth['specific_force_body_mps2'], abs=1e-9)
    a = united[-1].linear_acceleration
    truth = command(probe, node, json.dumps({'command': 'ground_truth',
                                             'stamp_ns': ns(united[-1])}))['imu']
    assert [a.x, a.y, a.z] == pytest.approx(truth['specific_force_body_mps2'], abs=2e-4)
    status = command(probe, node, '{"command": "status"}')
    assert status['imu_samples_received'] > 0 and status['imu_samples_dropped'] == 0


def test_extrinsics_messages_and_tf_agree(node, probe):
    depth_to_infra2 = probe.collect(Extrinsics, node.topic('extrinsics/depth_to_infra2'),
                                    qos=LATCHED)[0]
    assert depth_to_infra2.header.frame_id == 'rig_depth_optical_frame'
    assert depth_to_infra2.child_frame_id == 'rig_infra2_optical_frame'
    assert list(depth_to_infra2.translation) == pytest.approx([-0.05, 0.0, 0.0])
    assert list(depth_to_infra2.rotation) == [1, 0, 0, 0, 1, 0, 0, 0, 1]
    to_imu = probe.collect(Extrinsics, node.topic('extrinsics/color_to_imu'), qos=LATCHED)[0]
    assert list(to_imu.translation) == pytest.approx([-0.006, -0.005, 0.012])
    names = {t for t, _ in probe.node.get_topic_names_and_types()}
    pairs = [n for n in names if n.startswith(node.topic('extrinsics/'))]
    assert len(pairs) == 10                          # 5 sensors, every pair once
    tfs = {t.child_frame_id: t for m in probe.collect(TFMessage, '/tf_static', qos=LATCHED)
           for t in m.transforms}
    for sensor in ('infra1', 'infra2', 'imu'):
        assert tfs['rig_%s_frame' % sensor].header.frame_id == 'rig_link'
        assert tfs['rig_%s_optical_frame' % sensor].header.frame_id == 'rig_%s_frame' % sensor
    right = tfs['rig_infra2_frame'].transform.translation
    assert (right.x, right.y, right.z) == pytest.approx((0.0, -0.05, 0.0))   # y is left


def test_get_images_serves_the_infrared_pair(node, probe):
    res = probe.call(GetImages, node.topic('get_images'), GetImages.Request(
        filter_source_names=['ir_left', 'ir_right']))
    assert res.success, res.error
    assert [(i.source_name, i.mime_type) for i in res.images] == [
        ('ir_left', 'image/png'), ('ir_right', 'image/png')]
    left = cv2.imdecode(np.frombuffer(bytes(res.images[0].data), np.uint8),
                        cv2.IMREAD_UNCHANGED)
    assert left.shape == (H, W) and left.dtype == np.uint8
    every = probe.call(GetImages, node.topic('get_images'), GetImages.Request())
    assert [i.source_name for i in every.images] == ['color', 'depth', 'ir_left', 'ir_right']


def test_get_image_of_an_infrared_source_and_its_ros_image(node, probe):
    def get(extra):
        res = probe.call(GetImage, node.topic('get_image'), GetImage.Request(extra=extra))
        assert res.success, res.error
        return res
    header_only = get('{"source": "ir_left"}')
    assert (header_only.source_name, header_only.mime_type) == ('ir_left', 'image/png')
    assert header_only.image.header.frame_id == 'rig_infra1_optical_frame'
    assert (header_only.image.width, len(header_only.image.data)) == (0, 0)
    full = get('{"source": "ir_right", "ros_image": true}')
    assert full.image.header.frame_id == 'rig_infra2_optical_frame'
    assert (full.image.encoding, full.image.width, full.image.height) == ('mono8', W, H)
    pixels = np.frombuffer(bytes(full.image.data), np.uint8).reshape(H, W)
    assert np.array_equal(cv2.imdecode(np.frombuffer(bytes(full.data), np.uint8),
                                       cv2.IMREAD_UNCHANGED), pixels)     # lossless PNG


def test_unite_imu_method_changes_at_runtime_and_bad_values_are_refused(node, probe):
    def set_method(value):
        return command(probe, node, json.dumps({'command': 'set_parameters',
                                                'parameters': {'unite_imu_method': value}}))
    bad = set_method(5)['results']['unite_imu_method']
    assert not bad['successful'] and 'must be one of 0, 1, 2' in bad['reason']
    assert set_method(0)['results']['unite_imu_method']['successful']
    probe.collect(Imu, node.topic('imu'), count=1000, qos=RELIABLE, timeout=0.5)  # drain
    assert probe.collect(Imu, node.topic('imu'), count=1, qos=RELIABLE, timeout=1.0) == []
    assert probe.collect(Imu, node.topic('gyro/sample'), count=5, qos=RELIABLE)  # raw go on
    assert set_method(1)['results']['unite_imu_method']['successful']
    copied = probe.collect(Imu, node.topic('imu'), count=5, qos=RELIABLE)
    assert len(copied) == 5


def test_diagnostics_report_the_imu_path(node, probe):
    from diagnostic_msgs.msg import DiagnosticArray
    arrays = probe.collect(DiagnosticArray, '/diagnostics', count=3, qos=RELIABLE)
    statuses = [s for a in arrays for s in a.status if s.name.endswith(': imu')]
    assert statuses, [s.name for a in arrays for s in a.status]
    values = {kv.key: kv.value for kv in statuses[-1].values}
    assert int(values['imu_samples_received']) > 0 and values['imu_samples_dropped'] == '0'
    assert statuses[-1].level == b'\x00' and 'no IMU sample dropped' in statuses[-1].message
