"""Depth to points: the one back-projection used by PointCloud2 and by PCD. Pure numpy.

Pixel ``(u, v)`` with depth ``d`` mm gives ``z = d / 1000``, ``x = (u - cx) / fx * z``,
``y = (v - cy) / fy * z`` in the imager's optical frame (x right, y down, z forward, metres).
A :class:`CloudBuffer` fills an organized XYZRGB layout (16 bytes a point: x, y, z float32,
then B, G, R, 0) in place, with NaN where there is no depth; :meth:`CloudBuffer.valid_points`
gives the valid points only, which is what a PCD holds.
"""

from __future__ import annotations

from array import array
from functools import lru_cache
import math
from typing import Optional, Tuple

import numpy as np

from .types import Intrinsics

#: bytes per point of the clouds this package makes: x, y, z, rgb as float32
POINT_STEP = 16


def project(points: np.ndarray, intr: Intrinsics) -> np.ndarray:
    """Project Nx3 points in the optical frame (metres, z forward) to Nx2 pixels (u, v)."""
    pts = np.asarray(points, dtype=np.float64)
    z = pts[:, 2]
    return np.stack([intr.fx * pts[:, 0] / z + intr.cx, intr.fy * pts[:, 1] / z + intr.cy], 1)


def deproject(u: np.ndarray, v: np.ndarray, z: np.ndarray, intr: Intrinsics) -> np.ndarray:
    """Return Nx3 optical-frame points for pixels (u, v) at depths z (metres)."""
    u = np.asarray(u, dtype=np.float64)
    v = np.asarray(v, dtype=np.float64)
    z = np.asarray(z, dtype=np.float64)
    return np.stack([(u - intr.cx) / intr.fx * z, (v - intr.cy) / intr.fy * z, z], -1)


class RayTable:
    """Per-column x/z and per-row y/z ratios of a pinhole camera, computed once.

    For depth z at pixel (u, v) of the decimated grid: x = z * xr[u], y = z * yr[v].
    """

    def __init__(self, intr: Intrinsics, decimation: int = 1) -> None:
        d = int(decimation)
        if d < 1 or d != decimation:
            raise ValueError('decimation must be a positive integer, got %r' % (decimation,))
        for name in ('fx', 'fy', 'cx', 'cy'):
            if not math.isfinite(getattr(intr, name)):
                raise ValueError('%s must be finite, got %r' % (name, getattr(intr, name)))
        if intr.fx == 0 or intr.fy == 0:
            raise ValueError('focal lengths must be non-zero, got fx=%r fy=%r'
                             % (intr.fx, intr.fy))
        self.decimation = d
        self.xr = ((np.arange(0, intr.width, d) - intr.cx) / intr.fx).astype(np.float32)
        self.yr = ((np.arange(0, intr.height, d) - intr.cy) / intr.fy).astype(np.float32)
        self.source_size = (int(intr.width), int(intr.height))
        self.width = self.xr.size
        self.height = self.yr.size


@lru_cache(maxsize=8)
def _cached_rays(width: int, height: int, fx: float, fy: float, cx: float, cy: float,
                 decimation: int) -> RayTable:
    return RayTable(Intrinsics(width, height, fx, fy, cx, cy), decimation)


def ray_table(intr: Intrinsics, decimation: int = 1) -> RayTable:
    """Return the (cached) ray table of intrinsics and a decimation."""
    return _cached_rays(int(intr.width), int(intr.height), float(intr.fx), float(intr.fy),
                        float(intr.cx), float(intr.cy), decimation)


class CloudBuffer:
    """A reusable organized XYZRGB buffer filled from depth (+ colour) without Python loops.

    The layout (height x width x 16 bytes) lives in an ``array('B')`` that can be handed to
    ``PointCloud2.data`` once and refilled in place for every frame.
    """

    def __init__(self, rays: RayTable, data: Optional[array] = None) -> None:
        self.rays = rays
        n = rays.width * rays.height
        if data is None:
            data = array('B', bytes(n * POINT_STEP))
        if len(data) != n * POINT_STEP:
            raise ValueError('cloud buffer has %d bytes, %d needed' % (len(data), n * POINT_STEP))
        self.data = data
        self._f = np.frombuffer(self.data, dtype=np.float32).reshape(rays.height, rays.width, 4)
        self._u8 = np.frombuffer(self.data, dtype=np.uint8).reshape(
            rays.height, rays.width, POINT_STEP)
        self._z = np.empty((rays.height, rays.width), dtype=np.float32)
        self._valid = np.empty((rays.height, rays.width), dtype=bool)
        self._has_rgb = False

    def fill(self, depth_mm: np.ndarray, rgb: Optional[np.ndarray]) -> int:
        """Fill the organized cloud; invalid (0) depth becomes NaN. Returns the valid count.

        ``depth_mm`` is ``HxW`` uint16 of the ray table's source size; ``rgb``, if given,
        ``HxWx3`` uint8 registered to it.
        """
        depth_mm = _check_depth(depth_mm, self.rays.source_size)
        if rgb is not None and (rgb.ndim != 3 or rgb.shape[:2] != depth_mm.shape
                                or rgb.dtype != np.uint8):
            raise ValueError('rgb %s %s is not registered to depth %dx%d' % (
                'x'.join(map(str, rgb.shape)), rgb.dtype, depth_mm.shape[1],
                depth_mm.shape[0]))
        d = self.rays.decimation
        if d > 1:
            depth_mm = depth_mm[::d, ::d]
            rgb = None if rgb is None else rgb[::d, ::d]
        z = self._z
        np.multiply(depth_mm, np.float32(0.001), out=z, casting='unsafe')
        np.greater(depth_mm, 0, out=self._valid)
        z[~self._valid] = np.nan
        f = self._f
        np.multiply(z, self.rays.xr[None, :], out=f[..., 0])
        np.multiply(z, self.rays.yr[:, None], out=f[..., 1])
        f[..., 2] = z
        self._has_rgb = rgb is not None
        if rgb is not None:
            u8 = self._u8
            u8[..., 12] = rgb[..., 2]
            u8[..., 13] = rgb[..., 1]
            u8[..., 14] = rgb[..., 0]
        return int(np.count_nonzero(self._valid))

    def dense_bytes(self) -> bytes:
        """Return the valid points only, packed back to back (after :meth:`fill`)."""
        return self._u8[self._valid].tobytes()

    def valid_points(self) -> Tuple[np.ndarray, Optional[np.ndarray]]:
        """Return ``(xyz Nx3 float32, rgb Nx3 uint8 or None)`` of the valid points, row-major."""
        xyz = np.ascontiguousarray(self._f[..., :3][self._valid])
        if not self._has_rgb:
            return xyz, None
        return xyz, np.ascontiguousarray(self._u8[..., 14:11:-1][self._valid])

    def points(self) -> np.ndarray:
        """Return the organized cloud as an HxWx4 float32 view (x, y, z, rgb)."""
        return self._f


def _check_depth(depth: np.ndarray, size: Tuple[int, int]) -> np.ndarray:
    depth = np.asarray(depth)
    if depth.ndim != 2 or depth.dtype != np.uint16:
        raise ValueError('depth image must be HxW uint16 millimetres, got %s %s'
                         % ('x'.join(map(str, depth.shape)), depth.dtype))
    if (depth.shape[1], depth.shape[0]) != size:
        raise ValueError('depth image is %dx%d but the intrinsics are for %dx%d'
                         % (depth.shape[1], depth.shape[0], size[0], size[1]))
    return depth


def points_from_depth(depth_mm: np.ndarray, rgb: Optional[np.ndarray], intr: Intrinsics,
                      decimation: int = 1) -> Tuple[np.ndarray, Optional[np.ndarray]]:
    """Back-project to ``(xyz Nx3 float32 metres, rgb Nx3 uint8 or None)``: valid points only.

    One point per pixel of ``depth[::decimation, ::decimation]`` with non-zero depth, in
    row-major order; ``rgb``, if given, is registered to the depth image.
    """
    buf = CloudBuffer(ray_table(intr, decimation))
    buf.fill(depth_mm, rgb)
    return buf.valid_points()
