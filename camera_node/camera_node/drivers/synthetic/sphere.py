"""The moving sphere cast per frame: float32, within the tight box of its silhouette.

With ``motion`` only the sphere changes from one frame to the next. :class:`MovingSphere`
draws it over a :class:`.scene.View`'s static images: it restores the box it drew last
time (the outputs are recycled, :mod:`.pool`) and casts the sphere's rays only, in
float32, with every per-pixel term a sum of a per-column and a per-row term, so nothing
of full-frame size is computed per frame (~1 ms at 1280x720 instead of ~12 ms for the
float64 cast of :meth:`.scene.View.render`).

With the sphere's centre p in the imager frame and a ray d = (x, y, 1) (t along it is
depth), the near hit is ``t = cc / (b + sqrt(b^2 - a cc))`` with ``a = d.d``, ``b = d.p``
and ``cc = p.p - r^2``. Depth is rounded to mm and colour truncated as the float64 cast
does; the two agree to 1 mm and 1 level but for a grazing ray at the silhouette now and
then (one cast calls it a hit, the other a miss).
"""

from __future__ import annotations

import math
from typing import Optional

import cv2
import numpy as np

from .scene import LIGHT, Box, SPHERE_RADIUS, View

#: the sphere's colour as gain and offset of the Lambert term (what scene._shade_sphere does)
SHADE = ((40.0, 20.0), (180.0, 60.0), (60.0, 40.0))
#: side of the tiles whose nearest static depth tells where the sphere may be hidden
TILE = 16


def tile_min(t: np.ndarray, tile: int = TILE) -> np.ndarray:
    """Return the minimum of t over tile x tile blocks (edge blocks padded with inf)."""
    h, w = t.shape
    hp, wp = -(-h // tile) * tile, -(-w // tile) * tile
    padded = np.full((hp, wp), np.inf)
    padded[:h, :w] = t
    return padded.reshape(hp // tile, tile, wp // tile, tile).min(axis=(1, 3))


class MovingSphere:
    """Draws the sphere at any centre over one view's static images, frame after frame."""

    def __init__(self, view: View) -> None:
        self.view = view
        self._xr = view.d[0, :, 0].astype(np.float32)
        self._yr = view.d[:, 0, 1].astype(np.float32)
        self._t_static = view.t.astype(np.float32)
        self._near = tile_min(view.t)

    def box(self, p: np.ndarray) -> Box:
        """Return the tight pixel box of a sphere at p (imager frame): u0, u1, v0, v1.

        Its extreme x/z and y/z are those of the tangents from the imager to the sphere's
        outline in the xz and yz planes; one pixel of margin on each side.
        """
        i = self.view.intr
        box = []
        for q, f, c, n in ((p[0], i.fx, i.cx, i.width), (p[1], i.fy, i.cy, i.height)):
            mid = math.atan2(q, p[2])
            half = math.asin(min(1.0, SPHERE_RADIUS / math.hypot(q, p[2])))
            lo, hi = f * math.tan(mid - half) + c, f * math.tan(mid + half) + c
            box += [int(min(n, max(0, math.floor(lo) - 1))),
                    int(min(n, max(0, math.ceil(hi) + 2)))]
        return box[0], box[1], box[2], box[3]

    def render(self, center: np.ndarray, rgb_out: Optional[np.ndarray],
               depth_out: np.ndarray, drawn: Optional[Box] = None) -> Box:
        """Write the view with the sphere at center into the outputs (colour if given).

        ``drawn``: the outputs already hold this view's scene with the sphere drawn within
        that box (a recycled set): only that box is restored, else the whole image. Return
        the box drawn now. A sphere not wholly in front of the imager is cast by
        :meth:`.scene.View.render` (float64, whole images).
        """
        view = self.view
        p = np.asarray(center, dtype=np.float64) - view.origin
        if p[2] - SPHERE_RADIUS <= 0.05:
            view.render(center, rgb_out, depth_out)
            return view._sphere_rect(center)
        u0, u1, v0, v1 = drawn or (0, view.intr.width, 0, view.intr.height)
        if rgb_out is not None:
            rgb_out[v0:v1, u0:u1] = view.rgb[v0:v1, u0:u1]
        depth_out[v0:v1, u0:u1] = view.depth[v0:v1, u0:u1]
        box = u0, u1, v0, v1 = self.box(p)
        if u1 <= u0 or v1 <= v0:
            return box
        xr, yr, f32 = self._xr[u0:u1], self._yr[v0:v1], np.float32
        cc = f32(p @ p - SPHERE_RADIUS * SPHERE_RADIUS)
        b = xr * f32(p[0]) + (yr * f32(p[1]) + f32(p[2]))[:, None]
        disc = xr * (xr * cc) + ((yr * yr + f32(1.0)) * cc)[:, None]     # a cc
        np.subtract(b * b, disc, out=disc)
        with np.errstate(invalid='ignore'):
            np.sqrt(disc, out=disc)              # NaN where the ray misses
        disc += b
        t = np.divide(cc, disc, out=disc)
        # a static surface can hide part of the sphere only where it is nearer than the
        # sphere's far side (never in the default scene): compare there only
        near = self._near[v0 // TILE:(v1 - 1) // TILE + 1, u0 // TILE:(u1 - 1) // TILE + 1]
        if float(near.min()) <= p[2] + SPHERE_RADIUS:
            hit = (t < self._t_static[v0:v1, u0:u1]).view(np.uint8)    # False where NaN
        else:
            hit = (t == t).view(np.uint8)                               # not NaN
        cv2.copyTo(cv2.multiply(t, 1000.0, dtype=cv2.CV_16U), hit, depth_out[v0:v1, u0:u1])
        if rgb_out is None:
            return box
        # Lambert term n.L with n = (t d - p) / r: t (d.L) / r - (p.L) / r, clipped to [0, 1]
        light = LIGHT / SPHERE_RADIUS
        lam = xr * f32(light[0]) + (yr * f32(light[1]) + f32(light[2]))[:, None]
        lam *= t
        lam -= f32(p @ light)
        np.clip(lam, 0.0, 1.0, out=lam)
        # gain * lam + offset truncated, as the float64 shading (rounding x - 0.5 = floor x)
        shade = cv2.merge([cv2.convertScaleAbs(lam, alpha=gain, beta=offset - 0.5)
                           for gain, offset in SHADE])
        cv2.copyTo(shade, hit, rgb_out[v0:v1, u0:u1])
        return box
