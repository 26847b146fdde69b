"""Depth registered to the colour image: the one host-side alignment. Pure numpy.

Every valid depth pixel is a small square on a surface: its four corners, back-projected
at its depth, moved into the colour optical frame and projected, cover a rectangle of
colour pixels; each of those pixels takes the point's depth in the colour frame (z), the
nearest surface winning where several land on one pixel. So a depth image of any size
(a decimated one included) fills the colour image without cracks, and parallax is real:
what the colour imager sees behind a foreground edge that the depth imager could not see
stays 0. Lens distortion is not modelled (pinhole on both sides), as in the drivers that
call this (their images are rectified or synthetic). Used after the depth filters, so
aligned depth and the cloud come from the filtered depth.
"""

from __future__ import annotations

import numpy as np

from .types import Extrinsics, Intrinsics


def _is_identity(ext: Extrinsics) -> bool:
    return (np.allclose(np.asarray(ext.rotation, float), np.eye(3), atol=1e-12)
            and np.allclose(np.asarray(ext.translation, float), 0.0, atol=1e-12))


def _same_camera(a: Intrinsics, b: Intrinsics) -> bool:
    return (a.width, a.height) == (b.width, b.height) and np.allclose(
        (a.fx, a.fy, a.cx, a.cy), (b.fx, b.fy, b.cx, b.cy), rtol=0, atol=1e-9)


def align_depth(depth_mm: np.ndarray, depth: Intrinsics, color: Intrinsics,
                depth_to_color: Extrinsics) -> np.ndarray:
    """Return depth_mm (``HxW uint16`` of the ``depth`` camera) registered to ``color``.

    The result is ``color.height x color.width`` uint16 millimetres, 0 where no depth
    pixel lands. When both cameras are the same (identity extrinsics, equal intrinsics)
    it is a copy.
    """
    if depth_mm.shape != (depth.height, depth.width):
        raise ValueError('depth image is %dx%d but its intrinsics are for %dx%d'
                         % (depth_mm.shape[1], depth_mm.shape[0], depth.width, depth.height))
    identity = _is_identity(depth_to_color)
    if identity and _same_camera(depth, color):
        return depth_mm.copy()
    out = np.zeros((color.height, color.width), dtype=np.uint16)
    v, u = np.nonzero(depth_mm)
    if v.size == 0:
        return out
    z = depth_mm[v, u].astype(np.float32) * np.float32(0.001)
    rot = np.asarray(depth_to_color.rotation, dtype=np.float32)
    t = np.asarray(depth_to_color.translation, dtype=np.float32)
    spans = []
    zc = None
    for corner in (-0.5, 0.5):
        xr = ((np.arange(depth.width, dtype=np.float32) + corner - depth.cx) / depth.fx)
        yr = ((np.arange(depth.height, dtype=np.float32) + corner - depth.cy) / depth.fy)
        x, y = xr[u] * z, yr[v] * z
        if identity:
            px, py, pz = x, y, z
        else:
            px = rot[0, 0] * x + rot[0, 1] * y + rot[0, 2] * z + t[0]
            py = rot[1, 0] * x + rot[1, 1] * y + rot[1, 2] * z + t[1]
            pz = rot[2, 0] * x + rot[2, 1] * y + rot[2, 2] * z + t[2]
        with np.errstate(divide='ignore', invalid='ignore'):
            inv = np.float32(1.0) / pz
            spans.append((np.floor(np.float32(color.fx) * px * inv + np.float32(color.cx + 0.5)),
                          np.floor(np.float32(color.fy) * py * inv + np.float32(color.cy + 0.5))))
        zc = pz if zc is None else np.float32(0.5) * (zc + pz)
    (x0, y0), (x1, y1) = spans
    ok = np.isfinite(x0) & np.isfinite(x1) & np.isfinite(y0) & np.isfinite(y1) & (zc > 0)
    lo_x, hi_x = np.minimum(x0, x1)[ok], np.maximum(x0, x1)[ok]
    lo_y, hi_y = np.minimum(y0, y1)[ok], np.maximum(y0, y1)[ok]
    mm = np.clip(np.rint(zc[ok] * np.float32(1000.0)), 1, 65535)
    # a point covers colour pixels [lo, hi) (at least one) in each direction
    wx = np.maximum(hi_x - lo_x, 1)
    wy = np.maximum(hi_y - lo_y, 1)
    best = np.full(color.width * color.height, np.inf, dtype=np.float32)
    for dy in range(int(min(wy.max(), 64))):
        for dx in range(int(min(wx.max(), 64))):
            px, py = lo_x + dx, lo_y + dy
            m = (dx < wx) & (dy < wy) & (px >= 0) & (px < color.width) & (py >= 0) \
                & (py < color.height)
            if m.any():
                idx = py[m].astype(np.int64) * color.width + px[m].astype(np.int64)
                np.minimum.at(best, idx, mm[m])
    hit = np.isfinite(best)
    flat = out.reshape(-1)
    flat[hit] = best[hit].astype(np.uint16)
    return out
