"""Record and replay under the real tools: the commands of docs/recording.md and README.md.

Each documented command runs as written: the pre-event buffer from ``ros2 run``, resized by
``ros2 param set``; clips saved by the ``save_clip`` service and by DoCommand, read back
with rosbags (an independent reader); ``get_images`` at a time; the ``bag`` driver playing
the saved clips from ``ros2 run`` and ``ros2 launch``. The ``/data/rs_bag`` lines run as
written (no such recording here: the node must say what it looked for) and again with a
realsense-ros-like recording written by bagmaker in its place (it plays; ``/clock`` too).

HOME: the commands write into ``~/.ros/camera_clips`` and read ``$HOME/...``, so every
process of this module runs with HOME set to a temporary folder (and ROS_HOME unset);
the real home directory is never written, which the last test checks.

Every documented node command makes the node /camera/camera, so they run one stage at a
time (:class:`Stages`): a stage's processes serve the tests that follow and are stopped
(Ctrl-C, each must end by itself with code 0) when another stage starts or the module
ends, failed tests included.
"""

import ast
import hashlib
import json
import os
import pathlib
import re
import shutil
import subprocess
import tempfile
import time

import pytest

from doc_commands import doc, not_run, words
from ros_tools import get_parameters, Launch, needs_tools, NO_DAEMON, ros2, ros2_until

pytestmark = needs_tools

NODE = '/camera/camera'
MISSING = '/data/rs_bag'
_SRV = 'ros2 service call /camera/camera/%s camera_node_interfaces/srv/%s "%s"'
_DO = _SRV % ('do_command', 'DoCommand', "{command: '{\\\"command\\\": %s}'}")
#: the documented commands this module runs, as written
CMD = {key: doc(command, __name__) for key, command in {
    'buffer': 'ros2 run camera_node camera_node --ros-args -p buffer_seconds:=10.0 '
              '-p buffer_memory_mb:=2048',
    'buffer, README': 'ros2 run camera_node camera_node --ros-args -p buffer_seconds:=10.0',
    'resize': 'ros2 param set /camera/camera buffer_seconds 20.0',
    'save': _SRV % ('save_clip', 'SaveClip', "{before: 5.0, after: 2.0, name: 'bump_at_dock'}"),
    'save, README': _SRV % ('save_clip', 'SaveClip', "{before: 10.0, after: 2.0, name: 'bump'}"),
    'save, unnamed': _SRV % ('save_clip', 'SaveClip', '{before: 5.0, after: 2.0}'),
    'do save': _DO % '\\"save_clip\\", \\"before\\": 5, \\"after\\": 2',
    'clip status': _DO % '\\"clip_status\\"',
    'at': _SRV % ('get_images', 'GetImages',
                  "{extra: '{\\\"at\\\": \\\"2026-01-01T12:00:03.250Z\\\"}'}"),
    'replay': 'ros2 run camera_node camera_node --ros-args -p driver:=bag '
              '-p source:=$HOME/.ros/camera_clips/bump_at_dock -p loop:=true',
    'replay, README': 'ros2 run camera_node camera_node --ros-args -p driver:=bag '
                      '-p source:=$HOME/.ros/camera_clips/bump -p loop:=true',
    'rs': 'ros2 run camera_node camera_node --ros-args -p driver:=bag -p source:=' + MISSING,
    'rs, clock': 'ros2 run camera_node camera_node --ros-args -p driver:=bag '
                 '-p source:=/data/rs_bag -p publish_clock:=true',
    'launch': 'ros2 launch camera_node camera.launch.py driver:=bag source:=/data/rs_bag '
              'loop:=true',
}.items()}
_NO_ROSBAG2 = ('needs rosbag2 (the ros2bag verb and its C++ storage plugins), which is not '
               'in ../shared/ros-tooling and has no wheel on PyPI; test_tools_recording '
               'reads the same clip folder with rosbags instead')
BAG_INFO = not_run('ros2 bag info ~/.ros/camera_clips/bump_at_dock', _NO_ROSBAG2)
BAG_PLAY = not_run('ros2 bag play ~/.ros/camera_clips/bump_at_dock', _NO_ROSBAG2)

#: what a started node prints first
_STARTED = r"\[camera\.camera\]: camera 'camera': driver %s"
_NOT_FOUND = r'cannot open camera \(attempt 1\): bag /data/rs_bag does not exist'


class Stages:
    """The documented node commands, one stage (a set of processes) at a time."""

    def __init__(self, home, rs_bag):
        self.home = home
        self.env = {'HOME': home, 'ROS_HOME': None}
        # stage -> [(command, verb or 'shell', what it prints once started)]
        self.stages = {
            'missing': [(CMD['rs'], 'run', _NOT_FOUND), (CMD['rs, clock'], 'run', _NOT_FOUND),
                        (CMD['launch'], 'launch', _NOT_FOUND)],
            'buffer': [(CMD['buffer'], 'run', _STARTED % 'synthetic')],
            'buffer, README': [(CMD['buffer, README'], 'run', _STARTED % 'synthetic')],
            'replay': [(CMD['replay'], 'shell', _STARTED % r'bag \(rosbag2 recording '
                                                           r'bump_at_dock\)')],
            'replay, README': [(CMD['replay, README'], 'shell',
                                _STARTED % r'bag \(rosbag2 recording bump\)')],
            # the /data/rs_bag lines with a recording in its place
            'realsense-ros': [(CMD['rs, clock'].replace(MISSING, rs_bag), 'run',
                               _STARTED % 'bag')],
            'launch': [(CMD['launch'].replace(MISSING, self.clip('bump_at_dock')), 'launch',
                        _STARTED % r'bag \(rosbag2 recording bump_at_dock\)')],
        }
        self.name = None
        self.running = []
        self.unclean = []

    def clip(self, name):
        """Return where a clip of this name is saved: ``~/.ros/camera_clips/<name>``."""
        return os.path.join(self.home, '.ros', 'camera_clips', name)

    def enter(self, name):
        """Return the processes of stage name, started now unless it is the current one."""
        if name != self.name:
            self.leave()
            self.name = name
            for command, verb, _ in self.stages[name]:
                self.running.append(
                    Launch(command, env=self.env, verb='run', shell=True) if verb == 'shell'
                    else Launch(*words(command, verb), env=self.env, verb=verb))
            for launch, (_, _, started) in zip(self.running, self.stages[name]):
                assert launch.wait_for(started, 120), launch.output()
        return self.running

    def leave(self):
        """Stop the current stage (Ctrl-C); note any process that did not end cleanly."""
        running, self.running, self.name = self.running, [], None
        for launch in running:
            code = launch.stop()
            if code != 0 or launch.killed:
                self.unclean.append('%r: exit code %s, killed %s:\n%s' % (
                    launch, code, launch.killed, launch.output()[-3000:]))

    def call(self, command, ok=lambda r: r.returncode == 0 and 'response:' in r.stdout):
        """Run an idempotent documented service call until it answers; return the answer."""
        res = ros2_until((command,), ok, timeout=180, attempt=60, shell=True, env=self.env)
        assert res.returncode == 0 and 'response:' in res.stdout, res.stdout + res.stderr
        return res.stdout.split('response:', 1)[1].strip()

    def clip_status(self):
        """Return clip_status as the documented DoCommand prints it, decoded."""
        reply = self.call(CMD['clip status'])
        assert "success=True, error=''" in reply, reply
        return json.loads(re.search(r"result='(\{.*\})'", reply).group(1))

    def save(self, command):
        """Run a documented save once; return (its answer or None, the new clip's folder).

        A save is not repeated (a name is taken once). If the verb hangs, its answer was
        lost (see ros_tools.ros2_until): the clip folder, complete with metadata.yaml,
        tells whether the save happened.
        """
        folder = os.path.dirname(self.clip('x'))
        before = set(os.listdir(folder)) if os.path.isdir(folder) else set()
        try:
            res = ros2(command, shell=True, timeout=150, env=self.env)
            answer = res.stdout.split('response:', 1)[1].strip() if 'response:' in \
                res.stdout else res.stdout + res.stderr
        except subprocess.TimeoutExpired:
            answer = None
        new = sorted(set(os.listdir(folder)) - before) if os.path.isdir(folder) else []
        assert len(new) == 1, (answer, new)
        path = os.path.join(folder, new[0])
        assert os.path.isfile(os.path.join(path, 'metadata.yaml')), (answer, path)
        return answer, path


@pytest.fixture(scope='module')
def real_clips():
    """The real home's ~/.ros/camera_clips as it was before this module."""
    path = os.path.expanduser('~/.ros/camera_clips')
    return path, sorted(os.listdir(path)) if os.path.isdir(path) else None


@pytest.fixture(scope='module')
def stages(real_clips):
    from bagmaker import write_bag
    home = tempfile.mkdtemp(prefix='camera_node_recording_home_')
    try:
        rs_bag = os.path.join(home, 'recordings', 'rs_bag')
        os.makedirs(os.path.dirname(rs_bag))
        stamps = write_bag(rs_bag, frames=900)          # 30 s at 30 fps, 64x48
        s = Stages(home, rs_bag)
        s.rs_stamps = stamps
        try:
            yield s
        finally:
            s.leave()
        assert not s.unclean, '\n'.join(s.unclean)
    finally:
        shutil.rmtree(home, ignore_errors=True)


def reply_fields(answer):
    """Return the fields of a printed SaveClip answer."""
    out = {'success': 'success=True' in answer}
    for key, rx in (('path', r"path=('[^']*')"), ('file', r"file=('[^']*')"),
                    ('duration', r'duration=([0-9.e+-]+)'), ('frame_sets', r'frame_sets=(\d+)'),
                    ('dropped', r'frame_sets_dropped=(\d+)'), ('bytes', r'bytes=(\d+)'),
                    ('topics', r'topics=(\[[^\]]*\])'),
                    ('counts', r'message_counts=(\[[^\]]*\])')):
        m = re.search(rx, answer)
        out[key] = ast.literal_eval(m.group(1)) if m else None
    return out


def read_clip(path):
    """Read a clip with rosbags, decoding every message; return a summary."""
    from rosbags.highlevel import AnyReader
    counts, stamps, pixels, shapes = {}, {}, {}, {}
    with AnyReader([pathlib.Path(path)]) as reader:
        for conn, _, raw in reader.messages():
            msg = reader.deserialize(raw, conn.msgtype)
            counts[conn.topic] = counts.get(conn.topic, 0) + 1
            if conn.msgtype == 'sensor_msgs/msg/Image':
                stamp = msg.header.stamp.sec * 10**9 + msg.header.stamp.nanosec
                stamps.setdefault(conn.topic, []).append(stamp)
                shapes[conn.topic] = (msg.width, msg.height, msg.encoding)
                if conn.topic == NODE + '/color/image_raw':
                    pixels[stamp] = hashlib.sha1(bytes(msg.data)).hexdigest()
    return {'counts': counts, 'stamps': stamps, 'colour': pixels, 'shapes': shapes}


def check_clip(answer, path, seconds):
    """Check a documented save's answer (None: lost) against the clip read back."""
    clip = read_clip(path)
    topics = ['/tf_static'] + [NODE + t for t in (
        '/color/image_raw', '/color/camera_info', '/depth/image_rect_raw',
        '/depth/camera_info', '/aligned_depth_to_color/image_raw',
        '/aligned_depth_to_color/camera_info')]
    assert sorted(clip['counts']) == sorted(topics), clip['counts']
    frame_sets = clip['counts'][NODE + '/color/image_raw']
    assert clip['counts']['/tf_static'] == 1
    assert {n for t, n in clip['counts'].items() if t != '/tf_static'} == {frame_sets}
    assert len({tuple(s) for s in clip['stamps'].values()}) == 1      # one stamp per set
    span = clip['stamps'][NODE + '/color/image_raw']
    assert frame_sets > 1 and (span[-1] - span[0]) / 1e9 <= seconds + 0.05
    assert clip['shapes'][NODE + '/color/image_raw'] == (640, 480, 'rgb8')
    assert clip['shapes'][NODE + '/depth/image_rect_raw'] == (640, 480, '16UC1')
    if answer is not None:
        fields = reply_fields(answer)
        assert fields['success'], answer
        name = os.path.basename(path)
        assert (fields['path'], fields['file']) == (path, '%s/%s_0.mcap' % (path, name))
        assert dict(zip(fields['topics'], fields['counts'])) == clip['counts']
        assert fields['frame_sets'] == frame_sets and fields['dropped'] == 0
        assert fields['bytes'] == os.path.getsize(fields['file'])
    return clip


# -- a recording that is not there ---------------------------------------------------------
@pytest.mark.parametrize('index', [0, 1, 2], ids=['run', 'run, publish_clock', 'launch'])
def test_a_missing_recording_is_reported_naming_what_was_looked_for(stages, index):
    """As written: nothing at /data/rs_bag. The node says so and keeps trying."""
    if os.path.exists(MISSING):
        pytest.skip('%s exists on this machine' % MISSING)
    launch = stages.enter('missing')[index]
    out = launch.output()
    assert re.search(r'bag /data/rs_bag does not exist \(folder /data (does not )?exist', out)
    assert 'Traceback' not in out and 'Caught exception' not in out, out
    assert len(launch.node_pids()) == 1, out              # alive, retrying


# -- the buffer, clips and past moments (docs/recording.md) --------------------------------
@pytest.fixture(scope='module')
def docs_clip(stages):
    """docs/recording.md's save of bump_at_dock: (answer, folder, clip read back)."""
    stages.enter('buffer')
    answer, path = stages.save(CMD['save'])
    return answer, path, check_clip(answer, path, 7.0)


def test_the_buffer_is_on_from_the_command_line(stages):
    stages.enter('buffer')
    buffer = stages.clip_status()['buffer']
    assert buffer['enabled'] and buffer['seconds'] == 10.0 and buffer['budget_mb'] == 2048.0
    assert buffer['frame_sets'] > 0, buffer


@pytest.fixture(scope='module')
def resized(stages):
    """What the documented ``ros2 param set ... buffer_seconds 20.0`` printed."""
    stages.enter('buffer')
    res = ros2_until(['param'] + words(CMD['resize'], 'param') + list(NO_DAEMON),
                     lambda r: 'Node not found' not in r.stdout + r.stderr, env=stages.env)
    return (res.stdout + res.stderr).strip()


def test_buffer_seconds_is_resized_at_runtime(stages, resized, probe):
    assert resized == 'Set parameter successful'
    assert get_parameters(probe, NODE, 'buffer_seconds') == [20.0]
    assert stages.clip_status()['buffer']['seconds'] == 20.0


def test_save_clip_writes_the_bag_under_home(stages, docs_clip):
    answer, path, clip = docs_clip
    assert path == stages.clip('bump_at_dock')
    assert len(clip['colour']) > 1


def test_do_command_saves_and_clip_status_reports_it(stages):
    stages.enter('buffer')
    answer = stages.call(CMD['do save'])     # (a save repeated after a lost answer: a 2nd)
    assert "success=True, error=''" in answer, answer
    started = json.loads(re.search(r"result='(\{.*\})'", answer).group(1))
    assert started['state'] == 'writing' and started['path'].startswith(stages.clip('clip_'))
    deadline = time.monotonic() + 180
    while True:
        finished = {f['path']: f for f in stages.clip_status()['finished']}
        if started['path'] in finished or time.monotonic() > deadline:
            break
    done = finished[started['path']]
    assert done['state'] == 'done', done
    clip = check_clip(None, started['path'], 7.0)
    assert done['message_counts'] == clip['counts'] and done['frame_sets_dropped'] == 0
    shutil.rmtree(started['path'], ignore_errors=True)                    # disk space


def test_get_images_at_the_documented_time_is_refused_with_the_reason(stages):
    stages.enter('buffer')
    answer = stages.call(CMD['at'])
    assert 'success=False' in answer and 'images=[]' in answer, answer
    assert re.search(r"error='extra\.at: time 1767268803\.250 is outside the buffer, which "
                     r'holds \d+ frame sets from \d+\.\d{3} to \d+\.\d{3} \([0-9.]+ s\)', answer)


def test_get_images_at_a_buffered_time_answers_with_that_frame_set(stages, probe):
    from camera_node_interfaces.srv import GetImages
    stages.enter('buffer')
    now = probe.call(GetImages, NODE + '/get_images', GetImages.Request(), timeout=60)
    assert now is not None and now.success, now
    sec, nanosec = now.captured_at.sec, now.captured_at.nanosec
    at = time.strftime('%Y-%m-%dT%H:%M:%S', time.gmtime(sec)) + '.%09dZ' % nanosec
    time.sleep(1.0)                                  # newer frame sets arrive
    answer = stages.call(CMD['at'].replace('2026-01-01T12:00:03.250Z', at))
    assert "success=True, error=''" in answer, answer
    assert re.findall(r"source_name='(\w+)'", answer) == ['color', 'depth'], answer[:300]
    assert 'captured_at=builtin_interfaces.msg.Time(sec=%d, nanosec=%d)' % (sec, nanosec) \
        in answer, answer[-200:]


def test_the_resized_buffer_holds_more_than_10_s(stages, resized):
    assert resized == 'Set parameter successful'
    deadline = time.monotonic() + 120
    while True:
        buffer = stages.clip_status()['buffer']
        if buffer['held_seconds'] > 10.5 or time.monotonic() > deadline:
            break
        time.sleep(2.0)
    assert 10.5 < buffer['held_seconds'] <= 20.0, buffer


# -- the README's buffer and saves ---------------------------------------------------------
@pytest.fixture(scope='module')
def readme_clip(stages):
    """The README's save of bump: (answer, folder, clip read back)."""
    stages.enter('buffer, README')
    answer, path = stages.save(CMD['save, README'])
    return answer, path, check_clip(answer, path, 12.0)


def test_readme_buffer_with_the_default_budget(stages):
    stages.enter('buffer, README')
    buffer = stages.clip_status()['buffer']
    assert buffer['enabled'] and buffer['seconds'] == 10.0 and buffer['budget_mb'] == 1024.0


def test_readme_save_clip_named_bump(stages, readme_clip):
    answer, path, clip = readme_clip
    assert path == stages.clip('bump')                    # "-> ~/.ros/camera_clips/bump/"


def test_readme_save_clip_without_a_name(stages):
    stages.enter('buffer, README')
    answer, path = stages.save(CMD['save, unnamed'])
    assert re.fullmatch(re.escape(stages.clip('clip_camera_')) + r'\d{8}-\d{6}\.\d{3}', path)
    check_clip(answer, path, 7.0)
    shutil.rmtree(path, ignore_errors=True)                          # disk space


# -- replay: the bag driver ----------------------------------------------------------------
def received(probe, topic, count, timeout=60.0):
    """Return (stamp, sha1 of the pixels, width, height) of count images on topic."""
    from sensor_msgs.msg import Image
    msgs = probe.collect(Image, topic, count=count, timeout=timeout)
    assert len(msgs) == count, '%d of %d images on %s' % (len(msgs), count, topic)
    return [(m.header.stamp.sec * 10**9 + m.header.stamp.nanosec,
             hashlib.sha1(bytes(m.data)).hexdigest(), m.width, m.height) for m in msgs]


def bag_info(probe):
    from camera_node_interfaces.srv import DoCommand
    res = probe.call(DoCommand, NODE + '/do_command',
                     DoCommand.Request(command='{"command": "bag_info"}'), timeout=60)
    assert res is not None and res.success, res
    return json.loads(res.result)


def test_the_saved_clip_replays_as_the_camera_in_a_loop(stages, docs_clip, probe):
    _, path, clip = docs_clip
    (launch,) = stages.enter('replay')
    assert 'intrinsics from recording' in launch.output()
    for stamp, pixels, w, h in received(probe, NODE + '/color/image_raw', 5):
        assert clip['colour'].get(stamp) == pixels and (w, h) == (640, 480)
    deadline = time.monotonic() + 120                    # the clip is about 7 s long
    while bag_info(probe)['loops'] < 1 and time.monotonic() < deadline:
        time.sleep(1.0)
    info = bag_info(probe)
    assert info['source'] == path and info['loops'] >= 1 and not info['ended'], info


def test_readme_replays_the_clip_bump(stages, readme_clip, probe):
    _, path, clip = readme_clip
    stages.enter('replay, README')
    for stamp, pixels, _, _ in received(probe, NODE + '/color/image_raw', 5):
        assert clip['colour'].get(stamp) == pixels
    assert bag_info(probe)['loop'] is True


def test_a_realsense_ros_recording_plays_with_clock(stages, probe):
    """The /data/rs_bag line with a realsense-ros-like recording (bagmaker) in its place."""
    from rosgraph_msgs.msg import Clock
    from rclpy.qos import QoSProfile, ReliabilityPolicy
    stages.enter('realsense-ros')
    stamps = set(stages.rs_stamps)
    for stamp, _, w, h in received(probe, NODE + '/color/image_raw', 5):
        assert stamp in stamps and (w, h) == (64, 48)
    clocks = probe.collect(Clock, '/clock', count=5, timeout=60,
                           qos=QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE))
    assert len(clocks) == 5, clocks
    times = [c.clock.sec * 10**9 + c.clock.nanosec for c in clocks]
    assert all(min(stamps) <= t <= max(stamps) + 10**8 for t in times), times
    assert times == sorted(times)                        # the recorded time moves on


def test_the_launch_file_plays_a_saved_clip_in_a_loop(stages, docs_clip, probe):
    """The documented launch line with the saved clip in place of /data/rs_bag."""
    _, path, clip = docs_clip
    (launch,) = stages.enter('launch')
    assert 'Caught exception' not in launch.output()
    assert get_parameters(probe, NODE, 'driver', 'source', 'loop') == ['bag', path, True]
    for stamp, pixels, _, _ in received(probe, NODE + '/color/image_raw', 5):
        assert clip['colour'].get(stamp) == pixels


def test_the_real_home_is_not_written(stages, real_clips):
    path, before = real_clips
    after = sorted(os.listdir(path)) if os.path.isdir(path) else None
    assert after == before, 'the real %s changed: %s -> %s' % (path, before, after)
