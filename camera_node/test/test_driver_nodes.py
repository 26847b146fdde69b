"""Hardware drivers behind the real node: same topics, TF and Viam services as synthetic.

The RealSense node plays a recording this module makes with the SDK's software device
(the driver's ``playback_file`` seam); the file node replays an RGB-D image sequence.
The OAK-D driver needs a device for its graph, so it is covered in-process only
(test_driver_oakd.py).
"""

import json

import cv2
import numpy as np
import pytest
from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import CameraInfo, Image, PointCloud2
from tf2_msgs.msg import TFMessage

from camera_node.viam import pcd
from camera_node_interfaces.srv import DoCommand, GetImages, GetPointCloud, GetProperties

LATCHED = QoSProfile(depth=1, history=HistoryPolicy.KEEP_LAST,
                     reliability=ReliabilityPolicy.RELIABLE,
                     durability=DurabilityPolicy.TRANSIENT_LOCAL)


def image_array(msg):
    dtype = np.uint16 if msg.encoding == '16UC1' else np.uint8
    return np.frombuffer(bytes(msg.data), dtype).reshape(msg.height, msg.width, -1).squeeze()


@pytest.fixture(scope='module')
def rs_recording(tmp_path_factory):
    rs_test = pytest.importorskip('test_driver_realsense')
    return rs_test, rs_test.make_recording(tmp_path_factory.mktemp('rsnode') / 'rec.db3')


def test_realsense_playback_node(rs_recording, start_node, probe):
    rs_test, path = rs_recording
    p = start_node(namespace='rsn', params={'driver': 'realsense', 'playback_file': str(path),
                                            'playback_loop': True, 'camera_name': 'rs'})
    assert p.wait_output('publishing', 30), p.output()
    assert 'driver realsense' in p.output()
    info = probe.collect(CameraInfo, p.topic('color/camera_info'))[0]
    c = rs_test.COLOR_INTR
    assert (info.width, info.height) == (rs_test.W, rs_test.H)
    assert (info.k[0], info.k[2], info.k[4], info.k[5]) == pytest.approx(
        (c['fx'], c['ppx'], c['fy'], c['ppy']))
    depth = image_array(probe.collect(Image, p.topic('depth/image_rect_raw'))[0])
    # the recording stores 0.1 mm units; the node publishes millimetres
    assert depth[20, 30] in {rs_test.wall_mm(i) for i in range(rs_test.N)}
    assert np.array_equal(depth[:4, :4], rs_test.BLOCK)
    aligned = image_array(probe.collect(Image, p.topic('aligned_depth_to_color/image_raw'))[0])
    assert aligned.shape == (rs_test.H, rs_test.W)
    cloud = probe.collect(PointCloud2, p.topic('depth/color/points'))[0]
    assert cloud.header.frame_id == 'rs_color_optical_frame'
    props = probe.call(GetProperties, p.topic('get_properties'), GetProperties.Request())
    assert props.success, props.error
    assert props.intrinsic_parameters.focal_x_px == pytest.approx(c['fx'])
    assert props.supports_pcd and props.has_extrinsics
    t = props.depth_to_color.translation
    assert (t.x, t.y, t.z) == pytest.approx(tuple(rs_test.TRANSLATION), abs=1e-6)
    images = probe.call(GetImages, p.topic('get_images'), GetImages.Request())
    assert images.success, images.error
    assert sorted(i.source_name for i in images.images) == ['color', 'depth']
    cloud = probe.call(GetPointCloud, p.topic('get_point_cloud'), GetPointCloud.Request())
    xyz, _ = pcd.decode_pcd(bytes(cloud.data))
    assert len(xyz) > 0 and np.nanmedian(xyz[:, 2]) == pytest.approx(1.05, abs=0.1)
    tfs = {t.child_frame_id: t for m in probe.collect(TFMessage, '/tf_static', qos=LATCHED)
           for t in m.transforms}
    assert 'rs_color_optical_frame' in tfs and 'rs_depth_optical_frame' in tfs
    info = json.loads(probe.call(DoCommand, p.topic('do_command'), DoCommand.Request(
        command='{"command": "device_info"}')).result)
    assert rs_test.SERIAL in json.dumps(info)
    assert p.stop() == 0, p.output()


@pytest.fixture(scope='module')
def rgbd_sequence(tmp_path_factory):
    d = tmp_path_factory.mktemp('rgbd')
    rng = np.random.default_rng(5)
    frames = []
    for i in range(5):
        rgb = rng.integers(0, 256, size=(48, 64, 3), dtype=np.uint8)
        depth = np.full((48, 64), 1500 + i, np.uint16)
        depth[:5, :5] = 0
        cv2.imwrite(str(d / ('rgb_%03d.png' % i)), rgb[..., ::-1])
        cv2.imwrite(str(d / ('depth_%03d.png' % i)), depth)
        frames.append((rgb, depth))
    return d, frames


def test_file_rgbd_replay_node(rgbd_sequence, start_node, probe):
    d, frames = rgbd_sequence
    p = start_node(namespace='rgbd', params={
        'driver': 'file', 'source': str(d / 'rgb_%03d.png'),
        'depth_source': str(d / 'depth_%03d.png'), 'loop': True, 'fps': 10.0})
    assert p.wait_output('publishing', 30), p.output()
    color = image_array(probe.collect(Image, p.topic('color/image_raw'))[0])
    assert any(np.array_equal(color, rgb) for rgb, _ in frames)
    depth = image_array(probe.collect(Image, p.topic('aligned_depth_to_color/image_raw'))[0])
    assert depth[20, 20] in {1500 + i for i in range(5)} and depth[0, 0] == 0
    props = probe.call(GetProperties, p.topic('get_properties'), GetProperties.Request())
    assert props.supports_pcd and props.intrinsics_are_default
    cloud = probe.collect(PointCloud2, p.topic('depth/color/points'))[0]
    pts = np.frombuffer(bytes(cloud.data), np.float32).reshape(48, 64, 4)
    assert np.isnan(pts[0, 0, 2]) and pts[20, 20, 2] == pytest.approx(1.5, abs=0.01)
    assert p.stop() == 0, p.output()


def test_webcam_file_without_depth_serves_colour_only(rgbd_sequence, start_node, probe):
    d, frames = rgbd_sequence
    p = start_node(namespace='colonly', params={
        'driver': 'file', 'source': str(d / 'rgb_%03d.png'), 'loop': True, 'fps': 10.0})
    assert p.wait_output('publishing', 30), p.output()
    assert 'no depth' in p.output()
    assert probe.collect(Image, p.topic('color/image_raw'))
    props = probe.call(GetProperties, p.topic('get_properties'), GetProperties.Request())
    assert not props.supports_pcd and not props.has_extrinsics
    assert set(props.mime_types) == {'image/jpeg', 'image/png', 'image/vnd.viam.rgba'}
    names = [t for t, _ in probe.node.get_topic_names_and_types()]
    assert p.topic('depth/image_rect_raw') not in names
    cloud = probe.call(GetPointCloud, p.topic('get_point_cloud'), GetPointCloud.Request())
    assert not cloud.success and 'supports_pcd is false' in cloud.error
    images = probe.call(GetImages, p.topic('get_images'), GetImages.Request())
    assert [i.source_name for i in images.images] == ['color']
    assert p.stop() == 0, p.output()
