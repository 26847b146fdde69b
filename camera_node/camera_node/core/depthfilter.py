"""Depth filters: the numpy/OpenCV chain for drivers whose SDK has none.

Every driver with depth takes the parameters of :mod:`camera_node.core.filterparams`
(realsense-ros names), all off by default and all runtime-settable: a threshold (min/max
distance), decimation, an edge-preserving spatial filter, a temporal filter and hole
filling, applied in that order (librealsense's). The
RealSense driver runs librealsense's own filters, the OAK driver the device's
post-processing; every other driver gets :class:`DepthFilter`, the numpy/OpenCV chain of
:mod:`camera_node.core.depthops`, run by the driver seam on each frame set before anyone
sees it, so topics, services, clips and the cloud all get filtered depth.

Filtering happens before alignment: the driver's depth image is filtered, then depth
registered to colour is made from it (:func:`camera_node.core.align.align_depth`), so the
aligned image and the cloud agree with the filtered depth. **Decimation** shrinks the depth
image only: ``depth/image_rect_raw`` gets the decimated size and the frame set carries its
intrinsics (``depth_intrinsics``: ``f / d``, ``(c - (d - 1) / 2) / d``), which its
CameraInfo follows; aligned depth stays at the colour size with the colour intrinsics
(each decimated pixel covers a d x d block of it), so the cloud keeps its size and
``cloud_decimation`` still thins it.
"""

from __future__ import annotations

from typing import Any, Dict, Optional, Tuple

import numpy as np

from . import depthops
from .align import align_depth
from .filterparams import FilterSettings
from .types import CameraProperties, Extrinsics, FrameSet, Intrinsics


class DepthFilter:
    """The numpy/OpenCV filter chain of one camera, with the temporal filter's memory."""

    def __init__(self) -> None:
        self._temporal: Dict[str, depthops.TemporalState] = {}
        self._last: Optional[FilterSettings] = None

    def _run(self, key: str, depth: np.ndarray, intr: Optional[Intrinsics],
             s: FilterSettings) -> Tuple[np.ndarray, Optional[Intrinsics]]:
        out = depth
        if s.threshold_mm is not None:
            out = depthops.threshold(out, *s.threshold_mm)
        if s.decimation > 1:
            out = depthops.decimate(out, s.decimation)
            if intr is not None:
                intr = depthops.decimated_intrinsics(intr, s.decimation)
        if s.spatial is not None:
            alpha, delta, passes, holes = s.spatial
            out = depthops.spatial(out, alpha, delta, passes, holes)
        state = self._temporal.setdefault(key, depthops.TemporalState())
        if s.temporal is not None:
            out = state.apply(out, *s.temporal)
        else:
            state.reset()
        if s.hole_filling is not None:
            out = depthops.fill_holes(out, s.hole_filling)
        if out is depth:
            out = depth.copy()
        out.flags.writeable = False
        return out, intr

    def process(self, fs: FrameSet, props: CameraProperties,
                s: FilterSettings) -> FrameSet:
        """Return fs with its depth filtered and its aligned depth made from that."""
        last = self._last
        if last is not None and (s.decimation, s.temporal) != (last.decimation, last.temporal):
            for state in self._temporal.values():
                state.reset()
        self._last = s
        if not s.active or (fs.depth is None and fs.aligned_depth is None):
            return fs
        changes: Dict[str, Any] = {}
        color = props.color
        if fs.depth is not None:
            intr = fs.depth_intrinsics or props.depth
            depth, dintr = self._run('depth', fs.depth, intr, s)
            changes['depth'] = depth
            if dintr is not intr:
                changes['depth_intrinsics'] = dintr
            if fs.aligned_depth is not None:
                if props.depth_to_color is not None and dintr is not None:
                    changes['aligned_depth'] = self._aligned(
                        align_depth(depth, dintr, color, props.depth_to_color))
                else:    # where depth is relative to colour is not known: filter both
                    aligned, aintr = self._run('aligned_depth', fs.aligned_depth, color, s)
                    changes['aligned_depth'] = self._to_color(aligned, aintr, color)
        else:
            aligned, aintr = self._run('aligned_depth', fs.aligned_depth, color, s)
            changes['aligned_depth'] = self._to_color(aligned, aintr, color)
        return fs.replace(**changes)

    def _to_color(self, aligned: np.ndarray, intr: Intrinsics,
                  color: Intrinsics) -> np.ndarray:
        if intr is color:
            return aligned
        return self._aligned(align_depth(aligned, intr, color, Extrinsics()))

    @staticmethod
    def _aligned(image: np.ndarray) -> np.ndarray:
        image.flags.writeable = False
        return image
