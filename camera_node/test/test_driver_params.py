"""Every driver's parameters: the registry, SDK-free parameter modules, spec-based checks.

The node validates a parameter from its ParamSpec (type, range, choices, check) before the
driver sees it; these tests check each driver's specs refuse what the drivers used to
refuse by hand, and that reading the specs imports no vendor SDK (launch files and tools
read them in processes that never open a camera).
"""

import os
import subprocess
import sys

import pytest

from camera_node.core.errors import InvalidOptionError
from camera_node.core.params import node_parameters, ParameterStore
from camera_node.drivers import driver_class, driver_parameters, known_drivers, REGISTRY

SDKS = ('pyrealsense2', 'depthai', 'cv2', 'mcap', 'mcap_ros2')
#: drivers that have nothing to play without a source, and an example of one
NEEDS_SOURCE = {'file': ('/data/clip.mkv', 'source is empty: give a video file'),
                'bag': ('/data/clip', 'source is empty: give a rosbag2 folder')}


def test_reading_every_drivers_parameters_imports_no_sdk():
    code = ('import sys\n'
            'from camera_node.drivers import driver_parameters, known_drivers\n'
            'for name in known_drivers():\n'
            '    assert driver_parameters(name), name\n'
            'print(" ".join(m for m in %r if m in sys.modules))\n' % (SDKS,))
    env = dict(os.environ, DEPTHAI_LEVEL='warn')    # depthai would warn about USB here
    res = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                         timeout=60, env=env)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == '', 'SDKs imported: %s' % res.stdout
    assert 'depthai' not in res.stderr and 'USB' not in res.stderr, res.stderr


@pytest.mark.parametrize('entry', REGISTRY, ids=lambda e: e.name)
def test_registry_entries_name_their_driver_and_its_parameters(entry):
    cls = driver_class(entry.name)
    assert cls.name == entry.name
    assert tuple(cls.parameters) == driver_parameters(entry.name)
    names = [p.name for p in cls.parameters]
    assert len(names) == len(set(names))
    node = {p.name for p in node_parameters(known_drivers())}
    assert not set(names) & node, 'driver parameters shadow node parameters'


@pytest.mark.parametrize('name', known_drivers())
def test_defaults_pass_their_own_specs_and_runtime_options_are_accepted_before_open(name):
    cls = driver_class(name)
    given = {}
    if name in NEEDS_SOURCE:                             # no default file to play
        example, refusal = NEEDS_SOURCE[name]
        with pytest.raises(InvalidOptionError, match=refusal):
            ParameterStore(cls.parameters, {})
        given = {'source': example}
    store = ParameterStore(cls.parameters, given)
    for spec in cls.parameters:
        value, reason = store.check(spec.name, spec.default)
        if not (name in NEEDS_SOURCE and spec.name == 'source'):
            assert reason is None, reason
    drv = cls(store)
    for spec in cls.parameters:
        if not spec.read_only:
            drv.check_option(spec.name, spec.default)      # no device yet: nothing refused


REFUSED = [
    # (driver, parameter, value, what the reason says)
    ('synthetic', 'fps', 0.1, r'fps must be within \[0.5, 240.0\]'),
    ('realsense', 'color_profile', '640x480x29.97', 'color_profile must be WIDTHxHEIGHTxFPS'),
    ('realsense', 'depth_profile', '640x480', 'depth_profile must be WIDTHxHEIGHTxFPS'),
    ('realsense', 'exposure', 12.5, 'exposure must be an? integer'),
    ('realsense', 'emitter_enabled', 3, r'emitter_enabled must be within \[-1, 2\]'),
    ('realsense', 'enable_auto_exposure', 'yes', 'enable_auto_exposure must be a bool'),
    ('oakd', 'color_profile', '641x400x30', "color_profile '641x400x30': width and height "
     'must be even'),
    ('oakd', 'color_profile', '640x400x200', "color_profile '640x400x200': fps must be "
     'between 0.5 and 120'),
    ('oakd', 'depth_preset', 'NOPE', 'depth_preset must be one of DEFAULT'),
    ('oakd', 'sync_mode', 'magic', 'sync_mode must be one of timestamp, sequence'),
    ('oakd', 'ir_flood_intensity', 1.5, r'ir_flood_intensity must be within \[0.0, 1.0\]'),
    ('webcam', 'source', '/data/clip.mkv', "source '/data/clip.mkv' is a video file: .*"
     'driver:=file'),
    ('webcam', 'backend', 'images', 'backend must be one of auto, v4l2, ffmpeg, gstreamer'),
    ('webcam', 'fourcc', 'YUY', "fourcc must be 4 characters .*got 'YUY'"),
    ('webcam', 'width', -1, r'width must be within \[0, 16384\]'),
    ('file', 'source', '/dev/video0', "source '/dev/video0' is a camera device: .*"
     'driver:=webcam'),
    ('file', 'backend', 'v4l2', 'backend must be one of auto, ffmpeg, images, gstreamer'),
    ('file', 'file_stamp', 'frames', 'file_stamp must be one of arrival, media'),
    ('file', 'depth_source', 'depth.png', 'depth_source must be an image-sequence pattern'),
    ('file', 'loop', 'yes', 'loop must be a bool'),
    ('bag', 'topic_prefix', '/camera/1cam', 'topic_prefix must be a topic namespace'),
    ('bag', 'rate', 0.0, r'rate must be within \[0.01, 100.0\]'),
    ('bag', 'start_offset', -1.0, r'start_offset must be within'),
]


@pytest.mark.parametrize('name,param,value,reason', REFUSED,
                         ids=['%s-%s-%s' % r[:3] for r in REFUSED])
def test_specs_refuse_what_the_drivers_refused_by_hand(name, param, value, reason):
    cls = driver_class(name)
    example = {'source': NEEDS_SOURCE[name][0]} if name in NEEDS_SOURCE else {}
    base = example if param != 'source' else {}
    with pytest.raises(InvalidOptionError, match=reason):
        cls(dict(base, **{param: value}))             # at start
    store = ParameterStore(cls.parameters, example)
    _, why = store.check(param, value)                # at runtime
    assert why is not None
    assert why == str(pytest.raises(InvalidOptionError, cls, dict(base, **{param: value})).value)


@pytest.mark.parametrize('name,param,given,stored', [
    ('oakd', 'color_profile', '640x400x12.5', '640x400x12.5'),   # OAK: fractional fps
    ('webcam', 'source', 0, '0'),                                # -p source:=0
    ('webcam', 'fps', 15, 15.0),                                 # -p fps:=15
    ('realsense', 'serial_no', 123, '123'),                      # -p serial_no:=123
    ('realsense', 'laser_power', 150, 150.0),
    ('file', 'source', 'file:///data/clip.mkv', 'file:///data/clip.mkv'),
])
def test_specs_accept_what_means_the_same(name, param, given, stored):
    cls = driver_class(name)
    drv = cls({param: given})
    assert drv.options[param] == stored and type(drv.options[param]) is type(stored)
