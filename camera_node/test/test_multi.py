"""Several cameras in one process (camera_node.cli.multi) over real DDS."""

import os
import signal
import subprocess
import sys

import pytest
from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import Image
from tf2_msgs.msg import TFMessage

from camera_node import launch_logic
from camera_node.cli import multi

CAMERAS = """
/**:
  ros__parameters:
    parent_frame: base_link
    width: 64
    height: 48
cameras:
  - name: left
    parameters:
      mount_pose: [0.0, 0.15, 0.0, 0.0, 0.0, 0.0]
  - name: right
    parameters:
      mount_pose: [0.0, -0.15, 0.0, 0.0, 0.0, 0.0]
      width: 32
      height: 24
"""


@pytest.fixture
def cameras_file(tmp_path):
    path = tmp_path / 'cameras.yaml'
    path.write_text(CAMERAS)
    return path


def test_camera_parameters_merge_file_common_and_own(cameras_file):
    specs = launch_logic.load_camera_list(str(cameras_file), multi._share_dir())
    right = multi.camera_parameters(specs[1])
    assert right['width'] == 32 and right['parent_frame'] == 'base_link'
    assert right['camera_name'] == 'right' and right['driver'] == 'synthetic'
    left = multi.camera_parameters(specs[0])
    assert left['width'] == 64


def test_two_cameras_in_one_process(cameras_file, probe, tmp_path):
    log = open(tmp_path / 'multi.log', 'w+')
    proc = subprocess.Popen([sys.executable, '-m', 'camera_node.cli.multi', str(cameras_file)],
                            stdout=log, stderr=subprocess.STDOUT, env=dict(os.environ))
    try:
        left = probe.collect(Image, '/left/camera/color/image_raw', timeout=30)
        right = probe.collect(Image, '/right/camera/color/image_raw', timeout=30)
        assert left and (left[0].width, left[0].height) == (64, 48)
        assert right and (right[0].width, right[0].height) == (32, 24)
        assert left[0].header.frame_id == 'left_color_optical_frame'
        assert right[0].header.frame_id == 'right_color_optical_frame'
        # a listener keeps many samples (tf2_ros uses 100): each camera's writer
        # delivers its own latched TFMessage
        latched = QoSProfile(depth=100, history=HistoryPolicy.KEEP_LAST,
                             reliability=ReliabilityPolicy.RELIABLE,
                             durability=DurabilityPolicy.TRANSIENT_LOCAL)
        parents = {}

        def keep(msg):
            parents.update({t.child_frame_id: t.header.frame_id for t in msg.transforms})

        sub = probe.node.create_subscription(TFMessage, '/tf_static', keep, latched)
        try:
            probe.spin_until(lambda: {'left_link', 'right_link'} <= set(parents), 20)
        finally:
            probe.node.destroy_subscription(sub)
        assert parents.get('left_link') == 'base_link', parents
        assert parents.get('right_link') == 'base_link', parents
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(20)
        log.seek(0)
        out = log.read()
    assert code == 0, out
    assert out.count('publishing') == 2, out


def test_bad_cameras_file_is_a_clear_error(tmp_path):
    path = tmp_path / 'dup.yaml'
    path.write_text('cameras:\n  - name: a\n  - name: a\n')
    res = subprocess.run([sys.executable, '-m', 'camera_node.cli.multi', str(path)],
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 2
    assert "two cameras are named 'a'" in res.stderr


def test_nested_parameters_of_a_params_file_become_dotted_names(tmp_path):
    path = tmp_path / 'nested.yaml'
    path.write_text('/**:\n  ros__parameters:\n    spatial_filter:\n      enable: true\n'
                    '      filter_magnitude: 3\n    temporal_filter.enable: true\n'
                    '    width: 64\n')
    params = multi._file_parameters(str(path), 'cam', 'camera')
    assert params == {'spatial_filter.enable': True, 'spatial_filter.filter_magnitude': 3,
                      'temporal_filter.enable': True, 'width': 64}
