"""multi_camera.launch.py and ``ros2 run camera_node cameras`` under the real tools.

One ``ros2 launch camera_node multi_camera.launch.py`` (the shipped two-camera file)
serves the TF and cloud tests; the other cases start their own.
"""

import math

import numpy as np
import pytest

from doc_commands import doc, words
from ros_tools import Launch, needs_tools

pytestmark = needs_tools

#: the documented commands this module runs, as written
TWO_CAMERAS = doc('ros2 launch camera_node multi_camera.launch.py', __name__)
MISSING_FILE = doc('ros2 launch camera_node multi_camera.launch.py '
                   'cameras_file:=/robot/config/cameras.yaml', __name__)
IN_ONE_PROCESS = doc('ros2 run camera_node cameras cameras.yaml', __name__)

CAMERAS = """
/**:
  ros__parameters:
    parent_frame: base_link
cameras:
  - name: front
    driver: realsense
    parameters:
      serial_no: '012345678901'
  - name: small
    parameters: {width: 64, height: 48}
"""

SMALL = """
cameras:
  - name: a
    parameters: {width: 64, height: 48}
  - name: b
    parameters: {width: 32, height: 24}
"""


def stopped(launch):
    code = launch.stop()
    assert not launch.killed, '%r left processes running: %s' % (launch, launch.killed)
    return code


@pytest.fixture(scope='module')
def two_cameras():
    launch = Launch(*words(TWO_CAMERAS, 'launch'))
    try:
        for name in ('left', 'right'):
            assert launch.wait_for(r"\[%s\.camera\]: camera '%s': driver synthetic"
                                   % (name, name), 120), launch.output()
        yield launch
    finally:
        assert stopped(launch) == 0, launch.output()


def test_two_cameras_in_their_namespaces(two_cameras):
    out = two_cameras.output()
    assert 'multi_camera.launch.py: left (synthetic) at /left/camera' in out
    assert 'multi_camera.launch.py: right (synthetic) at /right/camera' in out
    assert '/left/camera/color/image_raw' in out and '/right/camera/color/image_raw' in out
    assert 'frames left_link' in out and 'frames right_link' in out
    assert len(two_cameras.node_pids()) == 2


def test_mount_poses_on_tf(two_cameras, probe):
    from rclpy.time import Time
    from tf2_ros import Buffer, TransformListener
    buffer = Buffer()
    listener = TransformListener(buffer, probe.node, spin_thread=False)
    try:
        for name in ('left', 'right'):
            assert probe.spin_until(lambda: buffer.can_transform(
                'base_link', '%s_color_optical_frame' % name, Time()), 60), name
        poses = {name: buffer.lookup_transform('base_link', name + '_link', Time()).transform
                 for name in ('left', 'right')}
    finally:
        listener.unregister()
    for name, y, yaw in (('left', 0.15, 0.2618), ('right', -0.15, -0.2618)):
        t = poses[name]
        assert (t.translation.x, t.translation.y, t.translation.z) == pytest.approx(
            (0.0, y, 0.0), abs=1e-6)
        assert abs(t.rotation.x) < 1e-6 and abs(t.rotation.y) < 1e-6
        got = 2 * math.atan2(t.rotation.z, t.rotation.w)
        assert (math.cos(got), math.sin(got)) == pytest.approx((math.cos(yaw), math.sin(yaw)),
                                                               abs=1e-6)


def test_read_points_on_the_decimated_cloud(two_cameras, probe):
    """The shipped file sets cloud_decimation: 2 for both cameras."""
    from sensor_msgs.msg import Image, PointCloud2
    from sensor_msgs_py.point_cloud2 import read_points
    (cloud,) = probe.collect(PointCloud2, '/left/camera/depth/color/points', timeout=60)
    (depth,) = probe.collect(Image, '/left/camera/aligned_depth_to_color/image_raw',
                             timeout=60)
    assert (cloud.height, cloud.width, cloud.header.frame_id) == (
        240, 320, 'left_color_optical_frame')
    z = read_points(cloud, field_names=('z',))['z'].reshape(240, 320)
    # the left camera does not move: every frame set has the same depth
    sub = np.frombuffer(bytes(depth.data), np.uint16).reshape(480, 640)[::2, ::2]
    assert np.isnan(z[sub == 0]).all()
    assert np.allclose(z[sub > 0], sub[sub > 0] / 1000.0, atol=1e-6)


# -- cameras files of one's own --------------------------------------------------------------
def test_cameras_file_as_written_does_not_exist():
    launch = Launch(*words(MISSING_FILE, 'launch'))
    try:
        assert launch.wait_exit(90) == 1, launch.output()
    finally:
        stopped(launch)
    out = launch.output()
    assert ('cannot read cameras file /robot/config/cameras.yaml: No such file or directory'
            in out), out
    assert 'process started' not in out


def test_serial_numbers_in_a_cameras_file_arrive_as_written(tmp_path):
    """Finding 1: serial_no: '012345678901' in the YAML reaches the node as that string."""
    path = tmp_path / 'cameras.yaml'
    path.write_text(CAMERAS)
    launch = Launch('camera_node', 'multi_camera.launch.py', 'cameras_file:=%s' % path)
    try:
        assert launch.wait_for(r"\[small\.camera\]: camera 'small': driver synthetic", 120)
        assert launch.wait_for(r'\[front\.camera\]: cannot open camera \(attempt 1\)', 120)
    finally:
        assert stopped(launch) == 0, launch.output()
    assert "no RealSense device with serial '012345678901' found" in launch.output()


@pytest.mark.parametrize('text, arguments, message', [
    ('cameras: [{name: a}, {name: b, namespace: a}]', (),
     "cameras 'a' and 'b' are both in namespace /a"),
    ('cameras: [{name: a, parameters: {widht: 64}}]', (),
     "camera 'a': unknown parameter 'widht' for driver synthetic; did you mean width?"),
    (SMALL, ('width:=320',), 'multi_camera.launch.py takes camera parameters from the '
     'cameras file, not from the command line (width)'),
])
def test_bad_cameras_stop_the_launch(tmp_path, text, arguments, message):
    path = tmp_path / 'cameras.yaml'
    path.write_text(text)
    launch = Launch('camera_node', 'multi_camera.launch.py', 'cameras_file:=%s' % path,
                    *arguments)
    try:
        assert launch.wait_exit(90) == 1, launch.output()
    finally:
        stopped(launch)
    assert message in launch.output() and 'process started' not in launch.output()


def test_cameras_in_one_process(tmp_path):
    """README: ros2 run camera_node cameras cameras.yaml (in the folder holding it)."""
    (tmp_path / 'cameras.yaml').write_text(SMALL)
    run = Launch(*words(IN_ONE_PROCESS, 'run'), verb='run', cwd=str(tmp_path))
    try:
        for name, size in (('a', '64x48'), ('b', '32x24')):
            assert run.wait_for(r"\[%s\.camera\]: camera '%s': driver synthetic .*colour %s"
                                % (name, name, size), 120), run.output()
    finally:
        assert stopped(run) == 0, run.output()
