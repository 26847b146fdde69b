"""Camera geometries (Viam GetGeometries): the parameter's format, parsed and checked.

Geometries come from the ``geometries`` parameter, a YAML (or JSON) list. Each entry::

    - type: box            # box | sphere | capsule
      label: housing
      x: 0.0               # centre, millimetres, in the camera frame
      y: 0.0
      z: -12.5
      o_x: 0.0             # orientation vector (direction of local +Z) ...
      o_y: 0.0
      o_z: 1.0
      theta: 0.0           # ... and the rotation about it, degrees
      dims_mm: [90, 25, 25]     # box: full edge lengths x, y, z
      # radius_mm: 10           # sphere, capsule
      # length_mm: 40           # capsule: tip to tip along local +Z, >= 2 * radius

The camera frame is the colour imager's optical frame (``<name>_color_optical_frame``: z
out of the lens, x right, y down), which is what Viam calls the camera's frame.
"""

from __future__ import annotations

from dataclasses import dataclass
import math
import re
from typing import Any, List, Optional, Tuple

from ..core.bounded import load_json, load_yaml, TextError
from ..core.orientation import ov_to_quaternion

SHAPES = ('box', 'sphere', 'capsule')
#: most geometries one camera may have (each is a TF frame and a marker)
MAX_GEOMETRIES = 64
#: longest label (part of a TF frame name)
MAX_LABEL_CHARS = 64
#: largest size of the parameter's text, bytes
MAX_GEOMETRIES_BYTES = 64 * 1024


class GeometryError(ValueError):
    """A geometry entry that cannot be used, with the reason."""


@dataclass
class CameraGeometry:
    """One geometry: Viam form (mm, orientation vector in degrees) plus ROS form."""

    shape: str
    label: str
    center_mm: Tuple[float, float, float]
    ov: Tuple[float, float, float, float]
    dims_mm: Tuple[float, float, float] = (0.0, 0.0, 0.0)
    radius_mm: float = 0.0
    length_mm: float = 0.0

    @property
    def quaternion(self) -> Tuple[float, float, float, float]:
        """Return the (x, y, z, w) rotation of the orientation vector (RDK algorithm)."""
        return tuple(ov_to_quaternion(*self.ov))

    @property
    def position_m(self) -> Tuple[float, float, float]:
        """Return the centre in metres."""
        return tuple(c / 1000.0 for c in self.center_mm)

    def frame_name(self, camera_name: str, index: int) -> str:
        """Return the TF frame name of this geometry (label sanitised, or its index)."""
        base = re.sub(r'[^A-Za-z0-9_]', '_', self.label) if self.label else str(index)
        return '%s_geometry_%s' % (camera_name, base)


def _number(entry: dict, key: str, default: Optional[float], where: str) -> float:
    value = entry.get(key, default)
    if value is None:
        raise GeometryError('%s: %r is required' % (where, key))
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise GeometryError('%s: %r must be a number, got %s' % (where, key, _kind(value)))
    try:
        f = float(value)
    except OverflowError:
        f = math.inf
    if not math.isfinite(f):
        raise GeometryError('%s: %r must be finite' % (where, key))
    return f


def _kind(value: Any) -> str:
    """Name the type of a value without formatting it (it may be huge)."""
    return {list: 'a list', dict: 'a mapping', str: 'text'}.get(type(value),
                                                                type(value).__name__)


def _dims(entry: dict, where: str) -> Tuple[float, float, float]:
    dims = entry.get('dims_mm')
    if isinstance(dims, dict):
        dims = [dims.get(k) for k in ('x', 'y', 'z')]
    if not isinstance(dims, (list, tuple)) or len(dims) != 3:
        raise GeometryError('%s: box needs dims_mm as [x, y, z] or {x, y, z}' % where)
    out = tuple(_number({'d': d}, 'd', None, where + ' dims_mm') for d in dims)
    if min(out) <= 0:
        raise GeometryError('%s: box dims_mm must all be > 0, got %s'
                            % (where, [round(v, 3) for v in out]))
    return out


def parse_geometry(entry: Any, index: int) -> CameraGeometry:
    """Validate one entry of the geometries list."""
    where = 'geometry %d' % index
    if not isinstance(entry, dict):
        raise GeometryError('%s must be a mapping, got %s' % (where, _kind(entry)))
    shape = entry.get('type', '')
    shape = shape.lower() if isinstance(shape, str) else ''
    if shape not in SHAPES:
        raise GeometryError('%s: type must be one of %s'
                            % (where, ', '.join(SHAPES)))
    label = entry.get('label', '')
    if not isinstance(label, str) or len(label) > MAX_LABEL_CHARS:
        raise GeometryError('%s: label must be a string of at most %d characters'
                            % (where, MAX_LABEL_CHARS))
    where = '%s (%s)' % (where, label or shape)
    center = tuple(_number(entry, k, 0.0, where) for k in ('x', 'y', 'z'))
    ov = (_number(entry, 'o_x', 0.0, where), _number(entry, 'o_y', 0.0, where),
          _number(entry, 'o_z', 1.0, where), _number(entry, 'theta', 0.0, where))
    if ov[0] == ov[1] == ov[2] == 0.0:
        raise GeometryError('%s: orientation vector (o_x, o_y, o_z) must not be zero' % where)
    geo = CameraGeometry(shape, label, center, ov)
    if shape == 'box':
        geo.dims_mm = _dims(entry, where)
    else:
        geo.radius_mm = _number(entry, 'radius_mm', None, where)
        if geo.radius_mm < 0:
            raise GeometryError('%s: radius_mm must be >= 0, got %s' % (where, geo.radius_mm))
        if shape == 'capsule':
            geo.length_mm = _number(entry, 'length_mm', None, where)
            if geo.length_mm < 2 * geo.radius_mm:
                raise GeometryError('%s: capsule length_mm (%s) must be at least 2 x radius_mm'
                                    ' (%s)' % (where, geo.length_mm, 2 * geo.radius_mm))
    return geo


def parse_geometries(text: str) -> List[CameraGeometry]:
    """Parse the geometries parameter (YAML or JSON list); raise GeometryError."""
    if not isinstance(text, str):
        raise GeometryError('geometries must be text')
    if not text.strip():
        return []
    try:
        data = load_yaml(text, 'geometries', MAX_GEOMETRIES_BYTES, max_depth=4)
    except TextError as exc:
        try:   # JSON that YAML 1.1 does not read (tabs, for example)
            data = load_json(text, 'geometries', MAX_GEOMETRIES_BYTES, max_depth=4)
        except TextError:
            raise GeometryError(str(exc)) from None
    if data is None:
        return []
    if isinstance(data, dict):
        data = [data]
    if not isinstance(data, list):
        raise GeometryError('geometries must be a list of mappings, got %s' % _kind(data))
    if len(data) > MAX_GEOMETRIES:
        raise GeometryError('geometries holds %d entries; at most %d are accepted'
                            % (len(data), MAX_GEOMETRIES))
    return [parse_geometry(e, i) for i, e in enumerate(data)]
