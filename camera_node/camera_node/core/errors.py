"""The errors of the camera core and the drivers."""

from __future__ import annotations


class DriverError(RuntimeError):
    """Base class of the errors a driver raises."""


class DriverUnavailableError(DriverError):
    """The driver name is unknown, or its SDK cannot be imported here."""


class DeviceNotFoundError(DriverError):
    """No device matched; the message names what was searched for and what was seen."""


class DeviceLostError(DriverError):
    """The device stopped delivering frames (unplugged, stream ended, server gone)."""


class EndOfStream(DriverError):
    """A finite source (file, recording) has no more frames and does not loop."""


class InvalidOptionError(DriverError, ValueError):
    """A parameter (driver option) has a value the driver or the device cannot take."""


class Unavailable(RuntimeError):
    """The camera cannot serve a request now (closed, inactive, no frame yet); says why."""
