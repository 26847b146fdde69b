"""Rotation conversions between Viam's orientation vectors and ROS quaternions.

Pure ``math``/numpy; no ROS import.

Conventions used throughout this module:

* Quaternions are tuples ``(x, y, z, w)`` (ROS / ``geometry_msgs/Quaternion`` order),
  Hamilton product, active rotations (``q`` rotates a vector ``v`` to ``q v q*``).
* Rotation matrices are 3x3 numpy arrays acting on column vectors; column ``i`` is where the
  local axis ``i`` goes.
* A Viam orientation vector (OV) is ``(o_x, o_y, o_z, theta_deg)``: the direction that local
  +Z is turned to (any non-zero length; it is normalised) and a spin ``theta`` in **degrees**
  about that direction. It is the intrinsic ZYZ Euler rotation ``(lon, lat, th)``::

      lat = acos(o_z)
      lon = atan2(o_y, o_x), or 0 when 1 - |o_z| < POLE_EPSILON (at the poles)
      q   = Rz(lon) * Ry(lat) * Rz(radians(theta))

  exactly as the Viam RDK (and viam-sdk's ``spatialmath``) computes it.
  An all-zero direction (what an unset protobuf orientation decodes to) is taken as +Z,
  i.e. a pure spin of ``theta`` about +Z; viam-sdk's Rust helper returns NaN there instead.
* Axis-angle results are ``(rx, ry, rz, theta_rad)`` with a unit axis and
  ``0 <= theta <= pi``; the identity is reported as ``(0, 0, 1, 0)`` (viam-sdk's Rust helper
  reports ``(0, 0, 0, 0)``).
"""

from __future__ import annotations

import math
from typing import Sequence, Tuple

import numpy as np

Quaternion = Tuple[float, float, float, float]
OrientationVector = Tuple[float, float, float, float]
AxisAngle = Tuple[float, float, float, float]

POLE_EPSILON = 1e-4
"""``1 - |o_z|`` below which the RDK treats an orientation vector as lying on a pole."""

_IDENTITY: Quaternion = (0.0, 0.0, 0.0, 1.0)


def _normalized(q: Sequence[float]) -> Quaternion:
    if len(q) != 4:
        raise ValueError(f'a quaternion has 4 components (x, y, z, w), got {len(q)}')
    x, y, z, w = (float(c) for c in q)
    n = math.sqrt(x * x + y * y + z * z + w * w)
    if not math.isfinite(n) or n == 0.0:
        raise ValueError(f'cannot normalise quaternion {tuple(q)!r}')
    return (x / n, y / n, z / n, w / n)


def normalize_quaternion(q: Sequence[float]) -> Quaternion:
    """Return ``q`` scaled to unit length; ValueError for a zero or non-finite quaternion."""
    return _normalized(q)


def quaternion_multiply(a: Sequence[float], b: Sequence[float]) -> Quaternion:
    """Return the Hamilton product ``a * b`` of two ``(x, y, z, w)`` quaternions.

    As rotations, ``a * b`` applies ``b`` first, then ``a``.
    """
    ax, ay, az, aw = (float(c) for c in a)
    bx, by, bz, bw = (float(c) for c in b)
    return (
        aw * bx + ax * bw + ay * bz - az * by,
        aw * by - ax * bz + ay * bw + az * bx,
        aw * bz + ax * by - ay * bx + az * bw,
        aw * bw - ax * bx - ay * by - az * bz,
    )


def quaternion_conjugate(q: Sequence[float]) -> Quaternion:
    """Return the conjugate (the inverse, for a unit quaternion) of ``(x, y, z, w)``."""
    x, y, z, w = (float(c) for c in q)
    return (-x, -y, -z, w)


def _axis_rotation(axis: int, angle: float) -> Quaternion:
    half = 0.5 * angle
    s = math.sin(half)
    v = [0.0, 0.0, 0.0]
    v[axis] = s
    return (v[0], v[1], v[2], math.cos(half))


def axis_angle_to_quaternion(rx: float, ry: float, rz: float, theta_rad: float) -> Quaternion:
    """Return the quaternion turning ``theta_rad`` about the axis ``(rx, ry, rz)``.

    The axis need not be unit length; a zero axis gives the identity.
    """
    n = math.sqrt(rx * rx + ry * ry + rz * rz)
    if n == 0.0:
        return _IDENTITY
    s = math.sin(0.5 * theta_rad) / n
    return (rx * s, ry * s, rz * s, math.cos(0.5 * theta_rad))


def quaternion_to_axis_angle(q: Sequence[float]) -> AxisAngle:
    """Return ``(rx, ry, rz, theta_rad)``: unit axis, ``0 <= theta <= pi``.

    The identity (and anything within float noise of it) gives ``(0, 0, 1, 0)``.
    """
    x, y, z, w = _normalized(q)
    if w < 0.0:
        x, y, z, w = -x, -y, -z, -w
    s = math.sqrt(x * x + y * y + z * z)
    if s < 1e-12:
        return (0.0, 0.0, 1.0, 0.0)
    theta = 2.0 * math.atan2(s, w)
    return (x / s, y / s, z / s, theta)


def quaternion_to_matrix(q: Sequence[float]) -> np.ndarray:
    """Return the 3x3 rotation matrix of ``(x, y, z, w)`` (normalised first)."""
    x, y, z, w = _normalized(q)
    xx, yy, zz = x * x, y * y, z * z
    xy, xz, yz = x * y, x * z, y * z
    wx, wy, wz = w * x, w * y, w * z
    return np.array([
        [1.0 - 2.0 * (yy + zz), 2.0 * (xy - wz), 2.0 * (xz + wy)],
        [2.0 * (xy + wz), 1.0 - 2.0 * (xx + zz), 2.0 * (yz - wx)],
        [2.0 * (xz - wy), 2.0 * (yz + wx), 1.0 - 2.0 * (xx + yy)],
    ])


def rotation_matrix_to_quaternion(matrix: np.ndarray | Sequence[Sequence[float]],
                                  tolerance: float = 1e-3) -> Quaternion:
    """Return the unit quaternion ``(x, y, z, w)``, ``w >= 0``, of a 3x3 rotation matrix.

    Raises ValueError if the matrix is not 3x3, not finite, or not a proper rotation
    (``|R Rt - I|`` or ``|det R - 1|`` above ``tolerance``).
    """
    r = np.asarray(matrix, dtype=np.float64)
    if r.shape != (3, 3):
        raise ValueError(f'a rotation matrix is 3x3, got shape {r.shape}')
    if not np.all(np.isfinite(r)):
        raise ValueError('rotation matrix has non-finite entries')
    if (np.max(np.abs(r @ r.T - np.eye(3))) > tolerance
            or abs(np.linalg.det(r) - 1.0) > tolerance):
        raise ValueError('matrix is not a proper rotation (orthonormal with determinant +1)')
    # Shepperd's method: pick the largest of 4w^2, 4x^2, 4y^2, 4z^2 to divide by.
    trace = r[0, 0] + r[1, 1] + r[2, 2]
    i = int(np.argmax([trace, r[0, 0], r[1, 1], r[2, 2]]))
    if i == 0:
        s = 2.0 * math.sqrt(max(1.0 + trace, 0.0))
        q = ((r[2, 1] - r[1, 2]) / s, (r[0, 2] - r[2, 0]) / s, (r[1, 0] - r[0, 1]) / s, s / 4)
    elif i == 1:
        s = 2.0 * math.sqrt(max(1.0 + r[0, 0] - r[1, 1] - r[2, 2], 0.0))
        q = (s / 4, (r[0, 1] + r[1, 0]) / s, (r[0, 2] + r[2, 0]) / s, (r[2, 1] - r[1, 2]) / s)
    elif i == 2:
        s = 2.0 * math.sqrt(max(1.0 - r[0, 0] + r[1, 1] - r[2, 2], 0.0))
        q = ((r[0, 1] + r[1, 0]) / s, s / 4, (r[1, 2] + r[2, 1]) / s, (r[0, 2] - r[2, 0]) / s)
    else:
        s = 2.0 * math.sqrt(max(1.0 - r[0, 0] - r[1, 1] + r[2, 2], 0.0))
        q = ((r[0, 2] + r[2, 0]) / s, (r[1, 2] + r[2, 1]) / s, s / 4, (r[1, 0] - r[0, 1]) / s)
    x, y, z, w = _normalized(q)
    if w < 0.0:
        x, y, z, w = -x, -y, -z, -w
    return (float(x), float(y), float(z), float(w))


def matrix_to_axis_angle(matrix: np.ndarray | Sequence[Sequence[float]]) -> AxisAngle:
    """Return ``(rx, ry, rz, theta_rad)`` of a rotation matrix (see module docstring)."""
    return quaternion_to_axis_angle(rotation_matrix_to_quaternion(matrix))


def rpy_to_quaternion(roll: float, pitch: float, yaw: float) -> Quaternion:
    """Return ``(x, y, z, w)`` for fixed-axis roll about X, pitch about Y, yaw about Z.

    Same convention as tf2's ``Quaternion.setRPY`` and URDF ``rpy``:
    ``R = Rz(yaw) * Ry(pitch) * Rx(roll)``.
    """
    cr, sr = math.cos(0.5 * roll), math.sin(0.5 * roll)
    cp, sp = math.cos(0.5 * pitch), math.sin(0.5 * pitch)
    cy, sy = math.cos(0.5 * yaw), math.sin(0.5 * yaw)
    return (
        sr * cp * cy - cr * sp * sy,
        cr * sp * cy + sr * cp * sy,
        cr * cp * sy - sr * sp * cy,
        cr * cp * cy + sr * sp * sy,
    )


def _direction_rotation(o_x: float, o_y: float, o_z: float) -> Quaternion:
    """Return ``Rz(lon) * Ry(lat)`` of a unit direction, with the RDK's pole rule."""
    lat = math.acos(max(-1.0, min(1.0, o_z)))
    lon = 0.0
    if 1.0 - abs(o_z) > POLE_EPSILON:
        lon = math.atan2(o_y, o_x)
    return quaternion_multiply(_axis_rotation(2, lon), _axis_rotation(1, lat))


def _unit_direction(o_x: float, o_y: float, o_z: float) -> Tuple[float, float, float]:
    values = (float(o_x), float(o_y), float(o_z))
    if not all(math.isfinite(v) for v in values):
        raise ValueError(f'orientation vector has non-finite components {values!r}')
    n = math.sqrt(sum(v * v for v in values))
    if n == 0.0:
        return (0.0, 0.0, 1.0)
    return (values[0] / n, values[1] / n, values[2] / n)


def ov_to_quaternion(o_x: float, o_y: float, o_z: float, theta_deg: float) -> Quaternion:
    """Return the ``(x, y, z, w)`` quaternion of a Viam orientation vector.

    ``theta_deg`` is in degrees (as in the Viam protobuf ``Pose``). The result maps local
    +Z onto the normalised ``(o_x, o_y, o_z)``. See the module docstring for the algorithm.
    """
    if not math.isfinite(theta_deg):
        raise ValueError(f'orientation vector theta is not finite: {theta_deg!r}')
    q = quaternion_multiply(_direction_rotation(*_unit_direction(o_x, o_y, o_z)),
                            _axis_rotation(2, math.radians(theta_deg)))
    return _normalized(q)


def quaternion_to_ov(q: Sequence[float]) -> OrientationVector:
    """Return the Viam orientation vector ``(o_x, o_y, o_z, theta_deg)`` of a quaternion.

    The inverse of :func:`ov_to_quaternion`: the direction is where local +Z goes (unit
    length) and ``theta_deg`` in ``(-180, 180]`` is chosen so that ``ov_to_quaternion``
    rebuilds ``q`` (up to sign). At the poles (``1 - |o_z| < POLE_EPSILON``) the RDK's
    ``lon = 0`` rule is used, so theta is the spin relative to ``Ry(lat)``.
    """
    qn = _normalized(q)
    r = quaternion_to_matrix(qn)
    o_x, o_y, o_z = _unit_direction(*r[:, 2])
    # The remaining spin: q_th = (Rz(lon) * Ry(lat))^-1 * q, ideally a pure rotation about z.
    q_ll = _direction_rotation(o_x, o_y, o_z)
    _, _, tz, tw = quaternion_multiply(quaternion_conjugate(q_ll), qn)
    if tw < 0.0:
        tz, tw = -tz, -tw
    theta = math.degrees(2.0 * math.atan2(tz, tw))
    if theta <= -180.0:
        theta += 360.0
    return (o_x, o_y, o_z, theta)


def rotate_vector(q: Sequence[float], v: Sequence[float]) -> Tuple[float, float, float]:
    """Return the 3-vector ``v`` rotated by the quaternion ``q``."""
    out = quaternion_to_matrix(q) @ np.asarray(v, dtype=np.float64)
    return (float(out[0]), float(out[1]), float(out[2]))
