"""The node in its own process, observed over real DDS (confined to this machine)."""

import signal

import numpy as np
import pytest
from rcl_interfaces.msg import Parameter, ParameterType, ParameterValue
from rcl_interfaces.srv import SetParameters
from rclpy.qos import (DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy)
from sensor_msgs.msg import CameraInfo, CompressedImage, Image, PointCloud2
from tf2_msgs.msg import TFMessage

from camera_node.core import cloud as geometry
from camera_node.core.types import default_intrinsics
from camera_node.drivers.synthetic import scene as syn

from conftest import NodeProcess

W, H = 320, 240
RELIABLE = QoSProfile(depth=5, reliability=ReliabilityPolicy.RELIABLE)


@pytest.fixture(scope='module')
def node():
    proc = NodeProcess(namespace='itest', name='cam',
                       params={'width': W, 'height': H, 'fps': 15.0, 'camera_name': 'front'})
    assert proc.wait_output('publishing', 30), proc.output()
    yield proc
    assert proc.stop() == 0, proc.output()


def image_array(msg):
    dtype = np.uint16 if msg.encoding == '16UC1' else np.uint8
    chans = 3 if msg.encoding == 'rgb8' else 1
    a = np.frombuffer(bytes(msg.data), dtype=dtype)
    shape = (msg.height, msg.width, chans) if chans > 1 else (msg.height, msg.width)
    return a.reshape(shape)


def cloud_array(msg):
    return np.frombuffer(bytes(msg.data), dtype=np.float32).reshape(msg.height, msg.width, 4)


def test_start_message_names_driver_resolution_rate_and_topics(node):
    out = node.output()
    assert 'driver synthetic' in out
    assert '%dx%d' % (W, H) in out and '15.0 fps' in out
    assert node.topic('color/image_raw') in out and node.topic('depth/color/points') in out


def test_images_have_promised_encodings_sizes_and_frames(node, probe):
    color = probe.collect(Image, node.topic('color/image_raw'))[0]
    depth = probe.collect(Image, node.topic('depth/image_rect_raw'))[0]
    aligned = probe.collect(Image, node.topic('aligned_depth_to_color/image_raw'))[0]
    assert (color.encoding, color.width, color.height, color.step) == ('rgb8', W, H, W * 3)
    assert (depth.encoding, depth.step, depth.is_bigendian) == ('16UC1', W * 2, 0)
    assert color.header.frame_id == 'front_color_optical_frame'
    assert depth.header.frame_id == 'front_depth_optical_frame'
    assert aligned.header.frame_id == 'front_color_optical_frame'
    assert image_array(aligned)[5, 5] == 3000            # wall, in millimetres


def test_camera_info_matches_images(node, probe):
    for topic, frame in (('color/camera_info', 'front_color_optical_frame'),
                         ('depth/camera_info', 'front_depth_optical_frame'),
                         ('aligned_depth_to_color/camera_info', 'front_color_optical_frame')):
        info = probe.collect(CameraInfo, node.topic(topic))[0]
        assert (info.width, info.height) == (W, H)
        assert info.header.frame_id == frame
        intr = default_intrinsics(W, H, 60.0)
        assert list(info.k) == pytest.approx(intr.k())
        assert info.distortion_model == 'plumb_bob' and len(info.d) == 5
        assert list(info.r) == [1, 0, 0, 0, 1, 0, 0, 0, 1]


def collect_stamps(probe, proc, streams, count=6):
    """Subscribe to {name: (type, topic)} at once; return name -> set of stamps."""
    got = {}

    def keep(name):
        return lambda m: got.setdefault(name, []).append(m.header.stamp)

    subs = [probe.node.create_subscription(t, proc.topic(topic), keep(name), RELIABLE)
            for name, (t, topic) in streams.items()]
    try:
        probe.spin_until(lambda: len(got) == len(streams)
                         and min(len(v) for v in got.values()) >= count, 20)
    finally:
        for s in subs:
            probe.node.destroy_subscription(s)
    return {k: {(s.sec, s.nanosec) for s in v} for k, v in got.items()}


def test_one_stamp_per_frame_set(node, probe):
    stamps = collect_stamps(probe, node, {
        'color': (Image, 'color/image_raw'), 'depth': (Image, 'depth/image_rect_raw'),
        'info': (CameraInfo, 'color/camera_info'),
        'cloud': (PointCloud2, 'depth/color/points')})
    common = stamps['color'] & stamps['depth'] & stamps['info'] & stamps['cloud']
    assert len(common) >= 2, stamps


def test_cloud_points_lie_on_the_known_scene(node, probe):
    msg = probe.collect(PointCloud2, node.topic('depth/color/points'))[0]
    assert [f.name for f in msg.fields] == ['x', 'y', 'z', 'rgb']
    assert (msg.height, msg.width, msg.point_step, msg.row_step) == (H, W, 16, 16 * W)
    assert msg.is_dense is False and msg.is_bigendian is False
    assert msg.header.frame_id == 'front_color_optical_frame'
    pts = cloud_array(msg)
    intr = default_intrinsics(W, H, 60.0)
    u, v = geometry.project(np.array([[-0.3, -0.5, syn.WALL_Z]]), intr)[0].round().astype(int)
    assert pts[v, u, 2] == pytest.approx(syn.WALL_Z, abs=0.003)
    assert pts[v, u, 0] == pytest.approx(-0.3, abs=0.01)
    # the window in the wall gives no return: NaN in an organized cloud
    u, v = geometry.project(np.array([[1.15, -0.65, syn.WALL_Z]]), intr)[0].round().astype(int)
    assert np.isnan(pts[v, u, :3]).all()
    # every valid point is on the wall, the floor, the box or the sphere
    p = pts[..., :3].reshape(-1, 3).astype(float)
    p = p[~np.isnan(p[:, 2])]
    on = ((np.abs(p[:, 2] - syn.WALL_Z) < 0.003) | (np.abs(p[:, 1] - syn.FLOOR_Y) < 0.005)
          | (np.abs(np.linalg.norm(p - syn.SPHERE_CENTER, axis=1) - syn.SPHERE_RADIUS) < 0.005)
          | np.all((p > syn.BOX_MIN - 0.005) & (p < syn.BOX_MAX + 0.005), axis=1))
    assert on.all()
    # colour: the box front face is (210, 50, 40), packed as B, G, R, 0
    u, v = geometry.project(np.array([[-0.7, 0.5, syn.BOX_MIN[2]]]), intr)[0].round().astype(int)
    raw = np.frombuffer(bytes(msg.data), np.uint8).reshape(H, W, 16)
    assert raw[v, u, 12:16].tolist() == [40, 50, 210, 0]


def test_compressed_colour_decodes_to_the_image(node, probe):
    import cv2
    msg = probe.collect(CompressedImage, node.topic('color/image_raw/compressed'))[0]
    assert 'jpeg' in msg.format
    img = cv2.imdecode(np.frombuffer(bytes(msg.data), np.uint8), cv2.IMREAD_COLOR)
    color = image_array(probe.collect(Image, node.topic('color/image_raw'))[0])
    assert img.shape == (H, W, 3)
    assert np.abs(img[..., ::-1].astype(int) - color).mean() < 6


def test_tf_static_reaches_a_late_subscriber(node, probe):
    qos = QoSProfile(depth=1, history=HistoryPolicy.KEEP_LAST,
                     reliability=ReliabilityPolicy.RELIABLE,
                     durability=DurabilityPolicy.TRANSIENT_LOCAL)
    msgs = probe.collect(TFMessage, '/tf_static', qos=qos, timeout=20)
    assert msgs, 'no /tf_static for a subscriber that joined after the node started'
    tfs = {t.child_frame_id: t for m in msgs for t in m.transforms}
    assert tfs['front_color_optical_frame'].header.frame_id == 'front_color_frame'
    assert tfs['front_depth_optical_frame'].header.frame_id == 'front_depth_frame'
    assert tfs['front_color_frame'].header.frame_id == 'front_link'
    assert tfs['front_depth_frame'].header.frame_id == 'front_link'
    r = tfs['front_color_optical_frame'].transform.rotation
    assert (r.x, r.y, r.z, r.w) == pytest.approx((-0.5, 0.5, -0.5, 0.5))
    t = tfs['front_color_frame'].transform.translation
    assert (t.x, t.y, t.z) == pytest.approx((0.0, -0.015, 0.0))   # colour 15 mm right


def test_publishers_are_reliable_by_default(node, probe):
    probe.spin_until(lambda: probe.node.get_publishers_info_by_topic(
        node.topic('color/image_raw')), 10)
    for topic in ('color/image_raw', 'depth/color/points', 'color/camera_info'):
        infos = probe.node.get_publishers_info_by_topic(node.topic(topic))
        assert infos and infos[0].qos_profile.reliability == ReliabilityPolicy.RELIABLE


def set_param(probe, node, name, value):
    v = ParameterValue()
    if isinstance(value, bool):
        v.type, v.bool_value = ParameterType.PARAMETER_BOOL, value
    elif isinstance(value, int):
        v.type, v.integer_value = ParameterType.PARAMETER_INTEGER, value
    elif isinstance(value, float):
        v.type, v.double_value = ParameterType.PARAMETER_DOUBLE, value
    else:
        v.type, v.string_value = ParameterType.PARAMETER_STRING, value
    req = SetParameters.Request(parameters=[Parameter(name=name, value=v)])
    res = probe.call(SetParameters, node.topic('set_parameters'), req)
    assert res is not None, 'parameter service did not answer'
    return res.results[0]


def test_parameters_validated_with_reasons(node, probe):
    bad = set_param(probe, node, 'cloud_decimation', 0)
    assert not bad.successful and bad.reason
    wrong_type = set_param(probe, node, 'jpeg_quality', 'high')
    assert not wrong_type.successful
    read_only = set_param(probe, node, 'width', 100)
    assert not read_only.successful
    fps = set_param(probe, node, 'fps', 500.0)
    assert not fps.successful
    ok = set_param(probe, node, 'cloud_decimation', 2)
    assert ok.successful, ok.reason
    msg = probe.spin_until(lambda: False, 0.3) or probe.collect(
        PointCloud2, node.topic('depth/color/points'), count=3)[-1]
    assert (msg.width, msg.height) == (W // 2, H // 2)
    assert set_param(probe, node, 'cloud_decimation', 1).successful


def test_qos_overrides_change_reliability(start_node, probe):
    p = start_node(namespace='qos', params={
        'width': 64, 'height': 48,
        'qos_overrides./qos/camera/color/image_raw.publisher.reliability': 'best_effort'})
    assert p.wait_output('publishing', 30), p.output()
    topic = p.topic('color/image_raw')
    assert probe.spin_until(lambda: probe.node.get_publishers_info_by_topic(topic), 10)
    info = probe.node.get_publishers_info_by_topic(topic)[0]
    assert info.qos_profile.reliability == ReliabilityPolicy.BEST_EFFORT
    other = probe.node.get_publishers_info_by_topic(p.topic('depth/image_rect_raw'))[0]
    assert other.qos_profile.reliability == ReliabilityPolicy.RELIABLE


def test_dense_cloud_parameter(start_node, probe):
    p = start_node(namespace='dense', params={'width': 64, 'height': 48, 'cloud_dense': True})
    msg = probe.collect(PointCloud2, p.topic('depth/color/points'))[0]
    assert msg.height == 1 and msg.is_dense
    pts = np.frombuffer(bytes(msg.data), np.float32).reshape(-1, 4)
    assert len(pts) == msg.width and np.isfinite(pts[:, :3]).all()
    assert msg.width < 64 * 48                      # the window's pixels were dropped


@pytest.mark.parametrize('sig', [signal.SIGINT, signal.SIGTERM])
def test_clean_shutdown_on_signal(start_node, sig):
    p = start_node(namespace='sig%d' % sig, params={'width': 64, 'height': 48})
    assert p.wait_output('publishing', 30), p.output()
    assert p.stop(sig) == 0, p.output()
    assert 'Traceback' not in p.output()


def test_unknown_driver_is_a_clear_error(start_node):
    p = start_node(namespace='bad', params={'driver': 'kinect'})
    p.proc.wait(30)
    out = p.output()
    assert p.proc.returncode not in (0, None)
    assert 'kinect' in out and 'synthetic' in out and 'realsense' in out


def test_unknown_parameters_are_reported(start_node):
    p = start_node(namespace='typo', params={'width': 64, 'height': 48, 'widht': 320})
    assert p.wait_output('publishing', 30), p.output()
    out = p.output()
    assert 'ignoring unknown parameter(s) widht' in out and 'width' in out


def test_publish_in_capture_thread(start_node, probe):
    p = start_node(namespace='inline', params={'width': 64, 'height': 48, 'fps': 15.0,
                                               'publish_in_capture_thread': True})
    assert p.wait_output('publishing', 30), p.output()
    stamps = collect_stamps(probe, p, {'color': (Image, 'color/image_raw'),
                                       'cloud': (PointCloud2, 'depth/color/points')})
    assert len(stamps.get('color', set()) & stamps.get('cloud', set())) >= 2, stamps
    # parameters still answer, and the flag cannot change while running
    assert set_param(probe, p, 'jpeg_quality', 70).successful
    assert not set_param(probe, p, 'publish_in_capture_thread', False).successful
    assert p.stop(signal.SIGTERM) == 0, p.output()
    assert 'Traceback' not in p.output()
