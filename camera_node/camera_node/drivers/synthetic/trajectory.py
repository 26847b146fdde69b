"""The synthetic camera's optional trajectory and the exact IMU readings along it.

The rig's body is the IMU (its frame has the optical axes: x right, y down, z forward).
Its pose in the scene frame (:mod:`.scene`; gravity points along +y, "down") is a smooth
periodic path with analytic derivatives, so positions, velocities, accelerations and
angular velocities are exact at any instant:

* position ``p(t) = IMU_IN_COLOR + (ax sin wt, ay sin 2wt, az (1 - cos wt))``;
* orientation ``R(t) = Ry(yaw) Rx(pitch) Rz(roll)`` with yaw, pitch and roll sinusoids
  (turning left and right, nodding, rolling), ``R(0)`` the identity.

At ``t = 0`` the colour camera is at the scene origin, at rest orientation. The IMU reads
``gyro = omega_body`` and ``accel = R^T (a - g)`` with ``g = (0, +9.80665, 0)``: specific
force, gravity included (at rest it reads 9.81 m/s^2 *upwards*, along -y), plus optional
white noise (given as a noise density) and a constant bias.
"""

from __future__ import annotations

from dataclasses import dataclass
import math
from typing import Sequence, Tuple

import numpy as np

from ...core.orientation import rotation_matrix_to_quaternion

#: standard gravity, m/s^2, along +y (down) in the scene frame
GRAVITY = 9.80665
#: the IMU's origin in the colour optical frame (m); its axes are the optical axes
IMU_IN_COLOR = np.array([0.006, 0.005, -0.012])

Vec = Tuple[float, float, float]


def _rot_x(a: float) -> np.ndarray:
    c, s = math.cos(a), math.sin(a)
    return np.array([[1.0, 0.0, 0.0], [0.0, c, -s], [0.0, s, c]])


def _rot_y(a: float) -> np.ndarray:
    c, s = math.cos(a), math.sin(a)
    return np.array([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]])


def _rot_z(a: float) -> np.ndarray:
    c, s = math.cos(a), math.sin(a)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


@dataclass(frozen=True)
class State:
    """The IMU body's exact state at time t (scene frame unless said otherwise)."""

    t: float
    position: np.ndarray          #: m
    rotation: np.ndarray          #: 3x3, body -> scene
    velocity: np.ndarray          #: m/s
    acceleration: np.ndarray      #: m/s^2 (kinematic, without gravity)
    omega_body: np.ndarray        #: rad/s, in the body (IMU) frame

    def specific_force_body(self) -> np.ndarray:
        """Return what an ideal accelerometer reads: R^T (a - g), m/s^2."""
        return self.rotation.T @ (self.acceleration - np.array([0.0, GRAVITY, 0.0]))

    def quaternion(self) -> Tuple[float, float, float, float]:
        """Orientation as (x, y, z, w)."""
        return tuple(float(v) for v in rotation_matrix_to_quaternion(self.rotation))

    def color_pose(self) -> Tuple[np.ndarray, np.ndarray]:
        """Return the colour optical frame's (rotation, origin) in the scene frame."""
        return self.rotation, self.position - self.rotation @ IMU_IN_COLOR


class Trajectory:
    """A smooth loop through the scene, period ``period_s`` seconds.

    :param period_s: seconds for one loop (larger: slower motion).
    :param amplitude: metres of sideways (x), vertical (y) and forward (z) travel.
    :param angles: radians of yaw, pitch and roll swing.
    """

    def __init__(self, period_s: float = 8.0, amplitude: Sequence[float] = (0.25, 0.05, 0.4),
                 angles: Sequence[float] = (0.17, 0.08, 0.05)) -> None:
        self.w = 2.0 * math.pi / period_s
        self.ax, self.ay, self.az = (float(v) for v in amplitude)
        self.yaw, self.pitch, self.roll = (float(v) for v in angles)

    def _angles(self, t: float) -> Tuple[Vec, Vec]:
        """Return (yaw, pitch, roll) and their rates at t."""
        w = self.w
        a = (self.yaw * math.sin(w * t), self.pitch * math.sin(1.5 * w * t),
             self.roll * math.sin(2.0 * w * t))
        rates = (self.yaw * w * math.cos(w * t), self.pitch * 1.5 * w * math.cos(1.5 * w * t),
                 self.roll * 2.0 * w * math.cos(2.0 * w * t))
        return a, rates

    def state(self, t: float) -> State:
        """Return the exact state at t seconds."""
        w = self.w
        s1, c1, s2, c2 = math.sin(w * t), math.cos(w * t), math.sin(2 * w * t), \
            math.cos(2 * w * t)
        offset = np.array([self.ax * s1, self.ay * s2, self.az * (1.0 - c1)])
        velocity = np.array([self.ax * w * c1, 2 * self.ay * w * c2, self.az * w * s1])
        acceleration = np.array([-self.ax * w * w * s1, -4 * self.ay * w * w * s2,
                                 self.az * w * w * c1])
        (yaw, pitch, roll), (dyaw, dpitch, droll) = self._angles(t)
        a, b, c = _rot_y(yaw), _rot_x(pitch), _rot_z(roll)
        # R = A B C  =>  omega_body = C^T B^T (dyaw e_y) + C^T (dpitch e_x) + droll e_z
        omega = c.T @ (b.T @ np.array([0.0, dyaw, 0.0]) + np.array([dpitch, 0.0, 0.0])) \
            + np.array([0.0, 0.0, droll])
        return State(t, IMU_IN_COLOR + offset, a @ b @ c, velocity, acceleration, omega)


def at_rest(t: float) -> State:
    """Return the state of a camera that does not move (no trajectory)."""
    zero = np.zeros(3)
    return State(t, IMU_IN_COLOR.copy(), np.eye(3), zero, zero.copy(), zero.copy())
