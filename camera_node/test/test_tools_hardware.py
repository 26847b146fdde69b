"""The documented hardware launches, run as written on a machine without the hardware.

Each must start the node, report at once what it looked for and did not find, and keep
retrying (the node logs the first attempt, then the 6th, about 11 s later). They run all
at once, as written (so every node is /camera/camera: only their output is looked at).
Strings reach the node as typed: the serial numbers below arrive with their leading zero.
depthai is kept to USB (DEPTHAI_PROTOCOL=usb): its network search would broadcast on
the machine's interfaces.
"""

import re

import pytest

from doc_commands import doc, not_run, words
from ros_tools import Launch, needs_tools, remove_stale_shm

pytestmark = needs_tools


RTSP = not_run('ros2 launch camera_node camera.launch.py driver:=webcam '
               'source:=rtsp://10.0.0.5/stream',
               'it would reach for a camera at 10.0.0.5; the same line with a local URL '
               '(nothing listening) runs instead')

#: case -> (command, what the node must report)
CASES = {
    'realsense': (
        doc('ros2 launch camera_node camera.launch.py driver:=realsense serial_no:=123456789',
            __name__),
        "no RealSense device with serial '123456789' found; serials seen: []"),
    # finding 1: the serial number arrives as typed, leading zero and all
    'realsense, profiles': (
        doc('ros2 launch camera_node camera.launch.py driver:=realsense '
            'serial_no:=012345678901 color_profile:=1280x720x30 depth_profile:=848x480x30',
            __name__),
        "no RealSense device with serial '012345678901' found"),
    'realsense, YAML-quoted serial': (
        'ros2 launch camera_node camera.launch.py driver:=realsense '
        'serial_no:="\'012345678901\'"',
        "no RealSense device with serial '012345678901' found"),
    'realsense, second camera': (
        doc('ros2 launch camera_node camera.launch.py driver:=realsense '
            'serial_no:=_987654321098 camera_namespace:=rear camera_name:=rear '
            "parent_frame:=base_link mount_pose:='[-0.2, 0.0, 0.4, 0.0, 0.0, 3.1416]'",
            __name__),
        '[rear.camera]: cannot open camera (attempt 1): no RealSense device with serial '
        "'987654321098' found"),
    'realsense playback': (
        doc('ros2 launch camera_node camera.launch.py driver:=realsense '
            'playback_file:=/data/run.db3', __name__),
        "RealSense playback file '/data/run.db3' does not exist"),
    'oakd': (
        doc('ros2 launch camera_node camera.launch.py driver:=oakd '
            'device_id:=14442C10D13EABCE00', __name__),
        'OAK device search failed'),
    'oakd, profile': (
        doc('ros2 launch camera_node camera.launch.py driver:=oakd '
            'device_id:=14442C10D13EABCE00 color_profile:=1280x800x30', __name__),
        'OAK device search failed'),
    'webcam': (
        doc('ros2 launch camera_node camera.launch.py driver:=webcam source:=/dev/video0 '
            'width:=1280 height:=720', __name__),
        'no camera at /dev/video0: it does not exist; backend V4L2'),
    'webcam, rate': (
        doc('ros2 launch camera_node camera.launch.py driver:=webcam source:=/dev/video0 '
            'width:=1280 height:=720 fps:=30.0', __name__),
        'no camera at /dev/video0: it does not exist; backend V4L2'),
    'webcam, index': (
        doc('ros2 launch camera_node camera.launch.py driver:=webcam source:=0', __name__),
        'no camera at 0: /dev/video0'),
    'stream': (
        RTSP.replace('10.0.0.5', '127.0.0.1:9'),
        'could not open stream rtsp://127.0.0.1:9/stream with FFMPEG'),
    'file': (
        doc('ros2 launch camera_node camera.launch.py driver:=file source:=/data/clip.mkv',
            __name__),
        'video file /data/clip.mkv does not exist (folder /data does not exist)'),
}

RUN_WEBCAM = doc('ros2 run camera_node camera_node --ros-args -p driver:=webcam -p source:=0',
                 __name__)
#: depthai prints its USB warning on import unless told to keep quiet
LOUD_DEPTHAI = {'DEPTHAI_LEVEL': 'warn'}


@pytest.fixture(scope='module')
def launches():
    running = {case: Launch(*words(command, 'launch'),
                            env=LOUD_DEPTHAI if case.startswith('oakd') else None)
               for case, (command, _) in CASES.items()}
    try:
        for launch in running.values():
            launch.wait_for(r'cannot open camera \(attempt 6\)', 240)
        yield running
    finally:
        for case, launch in running.items():
            code = launch.stop()
            assert not launch.killed, '%s: left running: %s' % (case, launch.killed)
            assert code == 0, launch.output()


@pytest.mark.parametrize('case', sorted(CASES))
def test_missing_hardware_is_reported_and_retried(launches, case):
    out = launches[case].output()
    first = re.search(r'.*cannot open camera \(attempt 1\): .*', out)
    assert first and CASES[case][1] in first.group(0), out
    assert re.search(r'cannot open camera \(attempt 6\): ', out), out
    assert len(launches[case].node_pids()) == 1


@pytest.mark.parametrize('case', ['oakd', 'oakd, profile'])
def test_depthai_warning_comes_from_the_node_only(launches, case):
    """Finding 8: the launch process does not import depthai; the node does (and says so)."""
    launch = launches[case]
    assert 'USB protocol not available' in launch.output()        # depthai is loud here
    assert not [line for line in launch.launch_lines() if 'depthai' in line]


# -- ros2 run (finding 2 is fixed by the restructuring of #9) ------------------------------
@pytest.mark.parametrize('args, started', [
    (words(RUN_WEBCAM, 'run'), r'cannot open camera \(attempt 1\): '),   # the README's line
    (['camera_node', 'camera_node', '--ros-args', '-p', 'fps:=15', '-p', 'width:=64', '-p',
      'height:=48'], r'colour 64x48, depth 64x48, 15\.0 fps'),
    (['camera_node', 'camera_node', '--ros-args', '-p', 'driver:=realsense', '-p',
      'serial_no:=123'], r"no RealSense device with serial '123' found"),
], ids=['readme webcam source:=0', 'fps:=15', 'serial_no:=123'])
def test_ros2_run_takes_an_integer_where_the_meaning_is_clear(args, started):
    """Finding 2: an integer given for a string or double parameter must not crash it."""
    run = Launch(*args, verb='run')
    try:
        found = run.wait_for(started, 60)
    finally:
        run.stop()
    out = run.output()
    if 'Traceback' in out:          # a crashed node leaves its shared memory behind
        remove_stale_shm(run.started)
    assert 'Traceback' not in out, out
    assert found, out
