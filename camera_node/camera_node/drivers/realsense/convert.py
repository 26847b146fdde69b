"""RealSense SDK frames, intrinsics, extrinsics and timestamps to the core's types."""

from __future__ import annotations

import math
from typing import List, Optional, Tuple

import numpy as np
import pyrealsense2 as rs

from ...core.clock import ClockMapper
from ...core.types import Extrinsics, FrameSet, Intrinsics

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
    """

    def __init__(self, color_format: 'rs.format', with_depth: bool, depth_scale: float,
                 align: Optional['rs.align'], device_clock_only: bool) -> None:
        self.color_format = color_format
        self.with_depth = with_depth
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
        raw = (color.get_frame_number(), color.get_timestamp())
        if raw == self._last_raw:
            return None     # the same frame again (seen at the loop point of a playback)
        self._last_raw = raw
        stamp_ns = self.stamp(color, arrival_ns)
        rgb = to_rgb(color, self.color_format)
        depth_mm = aligned_mm = None
        if depth:
            depth_mm = to_millimetres(depth, self.depth_factor)
            if self.align is not None:
                aligned = self.align.process(frames).get_depth_frame()
                if aligned:
                    aligned_mm = to_millimetres(aligned, self.depth_factor)
        return FrameSet(color=rgb, depth=depth_mm, aligned_depth=aligned_mm,
                        stamp_ns=stamp_ns)

    def stamp(self, frame: 'rs.frame', arrival_ns: int) -> int:
        """Return the capture time of frame on the system clock, in ns."""
        device_ns = int(round(frame.get_timestamp() * 1e6))
        if not self.device_clock_only and frame.get_frame_timestamp_domain() in (
                rs.timestamp_domain.global_time, rs.timestamp_domain.system_time):
            return device_ns       # already on the host clock (epoch milliseconds)
        # device clock (or a recording's clock): map to now with the least-delay offset
        return self._clock.to_system_ns(device_ns, arrival_ns)
