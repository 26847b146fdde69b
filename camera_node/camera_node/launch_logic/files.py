"""Files the launch files read (parameter files, the Fast DDS profile) and write.

A launch writes the parameters it gives a node into a parameter file of its own (see
:func:`parameter_file_text`) and the rviz config into a folder that lives as long as the
launch (:class:`RunFiles`).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from typing import Any, Dict, Mapping, Optional

import yaml

from .specs import DEFAULT_DRIVER, resolve_driver
from .values import to_bool

#: names of the Fast DDS profile variable: Humble and Jazzy (Fast DDS 2.x) read the first;
#: from Kilted (Fast DDS 3.x) the second, and the first still works but logs a deprecation
#: warning (and loads the file a second time when both are set)
FASTDDS_PROFILE_VARIABLES = ('FASTRTPS_DEFAULT_PROFILES_FILE', 'FASTDDS_DEFAULT_PROFILES_FILE')
#: ROS_DISTRO values whose Fast DDS reads FASTRTPS_DEFAULT_PROFILES_FILE
FASTDDS_2_DISTROS = ('humble', 'iron', 'jazzy')


def load_yaml(path: str, what: str) -> Any:
    """Read a YAML file; raise ValueError naming what it is when it cannot be read."""
    try:
        with open(path) as f:
            return yaml.safe_load(f)
    except OSError as exc:
        raise ValueError('cannot read %s %s: %s' % (what, path, exc.strerror)) from None
    except yaml.YAMLError as exc:
        raise ValueError('%s %s is not valid YAML: %s' % (what, path, exc)) from None


# -- parameter files the user gives ----------------------------------------------------
def default_params_file(share_dir: str, driver: str) -> str:
    """Return the path of the driver's parameter file shipped in ``<share>/config/``."""
    return os.path.join(share_dir, 'config', resolve_driver(driver) + '.yaml')


def multi_camera_file(share_dir: str) -> str:
    """Return the default cameras file of multi_camera.launch.py."""
    return os.path.join(share_dir, 'config', 'multi_camera.yaml')


def params_file_value(path: str, name: str) -> Any:
    """Return the value a ROS 2 parameter file gives parameter name (``/**`` first), or None."""
    data = load_yaml(path, 'parameter file')
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


def is_lifecycle(overrides: Mapping[str, Any], params_file: str) -> bool:
    """Whether the node runs as a managed node (``lifecycle`` override, else the file's)."""
    value = overrides.get('lifecycle')
    if value is None:
        value = params_file_value(params_file, 'lifecycle')
    return bool(value is not None and to_bool('lifecycle', value))


# -- Fast DDS --------------------------------------------------------------------------
def fastdds_profile_path(share_dir: str) -> Optional[str]:
    """Return ``<share>/config/fastdds_large_data.xml`` if the package ships it, else None."""
    path = os.path.join(share_dir, 'config', 'fastdds_large_data.xml')
    return path if os.path.isfile(path) else None


def fastdds_profile_variable(environ: Optional[Mapping[str, str]] = None) -> str:
    """Return the profile variable this distro's Fast DDS reads (by ``ROS_DISTRO``).

    ``FASTRTPS_DEFAULT_PROFILES_FILE`` on Humble, Iron and Jazzy (Fast DDS 2.x, which
    ignores the new name); ``FASTDDS_DEFAULT_PROFILES_FILE`` otherwise (Kilted and newer,
    and when ``ROS_DISTRO`` is unset).
    """
    env = os.environ if environ is None else environ
    old = (env.get('ROS_DISTRO') or '').strip().lower() in FASTDDS_2_DISTROS
    return FASTDDS_PROFILE_VARIABLES[0 if old else 1]


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


# -- files a launch writes -------------------------------------------------------------
class _Quoted(str):
    """A string value that is written double-quoted."""


class _ParameterDumper(yaml.SafeDumper):
    """Writes string values double-quoted and never uses YAML aliases."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


_ParameterDumper.add_representer(
    _Quoted, lambda dumper, value: dumper.represent_scalar('tag:yaml.org,2002:str',
                                                           str(value), style='"'))


def _quote_strings(value: Any) -> Any:
    if isinstance(value, str):
        return _Quoted(value)
    if isinstance(value, Mapping):
        return {str(k): _quote_strings(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_quote_strings(v) for v in value]
    return value


def parameter_file_text(parameters: Mapping[str, Any], node: str) -> str:
    """Return a ROS 2 parameter file giving node (its full name) these parameters.

    launch_ros writes a parameter dict without quoting strings that PyYAML reads as
    strings but rcl does not (``012345678901`` becomes the double 12345678901.0, ``1e5``
    the double 100000.0), so a string parameter would reach the node as a number. Here
    every string is written double-quoted, which rcl reads back as that very string.

    The parameters are keyed both ``/**`` and with the node's name: rcl applies the
    sections of all parameter files in the order it first met their keys, so a file
    following the user's params_file wins over every section of it only that way.
    """
    section = {'ros__parameters': _quote_strings(dict(parameters))}
    return yaml.dump({'/**': section, node: section}, Dumper=_ParameterDumper,
                     default_flow_style=None, sort_keys=False, allow_unicode=True,
                     width=1 << 30)


class RunFiles:
    """A folder for the files one launch writes; :meth:`remove` deletes it.

    The launch files remove it when the launch shuts down (and at once when making
    their actions fails), so no parameter file or rviz config is left behind.
    """

    def __init__(self) -> None:
        self.path = tempfile.mkdtemp(prefix='camera_node_launch_')

    def write(self, name: str, text: str) -> str:
        """Write text into the file name of the folder and return its path."""
        path = os.path.join(self.path, name)
        with open(path, 'w') as f:
            f.write(text)
        return path

    def remove(self, *_: Any) -> None:
        """Delete the folder and its files (arguments are ignored: an event handler)."""
        shutil.rmtree(self.path, ignore_errors=True)
