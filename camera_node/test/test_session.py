"""The camera session's one state machine: open, stream, lose, reconnect, end, resume, close.

The driver here is a scripted stand-in (the narrowest seam: the session never looks past
the Driver interface); the synthetic driver covers the real one in test_viam_camera.
"""

import logging
import threading
import time

import numpy as np
import pytest

from camera_node.core.errors import (DeviceLostError, DeviceNotFoundError, EndOfStream,
                                     Unavailable)
from camera_node.core.session import CameraSession, State, TRANSITIONS
from camera_node.core.types import CameraProperties, FrameSet, Intrinsics
from camera_node.drivers.base import Driver

SETTINGS = {'read_timeout': 0.05, 'reconnect_max_backoff': 0.05}


class Scripted(Driver):
    """A driver whose open and read outcomes a test scripts, one per call."""

    name = 'scripted'

    def __init__(self, opens=(), reads=()):
        super().__init__({})
        self.opens = list(opens)
        self.reads = list(reads)
        self.lock = threading.Lock()

    def _open(self):
        with self.lock:
            outcome = self.opens.pop(0) if self.opens else None
        if isinstance(outcome, Exception):
            raise outcome

    def _read(self, timeout):
        with self.lock:
            outcome = self.reads.pop(0) if self.reads else 'frame'
        if isinstance(outcome, Exception):
            raise outcome
        time.sleep(0.002)
        if outcome == 'none':
            return None
        return FrameSet(color=np.zeros((2, 2, 3), np.uint8), stamp_ns=time.time_ns())

    def _close(self):
        pass

    def properties(self):
        return CameraProperties(color=Intrinsics(2, 2, 1.0, 1.0, 0.5, 0.5))


def run(driver):
    session = CameraSession('cam', driver, SETTINGS, logging.getLogger('test_session'))
    seen = []
    session.on_open.append(lambda props: seen.append(session.state))
    return session, seen


def wait_for(predicate, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.005)
    return predicate()


def test_missing_device_is_searched_then_streams():
    session, seen = run(Scripted(opens=[DeviceNotFoundError('no camera with serial 42')] * 2))
    states = []
    session.start()
    assert wait_for(lambda: states.append(session.state) or session.state is State.STREAMING)
    assert State.SEARCHING in states
    assert session.opens == 1 and session.reconnects == 0 and seen == [State.STREAMING]
    session.close()
    assert session.state is State.CLOSED


def test_lost_device_reconnects_and_counts():
    session, _ = run(Scripted(reads=['frame', DeviceLostError('unplugged')]))
    states = []
    session.start()
    assert wait_for(lambda: states.append(session.state) or session.reconnects == 1)
    assert State.LOST in states
    assert wait_for(lambda: session.state is State.STREAMING)
    assert session.last_error == ''                   # cleared by the new open
    session.close()


def test_timeouts_wait_and_recover():
    session, _ = run(Scripted(reads=['frame'] + ['none'] * 3))
    states = []
    session.start()
    assert wait_for(lambda: states.append(session.state) or session.timeouts >= 3)
    assert State.WAITING in states
    assert wait_for(lambda: session.state is State.STREAMING)
    session.close()


def test_an_ended_source_is_asked_again_and_can_play_again():
    session, _ = run(Scripted(reads=['frame', EndOfStream('end of video.mp4'),
                                     EndOfStream('end of video.mp4')]))
    seen = []
    session.start()
    assert wait_for(lambda: seen.append((session.state, session.last_error))
                    or (State.ENDED, 'end of video.mp4') in seen)
    assert session.frame_set() is not None            # the last frame stays served
    assert wait_for(lambda: session.state is State.STREAMING and session.last_error == '')
    session.close()


def test_requests_say_why_they_cannot_be_served():
    session, _ = run(Scripted())
    session.idle_reason = 'lifecycle state: unconfigured'
    with pytest.raises(Unavailable, match=r"camera 'cam' is not active \(lifecycle state"):
        session.frame_set()
    session.open()
    assert session.props is not None and session.state is State.IDLE
    session.start()
    assert session.frame_set(wait=5.0) is not None
    session.stop(close_driver=False, reason='lifecycle state: inactive')
    assert session.state is State.IDLE and session.driver.is_open
    session.close()
    with pytest.raises(Unavailable, match='closed'):
        session.properties()
    session.start()                                    # lifecycle: configure again
    assert wait_for(lambda: session.state is State.STREAMING)
    session.close()


def test_failed_open_in_configure_reports_and_raises():
    session, _ = run(Scripted(opens=[DeviceNotFoundError('no OAK with id 1.2')]))
    with pytest.raises(DeviceNotFoundError):
        session.open()
    assert session.state is State.SEARCHING and 'no OAK' in session.last_error
    with pytest.raises(Unavailable, match='camera state: searching: no OAK'):
        session.frame_set()
    session.open()                                     # configure again: plugged in now
    assert session.state is State.IDLE and session.last_error == ''


def test_a_listener_failure_does_not_stop_capture():
    session, _ = run(Scripted())

    def broken(props):
        raise KeyError('oops')
    session.on_open.insert(0, broken)
    session.start()
    assert wait_for(lambda: session.rate.count > 3)
    session.close()


def test_transitions_are_explicit():
    session, _ = run(Scripted())
    with pytest.raises(RuntimeError, match='no transition IDLE -> ENDED'):
        session._enter(State.ENDED)
    assert State.IDLE in TRANSITIONS[State.CLOSED]
    assert all(State.CLOSED in targets for targets in TRANSITIONS.values())
