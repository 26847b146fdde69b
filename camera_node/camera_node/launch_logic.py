"""Every decision the launch files make, in plain Python (no ``launch`` import).

``launch/camera.launch.py`` and ``launch/multi_camera.launch.py`` stay thin: they declare
arguments, call these functions from an ``OpaqueFunction`` and turn the result into
``launch_ros`` actions. Anything that can be wrong (an unknown driver, a launch argument
that is not a number, two cameras with the same namespace) raises :class:`ValueError`
here with a message naming the fix, so it fails at launch time, before any node starts.

Launch arguments arrive as strings; an empty string means "not given".
"""

from __future__ import annotations

from dataclasses import dataclass, field
import os
import re
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

import yaml

#: drivers the node knows (``camera_node.drivers.DRIVERS``), in a stable order
KNOWN_DRIVERS: Tuple[str, ...] = ('synthetic', 'realsense', 'oakd', 'webcam', 'file')
DEFAULT_DRIVER = 'synthetic'

#: launch argument -> (parameter type, drivers it applies to; None = every driver).
#: The argument sets the node parameter of the same name. test_launch_logic checks this
#: table against the drivers' ``parameters`` so the two cannot drift apart.
OVERRIDE_ARGUMENTS: Dict[str, Tuple[type, Optional[Tuple[str, ...]]]] = {
    'camera_name': (str, None),
    'camera_info_url': (str, None),
    'lifecycle': (bool, None),
    'parent_frame': (str, None),
    'mount_pose': (list, None),
    'publish_cloud': (bool, None),
    'cloud_decimation': (int, None),
    'serial_no': (str, ('realsense',)),
    'playback_file': (str, ('realsense',)),
    'device_id': (str, ('oakd',)),
    'color_profile': (str, ('realsense', 'oakd')),
    'depth_profile': (str, ('realsense',)),
    'enable_depth': (bool, ('realsense', 'oakd')),
    'source': (str, ('webcam', 'file')),
    'width': (int, ('synthetic', 'webcam', 'file')),
    'height': (int, ('synthetic', 'webcam', 'file')),
    'fps': (float, ('synthetic', 'webcam', 'file')),
}

#: what to use instead when an argument does not apply to the chosen driver
_HINTS = {
    'width': 'use color_profile:=WIDTHxHEIGHTxFPS',
    'height': 'use color_profile:=WIDTHxHEIGHTxFPS',
    'fps': 'use color_profile:=WIDTHxHEIGHTxFPS',
    'color_profile': 'use width, height and fps',
    'serial_no': 'the realsense driver takes it; oakd uses device_id, webcam/file source',
    'device_id': 'the oakd driver takes it; realsense uses serial_no, webcam/file source',
    'source': 'the webcam and file drivers take it',
}

#: parameters any ROS node accepts besides the ones the camera node declares
GENERIC_PARAMETERS = ('use_sim_time',)
#: prefix of the QoS override parameters (rclpy QoSOverridingOptions)
QOS_OVERRIDES_PREFIX = 'qos_overrides'

LOG_LEVELS = ('debug', 'info', 'warn', 'error', 'fatal')
OUTPUTS = ('screen', 'log', 'both')
#: names of the Fast DDS profile variable: Humble and Jazzy (Fast DDS 2.x) read the first;
#: from Kilted (Fast DDS 3.x) the second, and the first still works but logs a deprecation
#: warning (and loads the file a second time when both are set)
FASTDDS_PROFILE_VARIABLES = ('FASTRTPS_DEFAULT_PROFILES_FILE', 'FASTDDS_DEFAULT_PROFILES_FILE')
#: ROS_DISTRO values whose Fast DDS reads FASTRTPS_DEFAULT_PROFILES_FILE
FASTDDS_2_DISTROS = ('humble', 'iron', 'jazzy')

_PROFILE_RE = re.compile(r'^\d+x\d+x\d+$')
_NAME_TOKEN_RE = re.compile(r'^[A-Za-z_][A-Za-z0-9_]*$')
_TRUE = ('true', '1', 'yes', 'on')
_FALSE = ('false', '0', 'no', 'off')


# -- drivers and files -------------------------------------------------------------------
def resolve_driver(name: str) -> str:
    """Return the driver name normalised, or raise ValueError listing the known ones."""
    key = (name or '').strip().lower()
    if key not in KNOWN_DRIVERS:
        raise ValueError('unknown driver %r; known drivers: %s'
                         % (name, ', '.join(KNOWN_DRIVERS)))
    return key


def default_params_file(share_dir: str, driver: str) -> str:
    """Return the path of the driver's parameter file shipped in ``<share>/config/``."""
    return os.path.join(share_dir, 'config', resolve_driver(driver) + '.yaml')


def fastdds_profile_path(share_dir: str) -> Optional[str]:
    """Return ``<share>/config/fastdds_large_data.xml`` if the package ships it, else None."""
    path = os.path.join(share_dir, 'config', 'fastdds_large_data.xml')
    return path if os.path.isfile(path) else None


def fastdds_environment(share_dir: str, use_large_data_profile: Any,
                        environ: Optional[Mapping[str, str]] = None) -> Dict[str, str]:
    """Return the environment variables the launch sets for Fast DDS (may be empty).

    Nothing is set when the user asked not to (``use_large_data_profile:=false``), when a
    profile file is already set in the environment under either name (the user's choice
    wins), or when the package does not ship the profile. Otherwise the variable this
    distro's Fast DDS reads (by ``ROS_DISTRO``; Kilted's name when it is unknown) points
    at it.
    """
    if not to_bool('use_large_data_profile', use_large_data_profile):
        return {}
    env = os.environ if environ is None else environ
    if any(env.get(v) for v in FASTDDS_PROFILE_VARIABLES):
        return {}
    path = fastdds_profile_path(share_dir)
    if path is None:
        return {}
    return {fastdds_profile_variable(env): path}


def fastdds_profile_variable(environ: Optional[Mapping[str, str]] = None) -> str:
    """Return the profile variable this distro's Fast DDS reads (by ``ROS_DISTRO``).

    ``FASTRTPS_DEFAULT_PROFILES_FILE`` on Humble, Iron and Jazzy (Fast DDS 2.x, which
    ignores the new name); ``FASTDDS_DEFAULT_PROFILES_FILE`` otherwise (Kilted and newer,
    and when ``ROS_DISTRO`` is unset).
    """
    env = os.environ if environ is None else environ
    old = (env.get('ROS_DISTRO') or '').strip().lower() in FASTDDS_2_DISTROS
    return FASTDDS_PROFILE_VARIABLES[0 if old else 1]


def multi_camera_file(share_dir: str) -> str:
    """Return the default cameras file of multi_camera.launch.py."""
    return os.path.join(share_dir, 'config', 'multi_camera.yaml')


def params_file_value(path: str, name: str) -> Any:
    """Return the value a ROS 2 parameter file gives parameter name (``/**`` first), or None."""
    data = _load_yaml(path, 'parameter file')
    if not isinstance(data, dict):
        raise ValueError('parameter file %s is not a mapping of node names' % path)
    keys = ['/**'] + [k for k in data if k != '/**']
    for key in keys:
        section = data.get(key)
        if isinstance(section, dict) and isinstance(section.get('ros__parameters'), dict):
            value = section['ros__parameters'].get(name)
            if value is not None:
                return value
    return None


def params_file_driver(path: str) -> Optional[str]:
    """Return the ``driver`` a ROS 2 parameter file sets, or None."""
    driver = params_file_value(path, 'driver')
    return None if driver is None else str(driver)


def choose_driver(driver_arg: str, params_file_arg: str = '') -> str:
    """Decide the driver from the ``driver`` and ``params_file`` launch arguments.

    ``driver`` given: it wins (a params_file made for another driver is an error, as its
    parameters would be silently ignored). Not given: the driver the params_file names,
    else synthetic.
    """
    named = None
    if params_file_arg:
        if not os.path.isfile(params_file_arg):
            raise ValueError('params_file %r does not exist' % params_file_arg)
        named = params_file_driver(params_file_arg)
    if driver_arg:
        driver = resolve_driver(driver_arg)
        if named is not None and resolve_driver(named) != driver:
            raise ValueError('params_file %s is for driver %s but driver:=%s was given; '
                             'drop one of them' % (params_file_arg, named, driver))
        return driver
    return resolve_driver(named) if named is not None else DEFAULT_DRIVER


def params_file_for(share_dir: str, driver: str, params_file_arg: str = '') -> str:
    """Return the parameter file to load: the one given, else the driver's default."""
    path = params_file_arg or default_params_file(share_dir, driver)
    if not os.path.isfile(path):
        raise ValueError('parameter file %s does not exist%s' % (
            path, '' if params_file_arg else ' (is the camera_node package installed?)'))
    return path


# -- conversions ---------------------------------------------------------------------------
def to_bool(name: str, value: Any) -> bool:
    """Convert a launch argument to bool (true/false, 1/0, yes/no, on/off)."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError('%s:=%r is not a boolean (use true or false)' % (name, value))


def _to_int(name: str, value: Any) -> int:
    if isinstance(value, bool):
        raise ValueError('%s:=%r is not an integer' % (name, value))
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    try:
        return int(str(value).strip())
    except ValueError:
        raise ValueError('%s:=%r is not an integer' % (name, value)) from None


def _to_float(name: str, value: Any) -> float:
    if isinstance(value, bool):
        raise ValueError('%s:=%r is not a number' % (name, value))
    try:
        return float(str(value).strip()) if isinstance(value, str) else float(value)
    except (TypeError, ValueError):
        raise ValueError('%s:=%r is not a number' % (name, value)) from None


def _to_float_list(name: str, value: Any) -> List[float]:
    if isinstance(value, str):
        text = value.strip()
        if text.startswith('[') and text.endswith(']'):
            text = text[1:-1]
        items: Sequence[Any] = [t for t in re.split(r'[,\s]+', text) if t]
    elif isinstance(value, (list, tuple)):
        items = value
    else:
        raise ValueError('%s:=%r is not a list of numbers' % (name, value))
    try:
        return [_to_float(name, v) for v in items]
    except ValueError:
        raise ValueError('%s:=%r is not a list of numbers, e.g. [0.0, 0.1, 0.0, 0.0, 0.0, 0.0]'
                         % (name, value)) from None


def convert(name: str, value: Any, kind: type) -> Any:
    """Convert a launch argument (or YAML value) to the parameter type kind."""
    if kind is bool:
        return to_bool(name, value)
    if kind is int:
        return _to_int(name, value)
    if kind is float:
        return _to_float(name, value)
    if kind is list:
        return _to_float_list(name, value)
    if not isinstance(value, str):
        # YAML reads 012345 as the octal number 5349: only a quoted string is safe
        raise ValueError('%s: %r must be a string (quote it in YAML)' % (name, value))
    return value


def _kind_of(default: Any) -> type:
    if isinstance(default, bool):
        return bool
    if isinstance(default, int):
        return int
    if isinstance(default, float):
        return float
    if isinstance(default, (list, tuple)):
        return list
    return str


# -- parameter specs -----------------------------------------------------------------------
def parameter_specs(driver: str) -> Tuple[Dict[str, Any], bool]:
    """Return (name -> ParamSpec of the node and the driver, whether the driver's are in).

    The driver's module (and its vendor SDK) is imported here; when that fails the node's
    own parameters are still returned, with False, and the node reports the driver at start.
    """
    from . import drivers
    from .core.params import node_parameters
    specs: Dict[str, Any] = {s.name: s for s in node_parameters(drivers.known_drivers())}
    try:
        driver_specs = drivers.driver_parameters(resolve_driver(driver))
    except Exception:  # DriverUnavailableError, or an SDK failing at import
        return specs, False
    for s in driver_specs:
        specs[s.name] = s
    return specs, True


def _check(specs: Mapping[str, Any], name: str, value: Any) -> None:
    spec = specs.get(name)
    if spec is None:
        return
    from .core.params import coerce, validate
    value = coerce(spec, value)
    reason = validate(spec, value)
    if reason:
        raise ValueError(reason)


def _is_generic(name: str) -> bool:
    return name in GENERIC_PARAMETERS or name.split('.')[0] == QOS_OVERRIDES_PREFIX


# -- single camera -------------------------------------------------------------------------
def split_overrides(args: Mapping[str, Any],
                    specs: Optional[Mapping[str, Any]] = None
                    ) -> Tuple[Dict[str, Any], List[str]]:
    """Turn launch arguments into (node parameter overrides, notes on ignored arguments).

    Only the arguments of :data:`OVERRIDE_ARGUMENTS` that were given (not empty) and that
    apply to ``args['driver']`` become overrides, converted to the parameter's type and
    checked against its spec when ``specs`` (see :func:`parameter_specs`) has it. The
    overrides always include ``driver``. Raise ValueError on a value that does not convert.
    """
    driver = resolve_driver(str(args.get('driver') or DEFAULT_DRIVER))
    out: Dict[str, Any] = {'driver': driver}
    ignored: List[str] = []
    for name, (kind, drivers) in OVERRIDE_ARGUMENTS.items():
        raw = args.get(name)
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            continue
        if drivers is not None and driver not in drivers:
            hint = _HINTS.get(name)
            ignored.append('%s:=%s does not apply to driver %s (it applies to %s)%s' % (
                name, raw, driver, ', '.join(drivers), '; ' + hint if hint else ''))
            continue
        value = convert(name, raw, kind)
        if name in ('color_profile', 'depth_profile') and not _PROFILE_RE.match(value):
            raise ValueError('%s:=%r must be WIDTHxHEIGHTxFPS, e.g. 640x480x30'
                             % (name, raw))
        if name == 'mount_pose' and len(value) != 6:
            raise ValueError('mount_pose:=%r needs 6 numbers: x, y, z (m), roll, pitch, yaw '
                             '(rad)' % (raw,))
        if name in ('camera_name', 'parent_frame'):
            value = value.strip()
            if name == 'camera_name':
                check_name_token('camera_name', value)
        if specs is not None:
            _check(specs, name, value)
        out[name] = value
    return out, ignored


def camera_overrides(args: Mapping[str, Any],
                     specs: Optional[Mapping[str, Any]] = None) -> Dict[str, Any]:
    """Return the node parameter overrides of launch arguments (see split_overrides)."""
    return split_overrides(args, specs)[0]


def check_name_token(what: str, value: str) -> str:
    """Return value if it is a valid ROS name token (letters, digits, _), else raise."""
    if not _NAME_TOKEN_RE.match(value or ''):
        raise ValueError('%s %r is not a valid ROS name: use letters, digits and _, not '
                         'starting with a digit' % (what, value))
    return value


def normalize_namespace(value: str) -> str:
    """Return a namespace as ``/a/b`` (``/`` for the root), or raise ValueError."""
    tokens = [t for t in (value or '').strip().split('/') if t]
    for t in tokens:
        if t.startswith('~') or not _NAME_TOKEN_RE.match(t):
            raise ValueError('namespace %r is not a valid ROS namespace: use tokens of '
                             'letters, digits and _ separated by /' % value)
    return '/' + '/'.join(tokens)


def check_log_level(value: str) -> str:
    """Return a log level for ``--log-level`` (``info`` or ``logger:=info``), or raise."""
    text = (value or '').strip()
    level = text.rpartition(':=')[2].lower()
    if level not in LOG_LEVELS:
        raise ValueError('log_level:=%r must be one of %s (or <logger>:=<level>)'
                         % (value, ', '.join(LOG_LEVELS)))
    return text.lower() if ':=' not in text else text


def check_output(value: str) -> str:
    """Return a launch ``output`` value (screen, log, both), or raise ValueError."""
    text = (value or '').strip().lower()
    if text not in OUTPUTS:
        raise ValueError('output:=%r must be one of %s' % (value, ', '.join(OUTPUTS)))
    return text


def is_lifecycle(overrides: Mapping[str, Any], params_file: str) -> bool:
    """Whether the node runs as a managed node (``lifecycle`` override, else the file's)."""
    value = overrides.get('lifecycle')
    if value is None:
        value = params_file_value(params_file, 'lifecycle')
    return bool(value is not None and to_bool('lifecycle', value))


def node_arguments(node_name: str, namespace: str, params_file: str,
                   overrides: Mapping[str, Any], log_level: str, output: str,
                   string_value: Callable[[str], Any]) -> Dict[str, Any]:
    """Return the keyword arguments of the launch_ros ``Node`` that runs one camera.

    The overrides follow the parameter file. launch_ros reads plain strings as YAML on
    some distros ('0123' would become 83), so every string override is passed through
    string_value (the launch file's ``ParameterValue(value, value_type=str)``).
    """
    typed = {k: string_value(v) if isinstance(v, str) else v for k, v in overrides.items()}
    return {'package': 'camera_node', 'executable': 'camera_node', 'name': node_name,
            'namespace': namespace, 'parameters': [params_file, typed], 'output': output,
            'emulate_tty': True, 'arguments': ['--ros-args', '--log-level', log_level]}


def topic_prefix(namespace: str, node_name: str) -> str:
    """Return the prefix of the node's private topics, e.g. ``/camera/camera``."""
    ns = normalize_namespace(namespace)
    return (ns.rstrip('/') + '/' + node_name) if ns != '/' else '/' + node_name


def render_rviz_config(text: str, namespace: str, node_name: str, camera_name: str) -> str:
    """Point the shipped rviz config (made for /camera/camera and camera_link) at a camera."""
    prefix = topic_prefix(namespace, node_name)
    text = text.replace('/camera/camera/', prefix + '/')
    return re.sub(r'(Fixed Frame:\s*)camera_link\b', r'\g<1>%s_link' % camera_name, text)


# -- several cameras -----------------------------------------------------------------------
@dataclass
class CameraSpec:
    """One camera of a multi-camera file, as the launch starts it."""

    name: str
    namespace: str
    node_name: str
    driver: str
    params_file: str
    parameters: Dict[str, Any] = field(default_factory=dict)

    @property
    def topic_prefix(self) -> str:
        """Return the prefix of this camera's topics, e.g. ``/left/camera``."""
        return topic_prefix(self.namespace, self.node_name)


_ENTRY_KEYS = ('name', 'namespace', 'node_name', 'driver', 'params_file', 'parameters')


def load_camera_list(yaml_path: str, share_dir: Optional[str] = None) -> List[CameraSpec]:
    """Read a multi-camera file and return one validated CameraSpec per camera.

    The file holds ``cameras:``, a list of entries with ``name`` (required), ``namespace``
    (default: the name), ``node_name`` (default ``camera``), ``driver`` (default: the
    params_file's, else synthetic), ``params_file`` (absolute or relative to this file;
    default: the driver's file in ``<share_dir>/config``, or beside this file when
    share_dir is None) and ``parameters`` (inline overrides). Parameters under
    ``/**: ros__parameters:`` apply to every camera (an entry's own win). ``camera_name``
    defaults to the entry's name, so every camera's frames are prefixed differently.
    Duplicate names, namespaces and camera names are rejected.
    """
    data = _load_yaml(yaml_path, 'cameras file')
    base = os.path.dirname(os.path.abspath(yaml_path))
    where = 'cameras file %s' % yaml_path
    if not isinstance(data, dict) or 'cameras' not in data:
        raise ValueError('%s must hold a "cameras:" list' % where)
    common: Dict[str, Any] = {}
    section = data.get('/**')
    if section is not None:
        if not isinstance(section, dict) or not isinstance(
                section.get('ros__parameters', {}), dict):
            raise ValueError('%s: "/**" must hold "ros__parameters:" (a mapping)' % where)
        common = dict(section.get('ros__parameters') or {})
    other = sorted(set(data) - {'cameras', '/**'})
    if other:
        raise ValueError('%s: unknown top-level keys %s (expected cameras and /**)'
                         % (where, ', '.join(map(str, other))))
    entries = data['cameras']
    if not isinstance(entries, list) or not entries:
        raise ValueError('%s: "cameras" must be a non-empty list' % where)
    config_dir = os.path.join(share_dir, 'config') if share_dir else base
    cams = [_camera_spec(i, e, common, base, config_dir, where) for i, e in enumerate(entries)]
    _reject_duplicates(cams, where)
    return cams


def _camera_spec(index: int, entry: Any, common: Mapping[str, Any], base: str,
                 config_dir: str, where: str) -> CameraSpec:
    if not isinstance(entry, dict):
        raise ValueError('%s: camera #%d must be a mapping with at least a name' % (
            where, index + 1))
    name = entry.get('name')
    if not isinstance(name, str) or not name:
        raise ValueError('%s: camera #%d has no name' % (where, index + 1))
    what = '%s: camera %r' % (where, name)
    unknown = sorted(set(entry) - set(_ENTRY_KEYS))
    if unknown:
        raise ValueError('%s: unknown keys %s (allowed: %s)' % (
            what, ', '.join(map(str, unknown)), ', '.join(_ENTRY_KEYS)))
    try:
        check_name_token('camera name', name)
        node_name = check_name_token('node_name', str(entry.get('node_name') or 'camera'))
        namespace = normalize_namespace(str(entry.get('namespace') or name))
        params_file = str(entry.get('params_file') or '')
        if params_file and not os.path.isabs(params_file):
            params_file = os.path.join(base, params_file)
        driver = choose_driver(str(entry.get('driver') or ''), params_file)
        if not params_file:
            params_file = os.path.join(config_dir, driver + '.yaml')
            if not os.path.isfile(params_file):
                raise ValueError('parameter file %s does not exist' % params_file)
        inline = entry.get('parameters') or {}
        if not isinstance(inline, dict):
            raise ValueError('parameters must be a mapping of name: value')
        if 'driver' in inline or 'driver' in common:
            raise ValueError('set driver on the entry, not among its parameters')
        specs, complete = parameter_specs(driver)
        # shared parameters another driver does not take are left out for this one
        merged = {k: v for k, v in common.items()
                  if not complete or str(k) in specs or _is_generic(str(k))}
        merged.update(inline)
        merged.setdefault('camera_name', name)
        merged['driver'] = driver
        parameters = typed_parameters(merged, driver, (specs, complete))
        check_name_token('camera_name', parameters['camera_name'])
    except ValueError as exc:
        raise ValueError('%s: %s' % (what, exc)) from None
    return CameraSpec(name, namespace, node_name, driver, params_file, parameters)


def typed_parameters(values: Mapping[str, Any], driver: str,
                     known: Optional[Tuple[Dict[str, Any], bool]] = None) -> Dict[str, Any]:
    """Convert values to their parameters' types and check them against the specs.

    Unknown names are rejected when the driver's parameters are known (its module imports
    here); ``use_sim_time`` and ``qos_overrides.*`` always pass. ``known`` is the result of
    :func:`parameter_specs` when the caller has it already.
    """
    specs, complete = known if known is not None else parameter_specs(driver)
    out: Dict[str, Any] = {}
    for name, value in values.items():
        name = str(name)
        spec = specs.get(name)
        if spec is None:
            if complete and not _is_generic(name):
                raise ValueError('unknown parameter %r for driver %s (known: %s)' % (
                    name, driver, ', '.join(sorted(specs))))
            out[name] = value
            continue
        value = convert(name, value, _kind_of(spec.default))
        _check(specs, name, value)
        out[name] = value
    return out


def _reject_duplicates(cams: Iterable[CameraSpec], where: str) -> None:
    seen: Dict[Tuple[str, Any], str] = {}
    for cam in cams:
        keys = (('name', cam.name),
                ('namespace', cam.namespace),
                ('camera_name', cam.parameters.get('camera_name')))
        for kind, key in keys:
            first = seen.get((kind, key))
            if first is not None:
                reason = {
                    'name': 'two cameras are named %r' % key,
                    'namespace': 'cameras %r and %r are both in namespace %s: give each '
                                 'camera its own namespace so topics and parameters stay '
                                 'apart' % (first, cam.name, key),
                    'camera_name': 'cameras %r and %r share camera_name %r: their TF '
                                   'frames (%s_link, ...) would collide'
                                   % (first, cam.name, key, key),
                }[kind]
                raise ValueError('%s: %s' % (where, reason))
            seen[(kind, key)] = cam.name


def _load_yaml(path: str, what: str) -> Any:
    try:
        with open(path) as f:
            return yaml.safe_load(f)
    except OSError as exc:
        raise ValueError('cannot read %s %s: %s' % (what, path, exc.strerror)) from None
    except yaml.YAMLError as exc:
        raise ValueError('%s %s is not valid YAML: %s' % (what, path, exc)) from None
