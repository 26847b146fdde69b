"""The RealSense motion module (gyro, accelerometer) through the sensor API and a callback.

Motion frames never go through the pipeline: its syncer dropped about one motion frame in
ten of a recording played here under load, while the motion sensor's own callback
delivered them all. So, as realsense-ros does, the motion sensor is opened on its own and
started with a callback that the SDK calls from its thread for every sample:

* live device: the motion sensor of the device the pipeline opened (the pipeline streams
  only the video sensors);
* recording: the pipeline owns its playback device, so the motion streams are played from
  a second playback of the same file (its own context), in real time, restarted at the
  end when the recording loops.

Frame-number gaps (samples the SDK or USB lost before the callback) are counted.
"""

from __future__ import annotations

import logging
import threading
from typing import Any, Callable, Dict, List, Optional, Tuple

import pyrealsense2 as rs

from ...core.errors import InvalidOptionError

_LOG = logging.getLogger(__name__)

KINDS = (('gyro', rs.stream.gyro), ('accel', rs.stream.accel))


def choose_profiles(sensor: 'rs.sensor', wanted: Dict[str, int]) -> Dict[str, Any]:
    """Return {kind: motion profile} for the wanted kinds at their rates (0 = the highest).

    :raises InvalidOptionError: a kind the sensor lacks, or a rate it does not offer (the
        message lists the rates it has).
    """
    offered: Dict[str, List[Any]] = {kind: [] for kind, _ in KINDS}
    for prof in sensor.get_stream_profiles():
        for kind, stream in KINDS:
            if prof.stream_type() == stream and prof.format() == rs.format.motion_xyz32f:
                offered[kind].append(prof)
    out = {}
    for kind, fps in wanted.items():
        if not offered[kind]:
            raise InvalidOptionError('enable_%s: this device has no %s stream' % (kind, kind))
        rates = sorted({p.fps() for p in offered[kind]})
        if fps and fps not in rates:
            raise InvalidOptionError('%s_fps=%d is not offered; this device has %s Hz'
                                     % (kind, fps, ', '.join(str(r) for r in rates)))
        rate = fps or rates[-1]
        out[kind] = next(p for p in offered[kind] if p.fps() == rate)
    return out


def motion_sensor(device: 'rs.device') -> Optional['rs.sensor']:
    """Return the device's motion sensor, or None."""
    for sensor in device.query_sensors():
        if sensor.is_motion_sensor():
            return sensor
    return None


class MotionSource:
    """The gyro and accelerometer streams of one device or recording.

    :param on_frame: called with every motion frame, in the SDK's thread; it must not
        raise and must not block.
    """

    def __init__(self, on_frame: Callable[['rs.frame'], None]) -> None:
        self._on_frame = on_frame
        self._sensor: Optional[rs.sensor] = None
        self._playback: Optional[rs.playback] = None
        self._ctx: Optional[rs.context] = None
        self._path = ''
        self._wanted: Dict[str, int] = {}
        self._last: Dict[str, int] = {}
        self._lock = threading.Lock()
        self.profiles: Dict[str, Any] = {}
        self.frames = 0
        self.gaps = 0
        self.errors = 0

    def start_live(self, device: 'rs.device', wanted: Dict[str, int]) -> Dict[str, Any]:
        """Open and start the motion sensor of a live device; return its profiles."""
        sensor = motion_sensor(device)
        if sensor is None:
            raise InvalidOptionError('enable_gyro/enable_accel: this device has no motion '
                                     'module (the D435i, D455 and D457 have one)')
        self._start(sensor, wanted)
        return self.profiles

    def start_playback(self, path: str, wanted: Dict[str, int]) -> Dict[str, Any]:
        """Play the motion streams of a recording in real time; return their profiles."""
        self._path, self._wanted = path, dict(wanted)
        ctx = rs.context()
        device = ctx.load_device(path)
        playback = device.as_playback()
        playback.set_real_time(True)
        sensor = motion_sensor(device)
        if sensor is None:
            raise InvalidOptionError('enable_gyro/enable_accel: recording %r has no motion '
                                     'streams' % path)
        self._ctx, self._playback = ctx, playback
        self._start(sensor, wanted)
        return self.profiles

    def _start(self, sensor: 'rs.sensor', wanted: Dict[str, int]) -> None:
        profiles = choose_profiles(sensor, wanted)
        sensor.open(list(profiles.values()))
        try:
            sensor.start(self._callback)
        except RuntimeError:
            sensor.close()
            raise
        self._sensor, self.profiles = sensor, profiles
        self._last = {}

    def _callback(self, frame: 'rs.frame') -> None:
        try:
            kind = 'gyro' if frame.get_profile().stream_type() == rs.stream.gyro else 'accel'
            number = int(frame.get_frame_number())
            last = self._last.get(kind)
            if last is not None and number > last + 1:
                self.gaps += number - last - 1
            self._last[kind] = number
            self.frames += 1
            self._on_frame(frame)
        except Exception as exc:  # never raise into the SDK's thread
            self.errors += 1
            if self.errors in (1, 100):
                _LOG.warning('RealSense motion frame not handled: %s', exc)

    def restart_if_ended(self) -> bool:
        """Play a recording's motion streams again once they ended (loop); True if so."""
        playback = self._playback
        if playback is None or playback.current_status() != rs.playback_status.stopped:
            return False
        with self._lock:
            self.stop()
            self.start_playback(self._path, self._wanted)
        return True

    def stop(self) -> None:
        """Stop and close the motion sensor (idempotent)."""
        sensor, self._sensor = self._sensor, None
        if sensor is not None:
            for step in (sensor.stop, sensor.close):
                try:
                    step()
                except RuntimeError as exc:
                    _LOG.debug('RealSense motion sensor %s: %s', step.__name__, exc)
        self._playback = None
        self._ctx = None

    def rates(self) -> Tuple[float, float]:
        """Return the (gyro, accel) rates streaming, 0 for a kind not streaming."""
        return tuple(float(self.profiles[k].fps()) if k in self.profiles else 0.0
                     for k, _ in KINDS)
