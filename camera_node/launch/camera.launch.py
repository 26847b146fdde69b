"""Launch one camera node (realsense-ros style names: /camera/camera/color/image_raw).

ros2 launch camera_node camera.launch.py driver:=realsense serial_no:=_012345678901

Written against the public launch / launch_ros API of Humble, Jazzy, Kilted and Rolling.
Every decision (driver, parameter file, overrides, Fast DDS profile) is made by
camera_node.launch_logic, called from an OpaqueFunction so that a mistake (an unknown
driver, a width that is not a number) stops the launch with a clear message.
"""

import os
import tempfile

from ament_index_python.packages import get_package_share_directory
from camera_node import launch_logic
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, LogInfo, OpaqueFunction
from launch.actions import SetEnvironmentVariable
from launch_ros.actions import LifecycleNode, Node
from launch_ros.parameter_descriptions import ParameterValue

PACKAGE = 'camera_node'

#: (name, default, description); overrides default to '' = "not given"
ARGUMENTS = [
    ('driver', '', 'Camera driver: synthetic, realsense, oakd, webcam or file. Default: the '
     'driver params_file names, else synthetic.'),
    ('camera_namespace', 'camera', 'Namespace of the node.'),
    ('node_name', 'camera', 'Name of the node (topics are /<namespace>/<node_name>/...).'),
    ('params_file', '', "Parameter file; default: the driver's config/<driver>.yaml."),
    ('camera_name', '', 'Prefix of the TF frames (<camera_name>_link); default: the '
     "params_file's, else camera."),
    ('parent_frame', '', 'Publish parent_frame -> <camera_name>_link (with mount_pose).'),
    ('mount_pose', '', 'x, y, z, roll, pitch, yaw of the camera in parent_frame: '
     '"[0.1, 0, 0.3, 0, 0, 0]".'),
    ('publish_cloud', '', 'Publish depth/color/points: true or false.'),
    ('cloud_decimation', '', 'Keep every Nth pixel in the point cloud (1..16).'),
    ('lifecycle', '', 'true: a managed node that waits in unconfigured for configure and '
     'activate (ros2 lifecycle set, or a lifecycle manager).'),
    ('camera_info_url', '', 'Calibration of the colour imager: file:///path.yaml or '
     'package://<pkg>/path.yaml.'),
    ('serial_no', '', 'realsense: serial number (kept as text; a leading _ is stripped).'),
    ('playback_file', '', 'realsense: play this recording instead of a device.'),
    ('device_id', '', 'oakd: MXID, USB path or IP address.'),
    ('color_profile', '', 'realsense, oakd: colour stream WIDTHxHEIGHTxFPS.'),
    ('depth_profile', '', 'realsense: depth stream WIDTHxHEIGHTxFPS.'),
    ('enable_depth', '', 'realsense, oakd: stream depth (true or false).'),
    ('source', '', 'webcam, file: device index or path, URL, video file or image pattern.'),
    ('width', '', 'synthetic, webcam, file: image width in pixels.'),
    ('height', '', 'synthetic, webcam, file: image height in pixels.'),
    ('fps', '', 'synthetic, webcam, file: frame rate in Hz.'),
    ('log_level', 'info', 'Log level: debug, info, warn, error, fatal.'),
    ('output', 'screen', 'Where the node output goes: screen, log or both.'),
    ('use_large_data_profile', 'true', "Point Fast DDS at the package's large-data profile "
     '(FASTRTPS_/FASTDDS_DEFAULT_PROFILES_FILE by distro) unless one is set already.'),
    ('rviz', 'false', 'Also start rviz2 with config/camera.rviz pointed at this camera.'),
]


def _string(value: str) -> ParameterValue:
    return ParameterValue(value, value_type=str)


def launch_setup(context, *args, **kwargs):
    """Turn the launch arguments into actions (run at launch time)."""
    cfg = dict(context.launch_configurations)
    share = get_package_share_directory(PACKAGE)
    driver = launch_logic.choose_driver(cfg['driver'], cfg['params_file'])
    params_file = launch_logic.params_file_for(share, driver, cfg['params_file'])
    specs, _ = launch_logic.parameter_specs(driver)
    overrides, ignored = launch_logic.split_overrides(dict(cfg, driver=driver), specs)
    namespace = launch_logic.normalize_namespace(cfg['camera_namespace'])
    node_name = launch_logic.check_name_token('node_name', cfg['node_name'])
    log_level = launch_logic.check_log_level(cfg['log_level'])
    output = launch_logic.check_output(cfg['output'])
    actions = [LogInfo(msg='camera.launch.py: ignoring ' + note) for note in ignored]
    env = launch_logic.fastdds_environment(share, cfg['use_large_data_profile'])
    actions += [SetEnvironmentVariable(name, value) for name, value in sorted(env.items())]
    # a managed node is started as one, so launch can send it lifecycle events
    node_action = LifecycleNode if launch_logic.is_lifecycle(overrides, params_file) else Node
    actions.append(node_action(**launch_logic.node_arguments(
        node_name, namespace, params_file, overrides, log_level, output, _string)))
    if launch_logic.to_bool('rviz', cfg['rviz']):
        camera_name = (overrides.get('camera_name')
                       or launch_logic.params_file_value(params_file, 'camera_name')
                       or 'camera')
        with open(os.path.join(share, 'config', 'camera.rviz')) as f:
            text = launch_logic.render_rviz_config(f.read(), namespace, node_name,
                                                   str(camera_name))
        fd, rviz_path = tempfile.mkstemp(prefix='camera_node_', suffix='.rviz')
        with os.fdopen(fd, 'w') as f:
            f.write(text)
        actions.append(Node(package='rviz2', executable='rviz2', name='rviz2',
                            arguments=['-d', rviz_path], output='screen'))
    return actions


def generate_launch_description():
    """Declare the arguments; the node is made at launch time by launch_setup."""
    return LaunchDescription(
        [DeclareLaunchArgument(name, default_value=default, description=description)
         for name, default, description in ARGUMENTS]
        + [OpaqueFunction(function=launch_setup)])
