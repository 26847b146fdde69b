"""The driver registry: one table from which every driver list of the package derives.

A driver's module (and its vendor SDK) is imported only when that driver is chosen; its
parameter specs live in a module that does not import the SDK, so launch files and tools
can check parameters without loading pyrealsense2 or depthai. To add a driver, add one
:class:`DriverEntry` here and its module (see docs/architecture.md).
"""

from __future__ import annotations

from dataclasses import dataclass
import importlib
from typing import List, Tuple, Type

from ..core.errors import DriverUnavailableError
from ..core.params import node_parameters, ParamSpec
from .base import Driver


@dataclass(frozen=True)
class DriverEntry:
    """One driver: its name, its class, and where its parameter specs live.

    :param module: module of the driver class: relative to this package when it starts
        with a dot (``.realsense.driver``), else absolute (a driver kept elsewhere).
    :param cls: name of the :class:`Driver` subclass in ``module``.
    :param params: module holding ``PARAMETERS`` (a tuple of ParamSpec) without importing
        the vendor SDK (relative or absolute, as ``module``).
    :param summary: one line for help texts.
    """

    name: str
    module: str
    cls: str
    params: str
    summary: str


#: every driver, in the order help texts list them (the first is the default)
REGISTRY: List[DriverEntry] = [
    DriverEntry('synthetic', '.synthetic.driver', 'SyntheticDriver', '.synthetic.params',
                'a ray-cast RGB-D scene that needs no hardware'),
    DriverEntry('realsense', '.realsense.driver', 'RealSenseDriver', '.realsense.params',
                'Intel RealSense D400 cameras or a recording (pyrealsense2)'),
    DriverEntry('oakd', '.oakd.driver', 'OakDriver', '.oakd.params',
                'Luxonis OAK-D cameras (depthai)'),
    DriverEntry('webcam', '.webcam.driver', 'WebcamDriver', '.webcam.params',
                'V4L2 webcams and network streams (OpenCV)'),
    DriverEntry('file', '.file.driver', 'FileDriver', '.file.params',
                'video files and image sequences, optionally with depth (OpenCV)'),
    DriverEntry('bag', '.bag.driver', 'BagDriver', '.bag.params',
                'a rosbag2 MCAP recording (save_clip clips, realsense-ros bags) as a camera'),
]
DEFAULT_DRIVER = REGISTRY[0].name


def register(new: DriverEntry) -> None:
    """Add a driver (one kept outside this package, say) under a name not yet taken."""
    if new.name in known_drivers():
        raise ValueError('a driver named %r is registered already' % new.name)
    REGISTRY.append(new)


def known_drivers() -> Tuple[str, ...]:
    """Return the registered driver names, the default first."""
    return tuple(e.name for e in REGISTRY)


def entry(name: str) -> DriverEntry:
    """Return the registry entry of a driver; DriverUnavailableError names the known ones."""
    found = next((e for e in REGISTRY if e.name == name), None)
    if found is None:
        raise DriverUnavailableError('unknown driver %r; known drivers: %s'
                                     % (name, ', '.join(known_drivers())))
    return found


def _import(name: str, module: str):
    try:
        return importlib.import_module(module, __name__ if module.startswith('.') else None)
    except ImportError as exc:
        raise DriverUnavailableError('driver %r is unavailable: %s (known drivers: %s)'
                                     % (name, exc, ', '.join(known_drivers()))) from exc


def driver_class(name: str) -> Type[Driver]:
    """Return the driver class registered as name, importing its module (and SDK) now.

    :raises DriverUnavailableError: unknown name (the message lists the known ones), or
        the driver's SDK is not installed here.
    """
    e = entry(name)
    return getattr(_import(name, e.module), e.cls)


def driver_parameters(name: str) -> Tuple[ParamSpec, ...]:
    """Return the parameters a driver takes, without importing its SDK."""
    e = entry(name)
    return tuple(_import(name, e.params).PARAMETERS)


def parameter_specs(name: str) -> Tuple[ParamSpec, ...]:
    """Return every parameter of a camera with that driver: the node's, then the driver's."""
    return node_parameters(known_drivers()) + driver_parameters(name)
