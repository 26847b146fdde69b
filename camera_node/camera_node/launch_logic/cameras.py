"""What ``multi_camera.launch.py`` (and ``ros2 run camera_node cameras``) starts.

A cameras file lists the cameras; :func:`load_camera_list` reads and checks it and
returns one :class:`CameraSpec` per camera. Every mistake raises ValueError naming the
file and the camera.
"""

from __future__ import annotations

from dataclasses import dataclass, field
import os
from typing import Any, Dict, Iterable, List, Mapping, Optional, Tuple

from .arguments import reject_unknown
from .files import choose_driver, is_lifecycle, load_yaml, parameter_file_text
from .specs import (is_generic, KNOWN_DRIVERS, parameter_specs, typed_parameters)
from .values import check_name_token, normalize_namespace, topic_prefix

LAUNCH_FILE = 'multi_camera.launch.py'

#: (name, default, description) of the arguments multi_camera.launch.py declares
MULTI_ARGUMENTS: Tuple[Tuple[str, str, str], ...] = (
    ('cameras_file', '', 'YAML list of cameras; default: config/multi_camera.yaml.'),
    ('log_level', 'info', 'Log level of every camera: debug, info, warn, error, fatal.'),
    ('output', 'screen', 'Where the nodes output goes: screen, log or both.'),
    ('use_large_data_profile', 'true', "Point Fast DDS at the package's large-data profile "
     '(FASTRTPS_/FASTDDS_DEFAULT_PROFILES_FILE by distro) unless one is set already.'),
)


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

    @property
    def lifecycle(self) -> bool:
        """Whether this camera runs as a managed node."""
        return is_lifecycle(self.parameters, self.params_file)

    def override_file_text(self) -> str:
        """Return the parameter file giving this camera its parameters (after params_file)."""
        return parameter_file_text(self.parameters, self.topic_prefix)


def check_multi_command_line(given: Optional[Mapping[str, str]]) -> None:
    """Reject command-line arguments multi_camera.launch.py does not take."""
    every_parameter = {n for d in KNOWN_DRIVERS for n in parameter_specs(d)}
    parameters = sorted(n for n in (given or {}) if n in every_parameter or is_generic(n))
    if parameters:
        raise ValueError(
            '%s takes camera parameters from the cameras file, not from the command line '
            "(%s): put them under a camera's parameters, or under /**: ros__parameters: "
            'for every camera' % (LAUNCH_FILE, ', '.join(parameters)))
    reject_unknown(given, [a[0] for a in MULTI_ARGUMENTS], LAUNCH_FILE, '')


_ENTRY_KEYS = ('name', 'namespace', 'node_name', 'driver', 'params_file', 'parameters')


def load_camera_list(yaml_path: str, share_dir: Optional[str] = None) -> List[CameraSpec]:
    """Read a multi-camera file and return one validated CameraSpec per camera.

    The file holds ``cameras:``, a list of entries with ``name`` (required), ``namespace``
    (default: the name), ``node_name`` (default ``camera``), ``driver`` (default: the
    params_file's, else synthetic), ``params_file`` (absolute or relative to this file;
    default: the driver's file in ``<share_dir>/config``, or beside this file when
    share_dir is None) and ``parameters`` (inline overrides). Parameters under
    ``/**: ros__parameters:`` apply to every camera that takes them (an entry's own
    win). ``camera_name`` defaults to the entry's name, so every camera's frames are
    prefixed differently. Duplicate names, namespaces and camera names are rejected.
    """
    data = load_yaml(yaml_path, 'cameras file')
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
        specs = parameter_specs(driver)
        # shared parameters another driver does not take are left out for this one
        merged = {k: v for k, v in common.items() if str(k) in specs or is_generic(str(k))}
        merged.update(inline)
        merged.setdefault('camera_name', name)
        merged['driver'] = driver
        parameters = typed_parameters(merged, driver)
        check_name_token('camera_name', parameters['camera_name'])
    except ValueError as exc:
        raise ValueError('%s: %s' % (what, exc)) from None
    return CameraSpec(name, namespace, node_name, driver, params_file, parameters)


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
