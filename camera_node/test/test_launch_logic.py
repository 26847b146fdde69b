"""The launch files' decisions (camera_node.launch_logic) and the shipped config files.

Everything here is plain Python and rclpy: it runs on any machine. The launch files
themselves run under the real ``ros2 launch`` in test_tools_launch.py and
test_tools_camera.py (skipped where the ROS tools are not installed).
"""

import glob
import json
import os
import py_compile
import subprocess
import sys

import pytest
import yaml

from camera_node import launch_logic as L
from camera_node.core import params
from camera_node.drivers import known_drivers

from conftest import NodeProcess

PKG = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIG = os.path.join(PKG, 'config')
LAUNCH = os.path.join(PKG, 'launch')
#: config files that are ROS 2 parameter files for one driver (file name = driver)
DRIVER_YAMLS = sorted(p for p in glob.glob(os.path.join(CONFIG, '*.yaml'))
                      if os.path.basename(p) != 'multi_camera.yaml')
#: camera.launch.py's arguments with their defaults, as ros2 launch sets them
DEFAULTS = {name: default for name, default, _ in L.CAMERA_ARGUMENTS}


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def share_dir(tmp_path, *files):
    """Make a fake package share holding config/<file> for each file given."""
    config = tmp_path / 'share' / 'config'
    config.mkdir(parents=True)
    for f in files:
        (config / f).write_text('/**:\n  ros__parameters:\n    driver: %s\n'
                                % f.split('.')[0])
    return str(tmp_path / 'share')


def overrides(**args):
    """split_overrides of launch arguments given as keywords (values are strings)."""
    return L.split_overrides(args)


# -- drivers -------------------------------------------------------------------------------
def test_known_drivers_are_the_registry():
    assert L.KNOWN_DRIVERS == tuple(known_drivers())
    assert L.DEFAULT_DRIVER == 'synthetic'


def test_driver_parameters_are_known_without_the_sdks():
    """The launch process reads every driver's parameters without importing an SDK."""
    code = ('import sys\n'
            'from camera_node.drivers import driver_parameters, known_drivers\n'
            'names = {n: [s.name for s in driver_parameters(n)] for n in known_drivers()}\n'
            'print(sorted(m for m in ("depthai", "pyrealsense2", "cv2") if m in sys.modules))\n'
            'print("serial_no" in names["realsense"], "source" in names["file"])\n')
    res = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                         timeout=120)
    assert res.returncode == 0, res.stdout + res.stderr
    assert res.stdout.split('\n')[-3:] == ['[]', 'True True', ''], res.stdout
    assert 'depthai' not in res.stderr           # its USB warning comes with its import


@pytest.mark.parametrize('name', known_drivers())
def test_driver_parameters_are_the_driver_classes(name):
    from camera_node.drivers import driver_class, driver_parameters
    try:
        cls = driver_class(name)
    except Exception as exc:
        pytest.skip('driver %s cannot be imported here: %s' % (name, exc))
    assert tuple(cls.parameters) == driver_parameters(name)


def test_driver_parameters_of_an_unknown_driver():
    from camera_node.drivers import driver_parameters, DriverUnavailableError
    with pytest.raises(DriverUnavailableError, match="unknown driver 'kinect'; known drivers: "
                       'synthetic, realsense, oakd, webcam, file, bag'):
        driver_parameters('kinect')


@pytest.mark.parametrize('name', ['synthetic', 'realsense', 'oakd', 'webcam', 'file',
                                  ' RealSense '])
def test_resolve_known_driver(name):
    assert L.resolve_driver(name) == name.strip().lower()


@pytest.mark.parametrize('name', ['realsens', '', 'usb_cam'])
def test_unknown_driver_message_lists_known_ones(name):
    with pytest.raises(ValueError) as err:
        L.resolve_driver(name)
    msg = str(err.value)
    assert 'unknown driver %r' % name in msg
    for known in L.KNOWN_DRIVERS:
        assert known in msg


@pytest.mark.parametrize('driver', L.KNOWN_DRIVERS)
def test_default_params_file_per_driver_is_shipped(driver):
    path = L.default_params_file(PKG, driver)
    assert path == os.path.join(PKG, 'config', driver + '.yaml')
    assert os.path.isfile(path), 'config/%s.yaml is missing' % driver
    assert L.params_file_for(PKG, driver) == path


def test_params_file_for_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match='does not exist'):
        L.params_file_for(str(tmp_path), 'synthetic')
    with pytest.raises(ValueError, match='nope.yaml does not exist'):
        L.params_file_for(PKG, 'synthetic', str(tmp_path / 'nope.yaml'))


def test_choose_driver(tmp_path):
    rs = os.path.join(CONFIG, 'realsense.yaml')
    assert L.choose_driver('', '') == 'synthetic'
    assert L.choose_driver('oakd', '') == 'oakd'
    assert L.choose_driver('', rs) == 'realsense'              # the file names its driver
    assert L.choose_driver('realsense', rs) == 'realsense'
    with pytest.raises(ValueError, match='is for driver realsense but driver:=webcam'):
        L.choose_driver('webcam', rs)
    plain = write(tmp_path, 'plain.yaml', '/**:\n  ros__parameters:\n    fps: 5.0\n')
    assert L.choose_driver('', plain) == 'synthetic'
    with pytest.raises(ValueError, match='does not exist'):
        L.choose_driver('', str(tmp_path / 'missing.yaml'))
    with pytest.raises(ValueError, match='unknown driver'):
        L.choose_driver('nope', '')


# -- launch arguments -> node parameters ---------------------------------------------------
def test_declared_arguments_are_parameters_or_launch_options():
    """Every declared argument sets a parameter of the node or of some driver, or is one
    of the launch file's own options; parameter arguments default to "not given"."""
    own = {'camera_namespace', 'node_name', 'params_file', 'log_level', 'output',
           'use_large_data_profile', 'rviz'}
    every = {n for d in L.KNOWN_DRIVERS for n in L.parameter_specs(d)}
    for name, default, description in L.CAMERA_ARGUMENTS:
        assert description
        if name not in own:
            assert name in every, '%s is no parameter of the node or of any driver' % name
            assert default == '', '%s must default to "not given"' % name
    assert DEFAULTS['camera_namespace'] == DEFAULTS['node_name'] == 'camera'
    assert (DEFAULTS['rviz'], DEFAULTS['log_level'], DEFAULTS['output']) == (
        'false', 'info', 'screen')


def test_overrides_keep_only_given_parameters():
    args = dict(DEFAULTS, driver='synthetic', width='320', height=' ', fps='15')
    assert L.split_overrides(args) == ({'driver': 'synthetic', 'width': 320, 'fps': 15.0}, [])
    assert L.split_overrides({}) == ({'driver': 'synthetic'}, [])


def test_overrides_of_another_drivers_parameters_are_left_out_with_a_note():
    out, notes = overrides(driver='realsense', serial_no='_012345', width='320', fps='30',
                           source='/dev/video0', color_profile='1280x720x30')
    assert out == {'driver': 'realsense', 'serial_no': '_012345',
                   'color_profile': '1280x720x30'}
    assert len(notes) == 3
    assert ('ignoring fps:=30: driver realsense has no such parameter (synthetic, webcam, '
            'file take it); use color_profile:=WIDTHxHEIGHTxFPS') in notes
    out, notes = overrides(driver='webcam', serial_no='1', source='2')
    assert out == {'driver': 'webcam', 'source': '2'}
    assert notes == ['ignoring serial_no:=1: driver webcam has no such parameter (realsense '
                     'takes it); oakd uses device_id, webcam and file source']
    out, _ = overrides(driver='oakd', device_id='14442C10', enable_depth='False',
                       color_profile='1280x800x30')
    assert out == {'driver': 'oakd', 'device_id': '14442C10', 'enable_depth': False,
                   'color_profile': '1280x800x30'}


def test_overrides_convert_types():
    out, _ = overrides(driver='webcam', source='0123', width='640', fps='12.5',
                       publish_cloud='off', cloud_decimation='4',
                       mount_pose='[0.1, 0, 0.3, 0, 0, 1.57]', camera_name='front',
                       parent_frame=' base_link ')
    assert out == {'driver': 'webcam', 'source': '0123', 'width': 640, 'fps': 12.5,
                   'publish_cloud': False, 'cloud_decimation': 4,
                   'mount_pose': [0.1, 0.0, 0.3, 0.0, 0.0, 1.57], 'camera_name': 'front',
                   'parent_frame': 'base_link'}
    assert overrides(mount_pose='1 2 3 0 0 0')[0]['mount_pose'] == [1.0, 2.0, 3.0, 0, 0, 0]


@pytest.mark.parametrize('raw', ['012345678901', "'012345678901'", '"012345678901"',
                                 " '012345678901' "])
def test_strings_are_taken_as_written_or_yaml_quoted(raw):
    out, _ = overrides(driver='realsense', serial_no=raw)
    assert out['serial_no'] == '012345678901'


def test_strings_that_only_look_quoted_are_kept():
    for raw in ("'abc", "a'b'", "'a' 'b'", '"a\\'):
        assert L.unquote(raw) == raw
    assert L.unquote("'it''s'") == "it's"


def test_other_parameters_pass_through():
    """Any parameter of the node or its driver can be given, not only declared ones."""
    out, notes = overrides(motion='true', jpeg_quality='90', read_timeout='2',
                           geometries='[{type: box, label: a, dims_mm: [1, 2, 3]}]',
                           use_sim_time='True', not_a_parameter='x', ros_namespace='/x')
    assert out == {'driver': 'synthetic', 'motion': True, 'jpeg_quality': 90,
                   'read_timeout': 2.0, 'use_sim_time': True,
                   'geometries': '[{type: box, label: a, dims_mm: [1, 2, 3]}]'}
    assert notes == []
    out, _ = overrides(driver='file', loop='true', realtime='false')
    assert out == {'driver': 'file', 'loop': True, 'realtime': False}
    name = 'qos_overrides./camera/camera/color/image_raw.publisher.depth'
    out, _ = L.split_overrides({name: '5', name.replace('depth', 'reliability'): 'reliable'})
    assert out[name] == 5 and out[name.replace('depth', 'reliability')] == 'reliable'


@pytest.mark.parametrize('args, message', [
    ({'width': 'wide'}, "width:='wide' is not an integer"),
    ({'width': '32.5'}, 'is not an integer'),
    ({'fps': 'fast'}, "fps:='fast' is not a number"),
    ({'publish_cloud': 'maybe'}, 'is not a boolean (use true or false)'),
    ({'motion': 'maybe'}, "motion:='maybe' is not a boolean"),
    ({'mount_pose': '1, 2, 3'}, 'needs 6 numbers'),
    ({'mount_pose': 'a,b,c,d,e,f'}, 'is not a list of numbers'),
    ({'driver': 'realsense', 'color_profile': '640x480'}, 'must be WIDTHxHEIGHTxFPS'),
    ({'driver': 'realsense', 'depth_profile': 'VGA'}, 'must be WIDTHxHEIGHTxFPS'),
    ({'camera_name': 'my-cam'}, 'is not a valid ROS name'),
    ({'camera_name': '2cam'}, 'is not a valid ROS name'),
    ({'driver': 'nope', 'width': '1'}, 'unknown driver'),
    ({'width': '5'}, r'width must be within [16, 3840], got 5'),
    ({'cloud_decimation': '0'}, 'cloud_decimation must be within'),
    ({'jpeg_quality': '0'}, 'jpeg_quality must be within [1, 100], got 0'),
    ({'driver': 'webcam', 'backend': 'vlc'}, 'backend must be one of auto, v4l2'),
])
def test_override_errors_are_clear(args, message):
    with pytest.raises(ValueError) as err:
        L.split_overrides(args)
    assert message in str(err.value)


@pytest.mark.parametrize('driver, name, value', [
    ('oakd', 'color_profile', '640x400x12.5'),     # OAK takes fractional rates
    ('realsense', 'color_profile', '640X480x30'),   # as the node does
    ('realsense', 'depth_profile', '0x0x0'),       # any
])
def test_launch_takes_the_profiles_the_node_takes(driver, name, value):
    out, notes = L.split_overrides({'driver': driver, name: value})
    assert out[name] == value and notes == []


# -- the ros2 launch command line ----------------------------------------------------------
THIS = os.path.join(LAUNCH, 'camera.launch.py')


@pytest.mark.parametrize('argv, direct', [
    (['ros2', 'launch', 'camera_node', 'camera.launch.py', 'width:=3'], True),
    (['ros2', 'launch', '-d', 'camera_node', 'camera.launch.py'], True),
    (['ros2', 'launch', THIS, 'width:=3'], True),
    (['ros2', 'launch', 'my_robot', 'camera.launch.py', 'width:=3'], False),
    (['ros2', 'launch', 'camera_node', 'multi_camera.launch.py'], False),
    (['ros2', 'launch', 'my_robot', 'bringup.launch.py', 'camera.launch.py:=x'], False),
    (['pytest'], False),
])
def test_launched_directly(argv, direct):
    assert L.launched_directly(THIS, 'camera_node', argv) is direct


def test_command_line_is_this_files_only():
    argv = ['ros2', 'launch', 'camera_node', 'camera.launch.py']
    given = ['widht:=1280', 'source:=a:=b', 'launch-prefix:=gdb']
    want = {'widht': '1280', 'source': 'a:=b'}
    assert L.command_line(given, THIS, 'camera_node', argv) == want
    assert L.command_line(given, THIS, 'camera_node', ['ros2', 'launch', 'x', 'y.py']) is None


@pytest.mark.parametrize('given, message', [
    ({'widht': '1280'}, 'unknown launch argument widht:=1280 (did you mean width?): '
     'camera.launch.py has no such argument and the camera node (driver synthetic) no such '
     'parameter (ros2 launch camera_node camera.launch.py --show-args lists them)'),
    ({'cameranamespace': 'a', 'rvis': 'true'}, 'unknown launch arguments cameranamespace:=a '
     '(did you mean camera_namespace or camera_name?), rvis:=true (did you mean rviz?)'),
    ({'foo': '1'}, 'unknown launch argument foo:=1: camera.launch.py has no such argument'),
])
def test_unknown_command_line_arguments_are_rejected(given, message):
    with pytest.raises(ValueError) as err:
        L.check_camera_command_line(given, 'synthetic')
    assert message in str(err.value)


def test_known_command_line_arguments_pass():
    given = {'width': '1', 'motion': 'true', 'serial_no': '1', 'use_sim_time': 'true',
             'qos_overrides./a.publisher.depth': '1', 'rviz': 'false'}
    L.check_camera_command_line(given, 'synthetic')      # serial_no: a note, no error
    L.check_camera_command_line(None, 'synthetic')       # included: nothing to check


@pytest.mark.parametrize('given, message', [
    ({'camera_file': 'x.yaml'}, 'unknown launch argument camera_file:=x.yaml (did you mean '
     'cameras_file?): multi_camera.launch.py has no such argument'),
    ({'width': '320', 'motion': 'true'}, 'multi_camera.launch.py takes camera parameters '
     'from the cameras file, not from the command line (motion, width)'),
])
def test_multi_camera_command_line(given, message):
    with pytest.raises(ValueError) as err:
        L.check_multi_command_line(given)
    assert message in str(err.value)
    L.check_multi_command_line({'cameras_file': 'x', 'log_level': 'debug'})


# -- what camera.launch.py starts ----------------------------------------------------------
def plan(rviz2='/opt/ros/x/lib/rviz2/rviz2', **args):
    return L.camera_plan(dict(DEFAULTS, **args), PKG, find_rviz2=lambda: rviz2)


def test_plan_default_is_the_synthetic_camera(monkeypatch):
    for var in L.FASTDDS_PROFILE_VARIABLES:
        monkeypatch.delenv(var, raising=False)
    p = plan()
    assert (p.driver, p.namespace, p.node_name, p.full_name) == (
        'synthetic', '/camera', 'camera', '/camera/camera')
    assert p.params_file == os.path.join(CONFIG, 'synthetic.yaml')
    assert p.overrides == {'driver': 'synthetic'} and p.notes == []
    assert p.lifecycle is False and p.rviz_config is None
    assert p.environment == L.fastdds_environment(PKG, 'true')
    kw = p.node_arguments('/run/parameters.yaml')
    assert kw == {'package': 'camera_node', 'executable': 'camera_node', 'name': 'camera',
                  'namespace': '/camera', 'output': 'screen', 'emulate_tty': True,
                  'parameters': [p.params_file, '/run/parameters.yaml'],
                  'arguments': ['--ros-args', '--log-level', 'info']}


def test_plan_with_arguments(monkeypatch):
    monkeypatch.setenv('FASTRTPS_DEFAULT_PROFILES_FILE', '/mine.xml')   # the user's wins
    p = plan(driver='webcam', source='0123', width='1280', height='720', fps='30',
             camera_name='front', camera_namespace='robot/front', node_name='usb',
             serial_no='1234', log_level='debug', output='log')
    assert (p.full_name, p.output, p.log_level) == ('/robot/front/usb', 'log', 'debug')
    assert p.params_file == os.path.join(CONFIG, 'webcam.yaml')
    assert p.overrides == {'driver': 'webcam', 'source': '0123', 'width': 1280,
                           'height': 720, 'fps': 30.0, 'camera_name': 'front'}
    assert len(p.notes) == 1 and p.notes[0].startswith('ignoring serial_no:=1234')
    assert p.environment == {}
    assert plan(use_large_data_profile='false').environment == {}


def test_plan_params_file_names_the_driver_and_lifecycle(tmp_path):
    rs = os.path.join(CONFIG, 'realsense.yaml')
    p = plan(params_file=rs, serial_no='_0123')
    assert (p.driver, p.params_file) == ('realsense', rs)
    assert p.overrides == {'driver': 'realsense', 'serial_no': '_0123'}
    assert plan(lifecycle='true').lifecycle is True
    managed = write(tmp_path, 'managed.yaml', '/**:\n  ros__parameters:\n    lifecycle: true\n')
    assert plan(params_file=managed).lifecycle is True
    assert plan(params_file=managed, lifecycle='false').lifecycle is False


@pytest.mark.parametrize('arguments, message', [
    ({'driver': 'kinect'}, "unknown driver 'kinect'; known drivers: synthetic, realsense, oakd"),
    ({'width': 'big'}, "width:='big' is not an integer"),
    ({'node_name': 'my camera'}, 'not a valid ROS name'),
    ({'camera_namespace': 'a b'}, 'not a valid ROS namespace'),
    ({'lifecycle': 'sometimes'}, "lifecycle:='sometimes' is not a boolean"),
    ({'output': 'tty'}, "output:='tty' must be one of screen, log, both"),
    ({'log_level': 'loud'}, "log_level:='loud' must be one of debug, info"),
    ({'rviz': 'yes please'}, "rviz:='yes please' is not a boolean"),
    ({'params_file': '/nonexistent/p.yaml'}, "params_file '/nonexistent/p.yaml' does not "
     'exist'),
])
def test_plan_fails_with_a_clear_message(arguments, message):
    with pytest.raises(ValueError) as err:
        plan(**arguments)
    assert message in str(err.value)


def test_plan_rviz():
    p = plan(rviz='true', camera_namespace='front', camera_name='front')
    data = yaml.safe_load(p.rviz_config)
    manager = data['Visualization Manager']
    assert manager['Global Options']['Fixed Frame'] == 'front_link'
    assert any(d.get('Topic', {}).get('Value') == '/front/camera/color/image_raw'
               for d in manager['Displays'])
    with pytest.raises(ValueError, match='rviz:=true but rviz2 is not installed here .*'
                       'Nothing was started'):
        plan(rviz2=None, rviz='true')


def test_rviz2_executable_is_found_in_the_ament_index(tmp_path, monkeypatch):
    prefix = tmp_path / 'prefix'
    (prefix / 'share' / 'ament_index' / 'resource_index' / 'packages').mkdir(parents=True)
    (prefix / 'share' / 'ament_index' / 'resource_index' / 'packages' / 'rviz2').touch()
    exe = prefix / 'lib' / 'rviz2' / 'rviz2'
    exe.parent.mkdir(parents=True)
    exe.write_text('#!/bin/sh\n')
    monkeypatch.setenv('AMENT_PREFIX_PATH', str(prefix))
    assert L.rviz2_executable() is None              # not executable
    exe.chmod(0o755)
    assert L.rviz2_executable() == str(exe)
    monkeypatch.setenv('AMENT_PREFIX_PATH', str(tmp_path))
    assert L.rviz2_executable() is None


def test_other_checks():
    assert L.normalize_namespace('camera') == '/camera'
    assert L.normalize_namespace('/robot/cam/') == '/robot/cam'
    assert L.normalize_namespace('') == '/'
    with pytest.raises(ValueError, match='not a valid ROS namespace'):
        L.normalize_namespace('my cam')
    assert L.topic_prefix('camera', 'camera') == '/camera/camera'
    assert L.topic_prefix('', 'cam') == '/cam'
    assert L.check_log_level('DEBUG') == 'debug'
    assert L.check_log_level('camera:=warn') == 'camera:=warn'
    with pytest.raises(ValueError, match='log_level'):
        L.check_log_level('verbose')
    assert L.check_output('Screen') == 'screen'
    with pytest.raises(ValueError, match='output'):
        L.check_output('stdout')
    synthetic = os.path.join(CONFIG, 'synthetic.yaml')
    assert L.is_lifecycle({}, synthetic) is False
    assert L.is_lifecycle({'lifecycle': True}, synthetic) is True


# -- the files a launch writes -------------------------------------------------------------
TRICKY = {'serial': '012345678901', 'exponent': '1e5', 'nan': 'nan', 'inf': '-inf',
          'hex': '0x1F', 'octal': '0o17', 'bool': 'true', 'null': '~', 'empty': '',
          'quotes': 'it\'s "q"', 'lines': 'a\nb: c', 'colon': 'a: b', 'list': '[1, 2]',
          'unicode': 'caméra'}


def read_back_with_rcl(*files, node='/ns/n'):
    """Start an rclpy node reading the parameter files; return name -> (type, value)."""
    ns, name = node.rsplit('/', 1)
    code = ('import json, sys, rclpy\n'
            'rclpy.init(args=sys.argv)\n'
            'n = rclpy.create_node(%r, namespace=%r, '
            'automatically_declare_parameters_from_overrides=True)\n'
            'print(json.dumps({k: [type(p.value).__name__, p.value] '
            'for k, p in n._parameters.items()}))\n' % (name, ns or '/'))
    args = [sys.executable, '-c', code, '--ros-args']
    for f in files:
        args += ['--params-file', f]
    res = subprocess.run(args, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stdout + res.stderr
    return {k: tuple(v) for k, v in json.loads(res.stdout.strip().split('\n')[-1]).items()}


def test_parameter_files_reach_rcl_unchanged(tmp_path):
    """Strings rcl would read as numbers or booleans arrive as the same strings."""
    values = dict(TRICKY, integer=5, double=30.0, flag=False, pose=[0.0, 0.1, 3.0])
    path = write(tmp_path, 'p.yaml', L.parameter_file_text(values, '/ns/n'))
    got = read_back_with_rcl(path)
    for name, value in TRICKY.items():
        assert got[name] == ('str', value), name
    assert got['integer'] == ('int', 5) and got['double'] == ('float', 30.0)
    assert got['flag'] == ('bool', False) and got['pose'] == ('list', [0.0, 0.1, 3.0])


def test_parameter_files_win_over_every_section_of_the_params_file(tmp_path):
    """rcl applies sections in the order it first meets their keys: the launch's file
    must still win when the user's params_file names the node before /** (or after)."""
    for first, second in (('/ns/n', '/**'), ('/**', '/ns/n')):
        user = write(tmp_path, 'user.yaml', yaml.safe_dump({
            first: {'ros__parameters': {'a': 'user', 'b': 'user'}},
            second: {'ros__parameters': {'a': 'user', 'c': 'user'}}}))
        ours = write(tmp_path, 'ours.yaml', L.parameter_file_text({'a': 'launch'}, '/ns/n'))
        got = read_back_with_rcl(user, ours)
        assert got['a'] == ('str', 'launch'), (first, second)
        assert got['b'] == got['c'] == ('str', 'user')


def test_run_files_are_removed():
    files = L.RunFiles()
    assert os.path.basename(files.path).startswith('camera_node_launch_')
    path = files.write('camera.rviz', 'x')
    with open(path) as f:
        assert f.read() == 'x'
    files.remove('event', 'context')               # as launch's OnShutdown calls it
    assert not os.path.exists(files.path)
    files.remove()                                 # twice is fine


# -- Fast DDS profile ----------------------------------------------------------------------
def test_fastdds_profile(tmp_path):
    share = share_dir(tmp_path)
    assert L.fastdds_profile_path(share) is None
    assert L.fastdds_environment(share, 'true', {}) == {}
    xml = os.path.join(share, 'config', 'fastdds_large_data.xml')
    with open(xml, 'w') as f:
        f.write('<profiles/>')
    assert L.fastdds_profile_path(share) == xml
    for distro in ('humble', 'jazzy'):
        assert L.fastdds_environment(share, 'true', {'ROS_DISTRO': distro}) == {
            'FASTRTPS_DEFAULT_PROFILES_FILE': xml}
    for distro in ('kilted', 'rolling', ''):       # Fast DDS 3: the new name only
        assert L.fastdds_environment(share, 'true', {'ROS_DISTRO': distro}) == {
            'FASTDDS_DEFAULT_PROFILES_FILE': xml}
    assert L.fastdds_environment(share, 'false', {}) == {}
    for var in L.FASTDDS_PROFILE_VARIABLES:       # the user's own profile wins
        assert L.fastdds_environment(share, 'true', {var: '/mine.xml'}) == {}
    with pytest.raises(ValueError, match='use_large_data_profile'):
        L.fastdds_environment(share, 'sometimes', {})


# -- several cameras -----------------------------------------------------------------------
def test_shipped_multi_camera_file():
    cams = L.load_camera_list(os.path.join(CONFIG, 'multi_camera.yaml'), PKG)
    assert [c.name for c in cams] == ['left', 'right']
    left, right = cams
    assert (left.namespace, left.node_name, left.driver) == ('/left', 'camera', 'synthetic')
    assert left.topic_prefix == '/left/camera' and right.topic_prefix == '/right/camera'
    assert left.params_file == os.path.join(CONFIG, 'synthetic.yaml')
    assert left.parameters['camera_name'] == 'left'
    assert right.parameters['camera_name'] == 'right'
    assert left.parameters['parent_frame'] == right.parameters['parent_frame'] == 'base_link'
    assert left.parameters['mount_pose'] != right.parameters['mount_pose']
    assert all(isinstance(v, float) for v in left.parameters['mount_pose'])
    assert left.parameters['driver'] == 'synthetic'


CAMS = """
/**:
  ros__parameters:
    parent_frame: base_link
    width: 320
cameras:
%s
"""


def cams_file(tmp_path, entries):
    return write(tmp_path, 'cams.yaml', CAMS % entries)


def test_camera_defaults(tmp_path):
    share = share_dir(tmp_path, 'synthetic.yaml', 'realsense.yaml')
    path = cams_file(tmp_path, '  - name: a\n'
                               '  - name: b\n    namespace: /robot/b\n    node_name: cam\n'
                               '    parameters: {fps: 10, camera_name: b_cam}\n')
    a, b = L.load_camera_list(path, share)
    assert a.driver == 'synthetic'                               # missing driver
    assert a.params_file == os.path.join(share, 'config', 'synthetic.yaml')
    assert a.namespace == '/a' and a.node_name == 'camera'
    assert a.parameters == {'parent_frame': 'base_link', 'width': 320, 'camera_name': 'a',
                            'driver': 'synthetic'}
    assert b.topic_prefix == '/robot/b/cam'
    assert b.parameters['fps'] == 10.0 and isinstance(b.parameters['fps'], float)
    assert b.parameters['camera_name'] == 'b_cam'


def test_camera_params_file_relative_and_its_driver(tmp_path):
    write(tmp_path, 'mine.yaml', '/**:\n  ros__parameters:\n    driver: webcam\n')
    path = cams_file(tmp_path, '  - name: usb\n    params_file: mine.yaml\n'
                               '    parameters: {source: "0"}\n')
    (usb,) = L.load_camera_list(path, share_dir(tmp_path))
    assert usb.params_file == str(tmp_path / 'mine.yaml')
    assert usb.driver == 'webcam'
    assert usb.parameters['width'] == 320       # shared width applies to webcams
    assert usb.parameters['source'] == '0'


def test_shared_parameters_skip_drivers_without_them(tmp_path):
    path = cams_file(tmp_path, '  - name: rs\n    driver: realsense\n'
                               "    parameters: {serial_no: '012345'}\n")
    (rs,) = L.load_camera_list(path, share_dir(tmp_path, 'realsense.yaml'))
    assert 'width' not in rs.parameters                  # realsense has no width
    assert rs.parameters['serial_no'] == '012345'
    assert rs.parameters['parent_frame'] == 'base_link'


@pytest.mark.parametrize('entries, message', [
    ('  - name: a\n  - name: a\n    namespace: other\n', "two cameras are named 'a'"),
    ('  - name: a\n  - name: b\n    namespace: a\n', "cameras 'a' and 'b' are both in "
     'namespace /a'),
    ('  - name: a\n  - name: b\n    namespace: /a/\n    node_name: other\n',
     'both in namespace /a'),
    ('  - name: a\n  - name: b\n    parameters: {camera_name: a}\n',
     "share camera_name 'a': their TF frames (a_link, ...) would collide"),
    ('  - name: a\n    driver: kinect\n', "camera 'a': unknown driver 'kinect'"),
    ('  - namespace: x\n', 'camera #1 has no name'),
    ('  - just_a_string\n', 'camera #1 must be a mapping'),
    ('  - name: a\n    paramters: {}\n', "camera 'a': unknown keys paramters"),
    ('  - name: a-b\n', "camera name 'a-b' is not a valid ROS name"),
    ('  - name: a\n    parameters: {width: wide}\n', "'wide' is not an integer"),
    ('  - name: a\n    parameters: {width: 2}\n', 'width must be within'),
    ('  - name: a\n    parameters: {fsp: 10.0}\n', "unknown parameter 'fsp' for driver "
     'synthetic; did you mean fps?'),
    ('  - name: a\n    parameters: {driver: webcam}\n', 'set driver on the entry'),
    ('  - name: a\n    params_file: missing.yaml\n', "missing.yaml' does not exist"),
    ('  - name: a\n    parameters: [1, 2]\n', 'parameters must be a mapping'),
])
def test_bad_camera_lists_are_rejected_with_a_reason(tmp_path, entries, message):
    path = cams_file(tmp_path, entries)
    with pytest.raises(ValueError) as err:
        L.load_camera_list(path, share_dir(tmp_path, 'synthetic.yaml'))
    assert message in str(err.value)
    assert 'cams.yaml' in str(err.value)


def test_unquoted_serial_number_is_rejected(tmp_path):
    path = cams_file(tmp_path, '  - name: a\n    driver: realsense\n'
                               '    parameters: {serial_no: 012345}\n')
    with pytest.raises(ValueError, match='must be a string'):
        L.load_camera_list(path, share_dir(tmp_path, 'realsense.yaml'))


@pytest.mark.parametrize('text, message', [
    ('cameras: []\n', 'non-empty list'),
    ('- name: a\n', 'must hold a "cameras:" list'),
    ('cameras: [{name: a}]\nextra: 1\n', 'unknown top-level keys extra'),
    ('cameras: [{name: a}\n', 'is not valid YAML'),
    ('/**: 3\ncameras: [{name: a}]\n', '"/**" must hold "ros__parameters:"'),
])
def test_bad_camera_files(tmp_path, text, message):
    with pytest.raises(ValueError) as err:
        L.load_camera_list(write(tmp_path, 'c.yaml', text), share_dir(tmp_path))
    assert message in str(err.value)
    with pytest.raises(ValueError, match='cannot read cameras file'):
        L.load_camera_list(str(tmp_path / 'none.yaml'))


def test_generic_parameters_pass(tmp_path):
    path = cams_file(tmp_path, '  - name: a\n    parameters:\n      use_sim_time: true\n'
                               '      qos_overrides:\n        /a/camera/color/image_raw:\n'
                               '          publisher: {reliability: best_effort}\n')
    (a,) = L.load_camera_list(path, share_dir(tmp_path, 'synthetic.yaml'))
    assert a.parameters['use_sim_time'] is True and 'qos_overrides' in a.parameters


# -- shipped parameter files ---------------------------------------------------------------
def _ros_parameters(path):
    with open(path) as f:
        data = yaml.safe_load(f)
    assert isinstance(data, dict) and list(data) == ['/**'], (
        '%s must be keyed with /** only, so a renamed node keeps its parameters' % path)
    values = data['/**'].get('ros__parameters')
    assert isinstance(values, dict), '%s: /** must hold ros__parameters' % path
    return values


def test_every_driver_has_a_parameter_file():
    assert sorted(os.path.basename(p)[:-5] for p in DRIVER_YAMLS) == sorted(L.KNOWN_DRIVERS)


@pytest.mark.parametrize('path', DRIVER_YAMLS, ids=os.path.basename)
def test_parameter_file_shape_and_names(path):
    driver = os.path.basename(path)[:-5]
    values = _ros_parameters(path)
    assert values.get('driver') == driver, '%s must set driver: %s' % (path, driver)
    specs = L.parameter_specs(driver)
    for name, value in values.items():
        assert name in specs, '%s: %s is not a parameter of the node or driver %s' % (
            path, name, driver)
        want = L.kind_of(specs[name].default)
        got = L.kind_of(value)
        # rclpy refuses an integer for a double parameter: 30 must be written 30.0
        assert got is want, '%s: %s is a %s, the parameter is a %s' % (
            path, name, got.__name__, want.__name__)
        assert params.validate(specs[name], value) is None, (path, name, value)


def test_synthetic_file_lists_every_parameter_with_its_default():
    values = _ros_parameters(os.path.join(CONFIG, 'synthetic.yaml'))
    specs = L.parameter_specs('synthetic')
    missing = sorted(set(specs) - set(values))
    assert not missing, 'add to config/synthetic.yaml (with a comment): %s' % missing
    for name, spec in specs.items():
        default = list(spec.default) if isinstance(spec.default, tuple) else spec.default
        assert values[name] == default, '%s: %r, default %r' % (name, values[name], default)


def test_synthetic_file_is_commented():
    with open(os.path.join(CONFIG, 'synthetic.yaml')) as f:
        lines = f.read().splitlines()

    def is_parameter(line):
        stripped = line.strip()
        return line.startswith('    ') and not stripped.startswith('#') and ':' in stripped

    for i, line in enumerate(lines):
        stripped = line.strip()
        if is_parameter(line) and stripped.split(':')[0] not in ('driver', 'height'):
            j = i - 1
            while j > 0 and is_parameter(lines[j]):   # a group under one comment
                j -= 1
            assert lines[j].strip().startswith('#'), 'no comment above %r' % stripped


# -- rviz ----------------------------------------------------------------------------------
def _rviz():
    with open(os.path.join(CONFIG, 'camera.rviz')) as f:
        text = f.read()
    return text, yaml.safe_load(text)


def test_rviz_config_names_the_default_topics():
    text, data = _rviz()
    manager = data['Visualization Manager']
    assert manager['Global Options']['Fixed Frame'] == 'camera_link'
    displays = {d['Class']: d for d in manager['Displays']}
    assert {'rviz_default_plugins/Image', 'rviz_default_plugins/PointCloud2',
            'rviz_default_plugins/TF', 'rviz_default_plugins/MarkerArray'} <= set(displays)
    assert displays['rviz_default_plugins/Image']['Topic']['Value'] == \
        '/camera/camera/color/image_raw'
    cloud = displays['rviz_default_plugins/PointCloud2']
    assert cloud['Topic']['Value'] == '/camera/camera/depth/color/points'
    assert cloud['Color Transformer'] == 'RGB8'
    markers = displays['rviz_default_plugins/MarkerArray']['Topic']
    assert markers['Value'] == '/camera/camera/geometries'
    assert markers['Durability Policy'] == 'Transient Local'     # the node latches them
    for d in manager['Displays']:
        if 'Topic' in d and d['Class'] != 'rviz_default_plugins/MarkerArray':
            assert d['Topic']['Reliability Policy'] == 'Reliable'
    assert any(p['Class'] == 'rviz_common/Displays' for p in data['Panels'])


def test_rviz_config_follows_namespace_and_camera_name():
    text, _ = _rviz()
    out = yaml.safe_load(L.render_rviz_config(text, '/front', 'cam', 'front'))
    manager = out['Visualization Manager']
    assert manager['Global Options']['Fixed Frame'] == 'front_link'
    topics = [d['Topic']['Value'] for d in manager['Displays'] if 'Topic' in d]
    assert topics and all(t.startswith('/front/cam/') for t in topics)


# -- launch files --------------------------------------------------------------------------
@pytest.mark.parametrize('path', sorted(glob.glob(os.path.join(LAUNCH, '*.launch.py'))),
                         ids=os.path.basename)
def test_launch_file_compiles(path, tmp_path):
    py_compile.compile(path, cfile=str(tmp_path / 'out.pyc'), doraise=True)


# -- the node started the way camera.launch.py starts it -----------------------------------
def test_node_starts_with_the_launch_parameters(tmp_path):
    """The synthetic YAML, then the launch's own parameter file, as camera.launch.py does."""
    p = plan(width='320', height='240', camera_name='ltest', camera_namespace='launchtest')
    override_file = write(tmp_path, 'parameters.yaml', p.override_file_text())
    fps = yaml.safe_load(open(p.params_file))['/**']['ros__parameters']['fps']
    proc = NodeProcess(namespace='launchtest', name='camera',
                       extra_args=['--params-file', p.params_file,
                                   '--params-file', override_file])
    try:
        assert proc.wait_output('publishing', 30), proc.output()
        out = proc.output()
        assert 'driver synthetic' in out
        assert 'colour 320x240' in out and 'depth 320x240' in out       # overrides
        assert '%.1f fps' % fps in out                                  # from the YAML
        assert 'frames ltest_link' in out
        assert '/launchtest/camera/color/image_raw' in out
    finally:
        code = proc.stop()
    assert code == 0, proc.output()


def test_launch_logic_imports_without_launch_or_a_vendor_sdk():
    """launch_logic needs neither launch / launch_ros nor any driver SDK (finding 8:
    the launch process must not print depthai's USB warning)."""
    code = ('import sys, camera_node.launch_logic as L\n'
            'for d in L.KNOWN_DRIVERS: L.parameter_specs(d)\n'
            'sys.exit(sorted(m for m in sys.modules if m.split(".")[0] in ('
            '"launch", "launch_ros", "rclpy", "depthai", "pyrealsense2", "cv2")) or 0)')
    res = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                         timeout=120)
    assert res.returncode == 0, res.stdout + res.stderr
    assert res.stderr == ''
