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
from launch.actions import RegisterEventHandler, SetEnvironmentVariable
from launch.event_handlers import OnShutdown
from launch_ros.actions import LifecycleNode, Node

PACKAGE = 'camera_node'


def launch_setup(context, *args, **kwargs):
    """Read the cameras file and make one node per camera (run at launch time)."""
    launch_logic.check_multi_command_line(
        launch_logic.command_line(context.argv, __file__, PACKAGE))
    cfg = context.launch_configurations
    share = get_package_share_directory(PACKAGE)
    cameras = launch_logic.load_camera_list(
        cfg['cameras_file'] or launch_logic.multi_camera_file(share), share)
    log_level = launch_logic.check_log_level(cfg['log_level'])
    output = launch_logic.check_output(cfg['output'])
    env = launch_logic.fastdds_environment(share, cfg['use_large_data_profile'])
    # each camera's parameters go to it in a file of this launch's own (strings quoted);
    # the files are removed when the launch ends
    files = launch_logic.RunFiles()
    try:
        override_files = [files.write('%s.yaml' % cam.name, cam.override_file_text())
                          for cam in cameras]
    except OSError:
        files.remove()
        raise
    actions = [RegisterEventHandler(OnShutdown(on_shutdown=files.remove))]
    actions += [SetEnvironmentVariable(name, value) for name, value in sorted(env.items())]
    for cam, override_file in zip(cameras, override_files):
        actions.append(LogInfo(msg='multi_camera.launch.py: %s (%s) at %s' % (
            cam.name, cam.driver, cam.topic_prefix)))
        actions.append((LifecycleNode if cam.lifecycle else Node)(
            **launch_logic.node_arguments(cam.node_name, cam.namespace,
                                          [cam.params_file, override_file],
                                          log_level, output)))
    return actions


def generate_launch_description():
    """Declare the arguments; the nodes are made at launch time by launch_setup."""
    return LaunchDescription(
        [DeclareLaunchArgument(name, default_value=default, description=description)
         for name, default, description in launch_logic.MULTI_ARGUMENTS]
        + [OpaqueFunction(function=launch_setup)])
