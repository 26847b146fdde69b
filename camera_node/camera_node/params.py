"""Every parameter of the node, declared in one place with descriptors.

The node's own parameters are :data:`NODE_PARAMETERS`; each driver adds its own
(:attr:`camera_node.drivers.base.Driver.parameters`). :func:`declare` turns a
:class:`ParamSpec` into a declared ROS parameter with a descriptor (description, range or
allowed values, read-only when a change needs a restart), and :func:`validate` checks a
new value against the spec, returning a reason when it is rejected.
"""

from __future__ import annotations

from typing import Any, Iterable, Optional

from .drivers.base import ParamSpec

NODE_PARAMETERS = (
    ParamSpec('driver', 'synthetic', 'Camera driver: synthetic, realsense, oakd, webcam, file.',
              choices=('synthetic', 'realsense', 'oakd', 'webcam', 'file')),
    ParamSpec('lifecycle', False,
              'Run as a managed (lifecycle) node that waits for configure/activate; '
              'false: configure and activate at start.'),
    ParamSpec('camera_info_url', '',
              'Calibration of the colour imager: file:///path.yaml or '
              'package://<pkg>/path.yaml (camera_calibration_parsers YAML). '
              "Empty: the driver's intrinsics.", read_only=False),
    ParamSpec('camera_name', 'camera',
              'Prefix of every TF frame (<camera_name>_link, ..._color_optical_frame).'),
    ParamSpec('parent_frame', '',
              'If set, publish a static transform parent_frame -> <camera_name>_link.'),
    ParamSpec('mount_pose', [0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
              'Pose of <camera_name>_link in parent_frame: x, y, z (m), roll, pitch, yaw '
              '(rad).'),
    ParamSpec('publish_cloud', True, 'Publish depth/color/points when it has subscribers.',
              read_only=False),
    ParamSpec('cloud_dense', False,
              'Dense cloud (valid points only, height 1) instead of organized with NaN.',
              read_only=False),
    ParamSpec('cloud_decimation', 1, 'Keep every Nth pixel in both directions in the cloud.',
              read_only=False, min=1, max=16, step=1),
    ParamSpec('publish_compressed', True,
              'Publish color/image_raw/compressed (JPEG) when it has subscribers.',
              read_only=False),
    ParamSpec('jpeg_quality', 80, 'JPEG quality of compressed images and GetImage.',
              read_only=False, min=1, max=100, step=1),
    ParamSpec('png_level', 1, 'PNG compression level of GetImage PNG answers.',
              read_only=False, min=0, max=9, step=1),
    ParamSpec('publish_aligned_depth', True,
              'Publish aligned_depth_to_color/* when it has subscribers.', read_only=False),
    ParamSpec('publish_in_capture_thread', False,
              'Publish each frame set from the capture thread before the next read, '
              'instead of handing the newest to a publish thread (which drops frame sets '
              'the publisher could not keep up with).'),
    ParamSpec('read_timeout', 1.0, 'Seconds a frame may take before it counts as late.',
              min=0.05, max=60.0),
    ParamSpec('reconnect_max_backoff', 5.0,
              'Upper bound in seconds of the wait between reconnect attempts.',
              min=0.1, max=300.0),
    ParamSpec('geometries', '',
              'Camera geometries as a YAML/JSON list of {type: box|sphere|capsule, label, '
              'x, y, z (mm), o_x, o_y, o_z, theta (deg), dims_mm | radius_mm, length_mm}.',
              read_only=False),
    ParamSpec('diagnostics_period', 1.0, 'Seconds between /diagnostics messages (0: off).',
              min=0.0, max=60.0),
)


def _type_name(value: Any) -> str:
    if isinstance(value, bool):
        return 'bool'
    if isinstance(value, int):
        return 'integer'
    if isinstance(value, float):
        return 'double'
    if isinstance(value, str):
        return 'string'
    if isinstance(value, (list, tuple)):
        return 'double array' if value and isinstance(value[0], float) else 'array'
    return type(value).__name__


def descriptor(spec: ParamSpec):
    """Build the rcl_interfaces ParameterDescriptor of a spec."""
    from rcl_interfaces.msg import (FloatingPointRange, IntegerRange,
                                    ParameterDescriptor)
    d = ParameterDescriptor(description=spec.description, read_only=spec.read_only)
    if spec.min is not None and spec.max is not None and not isinstance(spec.default, bool):
        if isinstance(spec.default, int):
            d.integer_range = [IntegerRange(from_value=int(spec.min), to_value=int(spec.max),
                                            step=int(spec.step or 1))]
        elif isinstance(spec.default, float):
            d.floating_point_range = [FloatingPointRange(
                from_value=float(spec.min), to_value=float(spec.max),
                step=float(spec.step or 0.0))]
    if spec.choices:
        d.additional_constraints = 'one of: ' + ', '.join(str(c) for c in spec.choices)
    return d


def declare(node, specs: Iterable[ParamSpec]) -> dict:
    """Declare every spec on node; return name -> value (after launch/YAML overrides)."""
    values = {}
    for spec in specs:
        default = spec.default
        if isinstance(default, tuple):
            default = list(default)
        if not node.has_parameter(spec.name):
            node.declare_parameter(spec.name, default, descriptor(spec))
        values[spec.name] = node.get_parameter(spec.name).value
    return values


def validate(spec: ParamSpec, value: Any) -> Optional[str]:
    """Return None if value is acceptable for spec, else the reason it is not."""
    want = _type_name(spec.default)
    got = _type_name(value)
    if want != got and not (want == 'double' and got == 'integer'):
        return '%s must be a %s, got %s %r' % (spec.name, want, got, value)
    if spec.choices and value not in spec.choices:
        return '%s must be one of %s, got %r' % (
            spec.name, ', '.join(str(c) for c in spec.choices), value)
    if spec.min is not None and not isinstance(value, (bool, str, list, tuple)):
        if value < spec.min or (spec.max is not None and value > spec.max):
            return '%s must be within [%s, %s], got %r' % (spec.name, spec.min, spec.max, value)
    if spec.name == 'mount_pose' and len(value) != 6:
        return 'mount_pose needs 6 numbers (x, y, z, roll, pitch, yaw), got %d' % len(value)
    return None
