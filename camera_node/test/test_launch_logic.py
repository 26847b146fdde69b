"""The launch files' decisions (camera_node.launch_logic), the shipped config files, and
the launch files themselves.

`launch` and `launch_ros` are not installable without a ROS distro, so the launch files
are checked here by compiling them and by running generate_launch_description() and its
OpaqueFunction against a minimal stand-in of the launch API (see FakeLaunch below).
"""

import glob
import importlib.util
import os
import py_compile
import subprocess
import sys
import types

import pytest
import yaml

from camera_node import launch_logic as L
from camera_node import params
from camera_node.drivers import DRIVERS

from conftest import NodeProcess

PKG = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIG = os.path.join(PKG, 'config')
LAUNCH = os.path.join(PKG, 'launch')
#: config files that are ROS 2 parameter files for one driver (file name = driver)
DRIVER_YAMLS = sorted(p for p in glob.glob(os.path.join(CONFIG, '*.yaml'))
                      if os.path.basename(p) != 'multi_camera.yaml')


def specs_or_skip(driver):
    """Return the node's and the driver's parameter specs; skip if the driver won't import."""
    specs, complete = L.parameter_specs(driver)
    if not complete:
        try:
            from camera_node.drivers import driver_class
            driver_class(driver)
        except Exception as exc:
            pytest.skip('driver %s cannot be imported here: %s' % (driver, exc))
    return specs


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


# -- drivers -------------------------------------------------------------------------------
def test_known_drivers_are_the_registry():
    assert set(L.KNOWN_DRIVERS) == set(DRIVERS)
    assert L.DEFAULT_DRIVER == 'synthetic'


def test_driver_parameters_are_known_without_the_sdks():
    """The launch process reads every driver's parameters without importing an SDK."""
    code = ('import sys\n'
            'from camera_node.drivers import driver_parameters, known_drivers\n'
            'names = {n: [s.name for s in driver_parameters(n)] for n in known_drivers()}\n'
            'print(sorted(m for m in ("depthai", "pyrealsense2", "cv2") if m in sys.modules))\n'
            'print(len(names["realsense"]), "serial_no" in names["realsense"])\n')
    res = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                         timeout=120)
    assert res.returncode == 0, res.stdout + res.stderr
    assert res.stdout.split('\n')[-3:] == ['[]', '15 True', ''], res.stdout
    assert 'depthai' not in res.stderr           # its USB warning comes with its import


@pytest.mark.parametrize('name', sorted(DRIVERS))
def test_driver_parameters_are_the_driver_classes(name):
    from camera_node.drivers import driver_class, driver_parameters
    try:
        cls = driver_class(name)
    except Exception as exc:
        pytest.skip('driver %s cannot be imported here: %s' % (name, exc))
    assert cls.parameters is driver_parameters(name)


def test_driver_parameters_of_an_unknown_driver():
    from camera_node.drivers import driver_parameters, DriverUnavailableError
    with pytest.raises(DriverUnavailableError, match="unknown driver 'kinect'; known drivers: "
                       'file, oakd, realsense, synthetic, webcam'):
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


# -- overrides -----------------------------------------------------------------------------
def test_overrides_keep_only_given_arguments():
    args = {name: '' for name in L.OVERRIDE_ARGUMENTS}
    args.update(driver='synthetic', width='320', height=' ', fps='15')
    assert L.camera_overrides(args) == {'driver': 'synthetic', 'width': 320, 'fps': 15.0}
    assert L.camera_overrides({}) == {'driver': 'synthetic'}


def test_overrides_are_filtered_by_driver_with_a_note():
    args = {'driver': 'realsense', 'serial_no': '_012345', 'width': '320', 'fps': '30',
            'source': '/dev/video0', 'color_profile': '1280x720x30'}
    out, ignored = L.split_overrides(args)
    assert out == {'driver': 'realsense', 'serial_no': '_012345',
                   'color_profile': '1280x720x30'}
    assert len(ignored) == 3
    assert any(n.startswith('fps:=30 does not apply to driver realsense') and 'color_profile'
               in n for n in ignored)
    out, ignored = L.split_overrides({'driver': 'webcam', 'serial_no': '1', 'source': '2'})
    assert out == {'driver': 'webcam', 'source': '2'} and len(ignored) == 1
    out, _ = L.split_overrides({'driver': 'oakd', 'device_id': '14442C10', 'enable_depth':
                                'False', 'color_profile': '1280x800x30'})
    assert out == {'driver': 'oakd', 'device_id': '14442C10', 'enable_depth': False,
                   'color_profile': '1280x800x30'}


def test_overrides_convert_types():
    out = L.camera_overrides({'driver': 'file', 'source': '0123', 'width': '640',
                              'fps': '12.5', 'publish_cloud': 'off', 'cloud_decimation': '4',
                              'mount_pose': '[0.1, 0, 0.3, 0, 0, 1.57]',
                              'camera_name': 'front', 'parent_frame': ' base_link '})
    assert out == {'driver': 'file', 'source': '0123', 'width': 640, 'fps': 12.5,
                   'publish_cloud': False, 'cloud_decimation': 4,
                   'mount_pose': [0.1, 0.0, 0.3, 0.0, 0.0, 1.57], 'camera_name': 'front',
                   'parent_frame': 'base_link'}
    assert isinstance(out['source'], str)            # leading zeros kept
    assert L.camera_overrides({'mount_pose': '1 2 3 0 0 0'})['mount_pose'] == \
        [1.0, 2.0, 3.0, 0.0, 0.0, 0.0]


@pytest.mark.parametrize('args, message', [
    ({'width': 'wide'}, "width:='wide' is not an integer"),
    ({'width': '32.5'}, 'is not an integer'),
    ({'fps': 'fast'}, "fps:='fast' is not a number"),
    ({'publish_cloud': 'maybe'}, 'is not a boolean (use true or false)'),
    ({'mount_pose': '1, 2, 3'}, 'needs 6 numbers'),
    ({'mount_pose': 'a,b,c,d,e,f'}, 'is not a list of numbers'),
    ({'driver': 'realsense', 'color_profile': '640x480'}, 'must be WIDTHxHEIGHTxFPS'),
    ({'driver': 'realsense', 'depth_profile': 'VGA'}, 'must be WIDTHxHEIGHTxFPS'),
    ({'camera_name': 'my-cam'}, 'is not a valid ROS name'),
    ({'camera_name': '2cam'}, 'is not a valid ROS name'),
    ({'driver': 'nope', 'width': '1'}, 'unknown driver'),
])
def test_override_errors_are_clear(args, message):
    with pytest.raises(ValueError) as err:
        L.camera_overrides(args)
    assert message in str(err.value)


def test_override_ranges_are_checked_against_the_specs():
    specs = specs_or_skip('synthetic')
    assert L.camera_overrides({'width': '320'}, specs) == {'driver': 'synthetic', 'width': 320}
    with pytest.raises(ValueError, match=r'width must be within \[16, 3840\], got 5'):
        L.camera_overrides({'width': '5'}, specs)
    with pytest.raises(ValueError, match='cloud_decimation must be within'):
        L.camera_overrides({'cloud_decimation': '0'}, specs)


@pytest.mark.parametrize('driver', L.KNOWN_DRIVERS)
def test_override_table_matches_driver_parameters(driver):
    """Each launch argument sets a real parameter of every driver it claims, same type."""
    specs = specs_or_skip(driver)
    for name, (kind, drivers) in L.OVERRIDE_ARGUMENTS.items():
        applies = drivers is None or driver in drivers
        if applies:
            assert name in specs, '%s is not a parameter of driver %s' % (name, driver)
            assert L._kind_of(specs[name].default) is kind, name
        else:
            assert name not in specs, (
                'driver %s has parameter %s: add it to OVERRIDE_ARGUMENTS' % (driver, name))


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
    specs, complete = L.parameter_specs('webcam')
    if complete:              # shared width applies to webcams; parent_frame to every node
        assert usb.parameters['width'] == 320
    assert usb.parameters['source'] == '0'


def test_shared_parameters_skip_drivers_without_them(tmp_path):
    specs_or_skip('realsense')
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
     'synthetic'),
    ('  - name: a\n    parameters: {driver: webcam}\n', 'set driver on the entry'),
    ('  - name: a\n    params_file: missing.yaml\n', "missing.yaml' does not exist"),
    ('  - name: a\n    parameters: [1, 2]\n', 'parameters must be a mapping'),
])
def test_bad_camera_lists_are_rejected_with_a_reason(tmp_path, entries, message):
    if 'fsp' in message or 'within' in message:
        specs_or_skip('synthetic')
    path = cams_file(tmp_path, entries)
    with pytest.raises(ValueError) as err:
        L.load_camera_list(path, share_dir(tmp_path, 'synthetic.yaml'))
    assert message in str(err.value)
    assert 'cams.yaml' in str(err.value)


def test_unquoted_serial_number_is_rejected(tmp_path):
    specs_or_skip('realsense')
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
    specs_or_skip('synthetic')
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
    specs = specs_or_skip(driver)
    for name, value in values.items():
        assert name in specs, '%s: %s is not a parameter of the node or driver %s' % (
            path, name, driver)
        want = L._kind_of(specs[name].default)
        got = L._kind_of(value)
        # rclpy refuses an integer for a double parameter: 30 must be written 30.0
        assert got is want, '%s: %s is a %s, the parameter is a %s' % (
            path, name, got.__name__, want.__name__)
        assert params.validate(specs[name], value) is None, (path, name, value)


def test_synthetic_file_lists_every_parameter_with_its_default():
    values = _ros_parameters(os.path.join(CONFIG, 'synthetic.yaml'))
    specs = specs_or_skip('synthetic')
    missing = sorted(set(specs) - set(values))
    assert not missing, 'add to config/synthetic.yaml (with a comment): %s' % missing
    for name, spec in specs.items():
        default = list(spec.default) if isinstance(spec.default, tuple) else spec.default
        assert values[name] == default, '%s: %r, default %r' % (name, values[name], default)


def test_synthetic_file_is_commented():
    with open(os.path.join(CONFIG, 'synthetic.yaml')) as f:
        lines = f.read().splitlines()
    for i, line in enumerate(lines):
        stripped = line.strip()
        if (line.startswith('    ') and not stripped.startswith('#') and ':' in stripped
                and stripped.split(':')[0] not in ('driver', 'height')):
            assert lines[i - 1].strip().startswith('#'), 'no comment above %r' % stripped


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


class FakeLaunch:
    """A stand-in for the few launch / launch_ros names the launch files use.

    It exists only because launch and launch_ros cannot be installed here (no ROS
    distro, not on PyPI). Each class records its constructor arguments under the keyword
    names of the real API; run() does what `ros2 launch` does for these files: set every
    declared argument's default, apply the command-line arguments, and call the
    OpaqueFunction with a context holding them as launch_configurations.
    """

    class Recorded:
        def __init__(self, *args, **kwargs):
            self.args = args
            self.kwargs = kwargs

    class LaunchDescription:
        def __init__(self, initial_entities=None):
            self.entities = list(initial_entities or [])

    class DeclareLaunchArgument:
        def __init__(self, name, *, default_value=None, description='', choices=None):
            self.name = name
            self.default_value = default_value
            self.description = description

    class OpaqueFunction:
        def __init__(self, *, function, args=None, kwargs=None):
            self.function = function
            self.args = args or []
            self.kwargs = kwargs or {}

    class ParameterValue:
        def __init__(self, value, *, value_type=None):
            self.value = value
            self.value_type = value_type

    def __init__(self, monkeypatch):
        rec = self.Recorded
        node = type('Node', (rec,), {})
        lifecycle_node = type('LifecycleNode', (node,), {})
        log = type('LogInfo', (rec,), {})
        setenv = type('SetEnvironmentVariable', (rec,), {})
        mods = {
            'launch': {'LaunchDescription': self.LaunchDescription},
            'launch.actions': {'DeclareLaunchArgument': self.DeclareLaunchArgument,
                               'OpaqueFunction': self.OpaqueFunction, 'LogInfo': log,
                               'SetEnvironmentVariable': setenv},
            'launch_ros': {},
            'launch_ros.actions': {'Node': node, 'LifecycleNode': lifecycle_node},
            'launch_ros.parameter_descriptions': {'ParameterValue': self.ParameterValue},
        }
        for name, attrs in mods.items():
            module = types.ModuleType(name)
            module.__dict__.update(attrs)
            monkeypatch.setitem(sys.modules, name, module)
        self.Node, self.LifecycleNode = node, lifecycle_node
        self.LogInfo, self.SetEnv = log, setenv

    def load(self, filename):
        """Import a launch file (with the fake modules in place)."""
        path = os.path.join(LAUNCH, filename)
        spec = importlib.util.spec_from_file_location(filename.replace('.', '_'), path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module

    def run(self, filename, **arguments):
        """Build the launch description and return the OpaqueFunction's actions."""
        ld = self.load(filename).generate_launch_description()
        declared = [e for e in ld.entities if isinstance(e, self.DeclareLaunchArgument)]
        opaque = [e for e in ld.entities if isinstance(e, self.OpaqueFunction)]
        assert len(opaque) == 1
        configs = {d.name: d.default_value for d in declared}
        unknown = set(arguments) - set(configs)
        assert not unknown, 'not declared by %s: %s' % (filename, unknown)
        configs.update(arguments)
        context = types.SimpleNamespace(launch_configurations=configs)
        return opaque[0].function(context, *opaque[0].args, **opaque[0].kwargs)


def _plain(parameters):
    """Unwrap ParameterValue objects of a node's parameter dict; check they are strings."""
    out = {}
    for k, v in parameters.items():
        if isinstance(v, FakeLaunch.ParameterValue):
            assert v.value_type is str and isinstance(v.value, str)
            v = v.value
        else:
            assert not isinstance(v, str), '%s: a plain str would be read as YAML' % k
        out[k] = v
    return out


@pytest.fixture
def fake_launch(monkeypatch):
    for var in L.FASTDDS_PROFILE_VARIABLES:
        monkeypatch.delenv(var, raising=False)
    return FakeLaunch(monkeypatch)


def test_camera_launch_arguments(fake_launch):
    ld = fake_launch.load('camera.launch.py').generate_launch_description()
    declared = {e.name: e.default_value for e in ld.entities
                if isinstance(e, FakeLaunch.DeclareLaunchArgument)}
    assert declared['camera_namespace'] == 'camera' and declared['node_name'] == 'camera'
    assert declared['output'] == 'screen' and declared['use_large_data_profile'] == 'true'
    assert declared['log_level'] == 'info' and declared['rviz'] == 'false'
    assert set(L.OVERRIDE_ARGUMENTS) <= set(declared)
    for name in L.OVERRIDE_ARGUMENTS:
        assert declared[name] == '', '%s must default to "not given"' % name


def test_camera_launch_default_is_the_synthetic_camera(fake_launch):
    from ament_index_python.packages import get_package_share_directory
    share = get_package_share_directory('camera_node')
    actions = fake_launch.run('camera.launch.py')
    nodes = [a for a in actions if isinstance(a, fake_launch.Node)]
    assert len(nodes) == 1
    kw = nodes[0].kwargs
    assert (kw['package'], kw['executable']) == ('camera_node', 'camera_node')
    assert (kw['name'], kw['namespace']) == ('camera', '/camera')
    assert kw['output'] == 'screen' and kw['emulate_tty'] is True
    assert kw['arguments'] == ['--ros-args', '--log-level', 'info']
    params_file, overrides = kw['parameters']
    assert params_file == os.path.join(share, 'config', 'synthetic.yaml')
    assert _plain(overrides) == {'driver': 'synthetic'}
    env = {a.args[0]: a.args[1] for a in actions if isinstance(a, fake_launch.SetEnv)}
    profile = L.fastdds_profile_path(share)
    if profile:
        assert env == L.fastdds_environment(share, 'true')
        assert list(env.values()) == [profile]
        assert actions.index(nodes[0]) > max(actions.index(a) for a in actions
                                             if isinstance(a, fake_launch.SetEnv))
    else:
        assert env == {}


def test_camera_launch_with_arguments(fake_launch, monkeypatch):
    from ament_index_python.packages import get_package_share_directory
    share = get_package_share_directory('camera_node')
    actions = fake_launch.run('camera.launch.py', driver='webcam', source='0123',
                              width='1280', height='720', fps='30', camera_name='front',
                              camera_namespace='robot/front', node_name='usb',
                              serial_no='1234', log_level='debug', output='log',
                              use_large_data_profile='false')
    (node,) = [a for a in actions if isinstance(a, fake_launch.Node)]
    kw = node.kwargs
    assert (kw['name'], kw['namespace'], kw['output']) == ('usb', '/robot/front', 'log')
    assert kw['arguments'][-1] == 'debug'
    params_file, overrides = kw['parameters']
    assert params_file == os.path.join(share, 'config', 'webcam.yaml')
    assert _plain(overrides) == {'driver': 'webcam', 'source': '0123', 'width': 1280,
                                 'height': 720, 'fps': 30.0, 'camera_name': 'front'}
    notes = [a.kwargs['msg'] for a in actions if isinstance(a, fake_launch.LogInfo)]
    assert len(notes) == 1 and 'serial_no:=1234 does not apply to driver webcam' in notes[0]
    assert not [a for a in actions if isinstance(a, fake_launch.SetEnv)]
    # a profile the user set is kept
    monkeypatch.setenv('FASTRTPS_DEFAULT_PROFILES_FILE', '/mine.xml')
    actions = fake_launch.run('camera.launch.py')
    assert not [a for a in actions if isinstance(a, fake_launch.SetEnv)]


def test_camera_launch_params_file_names_the_driver(fake_launch):
    rs = os.path.join(CONFIG, 'realsense.yaml')
    actions = fake_launch.run('camera.launch.py', params_file=rs, serial_no='_0123')
    (node,) = [a for a in actions if isinstance(a, fake_launch.Node)]
    assert node.kwargs['parameters'][0] == rs
    assert _plain(node.kwargs['parameters'][1]) == {'driver': 'realsense',
                                                    'serial_no': '_0123'}


@pytest.mark.parametrize('arguments, message', [
    ({'driver': 'kinect'}, "unknown driver 'kinect'; known drivers: synthetic, realsense"),
    ({'width': 'big'}, "width:='big' is not an integer"),
    ({'node_name': 'my camera'}, 'not a valid ROS name'),
    ({'lifecycle': 'sometimes'}, "lifecycle:='sometimes' is not a boolean"),
    ({'output': 'tty'}, 'output'),
    ({'params_file': '/nonexistent/p.yaml'}, 'does not exist'),
])
def test_camera_launch_fails_with_a_clear_message(fake_launch, arguments, message):
    with pytest.raises(ValueError) as err:
        fake_launch.run('camera.launch.py', **arguments)
    assert message in str(err.value)


def test_camera_launch_lifecycle(fake_launch):
    actions = fake_launch.run('camera.launch.py')
    assert not [a for a in actions if isinstance(a, fake_launch.LifecycleNode)]
    actions = fake_launch.run('camera.launch.py', lifecycle='true')
    (node,) = [a for a in actions if isinstance(a, fake_launch.Node)]
    assert isinstance(node, fake_launch.LifecycleNode)
    assert node.kwargs['namespace'] == '/camera'       # LifecycleNode requires one
    assert _plain(node.kwargs['parameters'][1]) == {'driver': 'synthetic', 'lifecycle': True}


def test_camera_launch_rviz(fake_launch):
    actions = fake_launch.run('camera.launch.py', rviz='true', camera_namespace='front',
                              camera_name='front')
    (rviz,) = [a for a in actions if isinstance(a, fake_launch.Node)
               and a.kwargs['package'] == 'rviz2']
    assert rviz.kwargs['executable'] == 'rviz2' and rviz.kwargs['arguments'][0] == '-d'
    path = rviz.kwargs['arguments'][1]
    try:
        with open(path) as f:
            data = yaml.safe_load(f)
    finally:
        os.unlink(path)
    manager = data['Visualization Manager']
    assert manager['Global Options']['Fixed Frame'] == 'front_link'
    assert any(d.get('Topic', {}).get('Value') == '/front/camera/color/image_raw'
               for d in manager['Displays'])


def test_multi_camera_launch(fake_launch, tmp_path):
    from ament_index_python.packages import get_package_share_directory
    share = get_package_share_directory('camera_node')
    actions = fake_launch.run('multi_camera.launch.py')
    nodes = [a.kwargs for a in actions if isinstance(a, fake_launch.Node)]
    assert [(n['namespace'], n['name']) for n in nodes] == [('/left', 'camera'),
                                                            ('/right', 'camera')]
    for n, name in zip(nodes, ('left', 'right')):
        params_file, overrides = n['parameters']
        assert params_file == os.path.join(share, 'config', 'synthetic.yaml')
        values = _plain(overrides)
        assert values['camera_name'] == name and values['driver'] == 'synthetic'
        assert values['parent_frame'] == 'base_link' and len(values['mount_pose']) == 6
        assert n['emulate_tty'] is True and n['output'] == 'screen'
    path = cams_file(tmp_path, '  - name: a\n  - name: b\n    namespace: a\n')
    with pytest.raises(ValueError, match='both in namespace /a'):
        fake_launch.run('multi_camera.launch.py', cameras_file=path)


def test_fake_launch_modules_are_gone_after_the_test():
    """The stand-in lives only inside the tests that ask for it."""
    for name in ('launch', 'launch.actions', 'launch_ros.actions'):
        module = sys.modules.get(name)
        assert module is None or getattr(module, '__file__', None), name


# -- the node started the way camera.launch.py starts it -----------------------------------
def test_node_starts_with_the_launch_parameters(tmp_path):
    """The synthetic YAML as a params file plus the overrides, as launch_ros passes them."""
    yaml_path = os.path.join(CONFIG, 'synthetic.yaml')
    values = _ros_parameters(yaml_path)
    overrides = L.camera_overrides({'driver': 'synthetic', 'width': '320', 'height': '240',
                                    'camera_name': 'ltest'}, specs_or_skip('synthetic'))
    # launch_ros writes a parameter dict to a temporary file keyed /** and passes it
    # after the params_file, so the overrides win
    override_file = write(tmp_path, 'overrides.yaml',
                          yaml.safe_dump({'/**': {'ros__parameters': overrides}}))
    proc = NodeProcess(namespace='launchtest', name='camera',
                       extra_args=['--params-file', yaml_path, '--params-file', override_file])
    try:
        assert proc.wait_output('publishing', 30), proc.output()
        out = proc.output()
        assert 'driver synthetic' in out
        assert 'colour 320x240' in out and 'depth 320x240' in out       # overrides
        assert '%.1f fps' % values['fps'] in out                         # from the YAML
        assert 'frames ltest_link' in out
        assert '/launchtest/camera/color/image_raw' in out
    finally:
        code = proc.stop()
    assert code == 0, proc.output()


def test_launch_logic_imports_without_launch():
    """launch_logic must not need launch / launch_ros (absent on this machine)."""
    code = ('import sys, camera_node.launch_logic; '
            'sys.exit(sorted(m for m in sys.modules if m.split(".")[0] in '
            '("launch", "launch_ros", "rclpy")) or 0)')
    res = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True)
    assert res.returncode == 0, res.stdout + res.stderr
