"""Depth to points: the one back-projection used by PointCloud2 and by PCD.

Pixel ``(u, v)`` with depth ``d`` mm gives ``z = d / 1000``, ``x = (u - cx) / fx * z``,
``y = (v - cy) / fy * z`` in the imager's optical frame (x right, y down, z forward, metres).
A :class:`CloudBuffer` fills an organized XYZRGB layout (16 bytes a point: x, y, z float32,
then B, G, R, 0) in place, with NaN where there is no depth; :meth:`CloudBuffer.valid_points`
gives the valid points only, which is what a PCD holds. numpy, with OpenCV to interleave.
"""

from __future__ import annotations

from array import array
from functools import lru_cache
import math
from typing import Optional, Tuple

import cv2
import numpy as np

from .types import Intrinsics

#: bytes per point of the clouds this package makes: x, y, z, rgb as float32
POINT_STEP = 16
#: keeps B, G, R of a little-endian BGRA pixel read as uint32 and zeroes A
_NO_ALPHA = np.uint32(0x00FFFFFF)


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

    The fill works through bands of rows (about 64k points each): z, x and y of a band are
    computed into small float planes and OpenCV interleaves them with the colour into the
    buffer in one pass (``cv2.merge``), instead of numpy writing each 4-byte field through
    a 16-byte stride. Measured at 1280x720: 3 ms instead of 16-27 ms; the bytes are the
    same.
    """

    #: points per band: small enough that a band's planes stay in the CPU's cache
    BAND_POINTS = 65536

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
        self._invalid = np.zeros((rays.height, rays.width), dtype=bool)     # no depth
        self._rows = max(1, min(rays.height, self.BAND_POINTS // max(1, rays.width)))
        band = (self._rows, rays.width)
        self._planes = [np.empty(band, dtype=np.float32) for _ in range(3)]   # x, y, z
        self._bgra = np.zeros(band + (4,), dtype=np.uint8)
        self._nan = np.full(band, np.nan, dtype=np.float32)
        self._has_rgb = False

    def fill(self, depth_mm: np.ndarray, rgb: Optional[np.ndarray]) -> int:
        """Fill the organized cloud; invalid (0) depth becomes NaN. Returns the valid count.

        ``depth_mm`` is ``HxW`` uint16 of the ray table's source size; ``rgb``, if given,
        ``HxWx3`` uint8 registered to it. Without ``rgb`` the colour bytes are zero.
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
            rgb = None if rgb is None else _every_nth(rgb, d)
        np.equal(depth_mm, 0, out=self._invalid)
        invalid = self._invalid.view(np.uint8)
        self._has_rgb = rgb is not None
        if rgb is None:
            self._bgra[...] = 0
        xr, yr = self.rays.xr[None, :], self.rays.yr
        for r0 in range(0, self.rays.height, self._rows):
            r1 = min(self.rays.height, r0 + self._rows)
            x, y, z = (p[:r1 - r0] for p in self._planes)
            bgra = self._bgra[:r1 - r0]
            np.multiply(depth_mm[r0:r1], np.float32(0.001), out=z, casting='unsafe')
            cv2.copyTo(self._nan[:r1 - r0], invalid[r0:r1], dst=z)   # no branches
            np.multiply(z, xr, out=x)
            np.multiply(z, yr[r0:r1, None], out=y)
            if rgb is not None:       # bytes B, G, R, 0 (the alpha byte stays zero)
                cv2.cvtColor(rgb[r0:r1], cv2.COLOR_RGB2BGRA, dst=bgra)
                np.bitwise_and(bgra.view(np.uint32), _NO_ALPHA, out=bgra.view(np.uint32))
            cv2.merge([x, y, z, bgra.view(np.float32)[..., 0]], dst=self._f[r0:r1])
        return int(depth_mm.size - np.count_nonzero(self._invalid))

    @property
    def _valid(self) -> np.ndarray:
        return ~self._invalid

    def dense_bytes(self) -> bytes:
        """Return the valid points only, packed back to back (after :meth:`fill`)."""
        return self._u8[self._valid].tobytes()

    def valid_points(self) -> Tuple[np.ndarray, Optional[np.ndarray]]:
        """Return ``(xyz Nx3 float32, rgb Nx3 uint8 or None)`` of the valid points, row-major."""
        valid = self._valid
        xyz = np.ascontiguousarray(self._f[..., :3][valid])
        if not self._has_rgb:
            return xyz, None
        return xyz, np.ascontiguousarray(self._u8[..., 14:11:-1][valid])

    def points(self) -> np.ndarray:
        """Return the organized cloud as an HxWx4 float32 view (x, y, z, rgb)."""
        return self._f


def _every_nth(rgb: np.ndarray, d: int) -> np.ndarray:
    """``rgb[::d, ::d]`` as a contiguous array (OpenCV's nearest resize when d divides it).

    Legacy INTER_NEAREST takes source pixel ``floor(x * d)``: exactly every d-th pixel when
    the sizes are multiples of d, 5x faster than numpy gathering 3-byte pixels.
    """
    h, w = rgb.shape[:2]
    if h % d or w % d:
        return np.ascontiguousarray(rgb[::d, ::d])
    return cv2.resize(rgb, (w // d, h // d), interpolation=cv2.INTER_NEAREST)


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
