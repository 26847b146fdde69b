"""The synthetic scene and its ray caster: colour, depth and infrared from pinhole imagers.

The scene, in the *scene frame* (the colour camera's optical frame when the camera is at
rest; metres; x right, y down, z forward):

* a back wall, the plane z = 3.0, chequered in 0.25 m squares, with a "window" where the
  sensor gets no depth return (x in [0.9, 1.4], y in [-0.9, -0.4]): depth 0 there;
* a floor, the plane y = 0.8 (0.8 m below the camera), tiled in 0.5 m squares;
* a box, x in [-1.0, -0.4], y in [0.2, 0.8], z in [1.8, 2.4], standing on the floor;
* a sphere of radius 0.35 centred at (0.5, 0.45, 2.0), touching the floor; with
  ``motion`` on it swings along x (+-0.3 m, 4 s period, by frame number: deterministic).

Colour and depth are rendered from the same rays, so they agree exactly: every depth pixel
lies on the surface whose colour the colour pixel shows. Two renderers share the casting
functions below:

* :class:`View`, the static fast path (the camera at rest, the default): the static
  surfaces are cast once; each frame copies them and recasts only the sphere's pixel
  rectangle. A scene at rest is cast once in float64 (:meth:`View.render`); with
  ``motion`` every frame recasts the sphere in float32 within the tight bounding box of its
  silhouette (:class:`.sphere.MovingSphere`, ~1 ms at 1280x720 instead of ~12 ms), which
  agrees with the float64 cast to 1 mm and 1 colour level.
* :func:`render_posed`, for a camera that moves (the trajectory): every ray is cast from
  the imager's pose each frame.

Infrared images are the surfaces' grey albedo under ambient light plus, when the emitter
is on, a projected dot pattern (:class:`Projector`) fixed to the camera: the dots lie on
the surfaces, so both imagers of the stereo pair see them where stereo matching needs them.
"""

from __future__ import annotations

import math
from typing import Optional, Tuple

import cv2
import numpy as np

from ...core.types import Intrinsics

WALL_Z = 3.0
FLOOR_Y = 0.8
WINDOW = (0.9, 1.4, -0.9, -0.4)  # x0, x1, y0, y1 on the wall: no depth return
BOX_MIN = np.array([-1.0, 0.2, 1.8])
BOX_MAX = np.array([-0.4, 0.8, 2.4])
SPHERE_CENTER = np.array([0.5, 0.45, 2.0])
SPHERE_RADIUS = 0.35
MOTION_AMPLITUDE = 0.3
MOTION_PERIOD_S = 4.0

# surface ids
NONE, WALL, FLOOR, BOX, SPHERE, WINDOW_ID = range(6)
#: direction towards the scene's one light (unit vector)
LIGHT = np.array([-0.4, -0.8, -0.45])
LIGHT = LIGHT / np.linalg.norm(LIGHT)
#: infrared: ambient level (times the surface's grey albedo) and dot brightness
IR_AMBIENT = 0.55
IR_DOT = 150.0
IR_WINDOW = 12
#: a pixel box (u0, u1, v0, v1): columns u0..u1-1, rows v0..v1-1
Box = Tuple[int, int, int, int]


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


def ray_directions(intr: Intrinsics, rotation: Optional[np.ndarray] = None) -> np.ndarray:
    """Return HxWx3 ray directions in the scene frame, scaled so t along them is depth.

    A ray is ``(x/z, y/z, 1)`` in the imager's optical frame, turned by ``rotation`` (the
    imager's orientation in the scene; None: at rest).
    """
    xr, yr = _rays(intr)
    d = np.stack([xr, yr, np.ones_like(xr)], -1)
    return d if rotation is None else d @ np.asarray(rotation, dtype=np.float64).T


def _hit_sphere(d, origin, center, radius):
    """Depth t (along rays d, camera z) to a sphere from origin; inf where missed."""
    c = center - origin
    a = np.einsum('...i,...i->...', d, d)
    b = -2.0 * (d @ c)
    cc = float(c @ c) - radius * radius
    disc = b * b - 4 * a * cc
    with np.errstate(invalid='ignore'):
        t = (-b - np.sqrt(disc)) / (2 * a)
    t = np.where((disc >= 0) & (t > 0), t, np.inf)
    return t


def _cast_static(d: np.ndarray, origin: np.ndarray):
    """Cast wall, floor and box along rays d from origin: (t, surface id, hit points)."""
    h, w = d.shape[:2]
    t = np.full((h, w), np.inf)
    sid = np.zeros((h, w), dtype=np.uint8)
    with np.errstate(divide='ignore', invalid='ignore'):
        # wall: origin_z + t*d_z = WALL_Z, facing the camera
        t_wall = np.where(d[..., 2] > 1e-9, (WALL_Z - origin[2]) / d[..., 2], np.inf)
        # floor (y down): origin_y + t*d_y = FLOOR_Y
        t_floor = np.where(d[..., 1] > 1e-9, (FLOOR_Y - origin[1]) / d[..., 1], np.inf)
    m = (t_wall > 0) & (t_wall < t)
    t[m] = t_wall[m]
    sid[m] = WALL
    m = (t_floor > 0) & (t_floor < t)
    t[m] = t_floor[m]
    sid[m] = FLOOR
    # box (slab method), one axis at a time on contiguous planes
    tmin = np.full((h, w), -np.inf)
    tmax = np.full((h, w), np.inf)
    with np.errstate(divide='ignore', invalid='ignore'):
        for k in range(3):
            dk = np.ascontiguousarray(d[..., k])
            t0 = (BOX_MIN[k] - origin[k]) / dk
            t1 = (BOX_MAX[k] - origin[k]) / dk
            np.fmax(tmin, np.minimum(t0, t1), out=tmin)
            np.fmin(tmax, np.maximum(t0, t1), out=tmax)
    t_box = np.where((tmax >= tmin) & (tmin > 0), tmin, np.inf)
    m = t_box < t
    t[m] = t_box[m]
    sid[m] = BOX
    with np.errstate(invalid='ignore'):
        pts = origin + d * np.where(np.isfinite(t), t, 0.0)[..., None]
    win = ((sid == WALL) & (pts[..., 0] >= WINDOW[0]) & (pts[..., 0] <= WINDOW[1])
           & (pts[..., 1] >= WINDOW[2]) & (pts[..., 1] <= WINDOW[3]))
    sid[win] = WINDOW_ID
    return t, sid, pts


#: colours of the static surfaces, by the class _shade_static gives each pixel
_PALETTE = np.array([(0, 0, 0), (225, 225, 215), (120, 140, 170), (150, 110, 70),
                     (110, 80, 50), (150, 30, 30), (210, 50, 40), (240, 90, 80),
                     (30, 30, 60)], dtype=np.uint8)


def _shade_static(sid: np.ndarray, pts: np.ndarray) -> np.ndarray:
    """Colour of wall, floor, box and window pixels (uint8 RGB).

    Each pixel gets a class (wall light/dark chequer, floor light/dark tile, box side,
    front, top, window) and the class its colour from :data:`_PALETTE`.
    """
    x, y, z = pts[..., 0], pts[..., 1], pts[..., 2]
    chk = ((np.floor(x / 0.25) + np.floor(y / 0.25)) % 2).astype(bool)
    tile = ((np.floor(x / 0.5) + np.floor(z / 0.5)) % 2).astype(bool)
    eps = 1e-6
    box = np.where(np.abs(y - BOX_MIN[1]) < eps, 7,
                   np.where(np.abs(z - BOX_MIN[2]) < eps, 6, 5))
    cls = np.select([sid == WALL, sid == FLOOR, sid == BOX, sid == WINDOW_ID],
                    [np.where(chk, 1, 2), np.where(tile, 3, 4), box, 8], 0)
    return _PALETTE[cls]


def _shade_sphere(pts: np.ndarray, center: np.ndarray) -> np.ndarray:
    """Colour of sphere surface points (uint8 RGB), lit by the scene's one light."""
    n = (pts - center) / SPHERE_RADIUS
    lam = np.clip(n @ LIGHT, 0.0, 1.0)
    g = 60 + 180 * lam
    out = np.empty(pts.shape[:-1] + (3,), dtype=np.uint8)
    out[..., 0] = (20 + 40 * lam).astype(np.uint8)
    out[..., 1] = g.astype(np.uint8)
    out[..., 2] = (40 + 60 * lam).astype(np.uint8)
    return out


def _to_mm(t: np.ndarray, sid: np.ndarray) -> np.ndarray:
    mm = np.rint(np.where(np.isfinite(t), t, 0.0) * 1000.0)
    mm[(sid == WINDOW_ID) | ~np.isfinite(t)] = 0
    return np.clip(mm, 0, 65535).astype(np.uint16)


class View:
    """Pre-rendered static scene as seen from one imager at rest, plus sphere compositing."""

    def __init__(self, intr: Intrinsics, origin: np.ndarray) -> None:
        self.intr = intr
        self.origin = origin
        self.d = ray_directions(intr)
        t, sid, pts = _cast_static(self.d, origin)
        self.t = t
        self.sid = sid
        self.pts = pts
        self.rgb = _shade_static(sid, pts)
        self.depth = _to_mm(t, sid)

    def _sphere_rect(self, center: np.ndarray) -> Box:
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
        d = self.d[v0:v1, u0:u1]
        ts = _hit_sphere(d, self.origin, center, SPHERE_RADIUS)
        m = ts < self.t[v0:v1, u0:u1]
        if not m.any():
            return
        dsub = depth_out[v0:v1, u0:u1]
        dsub[m] = np.clip(np.rint(ts[m] * 1000.0), 0, 65535).astype(np.uint16)
        if rgb_out is not None:
            pts = self.origin + d[m] * ts[m][:, None]
            rgb_out[v0:v1, u0:u1][m] = _shade_sphere(pts, center)

    def surfaces(self, center: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        """Return (surface id, hit points) of every pixel with the sphere at center."""
        sid, pts = self.sid.copy(), self.pts.copy()
        u0, u1, v0, v1 = self._sphere_rect(center)
        if u1 > u0 and v1 > v0:
            d = self.d[v0:v1, u0:u1]
            ts = _hit_sphere(d, self.origin, center, SPHERE_RADIUS)
            m = ts < self.t[v0:v1, u0:u1]
            sid[v0:v1, u0:u1][m] = SPHERE
            pts[v0:v1, u0:u1][m] = self.origin + d[m] * ts[m][:, None]
        return sid, pts


def render_posed(intr: Intrinsics, rotation: np.ndarray, origin: np.ndarray,
                 center: np.ndarray) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cast every ray of an imager at a pose (rotation, origin in the scene frame).

    :returns: (depth t in metres along the optical axis, surface id, hit points).
    """
    d = ray_directions(intr, rotation)
    t, sid, pts = _cast_static(d, origin)
    ts = _hit_sphere(d, origin, center, SPHERE_RADIUS)
    m = ts < t
    t[m] = ts[m]
    sid[m] = SPHERE
    pts[m] = origin + d[m] * ts[m][:, None]
    return t, sid, pts


def shade_color(sid: np.ndarray, pts: np.ndarray, center: np.ndarray) -> np.ndarray:
    """Colour of every pixel, sphere included (uint8 RGB)."""
    rgb = _shade_static(sid, pts)
    m = sid == SPHERE
    if m.any():
        rgb[m] = _shade_sphere(pts[m], center)
    return rgb


def depth_mm(t: np.ndarray, sid: np.ndarray) -> np.ndarray:
    """Depth in millimetres (0 where there is no return)."""
    return _to_mm(t, sid)


class Projector:
    """The IR dot projector: a fixed pseudo-random dot pattern cast from the camera.

    It sits at ``origin`` in the colour optical frame, looks along the cameras' z axis
    with a ``hfov_deg`` field of view, and lights a dot where its pattern (``width`` x
    ``height``, about 10 % of its pixels, slightly blurred) projects on a surface.
    """

    def __init__(self, origin: np.ndarray, width: int, height: int, hfov_deg: float = 90.0,
                 seed: int = 7) -> None:
        self.origin = np.asarray(origin, dtype=np.float64)
        self.f = (width / 2.0) / math.tan(math.radians(hfov_deg) / 2.0)
        self.cx, self.cy = (width - 1) / 2.0, (height - 1) / 2.0
        rng = np.random.default_rng(seed)
        dots = (rng.random((height, width)) < 0.10).astype(np.float32)
        self.pattern = cv2.GaussianBlur(dots, (0, 0), 0.7)
        self.pattern /= float(self.pattern.max())

    def light(self, pts: np.ndarray, rotation: np.ndarray, rig_origin: np.ndarray) -> np.ndarray:
        """Return the dot intensity (0..1) at scene points, the rig at (rotation, origin).

        ``rig_origin`` is where the colour optical frame is in the scene, ``rotation`` its
        orientation.
        """
        r = np.asarray(rotation, dtype=np.float64)
        centre = rig_origin + r @ self.origin
        local = (pts - centre) @ r            # scene -> projector axes (= camera axes)
        z = local[..., 2]
        with np.errstate(divide='ignore', invalid='ignore'):
            mx = np.where(z > 1e-6, self.f * local[..., 0] / z + self.cx, -1.0)
            my = np.where(z > 1e-6, self.f * local[..., 1] / z + self.cy, -1.0)
        return cv2.remap(self.pattern, mx.astype(np.float32), my.astype(np.float32),
                         cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0.0)


def shade_ir(sid: np.ndarray, pts: np.ndarray, center: np.ndarray,
             dots: Optional[np.ndarray]) -> np.ndarray:
    """Infrared image (uint8): grey albedo under ambient light, plus dots when given."""
    rgb = shade_color(sid, pts, center).astype(np.float32)
    grey = (0.299 * rgb[..., 0] + 0.587 * rgb[..., 1] + 0.114 * rgb[..., 2]) * IR_AMBIENT
    if dots is not None:
        grey += IR_DOT * dots
    grey[sid == WINDOW_ID] = IR_WINDOW     # nothing comes back through the window
    return np.clip(np.rint(grey), 0, 255).astype(np.uint8)
