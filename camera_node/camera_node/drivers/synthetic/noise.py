"""Depth noise and holes of the synthetic camera: a step after rendering, off by default.

A stereo camera's depth error grows with the square of the distance; its images also
have pixels with no depth (no texture, no return). With ``depth_noise`` (standard
deviation in mm at 1 m) and ``depth_holes`` (the share of valid pixels dropped per
frame) the synthetic depth image gets both, drawn from a generator seeded with
``depth_noise_seed`` and the frame counter, so a run is repeatable and the true depth
stays known (the rendered scene): the depth filters can be measured against it. The
depth registered to colour is then made from the noisy depth, as a camera aligning on the
host would (:func:`camera_node.core.align.align_depth`). With both settings 0 the frame
set passes unchanged, at no cost.
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from ...core.align import align_depth
from ...core.types import CameraProperties, FrameSet


def add_noise(fs: FrameSet, seq: int, options: Mapping[str, Any],
              props: CameraProperties, align: bool = True) -> FrameSet:
    """Return fs with noise and holes in its depth (and aligned depth made from that).

    ``align=False`` leaves the aligned depth as rendered, for when the depth filter
    chain makes it again from the filtered depth anyway (aligning twice a frame).
    """
    sigma = float(options['depth_noise'])
    holes = float(options['depth_holes'])
    if (sigma <= 0.0 and holes <= 0.0) or fs.depth is None:
        return fs
    rng = np.random.default_rng([int(options['depth_noise_seed']), int(seq)])
    depth = fs.depth
    valid = depth > 0
    out = depth.astype(np.float32)
    if sigma > 0.0:
        z = out * np.float32(0.001)
        out += rng.standard_normal(out.shape, dtype=np.float32) * (np.float32(sigma) * z * z)
    noisy = np.where(valid, np.clip(np.rint(out), 1, 65535), 0).astype(np.uint16)
    if holes > 0.0:
        noisy[rng.random(noisy.shape, dtype=np.float32) < holes] = 0
    noisy.flags.writeable = False
    aligned = fs.aligned_depth
    if aligned is not None and align:
        aligned = align_depth(noisy, props.depth, props.color, props.depth_to_color)
        aligned.flags.writeable = False
    return fs.replace(depth=noisy, aligned_depth=aligned)
