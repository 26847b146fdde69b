"""The synthetic camera: a small 3D scene ray-cast from pinhole cameras.

The scene, in the colour camera's optical frame (metres; x right, y down, z forward):

* a back wall, the plane z = 3.0, chequered in 0.25 m squares, with a "window" where the
  sensor gets no depth return (x in [0.9, 1.4], y in [-0.9, -0.4]): depth 0 there;
* a floor, the plane y = 0.8 (0.8 m below the camera), tiled in 0.5 m squares;
* a box, x in [-1.0, -0.4], y in [0.2, 0.8], z in [1.8, 2.4], standing on the floor;
* a sphere of radius 0.35 centred at (0.5, 0.45, 2.0), touching the floor; with
  ``motion`` on it swings along x (+-0.3 m, 4 s period, by frame number: deterministic).

Colour and depth are rendered from the same rays, so they agree exactly: every depth pixel
lies on the surface whose colour the colour pixel shows. The depth imager sits 15 mm to the
left of the colour imager (at the ``<name>_link`` origin, as on a RealSense) and renders its
own image; ``aligned_depth`` is rendered from the colour imager. Static surfaces are cast
once; with motion only the sphere's pixel rectangle is recast each frame.
"""

from __future__ import annotations

import math
import threading
import time
from typing import Any, Dict, Optional, Tuple

import numpy as np

from .base import (CameraProperties, default_intrinsics, Driver, Extrinsics, FrameSet,
                   Intrinsics, InvalidOptionError)
from .parameters import SYNTHETIC_PARAMETERS

WALL_Z = 3.0
FLOOR_Y = 0.8
WINDOW = (0.9, 1.4, -0.9, -0.4)  # x0, x1, y0, y1 on the wall: no depth return
BOX_MIN = np.array([-1.0, 0.2, 1.8])
BOX_MAX = np.array([-0.4, 0.8, 2.4])
SPHERE_CENTER = np.array([0.5, 0.45, 2.0])
SPHERE_RADIUS = 0.35
MOTION_AMPLITUDE = 0.3
MOTION_PERIOD_S = 4.0
#: depth optical origin in the colour optical frame (depth is 15 mm to the left)
DEPTH_ORIGIN = np.array([-0.015, 0.0, 0.0])

# surface ids
NONE, WALL, FLOOR, BOX, SPHERE, WINDOW_ID = range(6)
_LIGHT = np.array([-0.4, -0.8, -0.45])
_LIGHT = _LIGHT / np.linalg.norm(_LIGHT)


def sphere_center(sequence: int, fps: float, motion: bool) -> np.ndarray:
    """Sphere centre for a frame number (deterministic)."""
    c = SPHERE_CENTER.copy()
    if motion:
        c[0] += MOTION_AMPLITUDE * math.sin(2 * math.pi * sequence / (fps * MOTION_PERIOD_S))
    return c


def _rays(intr: Intrinsics) -> Tuple[np.ndarray, np.ndarray]:
    u = np.arange(intr.width, dtype=np.float64)
    v = np.arange(intr.height, dtype=np.float64)
    xr = np.broadcast_to(((u - intr.cx) / intr.fx)[None, :], (intr.height, intr.width))
    yr = np.broadcast_to(((v - intr.cy) / intr.fy)[:, None], (intr.height, intr.width))
    return xr, yr


def _hit_sphere(xr, yr, origin, center, radius):
    """Depth t (z distance) to a sphere along rays (xr, yr, 1) from origin; inf if missed."""
    c = center - origin
    a = xr * xr + yr * yr + 1.0
    b = -2.0 * (xr * c[0] + yr * c[1] + c[2])
    cc = float(c @ c) - radius * radius
    disc = b * b - 4 * a * cc
    with np.errstate(invalid='ignore'):
        t = (-b - np.sqrt(disc)) / (2 * a)
    t = np.where((disc >= 0) & (t > 0), t, np.inf)
    return t


def _render_static(intr: Intrinsics, origin: np.ndarray):
    """Cast wall, floor and box: returns (t, surface id, hit points)."""
    xr, yr = _rays(intr)
    h, w = xr.shape
    t = np.full((h, w), np.inf)
    sid = np.zeros((h, w), dtype=np.uint8)
    # wall
    t_wall = np.full((h, w), WALL_Z - origin[2])
    t[:] = t_wall
    sid[:] = WALL
    # floor (y down): origin_y + t*yr = FLOOR_Y
    with np.errstate(divide='ignore', invalid='ignore'):
        t_floor = np.where(yr > 1e-9, (FLOOR_Y - origin[1]) / yr, np.inf)
    m = t_floor < t
    t[m] = t_floor[m]
    sid[m] = FLOOR
    # box (slab method)
    d = np.stack([xr, yr, np.ones_like(xr)], -1)
    with np.errstate(divide='ignore', invalid='ignore'):
        t0 = (BOX_MIN - origin) / d
        t1 = (BOX_MAX - origin) / d
    tmin = np.nanmax(np.minimum(t0, t1), -1)
    tmax = np.nanmin(np.maximum(t0, t1), -1)
    t_box = np.where((tmax >= tmin) & (tmin > 0), tmin, np.inf)
    m = t_box < t
    t[m] = t_box[m]
    sid[m] = BOX
    pts = origin + d * t[..., None]
    win = ((sid == WALL) & (pts[..., 0] >= WINDOW[0]) & (pts[..., 0] <= WINDOW[1])
           & (pts[..., 1] >= WINDOW[2]) & (pts[..., 1] <= WINDOW[3]))
    sid[win] = WINDOW_ID
    return t, sid, pts


def _shade_static(sid: np.ndarray, pts: np.ndarray) -> np.ndarray:
    """Colour of wall, floor, box and window pixels (uint8 RGB)."""
    h, w = sid.shape
    rgb = np.zeros((h, w, 3), dtype=np.uint8)
    chk = ((np.floor(pts[..., 0] / 0.25) + np.floor(pts[..., 1] / 0.25)) % 2).astype(bool)
    wall = sid == WALL
    rgb[wall & chk] = (225, 225, 215)
    rgb[wall & ~chk] = (120, 140, 170)
    tile = ((np.floor(pts[..., 0] / 0.5) + np.floor(pts[..., 2] / 0.5)) % 2).astype(bool)
    floor = sid == FLOOR
    rgb[floor & tile] = (150, 110, 70)
    rgb[floor & ~tile] = (110, 80, 50)
    box = sid == BOX
    eps = 1e-6
    front = box & (np.abs(pts[..., 2] - BOX_MIN[2]) < eps)
    top = box & (np.abs(pts[..., 1] - BOX_MIN[1]) < eps)
    rgb[box] = (150, 30, 30)
    rgb[front] = (210, 50, 40)
    rgb[top] = (240, 90, 80)
    rgb[sid == WINDOW_ID] = (30, 30, 60)
    return rgb


def _shade_sphere(xr, yr, t, origin, center) -> np.ndarray:
    p = origin + np.stack([xr * t, yr * t, t], -1)
    n = (p - center) / SPHERE_RADIUS
    lam = np.clip(n @ _LIGHT, 0.0, 1.0)
    g = 60 + 180 * lam
    out = np.empty(t.shape + (3,), dtype=np.uint8)
    out[..., 0] = (20 + 40 * lam).astype(np.uint8)
    out[..., 1] = g.astype(np.uint8)
    out[..., 2] = (40 + 60 * lam).astype(np.uint8)
    return out


def _to_mm(t: np.ndarray, sid: np.ndarray) -> np.ndarray:
    mm = np.rint(t * 1000.0)
    mm[(sid == WINDOW_ID) | ~np.isfinite(t)] = 0
    return np.clip(mm, 0, 65535).astype(np.uint16)


class _View:
    """Pre-rendered static scene as seen from one imager, plus sphere compositing."""

    def __init__(self, intr: Intrinsics, origin: np.ndarray) -> None:
        self.intr = intr
        self.origin = origin
        self.xr, self.yr = _rays(intr)
        t, sid, pts = _render_static(intr, origin)
        self.t = t
        self.rgb = _shade_static(sid, pts)
        self.depth = _to_mm(t, sid)

    def _sphere_rect(self, center: np.ndarray) -> Tuple[int, int, int, int]:
        """Pixel rectangle (u0, u1, v0, v1) that holds the sphere's silhouette."""
        c = center - self.origin
        r = SPHERE_RADIUS * 1.05
        zmin = max(c[2] - r, 0.05)
        zmax = c[2] + r
        xs = [(c[0] + s * r) / z for s in (-1, 1) for z in (zmin, zmax)]
        ys = [(c[1] + s * r) / z for s in (-1, 1) for z in (zmin, zmax)]
        i = self.intr
        u0 = int(max(0, math.floor(min(xs) * i.fx + i.cx)))
        u1 = int(min(i.width, math.ceil(max(xs) * i.fx + i.cx) + 1))
        v0 = int(max(0, math.floor(min(ys) * i.fy + i.cy)))
        v1 = int(min(i.height, math.ceil(max(ys) * i.fy + i.cy) + 1))
        return u0, u1, v0, v1

    def render(self, center: np.ndarray, rgb_out: Optional[np.ndarray],
               depth_out: np.ndarray) -> None:
        """Write the scene with the sphere at center into the output arrays (colour if given)."""
        u0, u1, v0, v1 = self._sphere_rect(center)
        if rgb_out is not None:
            rgb_out[...] = self.rgb
        depth_out[...] = self.depth
        if u1 <= u0 or v1 <= v0:
            return
        xr = self.xr[v0:v1, u0:u1]
        yr = self.yr[v0:v1, u0:u1]
        ts = _hit_sphere(xr, yr, self.origin, center, SPHERE_RADIUS)
        m = ts < self.t[v0:v1, u0:u1]
        if not m.any():
            return
        dsub = depth_out[v0:v1, u0:u1]
        dsub[m] = np.clip(np.rint(ts[m] * 1000.0), 0, 65535).astype(np.uint16)
        if rgb_out is not None:
            shade = _shade_sphere(xr, yr, np.where(m, ts, 1.0), self.origin, center)
            rgb_out[v0:v1, u0:u1][m] = shade[m]


class SyntheticDriver(Driver):
    """A deterministic RGB-D camera that needs no hardware (the default driver)."""

    name = 'synthetic'
    parameters = SYNTHETIC_PARAMETERS

    def __init__(self, options: Optional[Dict[str, Any]] = None) -> None:
        super().__init__(options)
        o = {p.name: p.default for p in self.parameters}
        o.update(self.options)
        self.options = o
        self._fps = float(o['fps'])
        self._motion = bool(o['motion'])
        self._stop = threading.Event()
        self._seq = 0
        self._next = 0.0
        self._props: Optional[CameraProperties] = None

    # -- Driver hooks -------------------------------------------------------------------
    def _open(self) -> None:
        w, h = int(self.options['width']), int(self.options['height'])
        intr = default_intrinsics(w, h, float(self.options['hfov_deg']))
        self._color_view = _View(intr, np.zeros(3))
        self._depth_view = _View(intr, DEPTH_ORIGIN)
        self._props = CameraProperties(
            color=intr, depth=intr,
            depth_to_color=Extrinsics(np.eye(3), DEPTH_ORIGIN.copy()),
            # colour optical origin in the link (x fwd, y left, z up): 15 mm to the right
            color_to_link=(0.0, float(DEPTH_ORIGIN[0]), 0.0),
            fps=self._fps, intrinsics_source='synthetic', model='camera_node synthetic',
            serial='synthetic-0')
        self._static = None
        self._stop.clear()
        self._seq = 0
        self._next = time.monotonic()

    def _render(self, seq: int) -> FrameSet:
        if not self._motion and self._static is not None:
            return self._static
        center = sphere_center(seq, self._fps, self._motion)
        i = self._color_view.intr
        rgb = np.empty((i.height, i.width, 3), dtype=np.uint8)
        aligned = np.empty((i.height, i.width), dtype=np.uint16)
        depth = np.empty((i.height, i.width), dtype=np.uint16)
        self._color_view.render(center, rgb, aligned)
        self._depth_view.render(center, None, depth)
        for a in (rgb, aligned, depth):
            a.flags.writeable = False
        fs = FrameSet(color=rgb, depth=depth, aligned_depth=aligned)
        if not self._motion:
            self._static = fs
        return fs

    def _read(self, timeout: float) -> Optional[FrameSet]:
        now = time.monotonic()
        wait = self._next - now
        if wait > timeout:
            self._stop.wait(timeout)
            return None
        if wait > 0 and self._stop.wait(wait):
            return None
        # keep a fixed schedule; when a frame is late by more than a period, restart the
        # schedule from now instead of bursting to catch up (a camera never does that)
        period = 1.0 / self._fps
        now = time.monotonic()
        self._next += period
        if self._next < now:
            self._next = now + period
        seq = self._seq
        self._seq += 1
        base = self._render(seq)
        return FrameSet(color=base.color, depth=base.depth, aligned_depth=base.aligned_depth,
                        stamp_ns=time.time_ns(), sequence=seq, timestamp_domain='system')

    def _close(self) -> None:
        self._stop.set()

    # -- options and properties ---------------------------------------------------------
    def properties(self) -> CameraProperties:
        """Intrinsics and extrinsics of the synthetic imagers."""
        if self._props is None:
            raise InvalidOptionError('synthetic driver is not open')
        self._props.fps = self._fps
        return self._props

    def set_option(self, name: str, value: Any) -> None:
        """Change fps or motion while streaming."""
        if name == 'fps':
            v = float(value)
            if not 0.5 <= v <= 240.0:
                raise InvalidOptionError('fps must be within [0.5, 240], got %s' % value)
            self._fps = v
            self._next = time.monotonic()
        elif name == 'motion':
            self._motion = bool(value)
            self._static = None
        else:
            super().set_option(name, value)

    def runtime_options(self) -> Dict[str, Any]:
        """Return the current values of the runtime options."""
        return {'fps': self._fps, 'motion': self._motion}

    def commands(self):
        """Driver-specific DoCommand commands."""
        def scene(_args):
            return {
                'wall_z_m': WALL_Z, 'floor_y_m': FLOOR_Y,
                'box_min_m': BOX_MIN.tolist(), 'box_max_m': BOX_MAX.tolist(),
                'sphere_center_m': sphere_center(self._seq, self._fps, self._motion).tolist(),
                'sphere_radius_m': SPHERE_RADIUS, 'window_m': list(WINDOW),
                'frame': 'color optical frame',
            }
        return {'scene': ('Describe the synthetic scene (metres, colour optical frame).',
                          scene)}
