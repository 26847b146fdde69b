"""The Viam camera services over real DDS, checked against the topics and the scene."""

import json
import struct

import numpy as np
import pytest
from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import Image
from tf2_msgs.msg import TFMessage
from visualization_msgs.msg import Marker, MarkerArray

from camera_node.viam import codecs as vf
from camera_node.viam import pcd
from camera_node.core.types import default_intrinsics
from camera_node.drivers.synthetic import scene as syn
from camera_node_interfaces.msg import Geometry
from camera_node_interfaces.srv import (Close, DoCommand, GetGeometries, GetImage, GetImages,
                                        GetPointCloud, GetProperties)

from conftest import NodeProcess

W, H = 160, 120
GEOMETRIES = json.dumps([
    {'type': 'box', 'label': 'housing', 'x': 0, 'y': 0, 'z': -12.5, 'dims_mm': [90, 25, 25]},
    {'type': 'sphere', 'label': 'lens', 'z': 5, 'radius_mm': 6},
    {'type': 'capsule', 'label': 'cable', 'x': 40, 'o_x': 1, 'o_y': 0, 'o_z': 0,
     'theta': 90, 'radius_mm': 4, 'length_mm': 60},
])
LATCHED = QoSProfile(depth=1, history=HistoryPolicy.KEEP_LAST,
                     reliability=ReliabilityPolicy.RELIABLE,
                     durability=DurabilityPolicy.TRANSIENT_LOCAL)


@pytest.fixture(scope='module')
def cam():
    proc = NodeProcess(namespace='svc', name='camera', params={
        'width': W, 'height': H, 'fps': 30.0, 'motion': True, 'geometries': GEOMETRIES})
    assert proc.wait_output('publishing', 30), proc.output()
    yield proc
    assert proc.stop() == 0, proc.output()


class Recorder:
    """Keep the recent messages of a topic by stamp."""

    def __init__(self, probe, topic):
        self.probe = probe
        self.by_stamp = {}
        self.sub = probe.node.create_subscription(
            Image, topic, self._keep, QoSProfile(depth=60, reliability=ReliabilityPolicy.RELIABLE))
        probe.spin_until(lambda: len(self.by_stamp) >= 2, 15)

    def _keep(self, msg):
        self.by_stamp[(msg.header.stamp.sec, msg.header.stamp.nanosec)] = msg

    def find(self, stamp):
        key = (stamp.sec, stamp.nanosec)
        self.probe.spin_until(lambda: key in self.by_stamp, 5)
        msg = self.by_stamp.get(key)
        assert msg is not None, 'no topic message with the service answer stamp %s' % (key,)
        dtype = np.uint16 if msg.encoding == '16UC1' else np.uint8
        a = np.frombuffer(bytes(msg.data), dtype)
        return a.reshape(msg.height, msg.width, -1).squeeze()

    def close(self):
        self.probe.node.destroy_subscription(self.sub)


@pytest.fixture
def topics(cam, probe):
    rec = {'color': Recorder(probe, cam.topic('color/image_raw')),
           'depth': Recorder(probe, cam.topic('aligned_depth_to_color/image_raw'))}
    yield rec
    for r in rec.values():
        r.close()


def call(probe, cam, srv, name, **fields):
    res = probe.call(srv, cam.topic(name), srv.Request(**fields))
    assert res is not None, '%s did not answer' % name
    return res


@pytest.mark.parametrize('wanted,extra,mime,source', [
    ('image/png', '{"ros_image": true}', 'image/png', 'color'),
    ('image/vnd.viam.rgba', '{"ros_image": true}', 'image/vnd.viam.rgba', 'color'),
    ('image/jpeg+lazy', '{"ros_image": true}', 'image/jpeg', 'color'),
    ('image/vnd.viam.dep', '{"ros_image": true}', 'image/vnd.viam.dep', 'depth'),
    ('image/png', '{"source": "depth", "ros_image": true}', 'image/png', 'depth'),
])
def test_get_image_matches_the_topic_frame_of_the_same_set(cam, probe, topics, wanted, extra,
                                                           mime, source):
    res = call(probe, cam, GetImage, 'get_image', mime_type=wanted, extra=extra)
    assert res.success, res.error
    assert (res.mime_type, res.source_name) == (mime, source)
    truth = topics[source].find(res.image.header.stamp)
    data = bytes(res.data)
    decoded = {'image/png': vf.decode_png, 'image/vnd.viam.rgba': vf.decode_rgba,
               'image/jpeg': vf.decode_jpeg, 'image/vnd.viam.dep': vf.decode_dep}[mime](data)
    if mime == 'image/vnd.viam.rgba':
        assert (decoded[..., 3] == 255).all()
        decoded = decoded[..., :3]
    if mime == 'image/jpeg':
        assert np.abs(decoded.astype(int) - truth).mean() < 6
    else:
        assert np.array_equal(decoded, truth)
    # the undecoded sensor_msgs/Image asked for with ros_image is the same frame
    raw = np.frombuffer(bytes(res.image.data), truth.dtype).reshape(truth.shape)
    assert np.array_equal(raw, truth)
    # ... with the encoding and frame of the topic it matches (depth: the aligned one)
    assert res.image.encoding == ('rgb8' if source == 'color' else '16UC1')
    assert res.image.header.frame_id == 'camera_color_optical_frame'
    assert res.image.step == W * (3 if source == 'color' else 2)


def test_rgba_and_dep_headers_byte_by_byte(cam, probe):
    rgba = bytes(call(probe, cam, GetImage, 'get_image', mime_type='image/vnd.viam.rgba').data)
    assert rgba[:4] == b'RGBA'
    assert rgba[4:12] == struct.pack('>II', W, H)
    assert len(rgba) == 12 + W * H * 4
    dep = bytes(call(probe, cam, GetImage, 'get_image', mime_type='image/vnd.viam.dep').data)
    assert dep[:8] == b'DEPTHMAP'
    assert dep[8:24] == struct.pack('>QQ', W, H)
    assert len(dep) == 24 + W * H * 2
    assert struct.unpack('>H', dep[24:26])[0] == 3000          # top-left pixel: the wall


def test_viam_sdk_decodes_our_bytes(cam, probe):
    from viam.media.video import CameraMimeType, ViamImage
    dep = call(probe, cam, GetImage, 'get_image', mime_type='image/vnd.viam.dep')
    arr = ViamImage(bytes(dep.data), CameraMimeType.VIAM_RAW_DEPTH).bytes_to_depth_array()
    ours = vf.decode_dep(bytes(dep.data))
    assert np.array_equal(np.asarray(arr), ours)
    from viam.media.utils.pil import viam_to_pil_image
    png = call(probe, cam, GetImage, 'get_image', mime_type='image/png')
    pil = viam_to_pil_image(ViamImage(bytes(png.data), CameraMimeType.PNG))
    assert pil.size == (W, H)
    assert np.array_equal(np.asarray(pil.convert('RGB')), vf.decode_png(bytes(png.data)))


@pytest.mark.parametrize('wanted,extra,mime,source', [
    ('image/gif', '', 'image/jpeg', 'color'),                     # unknown -> colour JPEG
    ('', '', 'image/jpeg', 'color'),                              # no preference
    ('image/vnd.viam.dep', '{"source": "color"}', 'image/jpeg', 'color'),
    ('image/jpeg', '{"source": "depth"}', 'image/vnd.viam.dep', 'depth'),
    ('image/vnd.viam.rgba', '{"source": "depth"}', 'image/vnd.viam.dep', 'depth'),
    ('pointcloud/pcd', '', 'image/jpeg', 'color'),
])
def test_fallback_rules(cam, probe, wanted, extra, mime, source):
    res = call(probe, cam, GetImage, 'get_image', mime_type=wanted, extra=extra)
    assert res.success, res.error
    assert (res.mime_type, res.source_name) == (mime, source)


def test_get_image_carries_raw_pixels_only_when_asked(cam, probe, topics):
    for extra in ('', '{"ros_image": false}'):
        res = call(probe, cam, GetImage, 'get_image', mime_type='image/jpeg', extra=extra)
        assert res.success, res.error
        # no 2.7 MB of pixels beside a JPEG nobody asked them for ...
        assert (res.image.width, res.image.height, len(res.image.data)) == (0, 0, 0)
        # ... but the header still says which frame (stamp) and where (optical frame)
        assert res.image.header.frame_id == 'camera_color_optical_frame'
        truth = topics['color'].find(res.image.header.stamp)
        assert np.abs(vf.decode_jpeg(bytes(res.data)).astype(int) - truth).mean() < 6


@pytest.mark.parametrize('extra,fragment', [
    ('{"source": "ir"}', "unknown source 'ir'"),
    ('{"ros_image": "yes"}', "extra.ros_image must be true or false, got 'yes'"),
    ('{"ros_image": 1}', 'extra.ros_image must be true or false, got 1'),
    ('not json', 'extra is not valid JSON'),
    ('[1, 2]', 'extra must be a JSON object'),
])
def test_get_image_errors(cam, probe, extra, fragment):
    res = call(probe, cam, GetImage, 'get_image', mime_type='image/png', extra=extra)
    assert not res.success and fragment in res.error


def test_get_images_one_frame_set_with_capture_time(cam, probe, topics):
    res = call(probe, cam, GetImages, 'get_images')
    assert res.success, res.error
    by = {i.source_name: i for i in res.images}
    assert set(by) == {'color', 'depth'}
    assert by['color'].mime_type == 'image/jpeg'
    assert by['depth'].mime_type == 'image/vnd.viam.dep'
    # both images are the topic frames stamped with captured_at: one frame set
    depth = topics['depth'].find(res.captured_at)
    assert np.array_equal(vf.decode_dep(bytes(by['depth'].data)), depth)
    color = topics['color'].find(res.captured_at)
    assert np.abs(vf.decode_jpeg(bytes(by['color'].data)).astype(int) - color).mean() < 6


def test_get_images_filter_extra_and_errors(cam, probe):
    res = call(probe, cam, GetImages, 'get_images', filter_source_names=['depth'])
    assert [i.source_name for i in res.images] == ['depth']
    res = call(probe, cam, GetImages, 'get_images', filter_source_names=['color'],
               extra='{"mime_type": "image/png"}')
    assert res.images[0].mime_type == 'image/png'
    bad = call(probe, cam, GetImages, 'get_images', filter_source_names=['color', 'thermal'])
    assert not bad.success and "'thermal'" in bad.error and 'color, depth' in bad.error


def test_point_cloud_is_pcd_on_the_scene(cam, probe, topics):
    res = call(probe, cam, GetPointCloud, 'get_point_cloud', mime_type='image/jpeg')
    assert res.success, res.error
    assert res.mime_type == 'pointcloud/pcd'             # the request's type is ignored
    data = bytes(res.data)
    header = data[:data.index(b'DATA binary\n') + len(b'DATA binary\n')].decode()
    assert header.startswith('VERSION .7\nFIELDS x y z rgb\nSIZE 4 4 4 4\nTYPE F F F I\n'
                             'COUNT 1 1 1 1\n')
    xyz, rgb = pcd.decode_pcd(data)
    depth = topics['depth'].find(res.captured_at)
    assert len(xyz) == np.count_nonzero(depth)           # valid points only
    assert 'HEIGHT 1\n' in header and 'POINTS %d\n' % len(xyz) in header
    assert np.isfinite(xyz).all()
    wall = np.abs(xyz[:, 2] - syn.WALL_Z) < 0.003
    floor = np.abs(xyz[:, 1] - syn.FLOOR_Y) < 0.006
    box = np.all((xyz > syn.BOX_MIN - 0.006) & (xyz < syn.BOX_MAX + 0.006), axis=1)
    sphere = np.abs(np.linalg.norm(xyz - np.array([0.5, 0.45, 2.0]), axis=1)
                    - syn.SPHERE_RADIUS) < 0.35                 # it moves along x
    assert (wall | floor | box | sphere).all()
    assert wall.sum() > 1000


def test_point_cloud_decimation_and_errors(cam, probe):
    full = pcd.decode_pcd(bytes(call(probe, cam, GetPointCloud, 'get_point_cloud').data))[0]
    half = call(probe, cam, GetPointCloud, 'get_point_cloud', extra='{"decimation": 2}')
    assert len(pcd.decode_pcd(bytes(half.data))[0]) < len(full) / 3
    bad = call(probe, cam, GetPointCloud, 'get_point_cloud', extra='{"decimation": 0}')
    assert not bad.success and 'decimation' in bad.error


def test_properties(cam, probe):
    res = call(probe, cam, GetProperties, 'get_properties')
    assert res.success, res.error
    intr = default_intrinsics(W, H, 60.0)
    ip = res.intrinsic_parameters
    assert (ip.width_px, ip.height_px) == (W, H)
    assert (ip.focal_x_px, ip.focal_y_px) == pytest.approx((intr.fx, intr.fy))
    assert (ip.center_x_px, ip.center_y_px) == pytest.approx((intr.cx, intr.cy))
    assert res.distortion_parameters.model == 'brown_conrady'
    assert list(res.distortion_parameters.parameters) == [0.0] * 5
    assert res.supports_pcd and not res.intrinsics_are_default
    assert set(res.mime_types) == {'image/jpeg', 'image/png', 'image/vnd.viam.rgba',
                                   'image/vnd.viam.dep'}
    assert res.has_frame_rate and 0 < res.frame_rate < 60
    assert res.has_extrinsics
    t = res.depth_to_color.translation
    assert (t.x, t.y, t.z) == pytest.approx((-0.015, 0, 0))
    assert res.extrinsic_translation_mm.x == pytest.approx(-15.0)
    assert list(res.extrinsic_axis_angle)[3] == pytest.approx(0.0)
    assert res.default_reference_frame == 'camera_color_optical_frame'


def do(probe, cam, text):
    return call(probe, cam, DoCommand, 'do_command', command=text)


def test_do_command_generic_and_driver_commands(cam, probe):
    status = do(probe, cam, '{"command": "status"}')
    assert status.success, status.error
    s = json.loads(status.result)
    assert s['driver'] == 'synthetic' and s['state'] == 'streaming'
    for key in ('capture_fps', 'dropped_frame_sets', 'reconnects', 'published_fps'):
        assert key in s
    helped = json.loads(do(probe, cam, '{"command": "help"}').result)['commands']
    assert {'status', 'help', 'get_parameters', 'set_parameters', 'scene'} <= set(helped)
    scene = json.loads(do(probe, cam, '{"command": "scene"}').result)
    assert scene['wall_z_m'] == syn.WALL_Z
    params = json.loads(do(probe, cam, '{"command": "get_parameters"}').result)['parameters']
    assert params['width'] == W


def test_do_command_set_parameters_validates(cam, probe):
    ok = json.loads(do(probe, cam, json.dumps(
        {'command': 'set_parameters', 'parameters': {'jpeg_quality': 60.0}})).result)
    assert ok['results']['jpeg_quality']['successful']
    bad = json.loads(do(probe, cam, json.dumps(
        {'command': 'set_parameters', 'parameters': {'jpeg_quality': 500}})).result)
    assert not bad['results']['jpeg_quality']['successful']
    assert bad['results']['jpeg_quality']['reason']
    unknown = do(probe, cam, json.dumps({'command': 'set_parameters',
                                         'parameters': {'nope': 1}}))
    assert not unknown.success and 'nope' in unknown.error


@pytest.mark.parametrize('text,fragment', [
    ('{"command": "selfdestruct"}', "unknown command 'selfdestruct'; known commands:"),
    ('{"command": ', 'not valid JSON'),
    ('[1, 2, 3]', 'must be a JSON object'),
    ('', 'must be a JSON object'),
    ('{"cmd": "status"}', 'needs a "command" string'),
    ('{"command": 5}', 'needs a "command" string'),
    ('{"command": "status", "pad": "%s"}' % ('x' * 70000), 'the limit is'),
])
def test_do_command_errors(cam, probe, text, fragment):
    res = do(probe, cam, text)
    assert not res.success
    assert fragment in res.error


def test_geometries_viam_form_ros_form_tf_and_markers(cam, probe):
    res = call(probe, cam, GetGeometries, 'get_geometries')
    assert res.success, res.error
    g = {x.label: x for x in res.geometries}
    assert g['housing'].shape == Geometry.BOX
    assert (g['housing'].dims_mm.x, g['housing'].center.z) == (90, -12.5)
    assert g['housing'].pose.position.z == pytest.approx(-0.0125)
    assert g['lens'].shape == Geometry.SPHERE and g['lens'].radius_mm == 6
    cable = g['cable']
    assert cable.shape == Geometry.CAPSULE and cable.length_mm == 60
    # OV (1, 0, 0, 90 deg): local +Z is turned onto +X
    q = cable.pose.orientation
    from camera_node.core.orientation import rotate_vector
    assert rotate_vector((q.x, q.y, q.z, q.w), (0, 0, 1)) == pytest.approx((1, 0, 0), abs=1e-9)
    assert all(x.frame_id == 'camera_color_optical_frame' for x in res.geometries)
    tfs = {t.child_frame_id: t for m in probe.collect(TFMessage, '/tf_static', qos=LATCHED)
           for t in m.transforms}
    assert tfs['camera_geometry_housing'].header.frame_id == 'camera_color_optical_frame'
    assert tfs['camera_geometry_housing'].transform.translation.z == pytest.approx(-0.0125)
    arr = probe.collect(MarkerArray, cam.topic('geometries'), qos=LATCHED)[0]
    kinds = [m.type for m in arr.markers if m.action == Marker.ADD]
    assert kinds.count(Marker.CUBE) == 1 and Marker.CYLINDER in kinds


def test_invalid_geometries_are_rejected_with_a_reason(cam, probe):
    from rcl_interfaces.msg import Parameter, ParameterType, ParameterValue
    from rcl_interfaces.srv import SetParameters
    value = ParameterValue(type=ParameterType.PARAMETER_STRING, string_value=json.dumps(
        [{'type': 'capsule', 'label': 'c', 'radius_mm': 10, 'length_mm': 5}]))
    res = probe.call(SetParameters, cam.topic('set_parameters'), SetParameters.Request(
        parameters=[Parameter(name='geometries', value=value)]))
    assert not res.results[0].successful
    assert 'at least 2 x radius_mm' in res.results[0].reason
    still = call(probe, cam, GetGeometries, 'get_geometries')
    assert len(still.geometries) == 3


def test_close_releases_the_device_and_refuses_calls(start_node, probe):
    p = start_node(namespace='closing', params={'width': 64, 'height': 48})
    # no wait for the first frame: a request right after start waits for it briefly
    ok = call(probe, p, GetImage, 'get_image', mime_type='image/png')
    assert ok.success
    assert call(probe, p, Close, 'close').success
    refused = call(probe, p, GetImage, 'get_image', mime_type='image/png')
    assert not refused.success and 'closed' in refused.error
    refused = call(probe, p, GetImages, 'get_images')
    assert not refused.success and 'closed' in refused.error
    refused = call(probe, p, GetGeometries, 'get_geometries')
    assert not refused.success and 'closed' in refused.error
    status = json.loads(do(probe, p, '{"command": "status"}').result)
    assert status['state'] == 'closed'
    assert call(probe, p, Close, 'close').success              # idempotent
    assert p.stop() == 0
