"""The depth filters' parameters (realsense-ros names) and settings. No numpy, no OpenCV.

Every driver with depth takes :data:`FILTER_PARAMETERS` (in its ``PARAMETERS``), all off by
default and all runtime-settable; :class:`FilterSettings` is what they switch on, read from
the parameters' current values. What the filters do: :mod:`camera_node.core.depthfilter`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Optional, Tuple

from .errors import InvalidOptionError
from .params import ParamSpec


def _spec(name: str, default: Any, text: str, **kw: Any) -> ParamSpec:
    return ParamSpec(name, default, text, read_only=False, **kw)


#: the depth filter parameters every driver with depth takes (realsense-ros names)
FILTER_PARAMETERS = (
    _spec('threshold_filter.enable', False, 'Remove depth nearer than min_distance or '
          'farther than max_distance (realsense-ros: clip_distance is max_distance).'),
    _spec('threshold_filter.min_distance', 0.1, 'Nearest depth kept, metres.', min=0.0,
          max=65.0),
    _spec('threshold_filter.max_distance', 4.0, 'Farthest depth kept, metres.', min=0.0,
          max=65.0),
    _spec('decimation_filter.enable', False, 'Shrink the depth image by filter_magnitude '
          '(depth/image_rect_raw and its CameraInfo; aligned depth keeps the colour size).'),
    _spec('decimation_filter.filter_magnitude', 2, 'Decimation factor: each NxN block '
          'becomes one pixel (median of its valid pixels for 2, 3; mean above).', min=1,
          max=8, step=1),
    _spec('spatial_filter.enable', False, 'Edge-preserving spatial smoothing of depth.'),
    _spec('spatial_filter.filter_magnitude', 2, 'Spatial filter passes.', min=1, max=5,
          step=1),
    _spec('spatial_filter.filter_smooth_alpha', 0.5, 'Spatial filter: weight of the '
          'unsmoothed depth in each pass (1: no smoothing).', min=0.25, max=1.0),
    _spec('spatial_filter.filter_smooth_delta', 20.0, 'Spatial filter: depth step treated '
          'as an edge, not smoothed across (mm; RealSense: depth units).', min=1.0,
          max=50.0),
    _spec('spatial_filter.holes_fill', 0, 'Spatial filter hole filling along rows: 0 off, '
          '1 up to 2 px, 2 up to 4, 3 up to 8, 4 up to 16, 5 any width.', min=0, max=5,
          step=1),
    _spec('temporal_filter.enable', False, 'Temporal smoothing of depth over frames (for '
          'static scenes).'),
    _spec('temporal_filter.filter_smooth_alpha', 0.4, 'Temporal filter: weight of the new '
          'frame (1: no smoothing).', min=0.0, max=1.0),
    _spec('temporal_filter.filter_smooth_delta', 20.0, 'Temporal filter: change treated as '
          'motion, restarting the pixel (mm; RealSense: depth units).', min=1.0, max=100.0),
    _spec('temporal_filter.holes_fill', 3, 'Temporal persistency: keep the last depth of a '
          'pixel that has none now if it was valid in: 0 never, 1 8 of the last 8 frames, '
          '2 2 of 3, 3 2 of 4, 4 2 of 8, 5 1 of 2, 6 1 of 5, 7 1 of 8, 8 always.', min=0,
          max=8, step=1),
    _spec('hole_filling_filter.enable', False, 'Fill every hole in depth from its '
          'neighbours.'),
    _spec('hole_filling_filter.holes_fill', 1, 'Hole filling: 0 fill_from_left, 1 '
          'farest_from_around, 2 nearest_from_around (of the nearest valid pixels left, '
          'right, above and below).', choices=(0, 1, 2)),
)
#: their names
FILTER_NAMES = frozenset(p.name for p in FILTER_PARAMETERS)


@dataclass(frozen=True)
class FilterSettings:
    """The filters switched on and their settings; None (or decimation 1): off."""

    threshold_mm: Optional[Tuple[float, float]] = None
    decimation: int = 1
    spatial: Optional[Tuple[float, float, int, int]] = None    # alpha, delta, passes, holes
    temporal: Optional[Tuple[float, float, int]] = None         # alpha, delta, persistency
    hole_filling: Optional[int] = None

    @classmethod
    def from_options(cls, o: Mapping[str, Any]) -> 'FilterSettings':
        """Read the settings from the parameters' current values."""
        return cls(
            (1000.0 * float(o['threshold_filter.min_distance']),
             1000.0 * float(o['threshold_filter.max_distance']))
            if o['threshold_filter.enable'] else None,
            int(o['decimation_filter.filter_magnitude']) if o['decimation_filter.enable']
            else 1,
            (float(o['spatial_filter.filter_smooth_alpha']),
             float(o['spatial_filter.filter_smooth_delta']),
             int(o['spatial_filter.filter_magnitude']), int(o['spatial_filter.holes_fill']))
            if o['spatial_filter.enable'] else None,
            (float(o['temporal_filter.filter_smooth_alpha']),
             float(o['temporal_filter.filter_smooth_delta']),
             int(o['temporal_filter.holes_fill'])) if o['temporal_filter.enable'] else None,
            int(o['hole_filling_filter.holes_fill']) if o['hole_filling_filter.enable']
            else None)

    @property
    def active(self) -> bool:
        """Whether any filter is on."""
        return (self.threshold_mm is not None or self.decimation > 1 or self.spatial
                is not None or self.temporal is not None or self.hole_filling is not None)


def check_change(options: Mapping[str, Any], name: str, value: Any) -> None:
    """Refuse a filter change that contradicts the current settings.

    :raises InvalidOptionError: a minimum distance not below the maximum (or the reverse).
    """
    lo = value if name == 'threshold_filter.min_distance' else \
        options.get('threshold_filter.min_distance')
    hi = value if name == 'threshold_filter.max_distance' else \
        options.get('threshold_filter.max_distance')
    if name in ('threshold_filter.min_distance', 'threshold_filter.max_distance') \
            and float(lo) >= float(hi):
        raise InvalidOptionError(
            'threshold_filter.min_distance (%g m) must be below threshold_filter.'
            'max_distance (%g m); change the other one first' % (float(lo), float(hi)))
