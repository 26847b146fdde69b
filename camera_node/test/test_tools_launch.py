"""camera.launch.py under the real ``ros2 launch``: documented argument sets, arguments
passed through or refused, rviz, lifecycle through ``ros2 lifecycle``, the file driver.

Launches that serve several tests are started together at the start of the module
(``running``), each in its own namespace, and stopped at its end.
"""

import glob
import json
import math
import os
import re
import stat
import subprocess
import time

import pytest

from doc_commands import doc, words
from ros_tools import get_parameters, Launch, needs_tools, NO_DAEMON, ros2, ros2_until

pytestmark = needs_tools


#: the documented commands this module runs, as written
SHOW_ARGS = doc('ros2 launch camera_node camera.launch.py --show-args', __name__)
CONFIGURE = doc('ros2 lifecycle set /camera/camera configure', __name__)
ACTIVATE = doc('ros2 lifecycle set /camera/camera activate', __name__)

FRONT_YAML = """/**:
  ros__parameters:
    driver: synthetic
    camera_name: front
    width: 160
    height: 120
    fps: 10.0
"""


def run_dirs():
    return set(glob.glob('/tmp/camera_node_launch_*'))


def stopped(launch):
    """Stop a launch (Ctrl-C); check it and its nodes ended by themselves."""
    code = launch.stop()
    assert not launch.killed, '%r left processes running: %s' % (launch, launch.killed)
    return code


# -- arguments that stop the launch before anything starts ---------------------------------
BAD = {
    'unknown driver': (doc('ros2 launch camera_node camera.launch.py driver:=kinect', __name__),
                       "unknown driver 'kinect'; known drivers: synthetic, realsense, oakd, "
                       'webcam, file, bag'),
    'typo': ('ros2 launch camera_node camera.launch.py widht:=1280',
             'unknown launch argument widht:=1280 (did you mean width?): camera.launch.py '
             'has no such argument'),
    'not a number': ('ros2 launch camera_node camera.launch.py width:=wide',
                     "width:='wide' is not an integer"),
    'out of range': ('ros2 launch camera_node camera.launch.py jpeg_quality:=0',
                     'jpeg_quality must be within [1, 100], got 0'),
    'bad name': ("ros2 launch camera_node camera.launch.py node_name:='my camera'",
                 "node_name 'my camera' is not a valid ROS name"),
    'no params file': (doc('ros2 launch camera_node camera.launch.py '
                           'params_file:=/robot/config/front_camera.yaml', __name__),
                       "params_file '/robot/config/front_camera.yaml' does not exist"),
    # finding 3: without rviz2, stop before starting the camera (it used to be orphaned)
    'no rviz2': (doc('ros2 launch camera_node camera.launch.py rviz:=true width:=1280 '
                     'height:=720', __name__),
                 'rviz:=true but rviz2 is not installed here'),
    'no rviz2, docs': (doc('ros2 launch camera_node camera.launch.py width:=320 height:=240 '
                           'fps:=15.0 rviz:=true', __name__),
                       'rviz:=true but rviz2 is not installed here'),
}


@pytest.fixture(scope='module')
def bad_launches():
    """Every bad command at once; return {case: (launch, exit code)}."""
    before = run_dirs()
    launches = {case: Launch(*words(command, 'launch')) for case, (command, _) in BAD.items()}
    try:
        yield {case: (launch, launch.wait_exit(90)) for case, launch in launches.items()}
    finally:
        for launch in launches.values():
            stopped(launch)
    assert run_dirs() <= before


@pytest.mark.parametrize('case', sorted(BAD))
def test_bad_arguments_stop_the_launch_before_anything_starts(bad_launches, case):
    launch, code = bad_launches[case]
    out = launch.output()
    assert code == 1, out
    assert 'Caught exception in launch' in out and BAD[case][1] in out, out
    assert 'process started' not in out, out
    assert launch.pids() == []


# -- launches that serve several tests -----------------------------------------------------
@pytest.fixture(scope='module')
def clip(tmp_path_factory):
    """A 1.5 s video file (15 frames at 10 fps, MJPG in AVI) made with OpenCV."""
    import cv2
    import numpy as np
    path = str(tmp_path_factory.mktemp('clip') / 'clip.avi')
    writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*'MJPG'), 10.0, (64, 48))
    for i in range(15):
        writer.write(np.full((48, 64, 3), 10 * i, np.uint8))
    writer.release()
    assert os.path.getsize(path) > 0
    return path


@pytest.fixture(scope='module')
def running(tmp_path_factory, clip):
    """Start the launches several tests use, all at once; stop them at the end."""
    front = tmp_path_factory.mktemp('robot') / 'front_camera.yaml'
    front.write_text(FRONT_YAML)
    launches = {
        # a params_file of one's own, plus parameters it does not declare (finding 5)
        'front': Launch('camera_node', 'camera.launch.py', 'params_file:=%s' % front,
                        'camera_namespace:=front', 'motion:=true', 'jpeg_quality:=90',
                        'qos_overrides./front/camera/color/image_raw.publisher.reliability'
                        ':=best_effort'),
        # the docs' second camera, on the synthetic driver: its mount pose on TF
        'rear': Launch('camera_node', 'camera.launch.py', 'camera_namespace:=rear',
                       'camera_name:=rear', 'parent_frame:=base_link',
                       'mount_pose:=[-0.2, 0.0, 0.4, 0.0, 0.0, 3.1416]', 'width:=160',
                       'height:=120'),
        # the file driver playing a clip in a loop (loop:=true is passed through)
        'loop': Launch('camera_node', 'camera.launch.py', 'driver:=file', 'source:=%s' % clip,
                       'loop:=true', 'camera_namespace:=loop'),
        # the file driver playing a clip once
        'once': Launch('camera_node', 'camera.launch.py', 'driver:=file', 'source:=%s' % clip,
                       'camera_namespace:=once'),
        # a managed node, for comparison with the plain ones
        'managed': Launch('camera_node', 'camera.launch.py', 'lifecycle:=true',
                          'camera_namespace:=managed'),
    }
    try:
        for name, launch in launches.items():
            started = (r'process started' if name == 'managed'
                       else r'\[%s\.camera\]: camera .\w+.: driver' % name)
            assert launch.wait_for(started, 120), launch.output()
        yield launches
    finally:
        for launch in launches.values():
            assert stopped(launch) == 0, launch.output()


def test_params_file_of_ones_own(running):
    out = running['front'].output()
    assert "camera 'front': driver synthetic" in out
    assert 'colour 160x120, depth 160x120, 10.0 fps' in out
    assert '/front/camera/color/image_raw' in out and 'frames front_link' in out


def test_parameters_not_declared_by_the_launch_file_pass_through(running, probe):
    assert get_parameters(probe, '/front/camera', 'motion', 'jpeg_quality') == [True, 90]
    assert get_parameters(probe, '/loop/camera', 'loop') == [True]


def test_qos_overrides_pass_through(running, probe):
    from rclpy.qos import ReliabilityPolicy
    topic = '/front/camera/color/image_raw'
    assert probe.spin_until(lambda: probe.node.get_publishers_info_by_topic(topic), 60)
    (info,) = probe.node.get_publishers_info_by_topic(topic)
    assert info.qos_profile.reliability == ReliabilityPolicy.BEST_EFFORT


def test_show_args_lists_the_arguments():
    res = ros2('launch', *words(SHOW_ARGS, 'launch'), timeout=120)
    assert res.returncode == 0, res.stderr
    for name in ('driver', 'camera_namespace', 'serial_no', 'rviz', 'use_large_data_profile'):
        assert "'%s':" % name in res.stdout, res.stdout


def test_mount_pose_on_tf(running, probe):
    from rclpy.time import Time
    from tf2_ros import Buffer, TransformListener
    buffer = Buffer()
    listener = TransformListener(buffer, probe.node, spin_thread=False)
    try:
        assert probe.spin_until(lambda: buffer.can_transform(
            'base_link', 'rear_color_optical_frame', Time()), 60)
        t = buffer.lookup_transform('base_link', 'rear_link', Time()).transform
    finally:
        listener.unregister()
    assert (t.translation.x, t.translation.y, t.translation.z) == pytest.approx(
        (-0.2, 0.0, 0.4), abs=1e-6)
    assert abs(t.rotation.x) < 1e-6 and abs(t.rotation.y) < 1e-6     # a yaw only
    yaw = 2 * math.atan2(t.rotation.z, t.rotation.w)
    assert (math.cos(yaw), math.sin(yaw)) == pytest.approx(
        (math.cos(3.1416), math.sin(3.1416)), abs=1e-6)


# -- the file driver (findings 4 and 6 are fixed by the restructuring of #9) ---------------
def images_arrive(probe, topic, count=3, timeout=20.0):
    from sensor_msgs.msg import Image
    return len(probe.collect(Image, topic, count=count, timeout=timeout)) >= count


def test_file_driver_plays_a_clip_in_a_loop(running, probe):
    assert 'colour 64x48' in running['loop'].output()
    # 15 frames at 10 fps: 40 images span at least two passes through the clip
    assert images_arrive(probe, '/loop/camera/color/image_raw', count=40, timeout=60)
    assert 'source ended' not in running['loop'].output()


def test_file_driver_ends_with_the_clip(running):
    assert running['once'].wait_for(r'source ended', 60), running['once'].output()


def test_file_driver_says_it_is_the_file_driver(running):
    out = running['once'].output()
    assert "camera 'camera': driver file" in out, out
    res = ros2('service', 'call', '/once/camera/do_command',
               'camera_node_interfaces/srv/DoCommand', '{command: \'{"command": "status"}\'}',
               timeout=120)
    status = json.loads(re.search(r"result='(\{.*\})'", res.stdout).group(1))
    assert status['driver'] == 'file'


def test_file_driver_plays_again_after_loop_is_set(running, probe):
    assert running['once'].wait_for(r'source ended', 60)
    res = ros2_until(('param', 'set', '/once/camera', 'loop', 'true') + NO_DAEMON,
                     lambda r: 'Node not found' not in r.stdout + r.stderr)
    assert res.stdout.strip() == 'Set parameter successful', res.stdout + res.stderr
    assert images_arrive(probe, '/once/camera/color/image_raw', count=5)


def test_file_driver_plays_again_after_seek(running, probe):
    assert running['once'].wait_for(r'source ended', 60)
    res = ros2('service', 'call', '/once/camera/do_command',
               'camera_node_interfaces/srv/DoCommand',
               '{command: \'{"command": "seek", "frame": 0}\'}', timeout=120)
    assert 'success=True' in res.stdout, res.stdout + res.stderr
    assert images_arrive(probe, '/once/camera/color/image_raw', count=5)


# -- lifecycle (finding 7 is decided and fixed with #9) -------------------------------------
def services():
    """Return the services ``ros2 service list`` shows, once it shows those of the
    plain and of the managed node (so discovery has got as far as both)."""
    def seen(res):
        names = res.stdout.split()
        return '/front/camera/get_parameters' in names and '/managed/camera/get_state' in names
    res = ros2_until(('service', 'list') + NO_DAEMON, seen)
    assert seen(res), res.stdout + res.stderr
    return res.stdout.split()


def test_without_lifecycle_the_node_is_not_a_managed_node(running):
    """lifecycle:=false: no lifecycle services, so ros2 lifecycle cannot stop the node."""
    assert '/front/camera/get_state' not in services()
    assert '/front/camera/change_state' not in services()


# -- rviz (findings 3 and 8) ----------------------------------------------------------------
FAKE_RVIZ2 = """#!/bin/sh
# Stand-in for rviz2, which is not installable here: keeps the config it was given and
# exits when the test creates $FAKE_RVIZ2_DIR/quit, as closing the rviz2 window would.
[ "$1" = "-d" ] && cp "$2" "$FAKE_RVIZ2_DIR/given.rviz" && echo "$2" > "$FAKE_RVIZ2_DIR/path"
while [ ! -e "$FAKE_RVIZ2_DIR/quit" ]; do sleep 0.1; done
"""


@pytest.fixture(scope='module')
def fake_rviz2_prefix(tmp_path_factory):
    """An install prefix holding a package rviz2 whose executable is FAKE_RVIZ2."""
    prefix = tmp_path_factory.mktemp('fake_rviz2')
    index = prefix / 'share' / 'ament_index' / 'resource_index' / 'packages'
    index.mkdir(parents=True)
    (index / 'rviz2').touch()
    exe = prefix / 'lib' / 'rviz2' / 'rviz2'
    exe.parent.mkdir(parents=True)
    exe.write_text(FAKE_RVIZ2)
    exe.chmod(exe.stat().st_mode | stat.S_IXUSR)
    return str(prefix)


def appears(path, timeout):
    """Wait until path exists; return whether it does."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not path.exists():
        time.sleep(0.1)
    return path.exists()


RVIZ = {
    'README': (BAD['no rviz2'][0], 'colour 1280x720, depth 1280x720, 30.0 fps'),
    'docs': (BAD['no rviz2, docs'][0], 'colour 320x240, depth 320x240, 15.0 fps'),
}


@pytest.mark.parametrize('case', sorted(RVIZ))
def test_rviz_gets_its_config_and_closing_it_ends_the_launch(
        case, fake_rviz2_prefix, tmp_path):
    import yaml
    command, announced = RVIZ[case]
    env = {'AMENT_PREFIX_PATH': fake_rviz2_prefix + os.pathsep + os.environ['AMENT_PREFIX_PATH'],
           'FAKE_RVIZ2_DIR': str(tmp_path)}
    launch = Launch(*words(command, 'launch'), env=env)
    try:
        assert launch.wait_for(re.escape(announced), 120), launch.output()
        assert launch.wait_for(r'process started with pid \[\d+\]', 60, count=2)
        assert appears(tmp_path / 'path', 60), launch.output()
        config = (tmp_path / 'path').read_text().strip()
        assert os.path.dirname(config).startswith('/tmp/camera_node_launch_')
        assert os.path.isfile(config)                          # there while rviz2 runs
        data = yaml.safe_load((tmp_path / 'given.rviz').read_text())
        manager = data['Visualization Manager']
        assert manager['Global Options']['Fixed Frame'] == 'camera_link'
        assert any(d.get('Topic', {}).get('Value') == '/camera/camera/color/image_raw'
                   for d in manager['Displays'])
        (tmp_path / 'quit').touch()                            # "close the window"
        assert launch.wait_exit(60) == 0, launch.output()
    finally:
        stopped(launch)
    out = launch.output()
    assert re.search(r'\[camera_node-1\]: process has finished cleanly', out), out
    assert not os.path.exists(os.path.dirname(config))         # finding 8: removed


# -- lifecycle:=true driven by ros2 lifecycle ----------------------------------------------
def lifecycle_set(probe, command, after):
    """Run a documented ``ros2 lifecycle set``; return what it printed, or None.

    None: the verb hung, waiting for an answer that got lost (it has no timeout; see
    ros_tools.ros2_until), while the node did make the transition. A transition cannot
    be repeated, so the node's state decides. The verb gets 3 s to discover the node's
    services, which makes a lost answer rare.
    """
    args = ['lifecycle'] + words(command, 'lifecycle') + ['--no-daemon', '--spin-time', '3']
    deadline = time.monotonic() + 90
    while True:
        try:
            res = ros2(*args, timeout=40)
        except subprocess.TimeoutExpired:
            if state(probe, '/camera/camera') == after:
                return None
            if time.monotonic() > deadline:
                raise
            continue
        out = (res.stdout + res.stderr).strip()
        if out != 'Node not found' or time.monotonic() > deadline:
            return out


def state(probe, node):
    """Return the lifecycle state label of node, asked from the test's own node."""
    from lifecycle_msgs.srv import GetState
    res = probe.call(GetState, node + '/get_state', GetState.Request(), timeout=60)
    assert res is not None, 'no answer from %s/get_state' % node
    return res.current_state.label


def test_lifecycle_driven_by_ros2_lifecycle(probe):
    from lifecycle_msgs.msg import Transition
    from lifecycle_msgs.srv import ChangeState
    launch = Launch('camera_node', 'camera.launch.py', 'lifecycle:=true', 'width:=160',
                    'height:=120')
    try:
        assert launch.wait_for(r'process started', 60), launch.output()
        assert state(probe, '/camera/camera') == 'unconfigured'
        for command, after in ((CONFIGURE, 'inactive'), (ACTIVATE, 'active')):
            assert lifecycle_set(probe, command, after) in ('Transitioning successful', None)
            assert state(probe, '/camera/camera') == after
        assert images_arrive(probe, '/camera/camera/color/image_raw')
        res = probe.call(ChangeState, '/camera/camera/change_state', ChangeState.Request(
            transition=Transition(id=Transition.TRANSITION_DEACTIVATE)), timeout=60)
        assert res is not None and res.success
        assert state(probe, '/camera/camera') == 'inactive'
    finally:
        assert stopped(launch) == 0, launch.output()
