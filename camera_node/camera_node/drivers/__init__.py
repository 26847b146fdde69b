"""Driver registry: a driver's module (and its vendor SDK) is imported only when chosen.

A driver's parameters are known without importing it (:func:`driver_parameters`).
"""

from __future__ import annotations

import importlib
from typing import Dict, Tuple, Type

from .base import (CameraProperties, DeviceLostError, DeviceNotFoundError, Driver,
                   DriverError, DriverUnavailableError, EndOfStream, Extrinsics,
                   FrameSet, Intrinsics, InvalidOptionError, ParamSpec)
from .parameters import PARAMETERS

__all__ = [
    'CameraProperties', 'DeviceLostError', 'DeviceNotFoundError', 'Driver', 'DriverError',
    'DriverUnavailableError', 'EndOfStream', 'Extrinsics', 'FrameSet', 'Intrinsics',
    'InvalidOptionError', 'DRIVERS', 'driver_class', 'driver_parameters', 'known_drivers',
]

#: driver name -> 'module:Class', relative to this package
DRIVERS: Dict[str, str] = {
    'synthetic': 'synthetic:SyntheticDriver',
    'realsense': 'realsense:RealSenseDriver',
    'oakd': 'oakd:OakDriver',
    'webcam': 'webcam:WebcamDriver',
    'file': 'webcam:WebcamDriver',
}


def known_drivers() -> list:
    """Names accepted by :func:`driver_class`."""
    return sorted(DRIVERS)


def driver_class(name: str) -> Type[Driver]:
    """Return the driver class registered as name, importing its module now.

    :raises DriverUnavailableError: unknown name (the message lists the known ones), or
        the driver's SDK is not installed here.
    """
    target = DRIVERS.get(name)
    if target is None:
        raise DriverUnavailableError(
            'unknown driver %r; known drivers: %s' % (name, ', '.join(known_drivers())))
    module_name, _, class_name = target.partition(':')
    try:
        module = importlib.import_module('.' + module_name, __name__)
    except ImportError as exc:
        raise DriverUnavailableError(
            'driver %r is unavailable: %s (known drivers: %s)'
            % (name, exc, ', '.join(known_drivers()))) from exc
    return getattr(module, class_name)


def driver_parameters(name: str) -> Tuple[ParamSpec, ...]:
    """Return the parameters driver name takes, without importing its module or SDK.

    They are the driver class's :attr:`Driver.parameters` (the same objects).

    :raises DriverUnavailableError: unknown name (the message lists the known ones).
    """
    if name not in DRIVERS:
        raise DriverUnavailableError(
            'unknown driver %r; known drivers: %s' % (name, ', '.join(known_drivers())))
    return PARAMETERS[name]
