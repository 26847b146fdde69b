"""The driver seam: what every camera driver gives the camera session.

A driver owns one device (or file, or synthetic scene). The session calls, from its
capture thread only:

* :meth:`Driver.open` once (raises :class:`DeviceNotFoundError` naming what it searched),
* :meth:`Driver.read` in a loop, each call returning the next :class:`FrameSet` or
  ``None`` on timeout (raises :class:`DeviceLostError` when the device went away,
  :class:`EndOfStream` when a finite source ends),
* :meth:`Driver.close` at the end (idempotent).

:meth:`Driver.properties` may be called from any thread after ``open``. A driver with an
IMU hands each sample to :meth:`Driver.emit_imu` from whatever thread its SDK calls back
on; the session attaches its IMU queue there (:meth:`Driver.attach_imu`), so samples never
wait for, or go through, the frame-set path. The driver reads
its options from ``self.options``, a live read-only view of the camera's one
:class:`~camera_node.core.params.ParameterStore`: a runtime change reaches the driver first
through :meth:`Driver.check_option` (may it?) and :meth:`Driver.set_option` (apply it to
the device), and only then shows in ``options``.
"""

from __future__ import annotations

import abc
import threading
from typing import Any, Callable, Dict, Mapping, Optional, Sequence, Tuple, Union
import warnings

from ..core.errors import DriverError
from ..core.params import Handler, ParameterStore, ParamSpec
from ..core.types import CameraProperties, FrameSet, ImuSample

CommandHandler = Callable[[Mapping[str, Any]], Dict[str, Any]]


class Driver(abc.ABC):
    """Abstract camera driver; subclasses implement the ``_open``/``_read``/``_close`` hooks.

    :param options: the camera's :class:`ParameterStore`, or a mapping of option values
        (validated against :attr:`parameters` here; missing ones take their defaults).
    """

    #: registry name, set by subclasses
    name = ''
    #: node parameters this driver takes (declared by the node, read through ``options``)
    parameters: Sequence[ParamSpec] = ()
    #: Viam source names of the colour, depth and infrared (left, right) imagers
    viam_color_name = 'color'
    viam_depth_name = 'depth'
    viam_infra1_name = 'ir_left'
    viam_infra2_name = 'ir_right'

    def __init__(self, options: Union[ParameterStore, Mapping[str, Any], None] = None) -> None:
        store = options if isinstance(options, ParameterStore) else \
            ParameterStore(self.parameters, options or {})
        self.options: Mapping[str, Any] = store.view
        self._lock = threading.RLock()
        self._opened = False
        self._closed = False
        self._imu_sink: Optional[Callable[[ImuSample], None]] = None

    # -- public API ---------------------------------------------------------------------
    def open(self) -> None:
        """Open the device; raises DeviceNotFoundError naming what was searched."""
        with self._lock:
            if self._opened:
                return
            self._open()
            self._opened = True
            self._closed = False

    def read(self, timeout: float) -> Optional[FrameSet]:
        """Return the next frame set, or None when none arrived within timeout seconds."""
        if not self._opened:
            raise DriverError('driver %r is not open' % self.name)
        return self._read(timeout)

    def close(self) -> None:
        """Release the device. Safe to call more than once and from any thread."""
        with self._lock:
            if self._opened and not self._closed:
                try:
                    self._close()
                finally:
                    self._closed = True
                    self._opened = False

    @property
    def is_open(self) -> bool:
        """Whether open() succeeded and close() has not been called since."""
        return self._opened

    def attach_imu(self, sink: Optional[Callable[[ImuSample], None]]) -> None:
        """Send IMU samples to sink from now on (the session's queue); None: drop them."""
        self._imu_sink = sink

    def emit_imu(self, sample: ImuSample) -> None:
        """Hand one IMU sample on (called by the driver, from any thread; never blocks)."""
        sink = self._imu_sink
        if sink is not None:
            sink(sample)

    @abc.abstractmethod
    def properties(self) -> CameraProperties:
        """Intrinsics, extrinsics and device facts; valid after open()."""

    def commands(self) -> Dict[str, Tuple[str, CommandHandler]]:
        """Driver-specific DoCommand commands: name -> (description, handler)."""
        return {}

    def playback_time_ns(self) -> Optional[int]:
        """Where a replayed recording stands, on its own clock (ns), for ``/clock``.

        None (the default): the driver does not replay a recording, or has not started.
        Called from another thread, often (100 Hz): it must be cheap and thread-safe.
        """
        return None

    def check_option(self, name: str, value: Any) -> None:
        """Raise InvalidOptionError if the device cannot take value (nothing is applied).

        Called for a runtime change that passed the spec's type, range and check, before
        any change of the same request is applied. The default accepts everything.
        """

    def set_option(self, name: str, value: Any) -> None:
        """Apply a checked runtime change to the device; raise InvalidOptionError if it fails.

        The default does nothing: a driver that reads an option from ``options`` when it
        needs it (a loop flag, a frame rate) sees the new value once the change is stored.
        """

    def option_handlers(self) -> Dict[str, Handler]:
        """Return, for each runtime option, what a change does: check, then set, the option."""
        def handler(name: str) -> Handler:
            def check(value: Any) -> Any:
                self.check_option(name, value)
                return value
            return Handler(apply=lambda value: self.set_option(name, value), check=check)
        return {spec.name: handler(spec.name) for spec in self.parameters if not spec.read_only}

    # -- context manager ----------------------------------------------------------------
    def __enter__(self) -> 'Driver':
        """Open on entering a with block."""
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        """Close on leaving a with block."""
        self.close()

    def __del__(self) -> None:
        """Warn about drivers that were opened and never closed."""
        if getattr(self, '_opened', False) and not getattr(self, '_closed', True):
            warnings.warn('camera driver %r was never closed' % self.name, ResourceWarning)

    # -- hooks --------------------------------------------------------------------------
    @abc.abstractmethod
    def _open(self) -> None:
        """Open the device (subclass hook)."""

    @abc.abstractmethod
    def _read(self, timeout: float) -> Optional[FrameSet]:
        """Read one frame set (subclass hook)."""

    @abc.abstractmethod
    def _close(self) -> None:
        """Close the device (subclass hook)."""
