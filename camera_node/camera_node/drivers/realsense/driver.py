"""The RealSense driver: a live device or a recording through one ``rs.pipeline``."""

from __future__ import annotations

import logging
import time
from typing import Any, Dict, Mapping, Optional, Tuple

import pyrealsense2 as rs

from . import device as dev
from . import options as opts
from .convert import FrameConverter, MM, to_extrinsics, to_intrinsics
from .motion import MotionSource
from .params import PARAMETERS, parse_profile, serial_number
from ...core.errors import (DeviceLostError, DeviceNotFoundError, DriverError, EndOfStream,
                            InvalidOptionError)
from ...core.types import CameraProperties, Extrinsics, FrameSet, ImuInfo
from ..base import CommandHandler, Driver

_LOG = logging.getLogger(__name__)

#: seconds open() waits for a recording's first frame set
FIRST_FRAME_TIMEOUT = 10.0


class RealSenseDriver(Driver):
    """Intel RealSense D400-family (and compatible) camera through ``pyrealsense2``."""

    name = 'realsense'
    parameters = PARAMETERS

    def __init__(self, options: Any = None) -> None:
        """Take the options; nothing touches the device before :meth:`open`."""
        super().__init__(options)
        self._reset_state()

    def _reset_state(self) -> None:
        self._ctx: Optional[rs.context] = None
        self._pipe: Optional[rs.pipeline] = None
        self._device: Optional[rs.device] = None
        self._playback: Optional[rs.playback] = None
        self._sensors: Dict[str, rs.sensor] = {}
        self._converter: Optional[FrameConverter] = None
        self._props: Optional[CameraProperties] = None
        self._last_frame_time = 0.0
        self._removed = False
        self._stopping = False
        self._pending: Optional[FrameSet] = None
        self._motion: Optional[MotionSource] = None
        self._notes: Dict[str, Any] = {}
        self._temperature: Tuple[float, Optional[float]] = (0.0, None)

    @property
    def _playback_file(self) -> str:
        return str(self.options['playback_file'] or '')

    # -- open / close -------------------------------------------------------------------
    def _open(self) -> None:
        self._reset_state()
        ctx = rs.context()
        self._ctx = ctx
        path = self._playback_file
        serial = serial_number(self.options['serial_no'])
        infra = (bool(self.options['enable_infra1']), bool(self.options['enable_infra2']))
        cfg = rs.config()
        if path:
            dev.configure_playback(ctx, cfg, path, serial, bool(self.options['playback_loop']),
                                   bool(self.options['enable_depth']), infra)
        else:
            color = self.options['color_profile']
            depth = self.options['depth_profile']
            stereo = (depth, parse_profile(depth, 'depth_profile'))
            dev.configure_device(
                ctx, cfg, serial, (color, parse_profile(color, 'color_profile')),
                stereo if self.options['enable_depth'] else None, infra, stereo)
        self._pipe, profile = dev.start_pipeline(ctx, cfg, path or 'serial %r' % serial)
        try:
            self._after_start(profile, infra)
            self._start_motion(path)
            if self._playback is not None:
                self._pending = self._first_playback_frames()
        except BaseException:
            self._stop_motion()
            self._stop_pipeline()
            raise
        self._last_frame_time = time.monotonic()

    def _first_playback_frames(self) -> FrameSet:
        """Wait for the recording's first frame set (kept for the first read).

        librealsense 2.59 can abort the process when a playback pipeline is stopped before
        its first frame arrived (seen under CPU load); opening waits for one so a close
        right after open is safe.
        """
        deadline = time.monotonic() + FIRST_FRAME_TIMEOUT
        pipe, converter = self._pipe, self._converter
        while pipe is not None and converter is not None and time.monotonic() < deadline:
            ok, frames = pipe.try_wait_for_frames(100)
            if ok:
                frameset = converter.convert(frames, time.time_ns())
                if frameset is not None:
                    return frameset
        raise DeviceNotFoundError('RealSense recording %r delivered no frame set within %g s'
                                  % (self._playback_file, FIRST_FRAME_TIMEOUT))

    def _after_start(self, profile: 'rs.pipeline_profile', infra: Tuple[bool, bool]) -> None:
        device = profile.get_device()
        self._device = device
        if device.is_playback():
            self._playback = device.as_playback()
        self._sensors = dev.find_sensors(device)
        if self._ctx is not None and self._playback is None:
            self._ctx.set_devices_changed_callback(self._on_devices_changed)
        profiles = dev.stream_profiles(profile)
        color_prof, depth_prof = profiles['color'], profiles.get('depth')
        self._reference = depth_prof or color_prof      # props.reference()
        info = dev.device_info(device)
        depth_intr = depth_to_color = None
        scale = MM
        align = None
        if depth_prof is not None:
            depth_intr = to_intrinsics(depth_prof.get_intrinsics())
            depth_to_color = to_extrinsics(depth_prof.get_extrinsics_to(color_prof))
            scale = dev.depth_scale(self._sensors.get('depth'), MM)
            if self.options['align_depth']:
                align = rs.align(rs.stream.color)
        self._converter = FrameConverter(color_prof.format(), depth_prof is not None, scale,
                                         align, device_clock_only=self._playback is not None,
                                         infra=infra)
        extrinsics = {key: to_extrinsics(self._reference.get_extrinsics_to(profiles[key]))
                      for key in ('infra1', 'infra2') if key in profiles}
        self._props = CameraProperties(
            color=to_intrinsics(color_prof.get_intrinsics()), depth=depth_intr,
            depth_to_color=depth_to_color, fps=float(color_prof.fps()),
            intrinsics_source='device', model=info.get('name', 'Intel RealSense'),
            serial=info.get('serial_number', ''),
            infra1=to_intrinsics(profiles['infra1'].get_intrinsics())
            if 'infra1' in profiles else None,
            infra2=to_intrinsics(profiles['infra2'].get_intrinsics())
            if 'infra2' in profiles else None,
            sensor_extrinsics=extrinsics)
        if self._playback is None:
            opts.apply_initial(self.options, self._sensors, self._model())

    def _on_devices_changed(self, event: 'rs.event_information') -> None:
        try:
            device = self._device
            if device is not None and event.was_removed(device):
                self._removed = True
        except RuntimeError:
            pass

    def _start_motion(self, path: str) -> None:
        """Start the gyro and accelerometer asked for, on a path of their own (.motion)."""
        wanted = {kind: int(self.options[kind + '_fps']) for kind in ('gyro', 'accel')
                  if self.options['enable_' + kind]}
        if not wanted:
            return
        self._motion = MotionSource(self._on_motion)
        profiles = self._motion.start_playback(path, wanted) if path else \
            self._motion.start_live(self._device, wanted)
        gyro_hz, accel_hz = self._motion.rates()
        try:
            ext = to_extrinsics(self._reference.get_extrinsics_to(next(iter(
                profiles.values()))))
            self._notes['imu_extrinsics'] = 'device'
        except RuntimeError:   # recordings made by rs.recorder do not keep them
            ext = Extrinsics()
            self._notes['imu_extrinsics'] = ('not reported by the %s: identity assumed'
                                             % ('recording' if path else 'device'))
            _LOG.warning('RealSense IMU extrinsics %s', self._notes['imu_extrinsics'])
        self._props.sensor_extrinsics['imu'] = ext
        self._props.imu = ImuInfo(gyro_hz, accel_hz, 'motion module')

    def _on_motion(self, frame: 'rs.frame') -> None:
        converter = self._converter
        if converter is not None and not self._stopping:
            self.emit_imu(converter.imu_sample(frame, time.time_ns()))

    def _stop_motion(self) -> None:
        motion, self._motion = self._motion, None
        if motion is not None:
            motion.stop()

    def _stop_pipeline(self) -> None:
        pipe, self._pipe = self._pipe, None
        dev.stop_pipeline(pipe)

    def _close(self) -> None:
        self._stopping = True
        self._stop_motion()
        self._stop_pipeline()
        self._converter = None
        self._device = None
        self._playback = None
        self._sensors = {}
        self._ctx = None

    # -- reading ------------------------------------------------------------------------
    def _read(self, timeout: float) -> Optional[FrameSet]:
        pending, self._pending = self._pending, None
        if pending is not None:
            return pending
        deadline = time.monotonic() + max(0.0, timeout)
        while True:
            pipe, converter = self._pipe, self._converter
            if pipe is None or converter is None or self._stopping:
                return None
            if self._removed:
                raise DeviceLostError('RealSense device %s was removed' % self._serial())
            if self._motion is not None and self.options['playback_loop']:
                self._motion.restart_if_ended()
            remaining = deadline - time.monotonic()
            try:
                ok, frames = pipe.try_wait_for_frames(max(1, int(remaining * 1000)))
            except RuntimeError as exc:
                if self._stopping:
                    return None
                raise DeviceLostError('RealSense frame wait failed: %s' % exc) from exc
            arrival_ns = time.time_ns()
            if not ok:
                self._on_no_frames()
                return None
            frameset = converter.convert(frames, arrival_ns)
            if frameset is not None:
                self._last_frame_time = time.monotonic()
                self._add_temperature(frameset)
                return frameset
            if time.monotonic() >= deadline:
                return None

    def _add_temperature(self, frameset: FrameSet) -> None:
        """Put the projector temperature in the stereo module's metadata (live devices).

        Read at most once a second, and only where the frames do not carry one.
        """
        if self._playback is not None:
            return
        now = time.monotonic()
        if now - self._temperature[0] > 1.0:
            self._temperature = (now, opts.temperature(self._sensors))
        celsius = self._temperature[1]
        for key in ('depth', 'infra1', 'infra2'):
            md = frameset.metadata.get(key)
            if md is not None and md.temperature_c is None:
                md.temperature_c = celsius

    def _on_no_frames(self) -> None:
        playback = self._playback
        if playback is not None:
            stopped = playback.current_status() == rs.playback_status.stopped
            if stopped and not self.options['playback_loop']:
                raise EndOfStream('end of RealSense recording %r' % self._playback_file)
        silent = time.monotonic() - self._last_frame_time
        if silent > float(self.options['device_lost_timeout']):
            raise DeviceLostError('no frames from RealSense %s for %.1f s'
                                  % (self._serial(), silent))

    # -- properties and options ---------------------------------------------------------
    def properties(self) -> CameraProperties:
        """Intrinsics and extrinsics read from the SDK at open()."""
        if self._props is None:
            raise DriverError('RealSense driver is not open')
        return self._props

    def _serial(self) -> str:
        return self._props.serial if self._props else '?'

    def _model(self) -> str:
        return self._props.model if self._props else 'device'

    def check_option(self, name: str, value: Any) -> None:
        """Refuse a value the device cannot take now (nothing is applied).

        Recordings are read-only; on a device the option must be supported, writable and
        within the device's own range. Before open there is no device to ask: the value is
        applied at open.
        """
        if name not in opts.RUNTIME_OPTIONS:
            raise InvalidOptionError('realsense has no runtime option %r; runtime options: %s'
                                     % (name, ', '.join(sorted(opts.RUNTIME_OPTIONS))))
        with self._lock:
            if self._playback is not None:
                raise InvalidOptionError(
                    'cannot set %s: playing back recording %r, whose options are read-only'
                    % (name, self._playback_file))
            if self._device is None or opts.leaves_device_setting(name, value):
                return
            opts.check(name, value, self._sensors, self._model())

    def set_option(self, name: str, value: Any) -> None:
        """Apply a checked runtime option to the open device (-1: keep the device's)."""
        with self._lock:
            if opts.leaves_device_setting(name, value):
                _LOG.info('RealSense %s=%r: the device keeps its current setting', name, value)
            elif self._device is not None and self._playback is None:
                opts.apply(name, value, self._sensors)

    # -- commands -------------------------------------------------------------------------
    def commands(self) -> Dict[str, Tuple[str, CommandHandler]]:
        """Return the DoCommand commands: hardware_reset, device_info, get_options."""
        return {
            'hardware_reset': ('reset the device over USB; it disconnects and the node '
                               'reconnects (refused in playback)', self._cmd_hardware_reset),
            'device_info': ('name, serial, firmware, product line, USB type and other '
                            'camera_info fields', self._cmd_device_info),
            'get_options': ('every option of every sensor with value, range, default and '
                            'read-only flag', self._cmd_get_options),
        }

    def _require_device(self) -> 'rs.device':
        device = self._device
        if device is None:
            raise DriverError('RealSense driver is not open')
        return device

    def _cmd_hardware_reset(self, args: Mapping[str, Any]) -> Dict[str, Any]:
        device = self._require_device()
        if self._playback is not None:
            raise DriverError('hardware_reset refused: playing back recording %r, not a '
                              'device' % self._playback_file)
        serial = self._props.serial if self._props else ''
        device.hardware_reset()
        return {'ok': True, 'serial': serial,
                'note': 'the device disconnects now; the node reconnects to it'}

    def _cmd_device_info(self, args: Mapping[str, Any]) -> Dict[str, Any]:
        out: Dict[str, Any] = dict(dev.device_info(self._require_device()))
        converter = self._converter
        if converter is not None:
            out['color_format'] = converter.color_format.name
            if converter.with_depth:
                out['depth_scale'] = converter.depth_scale
        out['playback'] = self._playback is not None
        out.update(self._notes)
        motion = self._motion
        if motion is not None:
            out['motion'] = {'gyro_hz': motion.rates()[0], 'accel_hz': motion.rates()[1],
                             'frames': motion.frames, 'frame_number_gaps': motion.gaps,
                             'callback_errors': motion.errors}
        if self._playback is not None:
            out['playback_file'] = self._playback_file
        return out

    def _cmd_get_options(self, args: Mapping[str, Any]) -> Dict[str, Any]:
        device = self._require_device()
        return {'sensors': opts.describe_all(device, self._playback is not None),
                'runtime_parameters': opts.current_values(self._sensors)}
