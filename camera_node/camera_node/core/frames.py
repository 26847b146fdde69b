"""Frame names of one camera, its fixed transforms and extrinsics (REP-103/105). Pure numpy.

``<name>_link`` is the body frame (x forward, y left, z up). The depth imager sits at its
origin (without depth, the colour imager does); each sensor (``color``, ``depth``,
``infra1``, ``infra2``, ``imu``) has ``<name>_<sensor>_frame`` (body axes) and
``<name>_<sensor>_optical_frame`` under it (z forward, x right, y down; the IMU's samples
are in its optical frame, as realsense-ros publishes them). Every sensor's pose in the link
and the extrinsics between any two sensors come from the driver's extrinsics
(:meth:`CameraProperties.from_reference`), here and nowhere else.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

import numpy as np

from .orientation import quaternion_to_matrix, rotation_matrix_to_quaternion, rpy_to_quaternion
from .types import CameraProperties, Extrinsics

#: quaternion (x, y, z, w) of an optical frame in its imager's body frame:
#: roll=-pi/2, yaw=-pi/2 (REP-103), so optical z = body x, optical x = body -y.
OPTICAL_QUATERNION = (-0.5, 0.5, -0.5, 0.5)
_IDENTITY = (0.0, 0.0, 0.0, 1.0)


@dataclass(frozen=True)
class Transform:
    """A fixed transform: ``child``'s pose in ``parent`` (metres, quaternion x, y, z, w)."""

    parent: str
    child: str
    translation: Tuple[float, float, float]
    rotation: Tuple[float, float, float, float]


class FrameNames:
    """The TF frame names of one camera, all prefixed with its ``camera_name``."""

    def __init__(self, camera_name: str) -> None:
        self.camera_name = camera_name
        self.link = camera_name + '_link'
        self.color = camera_name + '_color_frame'
        self.color_optical = camera_name + '_color_optical_frame'
        self.depth = camera_name + '_depth_frame'
        self.depth_optical = camera_name + '_depth_optical_frame'
        for sensor in ('infra1', 'infra2', 'imu'):
            setattr(self, sensor, '%s_%s_frame' % (camera_name, sensor))
            setattr(self, sensor + '_optical', '%s_%s_optical_frame' % (camera_name, sensor))

    def body(self, sensor: str) -> str:
        """Return the body-axes frame of a sensor (``color``, ``depth``, ``infra1``, ...)."""
        return getattr(self, sensor)

    def optical(self, sensor: str) -> str:
        """Return the optical frame of a sensor (``color``, ``depth``, ``infra1``, ...)."""
        return getattr(self, sensor + '_optical')


def _floats(values: Sequence[float]) -> Tuple[float, ...]:
    return tuple(float(v) for v in values)


def sensor_pose_in_link(props: CameraProperties, sensor: str) -> Tuple[
        Tuple[float, float, float], Tuple[float, float, float, float]]:
    """Return a sensor's body frame in the link: (translation, quaternion).

    It is the inverse of reference->sensor (given between optical frames) seen in body
    axes; the reference imager itself is at the identity.
    """
    if sensor == props.reference():
        return (0.0, 0.0, 0.0), _IDENTITY
    ext = props.from_reference(sensor)
    r = np.asarray(ext.rotation, dtype=float)
    t = np.asarray(ext.translation, dtype=float)
    o = quaternion_to_matrix(OPTICAL_QUATERNION)
    position = _floats(o @ (-r.T @ t))
    rotation = _floats(rotation_matrix_to_quaternion(o @ r.T @ o.T))
    return position, rotation


def extrinsics_between(props: CameraProperties, a: str, b: str) -> Extrinsics:
    """Return the extrinsics from sensor a's optical frame to sensor b's: p_b = R p_a + t."""
    ea, eb = props.from_reference(a), props.from_reference(b)
    ra, rb = np.asarray(ea.rotation, float), np.asarray(eb.rotation, float)
    rotation = rb @ ra.T
    return Extrinsics(rotation, np.asarray(eb.translation, float)
                      - rotation @ np.asarray(ea.translation, float))


def extrinsics_pairs(props: CameraProperties) -> List[Tuple[str, str, Extrinsics]]:
    """Return (a, b, extrinsics a->b) for every pair of the device's sensors, once each.

    Pairs follow :data:`~camera_node.core.types.SENSORS` order (``depth`` before ``color``
    before ``infra1``...), so the names read as realsense-ros' ``depth_to_color``.
    """
    sensors = props.sensors()
    return [(a, b, extrinsics_between(props, a, b))
            for i, a in enumerate(sensors) for b in sensors[i + 1:]]


def stereo_baseline_m(props: CameraProperties) -> Optional[float]:
    """Return the infrared pair's baseline: infra2's origin along infra1's x axis (metres).

    None without both imagers. Positive for a right imager to the right of the left one,
    so ``P[3] = -fx * baseline`` in the right imager's CameraInfo (ROS stereo convention).
    """
    if props.infra1 is None or props.infra2 is None:
        return None
    # infra2's origin (p = 0) in infra1's frame is the translation of infra2 -> infra1
    return float(np.asarray(extrinsics_between(props, 'infra2', 'infra1').translation,
                            float)[0])


def static_transforms(names: FrameNames, props: CameraProperties, parent_frame: str = '',
                      mount_pose: Optional[Sequence[float]] = None) -> List[Transform]:
    """Return the camera's fixed frames: mount (when parent_frame is set), sensors, optical."""
    out = []
    if parent_frame:
        m = [float(v) for v in (mount_pose or [0.0] * 6)]
        out.append(Transform(parent_frame, names.link, _floats(m[:3]),
                             _floats(rpy_to_quaternion(*m[3:]))))
    for sensor in props.sensors():
        position, rotation = sensor_pose_in_link(props, sensor)
        out.append(Transform(names.link, names.body(sensor), position, rotation))
        out.append(Transform(names.body(sensor), names.optical(sensor), (0.0, 0.0, 0.0),
                             OPTICAL_QUATERNION))
    return out
