"""The camera session: one driver, its capture thread, and the one state every reader asks.

:class:`CameraSession` owns the driver's life. Its capture thread opens the device
(retrying with bounded exponential backoff while it is missing), reads frame sets, hands
the newest to the consumer (:class:`~camera_node.core.capture.LatestSlot`, or a callback
run in the capture thread), reconnects when the device is lost, and keeps asking a finite
source that ended whether it plays again (after a seek or a loop change). IMU samples take
a path of their own: the driver puts every one in the session's
:class:`~camera_node.core.imu.ImuQueue` (open while capturing) from its SDK's thread. Its
:class:`State` is the only record of whether the camera is available: services,
publishing and diagnostics read :attr:`CameraSession.state` and never keep flags of their
own. Transitions are explicit (:data:`TRANSITIONS`); an unexpected one is a bug and raises.
"""

from __future__ import annotations

import enum
import threading
from typing import Any, Callable, Dict, FrozenSet, List, Mapping, Optional

from .capture import LatestSlot, name_os_thread, RateMeter
from .errors import DeviceLostError, DeviceNotFoundError, EndOfStream, Unavailable
from .imu import ImuQueue
from .redact import redact
from .types import CameraProperties, FrameSet


class State(enum.Enum):
    """Availability of the camera; the value is the word users see (status, diagnostics)."""

    IDLE = 'inactive'         #: not capturing (not started yet, deactivated, cleaned up)
    STARTING = 'starting'     #: capture thread started, device not opened yet
    SEARCHING = 'searching'   #: the device is missing; retrying
    ERROR = 'error'           #: opening failed for another reason; retrying
    STREAMING = 'streaming'   #: frame sets arrive
    WAITING = 'waiting'       #: open, but the last read timed out
    LOST = 'reconnecting'     #: the device went away while streaming; reconnecting
    ENDED = 'ended'           #: a finite source ended; the last frame set stays served
    CLOSED = 'closed'         #: released (Viam Close or shutdown)

    @property
    def capturing(self) -> bool:
        """Whether the capture thread runs in this state."""
        return self not in (State.IDLE, State.CLOSED)

    @property
    def failing(self) -> bool:
        """Whether the device is missing or failing: diagnostics then report an error."""
        return self in (State.SEARCHING, State.ERROR, State.LOST)


_RUNNING = frozenset({State.STARTING, State.SEARCHING, State.ERROR, State.STREAMING,
                      State.WAITING, State.LOST, State.ENDED})
#: state -> the states it may move to
TRANSITIONS: Dict[State, FrozenSet[State]] = {
    State.IDLE: frozenset({State.IDLE, State.STARTING, State.ERROR, State.SEARCHING,
                          State.CLOSED}),
    State.CLOSED: frozenset({State.CLOSED, State.IDLE}),
    **{s: _RUNNING | {State.IDLE, State.CLOSED} for s in _RUNNING},
}
#: first read of a frame set right after start: how long services wait for it
FIRST_FRAME_WAIT_S = 2.0
#: how often an ended source is asked whether it plays again
ENDED_POLL_S = 0.2


class CameraSession:
    """Runs one driver: open (with retries), read, reconnect, close.

    :param name: the camera's name, for messages.
    :param driver: the driver to run.
    :param settings: live mapping with ``read_timeout`` and ``reconnect_max_backoff``.
    :param logger: anything with info/warning/error (an rclpy or stdlib logger).
    """

    def __init__(self, name: str, driver: Any, settings: Mapping[str, Any],
                 logger: Any) -> None:
        self.name = name
        self.driver = driver
        self.settings = settings
        self.log = logger
        self._state = State.IDLE
        self._cond = threading.Condition()
        #: why requests are refused while IDLE (the node says which lifecycle state)
        self.idle_reason = 'not started'
        self.last_error = ''
        self.props: Optional[CameraProperties] = None
        self.latest: Optional[FrameSet] = None
        self.reconnects = 0
        self.timeouts = 0
        self.opens = 0
        self.rate = RateMeter()
        self.slot = LatestSlot()
        #: the driver's IMU samples, for the IMU publisher (open while capturing)
        self.imu = ImuQueue()
        driver.attach_imu(self.imu.put)
        #: called (in the opening thread) with the properties after every open
        self.on_open: List[Callable[[CameraProperties], None]] = []
        #: called (in the capture thread) with every frame set, before it is handed on;
        #: must be quick (the pre-event buffer keeps a reference)
        self.on_frame: List[Callable[[FrameSet], None]] = []
        self._deliver: Optional[Callable[[FrameSet], None]] = None
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None

    # -- state ----------------------------------------------------------------------------
    @property
    def state(self) -> State:
        """Return the current state."""
        return self._state

    def _enter(self, new: State, error: Optional[str] = None) -> None:
        with self._cond:
            if new not in TRANSITIONS[self._state]:
                raise RuntimeError('camera session: no transition %s -> %s'
                                   % (self._state.name, new.name))
            self._state = new
            if error is not None:
                self.last_error = redact(error)   # status, diagnostics and replies show it
            self._cond.notify_all()

    # -- life -----------------------------------------------------------------------------
    def open(self) -> None:
        """Open the device now, in this thread (lifecycle configure); raise on failure."""
        if self._state is State.CLOSED:
            self._enter(State.IDLE)
        try:
            self.driver.open()
        except Exception as exc:
            self._enter(State.SEARCHING if isinstance(exc, DeviceNotFoundError)
                        else State.ERROR, str(exc))
            raise
        self._enter(State.IDLE)  # open, not capturing (an earlier failure is over)
        self._opened()

    def start(self, deliver: Optional[Callable[[FrameSet], None]] = None) -> None:
        """Start capturing: frame sets go to ``deliver`` (capture thread) or :attr:`slot`."""
        if self._thread is not None and self._thread.is_alive():
            return
        if self._state is State.CLOSED:
            self._enter(State.IDLE)
        self._deliver = deliver
        self.slot = LatestSlot()
        self.imu.open()
        self._stop.clear()
        self._enter(State.STARTING)
        self._thread = threading.Thread(target=self._run, name='camera_capture', daemon=True)
        self._thread.start()

    def stop(self, close_driver: bool, reason: str = '', timeout: float = 5.0) -> None:
        """Stop capturing (and release the device when close_driver): state IDLE."""
        self._halt(timeout)
        if close_driver:
            self.driver.close()
        if reason:
            self.idle_reason = reason
        if self._state is not State.CLOSED:
            self._enter(State.IDLE)

    def close(self, timeout: float = 5.0) -> None:
        """Stop and release the device for good (Viam Close, shutdown): state CLOSED."""
        self._halt(timeout)
        self.driver.close()
        self._enter(State.CLOSED)

    def _halt(self, timeout: float) -> None:
        self._stop.set()
        self.slot.close()
        self.imu.close()
        t = self._thread
        if t is not None and t.is_alive() and threading.current_thread() is not t:
            t.join(timeout)
        self._thread = None

    @property
    def running(self) -> bool:
        """Whether the capture thread is alive."""
        return self._thread is not None and self._thread.is_alive()

    # -- what readers ask -----------------------------------------------------------------
    def unavailable_reason(self) -> Optional[str]:
        """Return why requests cannot be served now, or None when they can."""
        state = self._state
        if state is State.CLOSED:
            return ('camera %r is closed (Close was called); restart the node, or with '
                    'lifecycle clean up and configure it again' % self.name)
        if state is State.IDLE:
            return ('camera %r is not active (%s); configure and activate it first'
                    % (self.name, self.idle_reason))
        return None

    def properties(self) -> CameraProperties:
        """Return the device's properties; raise Unavailable while closed or never opened."""
        reason = self.unavailable_reason() if self._state is State.CLOSED else None
        if reason is None and self.props is None:
            reason = self._no_frame_reason()
        if reason:
            raise Unavailable(reason)
        return self.props

    def frame_set(self, wait: float = FIRST_FRAME_WAIT_S) -> FrameSet:
        """Return the newest frame set; right after start wait up to ``wait`` for the first.

        :raises Unavailable: closed, inactive, or no frame set captured (with the state).
        """
        reason = self.unavailable_reason()
        if reason:
            raise Unavailable(reason)
        with self._cond:
            if self.latest is None and self._state in (State.STARTING, State.STREAMING,
                                                       State.WAITING):
                self._cond.wait_for(lambda: self.latest is not None
                                    or not self._state.capturing, wait)
            fs = self.latest
        if fs is None or self.props is None:
            raise Unavailable(self._no_frame_reason())
        return fs

    def _no_frame_reason(self) -> str:
        return 'no frame captured yet (camera state: %s%s)' % (
            self._state.value, ': ' + self.last_error if self.last_error else '')

    # -- the capture thread ---------------------------------------------------------------
    def _opened(self) -> None:
        """Record a successful open and tell the listeners (in the opening thread)."""
        if self.opens:
            self.reconnects += 1
            self.log.info('camera reconnected (reconnect #%d)' % self.reconnects)
        self.opens += 1
        self.last_error = ''
        self.props = self.driver.properties()
        for listener in self.on_open:
            try:
                listener(self.props)
            except Exception as exc:  # a listener's bug must not stop the capture
                self.log.error('setting up streams failed: %s: %s'
                               % (type(exc).__name__, exc))

    def _backoff(self, attempt: int) -> None:
        delay = min(float(self.settings['reconnect_max_backoff']),
                    0.2 * (2 ** min(attempt, 10)))
        self._stop.wait(delay)

    def _run(self) -> None:
        name_os_thread()
        attempt = 0
        while not self._stop.is_set():
            if not self.driver.is_open:
                try:
                    self.driver.open()
                except Exception as exc:  # DriverError, or an SDK error nobody foresaw
                    self._open_failed(exc, attempt)
                    attempt += 1
                    self._backoff(attempt)
                    continue
                attempt = 0
                self._enter(State.STREAMING)
                self._opened()
            self._read_once()

    def _read_once(self) -> None:
        ended = self._state is State.ENDED
        try:
            fs = self.driver.read(ENDED_POLL_S if ended else
                                  float(self.settings['read_timeout']))
        except EndOfStream as exc:
            if not ended:
                self._enter(State.ENDED, str(exc) or 'end of stream')
                self.log.info('source ended: %s; keeping the last frame for services'
                              % self.last_error)
            self._stop.wait(ENDED_POLL_S)
            return
        except DeviceLostError as exc:
            self._lost('device lost: %s' % exc)
            return
        except Exception as exc:
            self._lost('read failed: %s: %s' % (type(exc).__name__, exc))
            return
        if fs is None:
            if not ended:
                self.timeouts += 1
                if self._state is State.STREAMING:
                    self._enter(State.WAITING)
            return
        if ended:
            self.log.info('source plays again')
            self.last_error = ''
        with self._cond:
            self.latest = fs
            if self._state is not State.STREAMING:
                self._enter(State.STREAMING)
            else:
                self._cond.notify_all()
        self.rate.tick()
        for listener in self.on_frame:
            try:
                listener(fs)
            except Exception as exc:  # a listener's bug must not stop the capture
                self.log.error('frame listener failed: %s: %s' % (type(exc).__name__, exc))
        if self._deliver is not None:
            self._deliver(fs)
        else:
            self.slot.put(fs)

    def _lost(self, message: str) -> None:
        message = redact(message)
        self._enter(State.LOST, message)
        self.log.warning(message + '; reconnecting')
        try:
            self.driver.close()
        except Exception as exc:
            self.log.warning('closing the lost device failed: %s' % exc)
        self._backoff(0)

    def _open_failed(self, exc: Exception, attempt: int) -> None:
        message = redact(str(exc))
        if message != self.last_error or attempt in (0, 5) or attempt % 30 == 0:
            self.log.error('cannot open camera (attempt %d): %s' % (attempt + 1, message))
        self._enter(State.SEARCHING if isinstance(exc, DeviceNotFoundError) else State.ERROR,
                    message)

    # -- figures --------------------------------------------------------------------------
    def figures(self) -> Dict[str, Any]:
        """Return the state, rates and counters of the capture side (unrounded)."""
        props = self.props
        return {
            'driver': self.driver.name, 'state': self._state.value,
            'last_error': self.last_error,
            'model': props.model if props else '', 'serial': props.serial if props else '',
            'expected_fps': props.fps if props else None,
            'capture_fps': self.rate.rate(), 'frames_captured': self.rate.count,
            'dropped_frame_sets': self.slot.dropped, 'read_timeouts': self.timeouts,
            'reconnects': self.reconnects, **self.imu.figures(),
        }
