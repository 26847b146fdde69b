"""The depth filters' array operations: numpy and OpenCV on ``HxW uint16`` millimetres.

Each operation takes a depth image (0 = no depth) and returns a new one; none keeps
state except :class:`TemporalState`. :mod:`camera_node.core.depthfilter` chains them in
librealsense's recommended order (threshold, decimation, spatial, temporal, hole filling)
for the drivers whose SDK has no filters of its own. What each does:

* :func:`threshold`: depth outside ``[min_mm, max_mm]`` becomes 0.
* :func:`decimate`: every ``d x d`` block becomes one pixel: the median of its valid
  pixels for d = 2, 3, their mean for d >= 4 (as librealsense), 0 when none is valid. The
  image is cropped to whole blocks; :func:`decimated_intrinsics` gives the new camera.
* :func:`spatial`: edge-preserving smoothing. Each pass is a bilateral filter (5x5 window)
  whose range kernel has a standard deviation of ``delta / 2`` mm, so a depth step of more
  than about ``delta`` is an edge and is not smoothed across (holes, 0, are never mixed
  in); the result is blended ``alpha * input + (1 - alpha) * smoothed`` (alpha 1: no
  filtering), ``iterations`` times. ``holes_fill`` then fills holes up to 2, 4, 8, 16
  pixels wide (or any width) along rows from the nearest valid pixel on the left (else
  the right).
* :class:`TemporalState`: per pixel, an exponential moving average of the frames,
  ``alpha * current + (1 - alpha) * previous``, restarted where the change exceeds
  ``delta`` mm (motion, edges); where a frame has no depth, the previous value is kept
  when the pixel was valid often enough lately (librealsense's persistency modes, 0-8).
* :func:`fill_holes`: every hole takes the nearest valid pixel to its left (mode 0), or
  of the nearest valid pixels left, right, above and below, the farthest (1) or the
  nearest (2).
"""

from __future__ import annotations

import math
from typing import Optional, Tuple

import numpy as np

from .types import Intrinsics

#: persistency modes of the temporal filter: mode -> (previous frames looked at, how many
#: of them must have been valid); 8 = "indefinitely" (any valid frame before)
PERSISTENCY = {1: (8, 8), 2: (3, 2), 3: (4, 2), 4: (8, 2), 5: (2, 1), 6: (5, 1), 7: (8, 1),
               8: (8, 0)}
#: spatial holes_fill mode -> the widest hole (pixels) filled; 5: any width
SPATIAL_HOLE_RADIUS = {1: 2, 2: 4, 3: 8, 4: 16, 5: 1 << 30}
#: window of one bilateral pass (pixels) and its spatial standard deviation
_BILATERAL_D, _BILATERAL_SPACE = 5, 2.0


def threshold(depth: np.ndarray, min_mm: float, max_mm: float) -> np.ndarray:
    """Return depth with every pixel outside ``[min_mm, max_mm]`` set to 0."""
    lo = max(0, int(math.ceil(min_mm)))
    hi = min(65535, int(math.floor(max_mm)))
    out = depth.copy()
    out[(depth < lo) | (depth > hi)] = 0
    return out


def decimated_intrinsics(intr: Intrinsics, d: int) -> Intrinsics:
    """Return the camera of an image decimated by d (whole d x d blocks, top-left aligned).

    Output pixel ``u'`` covers input pixels ``d u' .. d u' + d - 1``, whose centre is
    ``d u' + (d - 1) / 2``: so ``f' = f / d`` and ``c' = (c - (d - 1) / 2) / d``.
    """
    return Intrinsics(intr.width // d, intr.height // d, intr.fx / d, intr.fy / d,
                      (intr.cx - (d - 1) / 2.0) / d, (intr.cy - (d - 1) / 2.0) / d,
                      intr.distortion_model, list(intr.distortion))


def decimate(depth: np.ndarray, d: int) -> np.ndarray:
    """Return depth decimated by d: one pixel per whole d x d block (see the module doc)."""
    if d <= 1:
        return depth.copy()
    h, w = depth.shape[0] // d, depth.shape[1] // d
    blocks = depth[:h * d, :w * d].reshape(h, d, w, d).transpose(0, 2, 1, 3)
    blocks = blocks.reshape(h, w, d * d)
    valid = np.count_nonzero(blocks, axis=2)
    if d <= 3:
        ordered = np.sort(blocks, axis=2)      # zeros first, then the valid values
        n = d * d
        pick = np.minimum(n - valid + np.maximum(valid - 1, 0) // 2, n - 1)   # lower median
        out = np.take_along_axis(ordered, pick[..., None], axis=2)[..., 0]
    else:
        total = blocks.sum(axis=2, dtype=np.uint32)
        out = np.where(valid > 0, (total + valid // 2) // np.maximum(valid, 1), 0)
    out = out.astype(np.uint16)
    out[valid == 0] = 0
    return out


def _nearest_valid(depth: np.ndarray, axis: int, reverse: bool,
                   distance: bool = False) -> Tuple[np.ndarray, Optional[np.ndarray]]:
    """For every pixel, the nearest valid value before it along axis (and its distance).

    ``reverse``: after it instead. Where there is none, value 0 and distance huge.
    """
    img = np.flip(depth, axis) if reverse else depth
    n = img.shape[axis]
    shape = [1, 1]
    shape[axis] = n
    pos = np.arange(n, dtype=np.int32).reshape(shape)
    idx = np.where(img > 0, pos, np.int32(-1))
    np.maximum.accumulate(idx, axis=axis, out=idx)
    value = np.take_along_axis(img, np.maximum(idx, 0), axis=axis)
    value[idx < 0] = 0
    dist = np.where(idx >= 0, pos - idx, 1 << 30) if distance else None
    if reverse:
        value = np.flip(value, axis)
        dist = None if dist is None else np.flip(dist, axis)
    return value, dist


def fill_holes(depth: np.ndarray, mode: int) -> np.ndarray:
    """Fill every hole: 0 from the left, 1 the farthest, 2 the nearest of 4 neighbours.

    The neighbours of a hole are the nearest valid pixels to its left, right, above and
    below it (however far); a hole with none stays 0 (an image without depth).
    """
    holes = depth == 0
    if not holes.any():
        return depth.copy()
    if mode == 0:
        left, _ = _nearest_valid(depth, 1, False)
        return np.where(holes, left, depth).astype(np.uint16)
    found = [_nearest_valid(depth, axis, rev)[0] for axis in (0, 1) for rev in (False, True)]
    stack = np.stack(found)
    if mode == 1:
        fill = stack.max(axis=0)
    else:
        fill = np.where(stack > 0, stack, np.uint16(65535)).min(axis=0)
        fill[fill == 65535] = 0
    return np.where(holes, fill, depth).astype(np.uint16)


def _fill_rows(depth: np.ndarray, radius: int) -> np.ndarray:
    """Fill holes from the nearest valid pixel on the left (else right) within radius."""
    holes = depth == 0
    if not holes.any():
        return depth
    left, dl = _nearest_valid(depth, 1, False, True)
    right, dr = _nearest_valid(depth, 1, True, True)
    fill = np.where(dl <= radius, left, np.where(dr <= radius, right, 0))
    return np.where(holes, fill, depth).astype(np.uint16)


def spatial(depth: np.ndarray, alpha: float, delta: float, iterations: int,
            holes_fill: int = 0) -> np.ndarray:
    """Edge-preserving smoothing (see the module doc); holes stay holes unless holes_fill."""
    import cv2     # here: parameter modules import this package without OpenCV
    valid = depth > 0
    f = depth.astype(np.float32)
    sigma = max(float(delta) / 2.0, 0.5)
    for _ in range(int(iterations)):
        smooth = cv2.bilateralFilter(f, _BILATERAL_D, sigma, _BILATERAL_SPACE)
        if alpha < 1.0:
            f = alpha * f + (1.0 - alpha) * smooth
    out = np.where(valid, np.clip(np.rint(f), 1, 65535), 0).astype(np.uint16)
    if holes_fill:
        out = _fill_rows(out, SPATIAL_HOLE_RADIUS[int(holes_fill)])
    return out


class TemporalState:
    """The temporal filter's memory of one depth stream (the previous output, validity)."""

    def __init__(self) -> None:
        self.previous: Optional[np.ndarray] = None     # float32, 0 = none
        self.history: Optional[np.ndarray] = None      # uint8: bit k = valid k+1 frames ago

    def reset(self) -> None:
        """Forget every frame seen (a new size, or the filter switched off and on)."""
        self.previous = None
        self.history = None

    def apply(self, depth: np.ndarray, alpha: float, delta: float,
              persistency: int) -> np.ndarray:
        """Filter one frame and remember it (see the module doc)."""
        cur = depth.astype(np.float32)
        valid = depth > 0
        prev = self.previous
        if prev is None or prev.shape != cur.shape:
            self.previous = cur
            self.history = valid.astype(np.uint8)
            return depth.copy()
        both = valid & (prev > 0) & (np.abs(cur - prev) < float(delta))
        out = np.where(both, alpha * cur + (1.0 - alpha) * prev, cur)
        if persistency:
            keep = (~valid) & (prev > 0)
            frames, needed = PERSISTENCY[int(persistency)]
            if needed:
                recent = self.history & np.uint8((1 << frames) - 1)
                keep &= _POPCOUNT[recent] >= needed
            out = np.where(keep, prev, out)
        self.history = ((self.history << 1) | valid).astype(np.uint8)
        self.previous = out.astype(np.float32)
        return np.clip(np.rint(out), 0, 65535).astype(np.uint16)


_POPCOUNT = np.array([bin(i).count('1') for i in range(256)], dtype=np.uint8)
