"""Camera geometry: pinhole rays, depth to points, PointCloud2 packing, the optical frame.

Pure numpy (plus sensor_msgs for the PointCloud2 layout); no rclpy node needed.
"""

from __future__ import annotations

from array import array
from typing import Optional

import numpy as np

from .drivers.base import Intrinsics

#: quaternion (x, y, z, w) of an optical frame in its imager's body frame:
#: roll=-pi/2, yaw=-pi/2 (REP-103), so optical z = body x, optical x = body -y.
OPTICAL_QUATERNION = (-0.5, 0.5, -0.5, 0.5)

#: bytes per point of the clouds this package publishes: x, y, z, rgb as float32
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

    For depth z at pixel (u, v): x = z * xr[u], y = z * yr[v].
    """

    def __init__(self, intr: Intrinsics, decimation: int = 1) -> None:
        d = max(1, int(decimation))
        self.decimation = d
        self.xr = ((np.arange(0, intr.width, d) - intr.cx) / intr.fx).astype(np.float32)
        self.yr = ((np.arange(0, intr.height, d) - intr.cy) / intr.fy).astype(np.float32)
        self.width = self.xr.size
        self.height = self.yr.size


class CloudBuffer:
    """A reusable XYZRGB point buffer filled from depth + colour without Python loops.

    The organized layout (height x width x 16 bytes) lives in an ``array('B')`` that can be
    handed to ``PointCloud2.data`` once and refilled in place for every frame.
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

    def fill(self, depth_mm: np.ndarray, rgb: Optional[np.ndarray]) -> int:
        """Fill the organized cloud; invalid (0) depth becomes NaN. Returns valid count."""
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
        if rgb is not None:
            u8 = self._u8
            u8[..., 12] = rgb[..., 2]
            u8[..., 13] = rgb[..., 1]
            u8[..., 14] = rgb[..., 0]
        return int(np.count_nonzero(self._valid))

    def dense_bytes(self) -> bytes:
        """Return the valid points only, packed back to back (after :meth:`fill`)."""
        pts = self._u8[self._valid]
        return pts.tobytes()

    def points(self) -> np.ndarray:
        """Return the organized cloud as an HxWx4 float32 view (x, y, z, rgb)."""
        return self._f


def point_fields():
    """Return the PointCloud2 fields of a 16-byte x, y, z, rgb point."""
    from sensor_msgs.msg import PointField
    return [PointField(name=n, offset=o, datatype=PointField.FLOAT32, count=1)
            for n, o in (('x', 0), ('y', 4), ('z', 8), ('rgb', 12))]
