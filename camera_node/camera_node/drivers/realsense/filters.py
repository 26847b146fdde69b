"""librealsense's own post-processing blocks for the depth filter parameters.

The parameters (:mod:`camera_node.core.filterparams`) carry librealsense's option names
and ranges, so each maps one to one: ``threshold_filter`` -> ``rs.threshold_filter``
(``min_distance``/``max_distance``, metres), ``decimation_filter`` ->
``rs.decimation_filter`` (``filter_magnitude``; depth only, so the infrared images keep
their size), ``spatial_filter`` -> ``rs.spatial_filter``, ``temporal_filter`` ->
``rs.temporal_filter``, ``hole_filling_filter`` -> ``rs.hole_filling_filter`` (each with
``filter_magnitude``, ``filter_smooth_alpha``, ``filter_smooth_delta``, ``holes_fill``
as they have). They run on the pipeline's frame set in librealsense's order before
``rs.align``, in the capture thread; settings changed at runtime are applied there before
the next frame set. Depth units are the device's (1 mm on most D400 cameras; the deltas
are in those units).
"""

from __future__ import annotations

from typing import Any, List, Optional, Tuple

import pyrealsense2 as rs

from ...core.filterparams import FilterSettings


def _set(block: Any, option: Any, value: float) -> None:
    if option in block.get_supported_options():
        block.set_option(option, float(value))


class RsFilters:
    """The processing blocks of one device, configured from :class:`FilterSettings`."""

    def __init__(self) -> None:
        self._settings: Optional[FilterSettings] = None
        self._chain: List[Any] = []
        self._temporal: Optional[Any] = None

    def _configure(self, s: FilterSettings) -> None:
        chain = []
        if s.threshold_mm is not None:
            block = rs.threshold_filter()
            _set(block, rs.option.min_distance, s.threshold_mm[0] / 1000.0)
            _set(block, rs.option.max_distance, s.threshold_mm[1] / 1000.0)
            chain.append(block)
        if s.decimation > 1:
            block = rs.decimation_filter()
            _set(block, rs.option.filter_magnitude, s.decimation)
            _set(block, rs.option.stream_filter, float(rs.stream.depth.value))
            _set(block, rs.option.stream_format_filter, float(rs.format.z16.value))
            chain.append(block)
        if s.spatial is not None:
            alpha, delta, passes, holes = s.spatial
            block = rs.spatial_filter()
            for option, value in ((rs.option.filter_magnitude, passes),
                                  (rs.option.filter_smooth_alpha, alpha),
                                  (rs.option.filter_smooth_delta, delta),
                                  (rs.option.holes_fill, holes)):
                _set(block, option, value)
            chain.append(block)
        if s.temporal is not None:
            # one block kept across changes of its own settings: it holds the history
            previous = self._settings.temporal if self._settings is not None else None
            if self._temporal is None or previous is None or self._settings.decimation \
                    != s.decimation:
                self._temporal = rs.temporal_filter()
            alpha, delta, persistency = s.temporal
            _set(self._temporal, rs.option.filter_smooth_alpha, alpha)
            _set(self._temporal, rs.option.filter_smooth_delta, delta)
            _set(self._temporal, rs.option.holes_fill, persistency)
            chain.append(self._temporal)
        else:
            self._temporal = None
        if s.hole_filling is not None:
            block = rs.hole_filling_filter()
            _set(block, rs.option.holes_fill, s.hole_filling)
            chain.append(block)
        self._chain = chain
        self._settings = s

    def process(self, frames: 'rs.composite_frame',
                s: FilterSettings) -> Tuple['rs.composite_frame', bool]:
        """Return the frame set with its depth filtered, and whether anything ran."""
        if s != self._settings:
            self._configure(s)
        if not self._chain:
            return frames, False
        out: Any = frames
        for block in self._chain:
            out = block.process(out)
        return out.as_frameset(), True
