"""What ``camera.launch.py`` starts, decided from its launch arguments.

:func:`camera_plan` turns the launch configurations into a :class:`CameraPlan`; the launch
file only turns the plan into launch_ros actions. Every mistake raises ValueError before
any process starts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
import os
import re
from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple

from .arguments import reject_unknown
from .files import (choose_driver, fastdds_environment, is_lifecycle, parameter_file_text,
                    params_file_for, params_file_value)
from .specs import (check, DEFAULT_DRIVER, drivers_taking, generic_value, is_generic,
                    KNOWN_DRIVERS, parameter_specs, resolve_driver)
from .values import (check_log_level, check_name_token, check_output, convert, kind_of,
                     normalize_namespace, to_bool, topic_prefix, unquote)

PACKAGE = 'camera_node'
LAUNCH_FILE = 'camera.launch.py'

#: (name, default, description) of the arguments camera.launch.py declares. Those that
#: are node or driver parameters default to '' ("not given": the params_file's value).
CAMERA_ARGUMENTS: Tuple[Tuple[str, str, str], ...] = (
    ('driver', '', 'Camera driver: %s. Default: the driver params_file names, else '
     'synthetic.' % ', '.join(KNOWN_DRIVERS)),
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
    ('serial_no', '', 'realsense: serial number, taken as it is written (a leading _ is '
     'stripped).'),
    ('playback_file', '', 'realsense: play this recording instead of a device.'),
    ('device_id', '', 'oakd: MXID, USB path or IP address.'),
    ('color_profile', '', 'realsense, oakd: colour stream WIDTHxHEIGHTxFPS.'),
    ('depth_profile', '', 'realsense: depth stream WIDTHxHEIGHTxFPS.'),
    ('enable_depth', '', 'realsense, oakd: stream depth (true or false).'),
    ('source', '', 'webcam, file: device index or path, URL, video file or image pattern; '
     'bag: the recording (rosbag2 folder or .mcap file).'),
    ('width', '', 'synthetic, webcam, file: image width in pixels.'),
    ('height', '', 'synthetic, webcam, file: image height in pixels.'),
    ('fps', '', 'synthetic, webcam, file: frame rate in Hz.'),
    ('log_level', 'info', 'Log level: debug, info, warn, error, fatal.'),
    ('output', 'screen', 'Where the node output goes: screen, log or both.'),
    ('use_large_data_profile', 'true', "Point Fast DDS at the package's large-data profile "
     '(FASTRTPS_/FASTDDS_DEFAULT_PROFILES_FILE by distro) unless one is set already.'),
    ('rviz', 'false', 'Also start rviz2 with config/camera.rviz pointed at this camera; '
     'closing rviz2 ends the launch.'),
)
#: declared arguments that are not node parameters
_LAUNCH_ONLY = ('camera_namespace', 'node_name', 'params_file', 'log_level', 'output',
                'use_large_data_profile', 'rviz')

#: what to use instead when an argument does not apply to the chosen driver
_HINTS = {
    'width': 'use color_profile:=WIDTHxHEIGHTxFPS',
    'height': 'use color_profile:=WIDTHxHEIGHTxFPS',
    'fps': 'use color_profile:=WIDTHxHEIGHTxFPS',
    'color_profile': 'use width, height and fps',
    'serial_no': 'oakd uses device_id, webcam and file source',
    'device_id': 'realsense uses serial_no, webcam and file source',
}


def _given(value: Any) -> bool:
    return value is not None and not (isinstance(value, str) and not value.strip())


def _override_value(specs: Mapping[str, Any], name: str, raw: Any) -> Any:
    kind = kind_of(specs[name].default)
    value = convert(name, unquote(raw) if kind is str and isinstance(raw, str) else raw, kind)
    if name in ('camera_name', 'parent_frame'):
        value = value.strip()
        if name == 'camera_name':
            check_name_token('camera_name', value)
    check(specs, name, value)
    return value


def split_overrides(args: Mapping[str, Any]) -> Tuple[Dict[str, Any], List[str]]:
    """Turn launch configurations into (node parameter overrides, notes on ignored ones).

    Every configuration that names a parameter of the node or of ``args['driver']`` and
    was given (not empty) becomes an override, converted to the parameter's type and
    checked against its spec: the declared arguments and any other parameter
    (``motion:=true``, ``jpeg_quality:=90``), plus ``use_sim_time`` and
    ``qos_overrides.*``. A parameter of other drivers only is left out with a note.
    Other names are not parameters and are ignored here. The overrides always include
    ``driver``. Raise ValueError on a value the parameter does not take.
    """
    driver = resolve_driver(str(args.get('driver') or DEFAULT_DRIVER))
    specs = parameter_specs(driver)
    out: Dict[str, Any] = {'driver': driver}
    notes: List[str] = []
    declared = [a[0] for a in CAMERA_ARGUMENTS]
    names = [n for n in declared if n in args] + sorted(set(args) - set(declared))
    for name in names:
        raw = args[name]
        if name in _LAUNCH_ONLY or name == 'driver' or not _given(raw):
            continue
        if name in specs:
            out[name] = _override_value(specs, name, raw)
        elif is_generic(name):
            out[name] = generic_value(name, raw)
        elif drivers_taking(name):
            takers = drivers_taking(name)
            hint = _HINTS.get(name)
            notes.append('ignoring %s:=%s: driver %s has no such parameter (%s %s it)%s' % (
                name, raw, driver, ', '.join(takers), 'takes' if len(takers) == 1 else 'take',
                '; ' + hint if hint else ''))
    return out, notes


def check_camera_command_line(given: Optional[Mapping[str, str]], driver: str) -> None:
    """Reject command-line arguments that are neither declared nor any driver's parameter."""
    every_parameter = {n for d in KNOWN_DRIVERS for n in parameter_specs(d)}
    known = {a[0] for a in CAMERA_ARGUMENTS} | set(parameter_specs(driver))
    known |= every_parameter          # another driver's: a note says it does not apply
    known |= {n for n in (given or {}) if is_generic(n)}
    reject_unknown(given, known, LAUNCH_FILE,
                   ' and the camera node (driver %s) no such parameter' % driver)


@dataclass
class CameraPlan:
    """The node camera.launch.py starts, and what comes with it."""

    driver: str
    namespace: str
    node_name: str
    params_file: str
    overrides: Dict[str, Any]
    lifecycle: bool
    log_level: str
    output: str
    notes: List[str] = field(default_factory=list)
    environment: Dict[str, str] = field(default_factory=dict)
    #: the rviz config (text) when rviz:=true, else None
    rviz_config: Optional[str] = None

    @property
    def full_name(self) -> str:
        """Return the node's full name, e.g. ``/camera/camera``."""
        return topic_prefix(self.namespace, self.node_name)

    def override_file_text(self) -> str:
        """Return the parameter file that gives the node its overrides."""
        return parameter_file_text(self.overrides, self.full_name)

    def node_arguments(self, override_file: str) -> Dict[str, Any]:
        """Return the keyword arguments of the launch_ros Node (or LifecycleNode)."""
        return node_arguments(self.node_name, self.namespace,
                              [self.params_file, override_file], self.log_level, self.output)


def node_arguments(node_name: str, namespace: str, parameter_files: List[str],
                   log_level: str, output: str) -> Dict[str, Any]:
    """Return the keyword arguments of the launch_ros Node that runs one camera.

    The parameters are files only (the later ones win): launch_ros would write a
    parameter dict with strings unquoted (see files.parameter_file_text).
    """
    return {'package': PACKAGE, 'executable': 'camera_node', 'name': node_name,
            'namespace': namespace, 'parameters': list(parameter_files), 'output': output,
            'emulate_tty': True, 'arguments': ['--ros-args', '--log-level', log_level]}


def rviz2_executable() -> Optional[str]:
    """Return the rviz2 executable launch_ros would start, or None when not installed."""
    from ament_index_python.packages import get_package_prefix, PackageNotFoundError
    try:
        prefix = get_package_prefix('rviz2')
    except PackageNotFoundError:
        return None
    path = os.path.join(prefix, 'lib', 'rviz2', 'rviz2')
    return path if os.access(path, os.X_OK) else None


def render_rviz_config(text: str, namespace: str, node_name: str, camera_name: str) -> str:
    """Point the shipped rviz config (made for /camera/camera and camera_link) at a camera."""
    prefix = topic_prefix(namespace, node_name)
    text = text.replace('/camera/camera/', prefix + '/')
    return re.sub(r'(Fixed Frame:\s*)camera_link\b', r'\g<1>%s_link' % camera_name, text)


def camera_plan(configurations: Mapping[str, Any], share_dir: str,
                given: Optional[Mapping[str, str]] = None,
                find_rviz2: Callable[[], Optional[str]] = rviz2_executable) -> CameraPlan:
    """Decide everything camera.launch.py starts from its launch configurations.

    :param configurations: the launch context's launch_configurations.
    :param share_dir: the package's share folder.
    :param given: the arguments typed on the ros2 launch command line
        (arguments.command_line), checked for names nobody takes; None: not checked.
    :param find_rviz2: returns the rviz2 executable or None (for tests).
    :raises ValueError: naming the argument and what it takes; nothing has started.
    """
    cfg = dict(configurations)
    driver = choose_driver(str(cfg.get('driver') or ''), str(cfg.get('params_file') or ''))
    check_camera_command_line(given, driver)
    params_file = params_file_for(share_dir, driver, str(cfg.get('params_file') or ''))
    overrides, notes = split_overrides(dict(cfg, driver=driver))
    namespace = normalize_namespace(str(cfg.get('camera_namespace', 'camera')))
    node_name = check_name_token('node_name', str(cfg.get('node_name', 'camera')))
    plan = CameraPlan(
        driver=driver, namespace=namespace, node_name=node_name, params_file=params_file,
        overrides=overrides, lifecycle=is_lifecycle(overrides, params_file),
        log_level=check_log_level(str(cfg.get('log_level', 'info'))),
        output=check_output(str(cfg.get('output', 'screen'))), notes=notes,
        environment=fastdds_environment(share_dir, cfg.get('use_large_data_profile', 'true')))
    if to_bool('rviz', cfg.get('rviz', 'false')):
        if find_rviz2() is None:
            raise ValueError(
                'rviz:=true but rviz2 is not installed here (no package rviz2 on '
                'AMENT_PREFIX_PATH); install it (apt install ros-$ROS_DISTRO-rviz2) or '
                'leave out rviz:=true. Nothing was started.')
        camera_name = (overrides.get('camera_name')
                       or params_file_value(params_file, 'camera_name') or 'camera')
        with open(os.path.join(share_dir, 'config', 'camera.rviz')) as f:
            plan.rviz_config = render_rviz_config(f.read(), namespace, node_name,
                                                  str(camera_name))
    return plan
