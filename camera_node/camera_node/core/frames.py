"""Frame names of one camera and its fixed transforms (REP-103/105). Pure numpy.

``<name>_link`` is the body frame (x forward, y left, z up). The depth imager sits at its
origin (without depth, the colour imager does); each imager has ``<name>_<imager>_frame``
(body axes) and ``<name>_<imager>_optical_frame`` under it (z forward, x right, y down).
The colour imager's pose in the link comes from the depth-to-colour extrinsics, here and
nowhere else.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

import numpy as np

from .orientation import quaternion_to_matrix, rotation_matrix_to_quaternion, rpy_to_quaternion
from .types import CameraProperties

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

    def optical(self, imager: str) -> str:
        """Return the optical frame of an imager (``color`` or ``depth``)."""
        return getattr(self, imager + '_optical')


def _floats(values: Sequence[float]) -> Tuple[float, ...]:
    return tuple(float(v) for v in values)


def color_pose_in_link(props: CameraProperties) -> Tuple[Tuple[float, float, float],
                                                         Tuple[float, float, float, float]]:
    """Return the colour imager's body frame in the link: (translation, quaternion).

    With depth, it is the inverse of depth->colour (given between optical frames) seen in
    body axes; without depth, the identity.
    """
    if not props.has_depth or props.depth_to_color is None:
        return (0.0, 0.0, 0.0), _IDENTITY
    r = np.asarray(props.depth_to_color.rotation, dtype=float)
    t = np.asarray(props.depth_to_color.translation, dtype=float)
    o = quaternion_to_matrix(OPTICAL_QUATERNION)
    position = _floats(o @ (-r.T @ t))
    rotation = _floats(rotation_matrix_to_quaternion(o @ r.T @ o.T))
    return position, rotation


def static_transforms(names: FrameNames, props: CameraProperties, parent_frame: str = '',
                      mount_pose: Optional[Sequence[float]] = None) -> List[Transform]:
    """Return the camera's fixed frames: mount (when parent_frame is set), imagers, optical."""
    out = []
    if parent_frame:
        m = [float(v) for v in (mount_pose or [0.0] * 6)]
        out.append(Transform(parent_frame, names.link, _floats(m[:3]),
                             _floats(rpy_to_quaternion(*m[3:]))))
    if props.has_depth:
        out.append(Transform(names.link, names.depth, (0.0, 0.0, 0.0), _IDENTITY))
        out.append(Transform(names.depth, names.depth_optical, (0.0, 0.0, 0.0),
                             OPTICAL_QUATERNION))
    position, rotation = color_pose_in_link(props)
    out.append(Transform(names.link, names.color, position, rotation))
    out.append(Transform(names.color, names.color_optical, (0.0, 0.0, 0.0),
                         OPTICAL_QUATERNION))
    return out
