"""Intel RealSense driver through the librealsense Python SDK (``pyrealsense2``).

The same code path serves a live device (chosen by serial number) and a recording played
back from a ``.db3`` file (``playback_file``), which is how it is tested without hardware.
"""

from __future__ import annotations

from dataclasses import dataclass
import logging
import math
import os
import threading
import time
from typing import Any, Dict, List, Mapping, Optional, Tuple

import numpy as np
import pyrealsense2 as rs

from . import base
from .base import (CameraProperties, ClockMapper, CommandHandler, DeviceLostError,
                   DeviceNotFoundError, Driver, DriverError, EndOfStream, Extrinsics,
                   FrameSet, Intrinsics, InvalidOptionError)
from .parameters import REALSENSE_PARAMETERS

_LOG = logging.getLogger(__name__)

#: colour formats the driver turns into RGB, with their channel count
_COLOR_FORMATS = {
    rs.format.rgb8: 3, rs.format.bgr8: 3, rs.format.rgba8: 4, rs.format.bgra8: 4,
    rs.format.y8: 1,
}

#: seconds open() waits for a recording's first frame set
_FIRST_FRAME_TIMEOUT = 10.0

#: metres per depth unit of the node's depth images (millimetres)
_MM = 0.001


@dataclass(frozen=True)
class _RuntimeOption:
    """A runtime parameter mapped to one SDK option of the depth or colour sensor."""

    sensor: str          # 'depth' or 'color'
    option: Any          # rs.option member
    kind: type           # bool, int or float
    unset: Any           # value meaning "leave the device's own setting"


#: runtime (read_only=False) parameters -> SDK options
RUNTIME_OPTIONS: Dict[str, _RuntimeOption] = {
    'enable_auto_exposure': _RuntimeOption('depth', rs.option.enable_auto_exposure, bool, True),
    'exposure': _RuntimeOption('depth', rs.option.exposure, int, -1),
    'gain': _RuntimeOption('depth', rs.option.gain, int, -1),
    'laser_power': _RuntimeOption('depth', rs.option.laser_power, float, -1.0),
    'emitter_enabled': _RuntimeOption('depth', rs.option.emitter_enabled, int, -1),
    'color_enable_auto_exposure': _RuntimeOption('color', rs.option.enable_auto_exposure,
                                                 bool, True),
    'color_exposure': _RuntimeOption('color', rs.option.exposure, int, -1),
}


def parse_profile(text: Any, name: str = 'profile') -> Tuple[int, int, int]:
    """Parse a ``WIDTHxHEIGHTxFPS`` stream profile; 0 in a field means "any".

    :raises InvalidOptionError: the string is not three non-negative integers joined by x.
    """
    return base.parse_profile(text, name, 'non-negative integers, e.g. 640x480x30, 0 '
                              'meaning any')


def ros_distortion(intr: 'rs.intrinsics') -> Tuple[str, List[float]]:
    """Return the ROS distortion model name and coefficients of SDK intrinsics.

    Brown-Conrady and its modified and inverse variants keep librealsense's coefficient
    order ``[k1, k2, p1, p2, k3]``, which is ROS ``plumb_bob`` order. (The inverse model
    maps distorted to undistorted pixels; like realsense-ros, it is labelled plumb_bob:
    its coefficients are zero or tiny on the colour imagers that use it.) The fisheye
    models become ``equidistant`` with ``[k1, k2, k3, k4]``.
    """
    coeffs = [float(c) for c in intr.coeffs]
    model = intr.model
    if model in (rs.distortion.kannala_brandt4, rs.distortion.ftheta):
        return 'equidistant', (coeffs + [0.0] * 4)[:4]
    if model == rs.distortion.none:
        return 'plumb_bob', [0.0] * 5
    return 'plumb_bob', (coeffs + [0.0] * 5)[:5]


def to_intrinsics(intr: 'rs.intrinsics') -> Intrinsics:
    """Convert SDK intrinsics to the node's :class:`Intrinsics`."""
    model, coeffs = ros_distortion(intr)
    return Intrinsics(int(intr.width), int(intr.height), float(intr.fx), float(intr.fy),
                      float(intr.ppx), float(intr.ppy), model, coeffs)


def to_extrinsics(ext: 'rs.extrinsics') -> Extrinsics:
    """Convert SDK extrinsics (column-major rotation) to :class:`Extrinsics`."""
    rotation = np.asarray(ext.rotation, dtype=float).reshape(3, 3).T
    return Extrinsics(rotation, np.asarray(ext.translation, dtype=float))


def color_origin_in_link(depth_to_color: Extrinsics) -> Tuple[float, float, float]:
    """Colour optical origin in the link frame (x fwd, y left, z up), depth at the origin."""
    # p_color = R p_depth + t, so the colour origin in depth optical coordinates is -R^T t;
    # optical (x right, y down, z forward) -> link (x forward, y left, z up).
    origin = -depth_to_color.rotation.T @ depth_to_color.translation
    return float(origin[2]), float(-origin[0]), float(-origin[1])


def _info(device: 'rs.device') -> Dict[str, str]:
    """All camera_info fields the device reports, by SDK name."""
    out = {}
    for key, info in rs.camera_info.__members__.items():
        try:
            if device.supports(info):
                out[key] = device.get_info(info)
        except RuntimeError:
            continue
    return out


class RealSenseDriver(Driver):
    """Intel RealSense D400-family (and compatible) camera through ``pyrealsense2``."""

    name = 'realsense'
    parameters = REALSENSE_PARAMETERS

    def __init__(self, options: Optional[Mapping[str, Any]] = None) -> None:
        """Validate options; nothing touches the device before :meth:`open`."""
        super().__init__(options)
        defaults = {p.name: p.default for p in self.parameters}
        self.options = {**defaults, **self.options}
        self.options['serial_no'] = str(self.options['serial_no'] or '').strip().lstrip('_')
        self._color_req = parse_profile(self.options['color_profile'], 'color_profile')
        self._depth_req = parse_profile(self.options['depth_profile'], 'depth_profile')
        for name in RUNTIME_OPTIONS:
            self.options[name] = self._check_type(name, self.options[name])
        self._state_lock = threading.Lock()
        self._reset_state()

    def _reset_state(self) -> None:
        self._ctx: Optional[rs.context] = None
        self._pipe: Optional[rs.pipeline] = None
        self._device: Optional[rs.device] = None
        self._playback: Optional[rs.playback] = None
        self._sensors: Dict[str, rs.sensor] = {}
        self._align: Optional[rs.align] = None
        self._props: Optional[CameraProperties] = None
        self._depth_factor = 1.0
        self._clock = ClockMapper()
        self._last_frame_time = 0.0
        self._last_raw: Optional[Tuple[int, float]] = None
        self._seq_base = 0
        self._last_seq = -1
        self._removed = False
        self._stopping = False
        self._pending: Optional[FrameSet] = None
        self._color_format = rs.format.rgb8

    # -- open / close -------------------------------------------------------------------
    def _open(self) -> None:
        self._reset_state()
        ctx = rs.context()
        self._ctx = ctx
        path = str(self.options['playback_file'] or '')
        cfg = rs.config()
        if path:
            self._configure_playback(ctx, cfg, path)
        else:
            self._configure_device(ctx, cfg)
        pipe = rs.pipeline(ctx)
        try:
            profile = pipe.start(cfg)
        except RuntimeError as exc:
            raise DeviceNotFoundError('RealSense pipeline did not start (%s): %s'
                                      % (path or 'serial %r' % self.options['serial_no'],
                                         exc)) from exc
        self._pipe = pipe
        try:
            self._after_start(profile, path)
            if self._playback is not None:
                self._pending = self._first_playback_frames()
        except BaseException:
            self._stop_pipeline()
            raise
        self._last_frame_time = time.monotonic()

    def _first_playback_frames(self) -> FrameSet:
        """Wait for the recording's first frame set (kept for the first read).

        librealsense 2.59 can abort the process when a playback pipeline is stopped before
        its first frame arrived (seen under CPU load); opening waits for one so a close
        right after open is safe.
        """
        deadline = time.monotonic() + _FIRST_FRAME_TIMEOUT
        pipe = self._pipe
        while pipe is not None and time.monotonic() < deadline:
            ok, frames = pipe.try_wait_for_frames(100)
            if ok:
                frameset = self._convert(frames, time.time_ns())
                if frameset is not None:
                    return frameset
        raise DeviceNotFoundError('RealSense recording %r delivered no frame set within %g s'
                                  % (self.options['playback_file'], _FIRST_FRAME_TIMEOUT))

    def _configure_playback(self, ctx: 'rs.context', cfg: 'rs.config', path: str) -> None:
        if not os.path.isfile(path):
            raise DeviceNotFoundError('RealSense playback file %r does not exist' % path)
        loop = bool(self.options['playback_loop'])
        cfg.enable_device_from_file(path, repeat_playback=loop)
        try:
            recorded = cfg.resolve(rs.pipeline_wrapper(rs.pipeline(ctx)))
        except RuntimeError as exc:
            raise DeviceNotFoundError('cannot play RealSense recording %r: %s'
                                      % (path, exc)) from exc
        device = recorded.get_device()
        serial = _info(device).get('serial_number', '')
        wanted = self.options['serial_no']
        if wanted and wanted != serial:
            raise DeviceNotFoundError('recording %r holds device serial %r, not serial_no '
                                      '%r' % (path, serial, wanted))
        streams: Dict[Any, Any] = {}
        for sensor in device.query_sensors():
            for prof in sensor.get_stream_profiles():
                streams.setdefault(prof.stream_type(), prof)
        color = streams.get(rs.stream.color)
        if color is None or color.format() not in _COLOR_FORMATS:
            raise DeviceNotFoundError(
                'recording %r has no colour stream in a format this driver reads (%s); '
                'streams: %s' % (path, ', '.join(f.name for f in _COLOR_FORMATS),
                                 ', '.join('%s %s' % (p.stream_type().name, p.format().name)
                                           for p in streams.values())))
        cfg.enable_stream(rs.stream.color, color.stream_index(), 0, 0, color.format(), 0)
        depth = streams.get(rs.stream.depth)
        if self.options['enable_depth'] and depth is not None:
            cfg.enable_stream(rs.stream.depth, depth.stream_index(), 0, 0, rs.format.z16, 0)

    def _configure_device(self, ctx: 'rs.context', cfg: 'rs.config') -> None:
        # Look before starting: a pipeline start with no device blocks for ~15 s.
        wanted = self.options['serial_no']
        try:
            devices = list(ctx.query_devices())
        except RuntimeError as exc:
            raise DeviceNotFoundError('RealSense device enumeration failed: %s' % exc) from exc
        seen = [_info(d).get('serial_number', '?') for d in devices]
        if not devices or (wanted and wanted not in seen):
            raise DeviceNotFoundError(
                'no RealSense device with serial %s found; serials seen: %s'
                % (repr(wanted) if wanted else '(any)', seen))
        serial = wanted or seen[0]
        cfg.enable_device(serial)
        cw, ch, cf = self._color_req
        cfg.enable_stream(rs.stream.color, cw, ch, rs.format.rgb8, cf)
        if self.options['enable_depth']:
            dw, dh, df = self._depth_req
            cfg.enable_stream(rs.stream.depth, dw, dh, rs.format.z16, df)
        if not cfg.can_resolve(rs.pipeline_wrapper(rs.pipeline(ctx))):
            device = devices[seen.index(serial)]
            raise InvalidOptionError(
                'device %s cannot stream colour %s rgb8 + depth %s z16; it offers %s'
                % (serial, self.options['color_profile'], self.options['depth_profile'],
                   '; '.join(self._offered(device))))

    @staticmethod
    def _offered(device: 'rs.device') -> List[str]:
        offers = set()
        for sensor in device.query_sensors():
            for prof in sensor.get_stream_profiles():
                wanted = prof.format() in (rs.format.rgb8, rs.format.z16)
                if wanted and prof.is_video_stream_profile():
                    vp = prof.as_video_stream_profile()
                    offers.add('%s %dx%dx%d' % (prof.stream_name(), vp.width(), vp.height(),
                                                vp.fps()))
        return sorted(offers)

    def _after_start(self, profile: 'rs.pipeline_profile', path: str) -> None:
        device = profile.get_device()
        self._device = device
        if device.is_playback():
            self._playback = device.as_playback()
        for sensor in device.query_sensors():
            if sensor.is_depth_sensor():
                self._sensors.setdefault('depth', sensor)
            elif sensor.is_color_sensor():
                self._sensors.setdefault('color', sensor)
        for sensor in device.query_sensors():
            # D400 colour comes from 'RGB Camera' (a color_sensor); keep the first other
            # sensor as colour only when there is no dedicated one
            if 'color' not in self._sensors and not sensor.is_depth_sensor():
                self._sensors['color'] = sensor
        if self._ctx is not None and self._playback is None:
            self._ctx.set_devices_changed_callback(self._on_devices_changed)
        color_prof = profile.get_stream(rs.stream.color).as_video_stream_profile()
        self._color_format = color_prof.format()
        depth_prof = None
        try:
            depth_prof = profile.get_stream(rs.stream.depth).as_video_stream_profile()
        except RuntimeError:
            depth_prof = None
        info = _info(device)
        extra: Dict[str, Any] = {'color_format': color_prof.format().name,
                                 'color_sdk_distortion':
                                     color_prof.get_intrinsics().model.name}
        depth_intr = depth_to_color = None
        color_to_link = (0.0, 0.0, 0.0)
        if depth_prof is not None:
            depth_intr = to_intrinsics(depth_prof.get_intrinsics())
            depth_to_color = to_extrinsics(depth_prof.get_extrinsics_to(color_prof))
            color_to_link = color_origin_in_link(depth_to_color)
            scale = self._depth_scale()
            self._depth_factor = scale / _MM
            extra['depth_scale'] = scale
            extra['depth_sdk_distortion'] = depth_prof.get_intrinsics().model.name
            if self.options['align_depth']:
                self._align = rs.align(rs.stream.color)
        if path:
            extra['playback_file'] = path
            extra['playback_loop'] = bool(self.options['playback_loop'])
        extra.update({k: v for k, v in info.items() if k in (
            'firmware_version', 'product_line', 'usb_type_descriptor', 'product_id')})
        self._props = CameraProperties(
            color=to_intrinsics(color_prof.get_intrinsics()), depth=depth_intr,
            depth_to_color=depth_to_color, color_to_link=color_to_link,
            fps=float(color_prof.fps()), intrinsics_source='device',
            model=info.get('name', 'Intel RealSense'), serial=info.get('serial_number', ''),
            extra=extra)
        if self._playback is None:
            self._apply_initial_options()

    def _depth_scale(self) -> float:
        sensor = self._sensors.get('depth')
        if sensor is not None:
            try:
                return float(sensor.as_depth_sensor().get_depth_scale())
            except RuntimeError:
                pass
        return _MM

    def _on_devices_changed(self, event: 'rs.event_information') -> None:
        try:
            device = self._device
            if device is not None and event.was_removed(device):
                self._removed = True
        except RuntimeError:
            pass

    def _apply_initial_options(self) -> None:
        """Apply runtime options the user set away from their defaults (live devices)."""
        for name, spec in RUNTIME_OPTIONS.items():
            value = self.options.get(name, spec.unset)
            if value == spec.unset:
                continue
            try:
                self._apply_option(name, value)
            except InvalidOptionError as exc:
                _LOG.warning('RealSense option %s=%r not applied: %s', name, value, exc)

    def _stop_pipeline(self) -> None:
        pipe, self._pipe = self._pipe, None
        if pipe is not None:
            try:
                pipe.stop()
            except RuntimeError:
                pass

    def _close(self) -> None:
        self._stopping = True
        self._stop_pipeline()
        self._align = None
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
            pipe = self._pipe
            if pipe is None or self._stopping:
                return None
            if self._removed:
                raise DeviceLostError('RealSense device %s was removed'
                                      % (self._props.serial if self._props else '?'))
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
            frameset = self._convert(frames, arrival_ns)
            if frameset is not None:
                self._last_frame_time = time.monotonic()
                return frameset
            if time.monotonic() >= deadline:
                return None

    def _on_no_frames(self) -> None:
        playback = self._playback
        if playback is not None:
            stopped = playback.current_status() == rs.playback_status.stopped
            if stopped and not self.options['playback_loop']:
                raise EndOfStream('end of RealSense recording %r'
                                  % self.options['playback_file'])
        silent = time.monotonic() - self._last_frame_time
        if silent > float(self.options['device_lost_timeout']):
            raise DeviceLostError('no frames from RealSense %s for %.1f s'
                                  % (self._props.serial if self._props else '?', silent))

    def _convert(self, frames: 'rs.composite_frame', arrival_ns: int) -> Optional[FrameSet]:
        color = frames.get_color_frame()
        if not color:
            return None
        depth = frames.get_depth_frame() if self._props and self._props.has_depth else None
        if self._props is not None and self._props.has_depth and not depth:
            return None
        raw = (color.get_frame_number(), color.get_timestamp())
        if raw == self._last_raw:
            return None     # the same frame again (seen at the loop point of a playback)
        self._last_raw = raw
        sequence = self._sequence(raw[0])
        stamp_ns, domain = self._stamp(color, arrival_ns)
        rgb = self._rgb(color)
        depth_mm = aligned_mm = None
        if depth:
            depth_mm = self._millimetres(depth)
            if self._align is not None:
                aligned = self._align.process(frames).get_depth_frame()
                if aligned:
                    aligned_mm = self._millimetres(aligned)
        return FrameSet(color=rgb, depth=depth_mm, aligned_depth=aligned_mm,
                        stamp_ns=stamp_ns, sequence=sequence, timestamp_domain=domain)

    def _sequence(self, frame_number: int) -> int:
        if self._last_seq >= 0 and self._seq_base + frame_number <= self._last_seq:
            # frame counter restarted (playback loop, device reset): keep counting up
            self._seq_base = self._last_seq + 1 - frame_number
        self._last_seq = self._seq_base + frame_number
        return self._last_seq

    def _stamp(self, frame: 'rs.frame', arrival_ns: int) -> Tuple[int, str]:
        domain = frame.get_frame_timestamp_domain()
        domain_name = domain.name
        device_ns = int(round(frame.get_timestamp() * 1e6))
        if self._playback is None and domain in (rs.timestamp_domain.global_time,
                                                 rs.timestamp_domain.system_time):
            # already on the host clock (epoch milliseconds)
            return device_ns, domain_name
        # device clock (or a recording's clock): map to now with the least-delay offset
        return self._clock.to_system_ns(device_ns, arrival_ns), domain_name

    def _rgb(self, frame: 'rs.video_frame') -> np.ndarray:
        data = np.asanyarray(frame.get_data())
        fmt = self._color_format
        if fmt == rs.format.rgb8:
            return np.array(data, dtype=np.uint8, copy=True)
        if fmt == rs.format.rgba8:
            return np.ascontiguousarray(data[..., :3])
        if fmt in (rs.format.bgr8, rs.format.bgra8):
            return np.ascontiguousarray(data[..., 2::-1])
        return np.repeat(np.asarray(data, dtype=np.uint8)[..., None], 3, axis=2)   # y8

    def _millimetres(self, frame: 'rs.depth_frame') -> np.ndarray:
        data = np.asanyarray(frame.get_data())
        if math.isclose(self._depth_factor, 1.0, rel_tol=1e-6):
            return np.array(data, dtype=np.uint16, copy=True)
        mm = np.rint(data.astype(np.float32) * np.float32(self._depth_factor))
        return np.clip(mm, 0, 65535).astype(np.uint16)

    # -- properties, options, commands --------------------------------------------------
    def properties(self) -> CameraProperties:
        """Intrinsics and extrinsics read from the SDK at open()."""
        if self._props is None:
            raise DriverError('RealSense driver is not open')
        return self._props

    @staticmethod
    def _check_type(name: str, value: Any) -> Any:
        spec = RUNTIME_OPTIONS[name]
        if spec.kind is bool:
            if isinstance(value, bool):
                return value
            raise InvalidOptionError('%s takes true or false, got %r' % (name, value))
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise InvalidOptionError('%s takes a number, got %r' % (name, value))
        if not math.isfinite(value):
            raise InvalidOptionError('%s takes a finite number, got %r' % (name, value))
        if spec.kind is int and float(value) != int(value):
            raise InvalidOptionError('%s takes an integer, got %r' % (name, value))
        return spec.kind(value)

    def set_option(self, name: str, value: Any) -> None:
        """Apply a runtime option to the device; raise InvalidOptionError with the reason."""
        if name not in RUNTIME_OPTIONS:
            raise InvalidOptionError('realsense has no runtime option %r; runtime options: %s'
                                     % (name, ', '.join(sorted(RUNTIME_OPTIONS))))
        value = self._check_type(name, value)
        with self._lock:
            spec = RUNTIME_OPTIONS[name]
            if spec.kind is not bool and value == spec.unset:
                _LOG.info('RealSense %s=%r: the device keeps its current setting', name, value)
            elif self._opened and self._device is not None:
                self._apply_option(name, value)
            self.options[name] = value

    def _apply_option(self, name: str, value: Any) -> None:
        spec = RUNTIME_OPTIONS[name]
        if self._playback is not None:
            raise InvalidOptionError(
                'cannot set %s: playing back recording %r, whose options are read-only'
                % (name, self.options['playback_file']))
        sensor = self._sensors.get(spec.sensor)
        if sensor is None or not sensor.supports(spec.option):
            raise InvalidOptionError('cannot set %s: the %s sensor of this %s does not '
                                     'support it' % (name, spec.sensor, self._model()))
        if sensor.is_option_read_only(spec.option):
            raise InvalidOptionError('cannot set %s: it is read-only on this %s right now'
                                     % (name, self._model()))
        rng = sensor.get_option_range(spec.option)
        number = float(value)
        if number < rng.min - 1e-9 or number > rng.max + 1e-9:
            raise InvalidOptionError('%s=%r is outside the device range [%g, %g]'
                                     % (name, value, rng.min, rng.max))
        if rng.step > 0:
            number = rng.min + round((number - rng.min) / rng.step) * rng.step
        try:
            sensor.set_option(spec.option, number)
        except RuntimeError as exc:
            raise InvalidOptionError('device refused %s=%r: %s' % (name, value, exc)) from exc

    def _model(self) -> str:
        return self._props.model if self._props else 'device'

    def runtime_options(self) -> Dict[str, Any]:
        """Supported runtime options of the open device, name -> current value."""
        out: Dict[str, Any] = {}
        for name, spec in RUNTIME_OPTIONS.items():
            sensor = self._sensors.get(spec.sensor)
            try:
                if sensor is not None and sensor.supports(spec.option):
                    out[name] = spec.kind(sensor.get_option(spec.option))
            except RuntimeError:
                continue
        return out

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
                              'device' % self.options['playback_file'])
        serial = self._props.serial if self._props else ''
        device.hardware_reset()
        return {'ok': True, 'serial': serial,
                'note': 'the device disconnects now; the node reconnects to it'}

    def _cmd_device_info(self, args: Mapping[str, Any]) -> Dict[str, Any]:
        out: Dict[str, Any] = dict(_info(self._require_device()))
        out['playback'] = self._playback is not None
        if self._playback is not None:
            out['playback_file'] = self.options['playback_file']
        return out

    def _cmd_get_options(self, args: Mapping[str, Any]) -> Dict[str, Any]:
        device = self._require_device()
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
                        'read_only': bool(sensor.is_option_read_only(opt)
                                          or self._playback is not None),
                        'description': sensor.get_option_description(opt),
                    }
                except RuntimeError:
                    continue
            sensors[name] = options
        return {'sensors': sensors, 'runtime_parameters': self.runtime_options()}
