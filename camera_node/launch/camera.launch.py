"""Launch one camera node (realsense-ros style names: /camera/camera/color/image_raw).

ros2 launch camera_node camera.launch.py driver:=realsense serial_no:=012345678901

Written against the public launch / launch_ros API of Humble, Jazzy, Kilted and Rolling.
Every decision (driver, parameter file, parameters, Fast DDS profile, rviz) is made by
camera_node.launch_logic, called from an OpaqueFunction so that a mistake (an unknown
driver, a width that is not a number, an argument nothing takes) stops the launch with a
clear message before anything starts. Any parameter of the node or of its driver can be
given as name:=value, not only the declared arguments (ros2 launch ... --show-args).
"""

from ament_index_python.packages import get_package_share_directory
from camera_node import launch_logic
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, LogInfo, OpaqueFunction
from launch.actions import RegisterEventHandler, SetEnvironmentVariable, Shutdown
from launch.event_handlers import OnShutdown
from launch_ros.actions import LifecycleNode, Node

PACKAGE = 'camera_node'


def launch_setup(context, *args, **kwargs):
    """Turn the launch arguments into actions (run at launch time)."""
    plan = launch_logic.camera_plan(
        context.launch_configurations, get_package_share_directory(PACKAGE),
        launch_logic.command_line(context.argv, __file__, PACKAGE))
    # the parameters go to the node in a file of this launch's own (strings quoted), and
    # the rviz config beside it; both are removed when the launch ends
    files = launch_logic.RunFiles()
    try:
        override_file = files.write('parameters.yaml', plan.override_file_text())
        rviz_file = (files.write('camera.rviz', plan.rviz_config)
                     if plan.rviz_config is not None else None)
    except OSError:
        files.remove()
        raise
    actions = [RegisterEventHandler(OnShutdown(on_shutdown=files.remove))]
    actions += [LogInfo(msg='camera.launch.py: ' + note) for note in plan.notes]
    actions += [SetEnvironmentVariable(name, value)
                for name, value in sorted(plan.environment.items())]
    # a managed node is started as one, so launch can send it lifecycle events
    node_action = LifecycleNode if plan.lifecycle else Node
    actions.append(node_action(**plan.node_arguments(override_file)))
    if rviz_file is not None:
        # closing rviz2 (or rviz2 failing) ends the whole launch, camera node included
        actions.append(Node(package='rviz2', executable='rviz2', name='rviz2',
                            arguments=['-d', rviz_file], output='screen',
                            on_exit=Shutdown(reason='rviz2 exited')))
    return actions


def generate_launch_description():
    """Declare the arguments; the node is made at launch time by launch_setup."""
    return LaunchDescription(
        [DeclareLaunchArgument(name, default_value=default, description=description)
         for name, default, description in launch_logic.CAMERA_ARGUMENTS]
        + [OpaqueFunction(function=launch_setup)])
