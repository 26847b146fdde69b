"""The node's and the drivers' parameters as the launch files see them.

Everything comes from the package's own declarations (``core.params.node_parameters`` and
:func:`camera_node.drivers.driver_parameters`), which import no vendor SDK: the launch
process never loads pyrealsense2, depthai or OpenCV.
"""

from __future__ import annotations

import difflib
from typing import Any, Dict, Iterable, List, Mapping, Tuple

import yaml

from ..core.params import node_parameters, validate
from ..drivers import DEFAULT_DRIVER, driver_parameters, known_drivers  # noqa: F401
from .values import convert, kind_of, to_bool

#: drivers the node knows, as the driver registry lists them
KNOWN_DRIVERS: Tuple[str, ...] = tuple(known_drivers())

#: parameters any ROS node accepts besides the ones the camera node declares
GENERIC_PARAMETERS = ('use_sim_time',)
#: prefix of the QoS override parameters (rclpy QoSOverridingOptions)
QOS_OVERRIDES_PREFIX = 'qos_overrides'


def resolve_driver(name: str) -> str:
    """Return the driver name normalised, or raise ValueError listing the known ones."""
    key = (name or '').strip().lower()
    if key not in KNOWN_DRIVERS:
        raise ValueError('unknown driver %r; known drivers: %s'
                         % (name, ', '.join(KNOWN_DRIVERS)))
    return key


def parameter_specs(driver: str) -> Dict[str, Any]:
    """Return name -> ParamSpec of every parameter of the node running driver."""
    specs: Dict[str, Any] = {s.name: s for s in node_parameters(known_drivers())}
    specs.update((s.name, s) for s in driver_parameters(resolve_driver(driver)))
    return specs


def drivers_taking(name: str) -> List[str]:
    """Return the drivers that have a parameter called name (besides the node's own)."""
    return [d for d in KNOWN_DRIVERS if any(s.name == name for s in driver_parameters(d))]


def is_generic(name: str) -> bool:
    """Whether name is a parameter every ROS node takes (use_sim_time, qos_overrides.*)."""
    return name in GENERIC_PARAMETERS or name.split('.')[0] == QOS_OVERRIDES_PREFIX


def generic_value(name: str, raw: Any) -> Any:
    """Convert a launch argument for a generic parameter (bool, or a YAML scalar)."""
    if name == 'use_sim_time':
        return to_bool(name, raw)
    if not isinstance(raw, str):
        return raw
    try:
        value = yaml.safe_load(raw)
    except yaml.YAMLError:
        return raw
    return value if isinstance(value, (bool, int, float, str)) else raw


def check(specs: Mapping[str, Any], name: str, value: Any) -> None:
    """Raise ValueError with the reason if value is not acceptable for parameter name."""
    spec = specs.get(name)
    if spec is None:
        return
    reason = validate(spec, value)
    if reason:
        raise ValueError(reason)


def typed_parameters(values: Mapping[str, Any], driver: str) -> Dict[str, Any]:
    """Convert values to their parameters' types and check them against the specs.

    Unknown names are rejected (``use_sim_time`` and ``qos_overrides.*`` always pass).
    """
    specs = parameter_specs(driver)
    out: Dict[str, Any] = {}
    for name, value in values.items():
        name = str(name)
        spec = specs.get(name)
        if spec is None:
            if not is_generic(name):
                raise ValueError('unknown parameter %r for driver %s%s (known: %s)' % (
                    name, driver, did_you_mean(name, specs), ', '.join(sorted(specs))))
            out[name] = value
            continue
        value = convert(name, value, kind_of(spec.default))
        check(specs, name, value)
        out[name] = value
    return out


def close_matches(name: str, candidates: Iterable[str]) -> List[str]:
    """Return the candidates closest to a misspelt name (at most 3, best first)."""
    return difflib.get_close_matches(name, sorted(set(candidates)), n=3, cutoff=0.6)


def did_you_mean(name: str, candidates: Iterable[str],
                 form: str = '; did you mean %s?') -> str:
    """Return form filled with the closest candidates to a misspelt name, or ''."""
    close = close_matches(name, candidates)
    return form % ' or '.join(close) if close else ''
