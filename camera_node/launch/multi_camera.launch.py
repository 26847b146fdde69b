"""Launch several camera nodes listed in a YAML file, each in its own namespace.

ros2 launch camera_node multi_camera.launch.py cameras_file:=/path/to/cameras.yaml

The file format is described in config/multi_camera.yaml (the default). Written against
the public launch / launch_ros API of Humble, Jazzy, Kilted and Rolling; the file is read
and checked by camera_node.launch_logic at launch time, so a duplicate namespace or an
unknown driver stops the launch with a clear message before any node starts.
"""

from ament_index_python.packages import get_package_share_directory
from camera_node import launch_logic
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, LogInfo, OpaqueFunction
from launch.actions import SetEnvironmentVariable
from launch_ros.actions import LifecycleNode, Node
from launch_ros.parameter_descriptions import ParameterValue

PACKAGE = 'camera_node'

ARGUMENTS = [
    ('cameras_file', '', 'YAML list of cameras; default: config/multi_camera.yaml.'),
    ('log_level', 'info', 'Log level of every camera: debug, info, warn, error, fatal.'),
    ('output', 'screen', 'Where the nodes output goes: screen, log or both.'),
    ('use_large_data_profile', 'true', "Point Fast DDS at the package's large-data profile "
     '(FASTRTPS_/FASTDDS_DEFAULT_PROFILES_FILE by distro) unless one is set already.'),
]


def _string(value: str) -> ParameterValue:
    return ParameterValue(value, value_type=str)


def launch_setup(context, *args, **kwargs):
    """Read the cameras file and make one node per camera (run at launch time)."""
    cfg = dict(context.launch_configurations)
    share = get_package_share_directory(PACKAGE)
    path = cfg['cameras_file'] or launch_logic.multi_camera_file(share)
    cameras = launch_logic.load_camera_list(path, share)
    log_level = launch_logic.check_log_level(cfg['log_level'])
    output = launch_logic.check_output(cfg['output'])
    env = launch_logic.fastdds_environment(share, cfg['use_large_data_profile'])
    actions = [SetEnvironmentVariable(name, value) for name, value in sorted(env.items())]
    for cam in cameras:
        actions.append(LogInfo(msg='multi_camera.launch.py: %s (%s) at %s' % (
            cam.name, cam.driver, cam.topic_prefix)))
        managed = launch_logic.is_lifecycle(cam.parameters, cam.params_file)
        actions.append((LifecycleNode if managed else Node)(**launch_logic.node_arguments(
            cam.node_name, cam.namespace, cam.params_file, cam.parameters, log_level, output,
            _string)))
    return actions


def generate_launch_description():
    """Declare the arguments; the nodes are made at launch time by launch_setup."""
    return LaunchDescription(
        [DeclareLaunchArgument(name, default_value=default, description=description)
         for name, default, description in ARGUMENTS]
        + [OpaqueFunction(function=launch_setup)])
