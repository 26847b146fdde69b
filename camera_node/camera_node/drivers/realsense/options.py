"""Runtime options of a RealSense device: the parameters that map to SDK sensor options.

Type and range of a value are checked from the parameter's spec before anything here is
called; :func:`check` says what only the device can tell (supported? writable now? within
the device's own range?), :func:`apply` sets it.
"""

from __future__ import annotations

from dataclasses import dataclass
import logging
from typing import Any, Dict, Mapping

import pyrealsense2 as rs

from ...core.errors import InvalidOptionError

_LOG = logging.getLogger(__name__)


@dataclass(frozen=True)
class RuntimeOption:
    """A runtime parameter mapped to one SDK option of the depth or colour sensor."""

    sensor: str          # 'depth' or 'color'
    option: Any          # rs.option member
    kind: type           # bool, int or float: the parameter's type
    unset: Any           # value meaning "leave the device's own setting"


#: runtime (read_only=False) parameters -> SDK options
RUNTIME_OPTIONS: Dict[str, RuntimeOption] = {
    'enable_auto_exposure': RuntimeOption('depth', rs.option.enable_auto_exposure, bool, True),
    'exposure': RuntimeOption('depth', rs.option.exposure, int, -1),
    'gain': RuntimeOption('depth', rs.option.gain, int, -1),
    'laser_power': RuntimeOption('depth', rs.option.laser_power, float, -1.0),
    'emitter_enabled': RuntimeOption('depth', rs.option.emitter_enabled, int, -1),
    'emitter_on_off': RuntimeOption('depth', rs.option.emitter_on_off, bool, False),
    'color_enable_auto_exposure': RuntimeOption('color', rs.option.enable_auto_exposure,
                                                bool, True),
    'color_exposure': RuntimeOption('color', rs.option.exposure, int, -1),
}


def leaves_device_setting(name: str, value: Any) -> bool:
    """Whether value is a number option's "keep the device's own setting" (-1)."""
    spec = RUNTIME_OPTIONS[name]
    return spec.kind is not bool and value == spec.unset


def check(name: str, value: Any, sensors: Mapping[str, Any], model: str) -> None:
    """Raise InvalidOptionError if the open device cannot take value for name now."""
    spec = RUNTIME_OPTIONS[name]
    sensor = sensors.get(spec.sensor)
    if sensor is None or not sensor.supports(spec.option):
        raise InvalidOptionError('cannot set %s: the %s sensor of this %s does not '
                                 'support it' % (name, spec.sensor, model))
    if sensor.is_option_read_only(spec.option):
        raise InvalidOptionError('cannot set %s: it is read-only on this %s right now'
                                 % (name, model))
    rng = sensor.get_option_range(spec.option)
    number = float(value)
    if number < rng.min - 1e-9 or number > rng.max + 1e-9:
        raise InvalidOptionError('%s=%r is outside the device range [%g, %g]'
                                 % (name, value, rng.min, rng.max))


def apply(name: str, value: Any, sensors: Mapping[str, Any]) -> None:
    """Set a checked option on its sensor, rounded to the device's step."""
    spec = RUNTIME_OPTIONS[name]
    sensor = sensors[spec.sensor]
    rng = sensor.get_option_range(spec.option)
    number = float(value)
    if rng.step > 0:
        number = rng.min + round((number - rng.min) / rng.step) * rng.step
    try:
        sensor.set_option(spec.option, number)
    except RuntimeError as exc:
        raise InvalidOptionError('device refused %s=%r: %s' % (name, value, exc)) from exc


def apply_initial(options: Mapping[str, Any], sensors: Mapping[str, Any], model: str) -> None:
    """Apply the runtime options set away from "device setting" (live devices, at open)."""
    for name, spec in RUNTIME_OPTIONS.items():
        value = options[name]
        if value == spec.unset:
            continue
        try:
            check(name, value, sensors, model)
            apply(name, value, sensors)
        except InvalidOptionError as exc:
            _LOG.warning('RealSense option %s=%r not applied: %s', name, value, exc)


def temperature(sensors: Mapping[str, Any]) -> Any:
    """Return the stereo module's projector (or ASIC) temperature in Celsius, or None."""
    sensor = sensors.get('depth')
    for option in (rs.option.projector_temperature, rs.option.asic_temperature):
        try:
            if sensor is not None and sensor.supports(option):
                return float(sensor.get_option(option))
        except RuntimeError:
            continue
    return None


def current_values(sensors: Mapping[str, Any]) -> Dict[str, Any]:
    """Return the device's current value of every runtime option it supports."""
    out: Dict[str, Any] = {}
    for name, spec in RUNTIME_OPTIONS.items():
        sensor = sensors.get(spec.sensor)
        try:
            if sensor is not None and sensor.supports(spec.option):
                out[name] = spec.kind(sensor.get_option(spec.option))
        except RuntimeError:
            continue
    return out


def describe_all(device: 'rs.device', read_only: bool) -> Dict[str, Any]:
    """Return every option of every sensor: value, range, default, read-only, description.

    :param read_only: report every option read-only (a playback device).
    """
    sensors: Dict[str, Any] = {}
    for sensor in device.query_sensors():
        name = sensor.get_info(rs.camera_info.name) \
            if sensor.supports(rs.camera_info.name) else str(sensor)
        options: Dict[str, Any] = {}
        for opt in sensor.get_supported_options():
            try:
                rng = sensor.get_option_range(opt)
                options[opt.name] = {
                    'value': float(sensor.get_option(opt)),
                    'min': float(rng.min), 'max': float(rng.max),
                    'step': float(rng.step), 'default': float(rng.default),
                    'read_only': bool(sensor.is_option_read_only(opt) or read_only),
                    'description': sensor.get_option_description(opt),
                }
            except RuntimeError:
                continue
        sensors[name] = options
    return sensors
