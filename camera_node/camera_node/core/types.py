"""The data the core passes around: intrinsics, extrinsics, device properties, frame sets.

Images are numpy arrays in fixed conventions so nothing above the drivers needs to know an
SDK: colour is ``HxWx3 uint8 RGB``; depth is ``HxW uint16`` in millimetres (0 = no depth).
"""

from __future__ import annotations

from dataclasses import dataclass, field
import math
from typing import List, Optional, Sequence

import numpy as np


@dataclass
class Intrinsics:
    """Pinhole intrinsics and distortion of one imager, for images of width x height.

    ``distortion_model`` uses ROS names (``plumb_bob`` with ``[k1, k2, p1, p2, k3]`` or
    ``rational_polynomial`` with 8 coefficients); an empty list means no distortion.
    """

    width: int
    height: int
    fx: float
    fy: float
    cx: float
    cy: float
    distortion_model: str = 'plumb_bob'
    distortion: Sequence[float] = field(default_factory=lambda: [0.0] * 5)

    def k(self) -> List[float]:
        """Row-major 3x3 camera matrix as CameraInfo.k wants it."""
        return [self.fx, 0.0, self.cx, 0.0, self.fy, self.cy, 0.0, 0.0, 1.0]

    def p(self, tx: float = 0.0) -> List[float]:
        """Row-major 3x4 projection matrix as CameraInfo.p wants it."""
        return [self.fx, 0.0, self.cx, tx, 0.0, self.fy, self.cy, 0.0, 0.0, 0.0, 1.0, 0.0]


def default_intrinsics(width: int, height: int, hfov_deg: float) -> Intrinsics:
    """Pinhole guess: square pixels, horizontal field of view hfov_deg, centred, no distortion.

    The principal point is the image centre in ROS pixel coordinates (pixel centres at
    integers): ``((w - 1) / 2, (h - 1) / 2)``.
    """
    f = (width / 2.0) / math.tan(math.radians(hfov_deg) / 2.0)
    return Intrinsics(width, height, f, f, (width - 1) / 2.0, (height - 1) / 2.0,
                      'plumb_bob', [0.0] * 5)


@dataclass
class Extrinsics:
    """Rigid transform from one imager's optical frame to another's.

    A point ``p_from`` maps to ``p_to = rotation @ p_from + translation`` (metres).
    """

    rotation: np.ndarray = field(default_factory=lambda: np.eye(3))
    translation: np.ndarray = field(default_factory=lambda: np.zeros(3))


@dataclass
class CameraProperties:
    """What a driver knows about its device once open.

    :param color: intrinsics of the colour imager (the images in ``FrameSet.color``).
    :param depth: intrinsics of the depth imager (``FrameSet.depth``), None without depth.
    :param depth_to_color: extrinsics from the depth optical frame to the colour one. The
        depth imager sits at the ``<name>_link`` origin; without depth the colour imager does.
    :param fps: nominal frame-set rate the device was configured for.
    :param intrinsics_source: where the intrinsics came from: ``device``, ``synthetic``,
        ``recording`` or ``default`` (an assumed guess).
    :param model: human-readable device model; ``serial`` its serial or source.
    """

    color: Intrinsics
    depth: Optional[Intrinsics] = None
    depth_to_color: Optional[Extrinsics] = None
    fps: float = 30.0
    intrinsics_source: str = 'device'
    model: str = ''
    serial: str = ''

    @property
    def has_depth(self) -> bool:
        """Whether the driver delivers depth."""
        return self.depth is not None


@dataclass
class FrameSet:
    """Images captured together.

    :param color: ``HxWx3 uint8`` RGB.
    :param depth: ``HxW uint16`` millimetres in the depth imager's geometry, or None.
    :param aligned_depth: ``HxW uint16`` millimetres registered to the colour image
        (same size as ``color``), or None when the driver cannot align.
    :param stamp_ns: capture time on the ROS clock (nanoseconds since the epoch).
    """

    color: np.ndarray
    depth: Optional[np.ndarray] = None
    aligned_depth: Optional[np.ndarray] = None
    stamp_ns: int = 0
