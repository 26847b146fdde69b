"""The depth filter parameters as the OAK's own StereoDepth post-processing.

On the device (``dai.StereoDepthConfig.postProcessing``, sent at start as the node's
initial config and at runtime through its config input):

* ``threshold_filter`` -> ``thresholdFilter.minRange``/``maxRange`` (mm);
* ``decimation_filter`` -> ``decimationFilter.decimationFactor`` (1..4, non-zero median);
  set when the pipeline starts (the device's output size follows it);
* ``spatial_filter`` -> ``spatialFilter`` (``enable``, ``alpha``, ``delta``,
  ``numIterations``, ``holeFillingRadius`` 2/4/8/16/255 px for holes_fill 1..5);
* ``temporal_filter`` -> ``temporalFilter`` (``enable``, ``alpha``, ``delta``, the same
  nine persistency modes, same numbers).

depthai's deltas are in disparity steps, not millimetres. ``hole_filling_filter`` runs on
the host (:func:`camera_node.core.depthops.fill_holes`): an RVC2 device has no such stage.
"""

from __future__ import annotations

from typing import Any, Mapping

import depthai as dai

from ...core.errors import InvalidOptionError
from ...core.filterparams import FilterSettings

#: decimation factors the device takes
MAX_DECIMATION = 4
#: spatial holes_fill mode -> holeFillingRadius (pixels; 255: as far as it goes)
HOLE_RADIUS = {0: 0, 1: 2, 2: 4, 3: 8, 4: 16, 5: 255}
_PERSISTENCY = list(dai.StereoDepthConfig.PostProcessing.TemporalFilter.PersistencyMode
                    .__members__.values())


def configure(config: Any, s: FilterSettings) -> Any:
    """Write the settings into a ``dai.StereoDepthConfig``'s post-processing; return it."""
    pp = config.postProcessing
    lo, hi = s.threshold_mm if s.threshold_mm is not None else (0.0, 65535.0)
    pp.thresholdFilter.minRange = int(round(lo))
    pp.thresholdFilter.maxRange = int(round(hi))
    pp.decimationFilter.decimationFactor = int(s.decimation)
    pp.decimationFilter.decimationMode = \
        dai.StereoDepthConfig.PostProcessing.DecimationFilter.DecimationMode.NON_ZERO_MEDIAN
    spatial = pp.spatialFilter
    spatial.enable = s.spatial is not None
    if s.spatial is not None:
        alpha, delta, passes, holes = s.spatial
        spatial.alpha = float(alpha)
        spatial.delta = int(round(delta))
        spatial.numIterations = int(passes)
        spatial.holeFillingRadius = HOLE_RADIUS[int(holes)]
    temporal = pp.temporalFilter
    temporal.enable = s.temporal is not None
    if s.temporal is not None:
        alpha, delta, persistency = s.temporal
        temporal.alpha = float(alpha)
        temporal.delta = int(round(delta))
        temporal.persistencyMode = _PERSISTENCY[int(persistency)]
    return config


def check_start(options: Mapping[str, Any]) -> None:
    """Refuse, at open, a decimation the device cannot do."""
    if options['decimation_filter.enable'] and \
            int(options['decimation_filter.filter_magnitude']) > MAX_DECIMATION:
        raise InvalidOptionError('decimation_filter.filter_magnitude %d: OAK devices '
                                 'decimate by 1 to %d' % (
                                     int(options['decimation_filter.filter_magnitude']),
                                     MAX_DECIMATION))


def check_runtime(name: str, value: Any) -> None:
    """Refuse a runtime change the running device cannot take (decimation)."""
    if name.startswith('decimation_filter.'):
        raise InvalidOptionError('%s cannot change while an OAK streams: the device sets its '
                                 'depth output size when the pipeline starts (restart the '
                                 'node with it)' % name)
