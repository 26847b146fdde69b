"""Every place where the code takes a different path per ROS 2 distro, on the distro here.

``./dev test`` runs this on Kilted and ``CAMERA_NODE_DISTRO=jazzy ./dev test`` on Jazzy
(CI runs both). Humble cannot be installed without a distro, so its fallbacks are forced
here on the installed distro instead:

- executor: EventsExecutor where ``rclpy.experimental`` has it (Jazzy and newer), else
  SingleThreadedExecutor (Humble; forced by hiding ``rclpy.experimental`` from the node);
- Fast DDS profile variable: ``FASTRTPS_DEFAULT_PROFILES_FILE`` for Fast DDS 2 (Humble,
  Jazzy), ``FASTDDS_DEFAULT_PROFILES_FILE`` for Fast DDS 3 (Kilted, Rolling), checked
  against what the Fast DDS in this process actually reads;
- lifecycle state: read from rclpy's state machine, with a fallback where that internal
  API differs;
- QoS overrides (``qos_overrides.<topic>.publisher.reliability`` through rclpy's
  QoSOverridingOptions) on every kind of publisher the node makes;
- type hashes (RIHS01, Iron and newer; Humble has none): what the node announces over DDS
  and what rosidl generates for camera_node_interfaces, the same on Jazzy and Kilted.
"""

import glob
import importlib.util
import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import types

from ament_index_python.packages import get_package_share_directory
from diagnostic_msgs.msg import DiagnosticArray
from lifecycle_msgs.msg import Transition
from lifecycle_msgs.srv import ChangeState, GetState
import pytest
from rclpy.qos import ReliabilityPolicy
from sensor_msgs.msg import Image

from camera_node import launch_logic
from camera_node.ros.node import ManagedCameraNode
from camera_node_interfaces.srv import GetProperties

from conftest import confine_dds
from test_tf2_msgs_compat import REAL_TFMESSAGE_HASH

W, H = 64, 48

# Installed first thing in a node process (sitecustomize): rclpy.experimental cannot be
# imported, as on Humble, whose rclpy has no EventsExecutor.
HIDE_EVENTS_EXECUTOR = textwrap.dedent("""
    import importlib.abc
    import sys


    class _NoEventsExecutor(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name == 'rclpy.experimental' or name.startswith('rclpy.experimental.'):
                raise ImportError('No module named %r (hidden by the test, as on Humble)'
                                  % name)
            return None


    sys.meta_path.insert(0, _NoEventsExecutor())
""")


def _has_events_executor():
    try:
        from rclpy.experimental import EventsExecutor  # noqa: F401
    except ImportError:
        return False
    return True


def _debug_args(namespace):
    """ROS arguments that log the node's own debug lines (the executor it chose)."""
    return ['--log-level', '%s.camera:=debug' % namespace]


# -- DDS kept on this machine ------------------------------------------------------------------
@pytest.mark.parametrize('distro', ['humble', 'jazzy', 'kilted', 'rolling', ''])
def test_tests_confine_dds_with_the_variable_each_distro_reads(distro):
    env = {'ROS_DISTRO': distro} if distro else {}
    confine_dds(env, 42)
    assert env['ROS_DOMAIN_ID'] == '42' and env['ROS_AUTOMATIC_DISCOVERY_RANGE'] == 'LOCALHOST'
    # Humble predates ROS_AUTOMATIC_DISCOVERY_RANGE; later distros warn about the old one
    assert env.get('ROS_LOCALHOST_ONLY') == ('1' if distro == 'humble' else None)


def test_python_sources_parse_as_humbles_python_3_10():
    """Humble runs Python 3.10; the wheels here are for 3.11: no newer syntax may slip in."""
    import ast
    pkg = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    paths = glob.glob(os.path.join(pkg, 'camera_node', '**', '*.py'), recursive=True)
    paths += glob.glob(os.path.join(pkg, 'launch', '*.py')) + [os.path.join(pkg, 'setup.py')]
    assert len(paths) > 10
    for path in paths:
        with open(path) as f:
            ast.parse(f.read(), path, feature_version=(3, 10))


# -- executor ------------------------------------------------------------------------------
def test_node_spins_on_the_events_executor_where_rclpy_has_it(start_node, probe):
    p = start_node(namespace='exe', params={'width': W, 'height': H},
                   extra_args=_debug_args('exe'))
    expected = 'EventsExecutor' if _has_events_executor() else 'SingleThreadedExecutor'
    assert p.wait_output('executor: ', 30), p.output()
    assert 'executor: %s' % expected in p.output()
    assert probe.collect(Image, p.topic('color/image_raw'), timeout=20)
    assert p.stop() == 0, p.output()


@pytest.mark.parametrize('sig', ['SIGINT', 'SIGTERM'])
def test_node_without_events_executor_falls_back_and_works(start_node, probe, tmp_path, sig):
    """Humble's path: no rclpy.experimental; the node streams, answers and stops cleanly."""
    (tmp_path / 'sitecustomize.py').write_text(HIDE_EVENTS_EXECUTOR)
    path = os.pathsep.join([str(tmp_path)] + [p for p in [os.environ.get('PYTHONPATH')] if p])
    ns = 'humble%s' % sig.lower()
    p = start_node(namespace=ns, params={'width': W, 'height': H},
                   extra_args=_debug_args(ns), env={'PYTHONPATH': path})
    assert p.wait_output('executor: ', 30), p.output()
    out = p.output()
    assert 'EventsExecutor unavailable (ImportError' in out, out
    assert 'executor: SingleThreadedExecutor' in out, out
    msgs = probe.collect(Image, p.topic('color/image_raw'), count=3, timeout=20)
    assert len(msgs) == 3 and (msgs[0].width, msgs[0].height) == (W, H)
    props = probe.call(GetProperties, p.topic('get_properties'), GetProperties.Request())
    assert props is not None and props.success and props.supports_pcd
    assert p.stop(getattr(signal, sig)) == 0, p.output()
    assert 'Traceback' not in p.output()


# -- Fast DDS profile variable ---------------------------------------------------------------
# Creates a participant and prints the Fast DDS shared-memory segments it mapped.
SHM_PROBE = textwrap.dedent("""
    import json
    import rclpy
    from std_msgs.msg import String
    rclpy.init()
    node = rclpy.create_node('camera_node_shm_probe')
    node.create_publisher(String, 'camera_node_shm_probe', 1)
    sizes = {}
    with open('/proc/self/maps') as maps:
        for line in maps:
            fields = line.split()
            if len(fields) >= 6 and fields[5].startswith('/dev/shm/fast'):
                lo, hi = (int(x, 16) for x in fields[0].split('-'))
                sizes[fields[5]] = sizes.get(fields[5], 0) + hi - lo
    print('SEGMENTS ' + json.dumps(sizes), flush=True)
    node.destroy_node()
    rclpy.try_shutdown()
""")


def _shm_segments(env_extra):
    env = dict(os.environ)
    for var in launch_logic.FASTDDS_PROFILE_VARIABLES:
        env.pop(var, None)
    env.update(env_extra)
    res = subprocess.run([sys.executable, '-c', SHM_PROBE], capture_output=True, text=True,
                         env=env, timeout=60)
    assert res.returncode == 0, res.stdout + res.stderr
    line = [x for x in res.stdout.splitlines() if x.startswith('SEGMENTS ')][-1]
    return json.loads(line[len('SEGMENTS '):]), res.stdout + res.stderr


def _profile_segment_size(profile):
    with open(profile) as f:
        return int(re.search(r'<segment_size>(\d+)</segment_size>', f.read()).group(1))


def test_profile_variable_chosen_for_this_distro_is_the_one_its_fast_dds_reads():
    share = get_package_share_directory('camera_node')
    profile = launch_logic.fastdds_profile_path(share)
    assert profile, 'camera_node does not install config/fastdds_large_data.xml'
    want = _profile_segment_size(profile)
    stock, _ = _shm_segments({})
    assert stock and max(stock.values()) < want, stock
    # Fast DDS 2.x (Humble, Jazzy) names its segments fastrtps_*, 3.x (Kilted) fastdds_*
    names = {os.path.basename(n).split('_')[0] for n in stock}
    assert len(names) == 1 and names <= {'fastrtps', 'fastdds'}, stock
    generation_name = launch_logic.FASTDDS_PROFILE_VARIABLES[0 if names == {'fastrtps'} else 1]
    chosen = launch_logic.fastdds_environment(share, True)
    assert list(chosen) == [generation_name], (
        'ROS_DISTRO=%r makes the launch set %s, but this Fast DDS reads %s'
        % (os.environ.get('ROS_DISTRO'), list(chosen), generation_name))
    tuned, output = _shm_segments(chosen)
    assert max(tuned.values()) >= want, tuned
    assert 'deprecated' not in output, output


@pytest.mark.parametrize('distro, variable', [
    ('humble', 'FASTRTPS_DEFAULT_PROFILES_FILE'),
    ('jazzy', 'FASTRTPS_DEFAULT_PROFILES_FILE'),
    ('kilted', 'FASTDDS_DEFAULT_PROFILES_FILE'),
    ('rolling', 'FASTDDS_DEFAULT_PROFILES_FILE'),
])
def test_bench_sets_the_profile_variable_of_each_distro(monkeypatch, tmp_path, distro,
                                                        variable):
    monkeypatch.setenv('ROS_DISTRO', distro)
    for var in launch_logic.FASTDDS_PROFILE_VARIABLES:
        monkeypatch.setenv(var, '/somebody/else.xml')
    bench = _bench_module()
    runner = bench.Runner(7, '/profile.xml', str(tmp_path))
    tuned = runner.env(tuned=True)
    assert {v: tuned.get(v) for v in launch_logic.FASTDDS_PROFILE_VARIABLES} == {
        v: ('/profile.xml' if v == variable else None)
        for v in launch_logic.FASTDDS_PROFILE_VARIABLES}
    stock = runner.env(tuned=False)
    assert not any(stock.get(v) for v in launch_logic.FASTDDS_PROFILE_VARIABLES)


def _bench_module():
    """Import the benchmark suite, which lives outside the package (bench/)."""
    path = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
        os.path.abspath(__file__)))), 'bench', 'camera_bench.py')
    spec = importlib.util.spec_from_file_location('camera_bench', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# -- lifecycle -----------------------------------------------------------------------------
def _change(probe, proc, transition_id):
    res = probe.call(ChangeState, proc.topic('change_state'),
                     ChangeState.Request(transition=Transition(id=transition_id)))
    assert res is not None and res.success


def _reported_state(probe, node_name):
    """The lifecycle_state of the node's device status on /diagnostics (next message)."""
    got = []

    def keep(msg):
        got.extend({kv.key: kv.value for kv in s.values}.get('lifecycle_state')
                   for s in msg.status if s.name == node_name + ': device')

    sub = probe.node.create_subscription(DiagnosticArray, '/diagnostics', keep, 10)
    try:
        probe.spin_until(lambda: got, 10)
    finally:
        probe.node.destroy_subscription(sub)
    return got[-1] if got else None


def test_diagnostics_report_the_state_of_rclpy_state_machine(start_node, probe):
    p = start_node(namespace='lcd', params={'width': W, 'height': H, 'lifecycle': True,
                                            'diagnostics_period': 0.2})
    name = '/lcd/camera'
    # 'unconfigured' can only come from rclpy's state machine (the fallback says inactive)
    assert _reported_state(probe, name) == 'unconfigured'
    _change(probe, p, Transition.TRANSITION_CONFIGURE)
    assert _reported_state(probe, name) == 'inactive'
    _change(probe, p, Transition.TRANSITION_ACTIVATE)
    assert _reported_state(probe, name) == 'active'
    got = probe.call(GetState, p.topic('get_state'), GetState.Request())
    assert got.current_state.label == 'active'
    assert p.stop() == 0, p.output()


def test_lifecycle_state_falls_back_where_rclpy_internals_differ():
    for active, label in ((True, 'active'), (False, 'inactive')):
        camera = types.SimpleNamespace(session=types.SimpleNamespace(running=active))
        node = types.SimpleNamespace(_state_machine=object(), camera=camera)
        assert ManagedCameraNode.lifecycle_state(node) == label
        assert ManagedCameraNode.lifecycle_state(types.SimpleNamespace(camera=camera)) == label


# -- QoS overrides ---------------------------------------------------------------------------
def test_qos_overrides_apply_to_every_kind_of_publisher(start_node, probe):
    """Image, CameraInfo, compressed and cloud publishers are made in different places."""
    ns = 'qosall'
    prefix = 'qos_overrides./%s/camera/' % ns
    changed = ('color/image_raw/compressed', 'depth/color/points', 'depth/camera_info',
               'aligned_depth_to_color/image_raw')
    params = {prefix + t + '.publisher.reliability': 'best_effort' for t in changed}
    params.update(width=W, height=H)
    p = start_node(namespace=ns, params=params)
    assert p.wait_output('publishing', 30), p.output()

    def reliability(relative):
        topic = p.topic(relative)
        assert probe.spin_until(lambda: probe.node.get_publishers_info_by_topic(topic), 10)
        return probe.node.get_publishers_info_by_topic(topic)[0].qos_profile.reliability

    for topic in changed:
        assert reliability(topic) == ReliabilityPolicy.BEST_EFFORT, topic
    for topic in ('color/image_raw', 'color/camera_info', 'depth/image_rect_raw'):
        assert reliability(topic) == ReliabilityPolicy.RELIABLE, topic
    assert p.stop() == 0, p.output()


# -- type hashes -------------------------------------------------------------------------------
def test_tf_static_announces_the_real_tf2_msgs_type_hash(start_node, probe):
    p = start_node(namespace='hash', params={'width': W, 'height': H})
    assert p.wait_output('publishing', 30), p.output()

    def mine():
        return [i for i in probe.node.get_publishers_info_by_topic('/tf_static')
                if i.node_namespace == '/hash']

    assert probe.spin_until(mine, 10)
    info = mine()[0]
    if importlib.util.find_spec('rclpy.type_hash') is None:
        pytest.skip('this rclpy has no type hashes (Humble): DDS matches by type name only')
    assert info.topic_type == 'tf2_msgs/msg/TFMessage'
    assert str(info.topic_type_hash) == REAL_TFMESSAGE_HASH
    assert p.stop() == 0, p.output()


# The RIHS01 hashes of camera_node_interfaces as both Jazzy's and Kilted's rosidl generate
# them (CI runs this on both): a client on one distro and a node on the other agree on
# every type. A change here means the interface changed on the wire: deployed clients and
# nodes of the old version no longer match it.
INTERFACE_HASHES = {
    'msg/DistortionParameters':
        'RIHS01_f2b94ba4d62e2d9e672c3b3169d296c93900c9d8156e557971b6a0417b90a6ac',
    'msg/Extrinsics':
        'RIHS01_73d7bd755caecdffd4b3a633c9d7c3ae7a591ae31c6e9c06fdb76b814e3a186f',
    'msg/Geometry':
        'RIHS01_e6c0d6a79f04c1e4cd38eb4e848b730d97cfe24aca35a6650b1aa12042d34ae3',
    'msg/IntrinsicParameters':
        'RIHS01_b6198e2fa1f59e768249dd61d7089f4801aa2603c62f474124cf5c8758e90d74',
    'msg/Metadata':
        'RIHS01_dd4ecb3bb8eaca39ca10d46e7803851632e02a0753ce855cb26770ee12c8b1f6',
    'msg/NamedImage':
        'RIHS01_f50a2d5628368b34a3e5a17ee930805a66efeb9c4c5bdb52e51ee0403d01349b',
    'msg/ViamPose':
        'RIHS01_6b802a9b7c1ba9698d8c3bede011a4c1c62cadc89994651a3110fa6b92ce1a19',
    'srv/Close':
        'RIHS01_2e6cbd7b07d621d8bd75e4145dbd0f4e1548dac2eb1660326f1f8283558b8cc2',
    'srv/DoCommand':
        'RIHS01_db81de87b69199942399ffb1f8d1fdbd310007c2424c605f0b041ca230496596',
    'srv/GetGeometries':
        'RIHS01_d455d24864f53a5a62db349eb72771585472bb71e1ee039ab4dbadd5379dddba',
    'srv/GetImage':
        'RIHS01_c8fb66429847caba3fa557dbb13c650aad6c60ecc607a610280be001521fcceb',
    'srv/GetImages':
        'RIHS01_ec19f3ce3622964ff6bb9cadc86bee87b21d553c682525b829d8ef04f4e1e256',
    'srv/GetPointCloud':
        'RIHS01_93f0601730fe6811b81fa8ab5e33bb41748239130e9d61403a5a9ef90dc24d47',
    'srv/SaveClip':
        'RIHS01_f648d768609506af554dcbfe6a9aa86b056a9c7d026eb8731e0bb25624712672',
    'srv/GetProperties':
        'RIHS01_2ee0fdb6b2278a9e3aa2fe711cbc7135e9a3006db03631f8f31ddcd298d54ff3',
}


def _generated_hashes():
    share = get_package_share_directory('camera_node_interfaces')
    out = {}
    for path in sorted(glob.glob(os.path.join(share, '*', '*.json'))):
        with open(path) as f:
            desc = json.load(f)
        name = desc['type_hashes'][0]['type_name']
        out[name.split('/', 1)[1]] = desc['type_hashes'][0]['hash_string']
    return out


def test_interface_type_hashes_are_the_same_on_every_distro_with_hashes():
    if importlib.util.find_spec('rclpy.type_hash') is None:
        pytest.skip('this rclpy has no type hashes (Humble)')
    assert _generated_hashes() == INTERFACE_HASHES
