"""Every decision the launch files make, in plain Python (no ``launch`` import).

``launch/camera.launch.py`` and ``launch/multi_camera.launch.py`` stay thin: they declare
arguments, call these functions from an ``OpaqueFunction`` and turn the result into
``launch_ros`` actions. Anything that can be wrong (an unknown driver, a launch argument
that is not a number or that nothing takes, two cameras with the same namespace) raises
:class:`ValueError` here with a message naming the fix, so it fails at launch time,
before any node starts.

- :mod:`.values`: conversions of launch argument strings, ROS name checks;
- :mod:`.specs`: the node's and drivers' parameters (no vendor SDK is imported);
- :mod:`.files`: parameter files read and written, the Fast DDS profile;
- :mod:`.arguments`: the ``ros2 launch`` command line and names nothing takes;
- :mod:`.single`: ``camera.launch.py``; :mod:`.cameras`: ``multi_camera.launch.py``.
"""

from .arguments import command_line, launched_directly, reject_unknown
from .cameras import (CameraSpec, check_multi_command_line, load_camera_list,
                      MULTI_ARGUMENTS)
from .files import (choose_driver, default_params_file, FASTDDS_2_DISTROS,
                    FASTDDS_PROFILE_VARIABLES, fastdds_environment, fastdds_profile_path,
                    fastdds_profile_variable,
                    is_lifecycle, multi_camera_file, parameter_file_text, params_file_driver,
                    params_file_for, params_file_value, RunFiles)
from .single import (CAMERA_ARGUMENTS, camera_plan, CameraPlan, check_camera_command_line,
                     node_arguments, render_rviz_config, rviz2_executable, split_overrides)
from .specs import (close_matches, DEFAULT_DRIVER, drivers_taking, GENERIC_PARAMETERS,
                    is_generic, KNOWN_DRIVERS, parameter_specs, resolve_driver,
                    typed_parameters)
from .values import (check_log_level, check_name_token, check_output, convert, kind_of,
                     LOG_LEVELS, normalize_namespace, OUTPUTS, to_bool, topic_prefix, unquote)

__all__ = [
    'CAMERA_ARGUMENTS', 'CameraPlan', 'CameraSpec', 'DEFAULT_DRIVER', 'FASTDDS_2_DISTROS',
    'fastdds_profile_variable', 'FASTDDS_PROFILE_VARIABLES', 'GENERIC_PARAMETERS',
    'KNOWN_DRIVERS', 'LOG_LEVELS',
    'MULTI_ARGUMENTS', 'OUTPUTS', 'RunFiles', 'camera_plan', 'check_camera_command_line',
    'check_log_level', 'check_multi_command_line', 'check_name_token', 'check_output',
    'choose_driver', 'close_matches', 'command_line', 'convert', 'default_params_file',
    'drivers_taking', 'fastdds_environment', 'fastdds_profile_path', 'is_generic',
    'is_lifecycle', 'kind_of', 'launched_directly', 'load_camera_list', 'multi_camera_file',
    'node_arguments', 'normalize_namespace', 'parameter_file_text', 'parameter_specs',
    'params_file_driver', 'params_file_for', 'params_file_value', 'reject_unknown',
    'render_rviz_config', 'resolve_driver', 'rviz2_executable', 'split_overrides', 'to_bool',
    'topic_prefix', 'typed_parameters', 'unquote',
]
