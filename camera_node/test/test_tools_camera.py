"""The default camera under the real tools: ``ros2 launch``, the README's ``ros2`` commands,
tf2 lookups and sensor_msgs_py on every cloud variant.

One ``ros2 launch camera_node camera.launch.py`` (the README's first line) serves the
whole module; the tests run in file order and the last one closes the camera.
"""

import json
import re

import numpy as np
import pytest

from doc_commands import doc, words
from ros_tools import (get_parameters, Launch, needs_tools, NO_DAEMON, ros2, ros2_until,
                       set_parameters)

pytestmark = needs_tools

NODE = '/camera/camera'
OPTICAL = (-0.5, 0.5, -0.5, 0.5)          # REP-103 optical frame rotation (x, y, z, w)
#: the README's summary of a reply holding megabytes of numbers
SUMMARY = r" | sed -E 's/\[[0-9, ]{60,}\]/[...]/g'"
_SRV = 'ros2 service call /camera/camera/%s camera_node_interfaces/srv/%s "%s"'
#: the documented commands this module runs, as written
CMD = {key: doc(command, __name__) for key, command in {
    'launch': 'ros2 launch camera_node camera.launch.py',
    'get_image': _SRV % ('get_image', 'GetImage', '{mime_type: image/png}'),
    'get_image summary': _SRV % ('get_image', 'GetImage', '{mime_type: image/png}') + SUMMARY,
    'get_images': _SRV % ('get_images', 'GetImages', '{filter_source_names: [color, depth]}'),
    'get_point_cloud': _SRV % ('get_point_cloud', 'GetPointCloud', '{}'),
    'get_properties': _SRV % ('get_properties', 'GetProperties', '{}'),
    'do_command': _SRV % ('do_command', 'DoCommand', '{command: \'{\\"command\\": '
                                                     '\\"status\\"}\'}'),
    'get_geometries': _SRV % ('get_geometries', 'GetGeometries', '{}'),
    'close': _SRV % ('close', 'Close', '{}'),
    'decimation': 'ros2 param set /camera/camera cloud_decimation 4',
    'dense': 'ros2 param set /camera/camera cloud_dense true',
    'jpeg_quality': 'ros2 param set /camera/camera jpeg_quality 0',
    'width': 'ros2 param set /camera/camera width 1280',
    'geometries': 'ros2 param set /camera/camera geometries '
                  '"[{type: box, label: housing, z: -12.5, dims_mm: [90, 25, 25]}]"',
    'hz': 'ros2 topic hz /camera/camera/color/image_raw',
}.items()}


@pytest.fixture(scope='module')
def camera():
    launch = Launch(*words(CMD['launch'], 'launch'))
    try:
        assert launch.wait_for(r'\[camera\.camera\]: camera .camera.: driver synthetic', 90), \
            launch.output()
        yield launch
    finally:
        code = launch.stop()
        assert not launch.killed, 'left running after Ctrl-C: %s' % launch.killed
        assert code == 0, launch.output()


def service_call(command):
    """Run a documented ros2 service call (a shell line); return its printed response.

    (Repeated if it hangs: see ros_tools.ros2_until. Not for Close, which is done once.)
    """
    res = ros2_until((command,), lambda r: r.returncode == 0 and 'response:' in r.stdout,
                     timeout=180, attempt=60, shell=True)
    assert res.returncode == 0, res.stdout + res.stderr
    assert 'response:' in res.stdout, res.stdout
    return res.stdout.split('response:', 1)[1].strip()


# -- the launch ----------------------------------------------------------------------------
def test_launch_starts_the_synthetic_camera_as_documented(camera):
    out = camera.output()
    assert 'colour 640x480, depth 640x480, 30.0 fps' in out
    for topic in ('color/image_raw', 'depth/image_rect_raw', 'aligned_depth_to_color/image_raw',
                  'depth/color/points', 'color/image_raw/compressed'):
        assert '%s/%s' % (NODE, topic) in out
    assert 'frames camera_link' in out
    assert len(camera.node_pids()) == 1
    res = ros2_until(('node', 'list') + NO_DAEMON, lambda r: NODE in r.stdout.split())
    assert NODE in res.stdout.split(), res.stdout + res.stderr


# -- the README's service calls ------------------------------------------------------------
def test_get_image_summary(camera):
    res = ros2_until((CMD['get_image summary'],), lambda r: 'response:' in r.stdout,
                     timeout=180, attempt=60, shell=True)
    assert len(res.stdout) < 2000, 'the summary is not short: %d bytes' % len(res.stdout)
    assert ("GetImage_Response(success=True, error='', mime_type='image/png', "
            "source_name='color', data=[...], image=sensor_msgs.msg.Image(") in res.stdout
    # the image's header only: its pixels come when extra asks {"ros_image": true}
    assert "frame_id='camera_color_optical_frame'), height=0, width=0" in res.stdout


def test_get_image_in_full(camera):
    reply = service_call(CMD['get_image'])
    data = re.search(r"mime_type='image/png', source_name='color', data=\[([0-9, ]+)\]", reply)
    assert data, reply[:500]
    png = bytes(int(v) for v in data.group(1).split(', ')[:8])
    assert png == b'\x89PNG\r\n\x1a\n'


def test_get_images(camera):
    reply = re.sub(r'\[[0-9, ]{60,}\]', '[...]', service_call(CMD['get_images']))
    assert reply.startswith('camera_node_interfaces.srv.GetImages_Response(success=True, '
                            "error='', images=[camera_node_interfaces.msg.NamedImage("
                            "source_name='color', mime_type='image/jpeg', data=[...]), "
                            "camera_node_interfaces.msg.NamedImage(source_name='depth', "
                            "mime_type='image/vnd.viam.dep', data=[...])], captured_at="), reply


def test_get_point_cloud(camera):
    reply = service_call(CMD['get_point_cloud'])
    assert reply.startswith('camera_node_interfaces.srv.GetPointCloud_Response(success=True, '
                            "error='', mime_type='pointcloud/pcd', data=[")
    data = re.search(r'data=\[([0-9, ]+)\]', reply).group(1)
    header = bytes(int(v) for v in data.split(', ')[:200]).split(b'DATA binary\n')[0].decode()
    assert 'FIELDS x y z rgb' in header and 'VERSION' in header, header


def test_get_properties(camera):
    reply = service_call(CMD['get_properties'])
    assert 'success=True' in reply and 'supports_pcd=True' in reply
    assert 'width_px=640, height_px=480' in reply


def test_do_command_status(camera):
    reply = service_call(CMD['do_command'])
    assert "success=True, error=''" in reply
    status = json.loads(re.search(r"result='(\{.*\})'", reply).group(1))
    assert status['camera'] == 'camera' and status['driver'] == 'synthetic'
    assert status['state'] == 'streaming' and status['frames_captured'] > 0


# -- parameters and rates from the command line --------------------------------------------
def param_set(command):
    """Run a documented ``ros2 param set`` (without the daemon); return what it printed."""
    res = ros2_until(['param'] + words(command, 'param') + list(NO_DAEMON),
                     lambda r: 'Node not found' not in r.stdout + r.stderr)
    return (res.stdout + res.stderr).strip()


def test_param_set_accepted_and_rejected(camera, probe):
    assert param_set(CMD['decimation']) == 'Set parameter successful'
    assert param_set(CMD['dense']) == 'Set parameter successful'
    assert get_parameters(probe, NODE, 'cloud_decimation', 'cloud_dense') == [4, True]
    assert param_set(CMD['jpeg_quality']) == (
        'Setting parameter failed: Parameter jpeg_quality out of range. Min: 1, Max: 100, '
        'value: 0')
    out = param_set(CMD['width'])
    assert out.startswith('Setting parameter failed') and 'read-only' in out, out
    assert get_parameters(probe, NODE, 'jpeg_quality', 'width') == [80, 640]


def test_parameters_reset(camera, probe):
    set_parameters(probe, NODE, cloud_decimation=1, cloud_dense=False)


def test_topic_hz(camera):
    res = ros2('topic', *words(CMD['hz'], 'topic'), stop_after=6, timeout=30)
    rates = [float(r) for r in re.findall(r'average rate: ([0-9.]+)', res.stdout)]
    assert rates, res.stdout + res.stderr
    assert 0.0 < rates[-1] < 31.0, rates         # set to 30 fps; a busy host may lag


# -- tf2 -----------------------------------------------------------------------------------
@pytest.fixture(scope='module')
def tf_buffer(probe):
    from tf2_ros import Buffer, TransformListener
    buffer = Buffer()
    listener = TransformListener(buffer, probe.node, spin_thread=False)
    yield buffer
    listener.unregister()


def same_rotation(q, expected):
    """Whether quaternions q and expected are the same rotation (q and -q are)."""
    return (q == pytest.approx(expected, abs=1e-6)
            or tuple(-v for v in q) == pytest.approx(expected, abs=1e-6))


def lookup(probe, buffer, target, source, timeout=30.0):
    from rclpy.time import Time
    probe.spin_until(lambda: buffer.can_transform(target, source, Time()), timeout)
    t = buffer.lookup_transform(target, source, Time()).transform
    return ((t.translation.x, t.translation.y, t.translation.z),
            (t.rotation.x, t.rotation.y, t.rotation.z, t.rotation.w))


def test_tf2_lookups_of_every_frame(camera, probe, tf_buffer):
    frames = ('camera_color_frame', 'camera_color_optical_frame', 'camera_depth_frame',
              'camera_depth_optical_frame')
    for frame in frames:
        lookup(probe, tf_buffer, 'camera_link', frame)
    _, q = lookup(probe, tf_buffer, 'camera_color_frame', 'camera_color_optical_frame')
    assert same_rotation(q, OPTICAL), q
    _, q = lookup(probe, tf_buffer, 'camera_depth_frame', 'camera_depth_optical_frame')
    assert same_rotation(q, OPTICAL), q
    # the synthetic depth imager sits 15 mm left of the colour imager (x right, optical)
    xyz, q = lookup(probe, tf_buffer, 'camera_depth_optical_frame', 'camera_color_optical_frame')
    assert xyz == pytest.approx((0.015, 0.0, 0.0), abs=1e-6)
    assert same_rotation(q, (0.0, 0.0, 0.0, 1.0)), q


def test_tf2_lookup_of_a_geometry_set_at_runtime(camera, probe, tf_buffer):
    assert param_set(CMD['geometries']) == 'Set parameter successful'
    xyz, q = lookup(probe, tf_buffer, 'camera_color_optical_frame', 'camera_geometry_housing')
    assert xyz == pytest.approx((0.0, 0.0, -0.0125), abs=1e-6)
    assert same_rotation(q, (0.0, 0.0, 0.0, 1.0)), q
    lookup(probe, tf_buffer, 'camera_link', 'camera_geometry_housing')     # one tree
    reply = service_call(CMD['get_geometries'])
    assert "label='housing'" in reply and 'success=True' in reply


# -- sensor_msgs_py on every cloud variant --------------------------------------------------
def frame_set(probe, shape):
    """Return (cloud, aligned depth, colour) of one frame set (same stamp) whose cloud has
    shape (height, width)."""
    from rclpy.qos import qos_profile_sensor_data
    from sensor_msgs.msg import Image, PointCloud2
    got = {'cloud': {}, 'depth': {}, 'color': {}}

    def keep(key):
        return lambda m: got[key].__setitem__((m.header.stamp.sec, m.header.stamp.nanosec), m)

    topics = (('cloud', PointCloud2, '/depth/color/points'),
              ('depth', Image, '/aligned_depth_to_color/image_raw'),
              ('color', Image, '/color/image_raw'))
    subs = [probe.node.create_subscription(kind, NODE + topic, keep(key),
                                           qos_profile_sensor_data)
            for key, kind, topic in topics]

    def matched():
        both = set(got['cloud']) & set(got['depth']) & set(got['color'])
        return [s for s in both if shape in ((got['cloud'][s].height, got['cloud'][s].width),
                                             (got['cloud'][s].height, None))]

    try:
        assert probe.spin_until(lambda: matched(), 60), {k: len(v) for k, v in got.items()}
    finally:
        for sub in subs:
            probe.node.destroy_subscription(sub)
    stamp = matched()[0]
    depth = np.frombuffer(bytes(got['depth'][stamp].data), np.uint16).reshape(480, 640)
    color = np.frombuffer(bytes(got['color'][stamp].data), np.uint8).reshape(480, 640, 3)
    return got['cloud'][stamp], depth, color


def packed_rgb(color):
    c = color.astype(np.uint32)
    return (c[..., 0] << 16) | (c[..., 1] << 8) | c[..., 2]


def test_read_points_organized(camera, probe):
    from sensor_msgs_py.point_cloud2 import read_points
    cloud, depth, color = frame_set(probe, (480, 640))
    assert (cloud.height, cloud.width, cloud.is_dense) == (480, 640, False)
    assert cloud.header.frame_id == 'camera_color_optical_frame'
    points = read_points(cloud, field_names=('x', 'y', 'z', 'rgb'))
    assert points.shape == (480 * 640,)
    z = points['z'].reshape(480, 640)
    valid = depth > 0
    assert 0 < valid.sum() < valid.size                  # the scene has a no-depth window
    assert np.isnan(z[~valid]).all()
    assert np.allclose(z[valid], depth[valid] / 1000.0, atol=1e-6)
    rgb = points['rgb'].reshape(480, 640).view(np.uint32)
    assert (rgb[valid] == packed_rgb(color)[valid]).all()
    assert len(read_points(cloud, skip_nans=True)) == valid.sum()


def test_read_points_dense(camera, probe):
    from sensor_msgs_py.point_cloud2 import read_points
    set_parameters(probe, NODE, cloud_dense=True)
    try:
        cloud, depth, color = frame_set(probe, (1, None))
    finally:
        set_parameters(probe, NODE, cloud_dense=False)
    assert (cloud.height, cloud.is_dense) == (1, True)
    points = read_points(cloud, field_names=('x', 'y', 'z', 'rgb'))
    valid = depth > 0
    assert len(points) == cloud.width == valid.sum()
    assert np.isfinite(points['z']).all()
    assert np.allclose(np.sort(points['z']), np.sort(depth[valid] / 1000.0), atol=1e-6)


def test_read_points_decimated(camera, probe):
    from sensor_msgs_py.point_cloud2 import read_points
    set_parameters(probe, NODE, cloud_decimation=4)
    try:
        cloud, depth, color = frame_set(probe, (120, 160))
    finally:
        set_parameters(probe, NODE, cloud_decimation=1)
    assert (cloud.height, cloud.width) == (120, 160)
    points = read_points(cloud, field_names=('z', 'rgb'))
    z = points['z'].reshape(120, 160)
    sub = depth[::4, ::4]
    assert np.isnan(z[sub == 0]).all()
    assert np.allclose(z[sub > 0], sub[sub > 0] / 1000.0, atol=1e-6)
    rgb = points['rgb'].reshape(120, 160).view(np.uint32)
    assert (rgb[sub > 0] == packed_rgb(color[::4, ::4])[sub > 0]).all()


# -- last: Close ---------------------------------------------------------------------------
def test_close_then_services_refuse(camera):
    res = ros2(CMD['close'], shell=True, timeout=180)
    assert "response:\ncamera_node_interfaces.srv.Close_Response(success=True, error='')" in \
        res.stdout, res.stdout + res.stderr
    reply = service_call('ros2 service call /camera/camera/get_properties '
                         'camera_node_interfaces/srv/GetProperties "{}"')
    assert 'success=False' in reply and 'closed' in reply, reply
