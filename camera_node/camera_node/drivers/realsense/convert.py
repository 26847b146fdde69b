"""RealSense SDK frames, intrinsics, extrinsics, metadata and timestamps to the core's types."""

from __future__ import annotations

import math
from typing import Dict, List, Optional, Tuple

import numpy as np
import pyrealsense2 as rs

from ...core.clock import ClockMapper
from ...core.types import Extrinsics, FrameMetadata, FrameSet, ImuSample, Intrinsics

#: metres per depth unit of the node's depth images (millimetres)
MM = 0.001


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
    """Convert SDK intrinsics to the core's :class:`Intrinsics`."""
    model, coeffs = ros_distortion(intr)
    return Intrinsics(int(intr.width), int(intr.height), float(intr.fx), float(intr.fy),
                      float(intr.ppx), float(intr.ppy), model, coeffs)


def to_extrinsics(ext: 'rs.extrinsics') -> Extrinsics:
    """Convert SDK extrinsics (column-major rotation) to :class:`Extrinsics`."""
    rotation = np.asarray(ext.rotation, dtype=float).reshape(3, 3).T
    return Extrinsics(rotation, np.asarray(ext.translation, dtype=float))


def to_rgb(frame: 'rs.video_frame', fmt: 'rs.format') -> np.ndarray:
    """Return a colour frame of format fmt as a new ``HxWx3 uint8`` RGB array."""
    data = np.asanyarray(frame.get_data())
    if fmt == rs.format.rgb8:
        return np.array(data, dtype=np.uint8, copy=True)
    if fmt == rs.format.rgba8:
        return np.ascontiguousarray(data[..., :3])
    if fmt in (rs.format.bgr8, rs.format.bgra8):
        return np.ascontiguousarray(data[..., 2::-1])
    return np.repeat(np.asarray(data, dtype=np.uint8)[..., None], 3, axis=2)   # y8


def to_mono(frame: 'rs.video_frame') -> np.ndarray:
    """Return a Y8 infrared frame as a new ``HxW uint8`` array."""
    return np.array(np.asanyarray(frame.get_data()), dtype=np.uint8, copy=True)


def _metadata_value(frame: 'rs.frame', key: str) -> Optional[int]:
    value = getattr(rs.frame_metadata_value, key, None)
    if value is not None and frame.supports_frame_metadata(value):
        return int(frame.get_frame_metadata(value))
    return None


def frame_metadata(frame: 'rs.frame') -> FrameMetadata:
    """Return what a frame's metadata says (None for what the device does not report).

    The emitter state is ``frame_emitter_mode`` (0: off; laser, auto laser or LED: on),
    or ``frame_laser_power_mode`` on firmware without it; ``actual_exposure`` is taken as
    microseconds and ``gain_level`` as is.
    """
    emitter = _metadata_value(frame, 'frame_emitter_mode')
    if emitter is None:
        emitter = _metadata_value(frame, 'frame_laser_power_mode')
    counter = _metadata_value(frame, 'frame_counter')
    exposure = _metadata_value(frame, 'actual_exposure')
    gain = _metadata_value(frame, 'gain_level')
    power = _metadata_value(frame, 'frame_laser_power')
    temperature = _metadata_value(frame, 'temperature')
    return FrameMetadata(
        frame_counter=int(frame.get_frame_number()) if counter is None else counter,
        exposure_us=None if exposure is None else float(exposure),
        gain=None if gain is None else float(gain),
        emitter_on=None if emitter is None else emitter != 0,
        laser_power_mw=None if power is None else float(power),
        temperature_c=None if temperature is None else float(temperature))


def to_millimetres(frame: 'rs.depth_frame', factor: float) -> np.ndarray:
    """Return a z16 depth frame as a new ``HxW uint16`` array in mm (units * factor)."""
    data = np.asanyarray(frame.get_data())
    if math.isclose(factor, 1.0, rel_tol=1e-6):
        return np.array(data, dtype=np.uint16, copy=True)
    mm = np.rint(data.astype(np.float32) * np.float32(factor))
    return np.clip(mm, 0, 65535).astype(np.uint16)


class FrameConverter:
    """Turns the pipeline's composite frames into :class:`FrameSet` s.

    :param color_format: SDK format of the colour stream.
    :param with_depth: whether a frame set must hold a depth frame.
    :param depth_scale: metres per depth unit of the device.
    :param align: an ``rs.align`` to colour for ``aligned_depth``, or None.
    :param device_clock_only: True for recordings, whose stamps are always mapped from the
        recording's clock to now; live stamps already on the host clock are kept.
    :param infra: whether a frame set must hold infrared 1 and infrared 2.

    One clock mapper serves the frame sets and the motion samples (:meth:`imu_sample`, from
    the SDK's callback thread), so images and IMU share one offset.
    """

    def __init__(self, color_format: 'rs.format', with_depth: bool, depth_scale: float,
                 align: Optional['rs.align'], device_clock_only: bool,
                 infra: Tuple[bool, bool] = (False, False)) -> None:
        self.color_format = color_format
        self.with_depth = with_depth
        self.infra = infra
        self.depth_scale = depth_scale
        self.depth_factor = depth_scale / MM
        self.align = align
        self.device_clock_only = device_clock_only
        self._clock = ClockMapper()
        self._last_raw: Optional[Tuple[int, float]] = None

    def convert(self, frames: 'rs.composite_frame', arrival_ns: int) -> Optional[FrameSet]:
        """Return the frame set of frames, or None if incomplete or a repeat."""
        color = frames.get_color_frame()
        if not color:
            return None
        depth = frames.get_depth_frame() if self.with_depth else None
        if self.with_depth and not depth:
            return None
        infra = [frames.get_infrared_frame(i + 1) if on else None
                 for i, on in enumerate(self.infra)]
        if any(on and not f for on, f in zip(self.infra, infra)):
            return None
        raw = (color.get_frame_number(), color.get_timestamp())
        if raw == self._last_raw:
            return None     # the same frame again (seen at the loop point of a playback)
        self._last_raw = raw
        stamp_ns = self.stamp(color, arrival_ns)
        rgb = to_rgb(color, self.color_format)
        metadata: Dict[str, FrameMetadata] = {'color': frame_metadata(color)}
        depth_mm = aligned_mm = None
        if depth:
            depth_mm = to_millimetres(depth, self.depth_factor)
            metadata['depth'] = frame_metadata(depth)
            if self.align is not None:
                aligned = self.align.process(frames).get_depth_frame()
                if aligned:
                    aligned_mm = to_millimetres(aligned, self.depth_factor)
        mono = [None, None]
        for i, frame in enumerate(infra):
            if frame:
                mono[i] = to_mono(frame)
                metadata['infra%d' % (i + 1)] = frame_metadata(frame)
        return FrameSet(color=rgb, depth=depth_mm, aligned_depth=aligned_mm,
                        stamp_ns=stamp_ns, infra1=mono[0], infra2=mono[1], metadata=metadata)

    def imu_sample(self, frame: 'rs.frame', arrival_ns: int) -> ImuSample:
        """Return a gyro or accel motion frame as an IMU sample on the images' clock."""
        kind = 'gyro' if frame.get_profile().stream_type() == rs.stream.gyro else 'accel'
        data = frame.as_motion_frame().get_motion_data()
        return ImuSample(kind, self.stamp(frame, arrival_ns, kind), float(data.x),
                         float(data.y), float(data.z))

    def stamp(self, frame: 'rs.frame', arrival_ns: int, stream: str = 'color') -> int:
        """Return the capture time of frame (of ``stream``) on the system clock, in ns."""
        device_ns = int(round(frame.get_timestamp() * 1e6))
        if not self.device_clock_only and frame.get_frame_timestamp_domain() in (
                rs.timestamp_domain.global_time, rs.timestamp_domain.system_time):
            return device_ns       # already on the host clock (epoch milliseconds)
        # device clock (or a recording's clock): map to now with the least-delay offset
        return self._clock.to_system_ns(device_ns, arrival_ns, stream)
