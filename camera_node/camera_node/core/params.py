"""Parameters: their specs, one validation, one store of current values. No ROS import.

Every parameter the node takes is a :class:`ParamSpec`: the node's own
(:func:`node_parameters`) and each driver's (``Driver.parameters``). The type of a
parameter is the type of its default. :func:`coerce` turns a value given where the meaning
is clear (an integer for a double, a number for a string) into that type, and
:func:`validate` says why a value is refused, or None. :class:`ParameterStore` holds the one
copy of the current values that the node, the services and the driver all read; it changes
only after a change has been validated and applied.
"""

from __future__ import annotations

from dataclasses import dataclass
import math
import re
from types import MappingProxyType
from typing import Any, Callable, Dict, Iterable, Mapping, Optional, Sequence, Tuple

from .errors import InvalidOptionError

#: a check beyond type and range: returns the reason a value is refused, or None
Check = Callable[[Any], Optional[str]]


@dataclass(frozen=True)
class ParamSpec:
    """A node parameter that a driver (or the node) takes.

    The type is the type of ``default``. ``read_only`` parameters need a restart; the
    others can change at runtime. ``check`` adds a rule beyond type, choices and range.
    """

    name: str
    default: Any
    description: str
    read_only: bool = True
    choices: Optional[Sequence[Any]] = None
    min: Optional[float] = None
    max: Optional[float] = None
    step: Optional[float] = None
    check: Optional[Check] = None


_NAME_TOKEN_RE = re.compile(r'^[A-Za-z_][A-Za-z0-9_]*$')


def check_name_token(value: Any) -> Optional[str]:
    """Return why value is not a ROS name token (letters, digits and _, no digit first)."""
    if not isinstance(value, str) or not _NAME_TOKEN_RE.match(value):
        return ('must be a ROS name: letters, digits and _, not starting with a digit, '
                'got %r' % (_short(value),))
    return None


def _mount_pose(value: Any) -> Optional[str]:
    if len(value) != 6:
        return 'needs 6 numbers (x, y, z, roll, pitch, yaw), got %d' % len(value)
    return None


def node_parameters(drivers: Sequence[str]) -> Tuple[ParamSpec, ...]:
    """Return the node's own parameters; ``drivers`` are the names the registry knows."""
    return (
        ParamSpec('driver', 'synthetic', 'Camera driver: %s.' % ', '.join(drivers),
                  choices=tuple(drivers)),
        ParamSpec('lifecycle', False,
                  'Run as a managed (lifecycle) node that waits for configure/activate; '
                  'false: a plain node that starts the camera at once.'),
        ParamSpec('camera_info_url', '',
                  'Calibration of the colour imager: file:///path.yaml or '
                  'package://<pkg>/path.yaml (camera_calibration_parsers YAML). '
                  "Empty: the driver's intrinsics.", read_only=False),
        ParamSpec('camera_name', 'camera',
                  'Prefix of every TF frame (<camera_name>_link, ..._color_optical_frame).',
                  check=check_name_token),
        ParamSpec('parent_frame', '',
                  'If set, publish a static transform parent_frame -> <camera_name>_link.'),
        ParamSpec('mount_pose', [0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
                  'Pose of <camera_name>_link in parent_frame: x, y, z (m), roll, pitch, '
                  'yaw (rad).', check=_mount_pose),
        ParamSpec('publish_cloud', True, 'Publish depth/color/points when it has subscribers.',
                  read_only=False),
        ParamSpec('cloud_dense', False,
                  'Dense cloud (valid points only, height 1) instead of organized with NaN.',
                  read_only=False),
        ParamSpec('cloud_decimation', 1,
                  'Keep every Nth pixel in both directions in the cloud.',
                  read_only=False, min=1, max=16, step=1),
        ParamSpec('publish_compressed', True,
                  'Publish color/image_raw/compressed (JPEG) when it has subscribers.',
                  read_only=False),
        ParamSpec('jpeg_quality', 80, 'JPEG quality of compressed images and GetImage.',
                  read_only=False, min=1, max=100, step=1),
        ParamSpec('png_level', 1, 'PNG compression level of GetImage PNG answers.',
                  read_only=False, min=0, max=9, step=1),
        ParamSpec('publish_aligned_depth', True,
                  'Publish aligned_depth_to_color/* when it has subscribers.',
                  read_only=False),
        ParamSpec('publish_in_capture_thread', False,
                  'Publish each frame set from the capture thread before the next read, '
                  'instead of handing the newest to a publish thread (which drops frame '
                  'sets the publisher could not keep up with).'),
        ParamSpec('read_timeout', 1.0, 'Seconds a frame may take before it counts as late.',
                  min=0.05, max=60.0),
        ParamSpec('reconnect_max_backoff', 5.0,
                  'Upper bound in seconds of the wait between reconnect attempts.',
                  min=0.1, max=300.0),
        ParamSpec('geometries', '',
                  'Camera geometries as a YAML/JSON list of {type: box|sphere|capsule, label, '
                  'x, y, z (mm), o_x, o_y, o_z, theta (deg), dims_mm | radius_mm, '
                  'length_mm}.', read_only=False),
        ParamSpec('diagnostics_period', 1.0, 'Seconds between /diagnostics messages (0: off).',
                  min=0.0, max=60.0),
        ParamSpec('buffer_seconds', 0.0,
                  'Pre-event buffer: keep the last N seconds of frame sets in memory for '
                  'save_clip and time-indexed GetImages (0: off).', read_only=False,
                  min=0.0, max=600.0),
        ParamSpec('buffer_memory_mb', 1024, 'Memory budget of the pre-event buffer, MB: the '
                  'oldest frame sets go first when it is full.', read_only=False,
                  min=1, max=1 << 20),
        ParamSpec('clip_directory', '',
                  'Folder save_clip writes its bags into (created if missing); clips are '
                  'written nowhere else. Empty: $ROS_HOME/camera_clips (~/.ros/camera_clips).'),
        ParamSpec('clip_compression', 'none', 'MCAP chunk compression of saved clips: none '
                  '(fastest, as rosbag2 writes by default), lz4 or zstd.', read_only=False,
                  choices=('none', 'lz4', 'zstd')),
        ParamSpec('clip_write_share', 0.5, 'Largest share of the time the clip writer thread '
                  'may spend writing (it rests the rest), so capture and publishing keep their '
                  'rate during a save; 1.0: write as fast as possible.', read_only=False,
                  min=0.05, max=1.0),
        ParamSpec('unite_imu_method', 2,
                  'imu topic (gyro and accel united at the gyro rate): 0 none, 1 copy the '
                  'newest accel sample, 2 linear_interpolation of accel to the gyro stamp '
                  '(as realsense-ros).', read_only=False, choices=(0, 1, 2)),
        ParamSpec('angular_velocity_cov', 0.01,
                  'Variance put on the diagonal of angular_velocity_covariance, (rad/s)^2.',
                  read_only=False, min=0.0, max=1e6),
        ParamSpec('linear_accel_cov', 0.01,
                  'Variance put on the diagonal of linear_acceleration_covariance, (m/s^2)^2.',
                  read_only=False, min=0.0, max=1e6),
    )


def type_name(value: Any) -> str:
    """Return the parameter type name of a value (bool, integer, double, string, ...)."""
    if isinstance(value, bool):
        return 'bool'
    if isinstance(value, int):
        return 'integer'
    if isinstance(value, float):
        return 'double'
    if isinstance(value, str):
        return 'string'
    if isinstance(value, (list, tuple)):
        if value and all(isinstance(v, bool) for v in value):
            return 'bool array'
        if value and all(isinstance(v, int) and not isinstance(v, bool) for v in value):
            return 'integer array'
        if value and all(isinstance(v, str) for v in value):
            return 'string array'
        return 'double array'
    return type(value).__name__


def coerce(spec: ParamSpec, value: Any) -> Any:
    """Return value in the spec's type where the meaning is clear, else value unchanged.

    An integer becomes a double for a double parameter and text for a string parameter
    (``-p source:=0``, ``-p serial_no:=123``); integers in a double array become doubles.
    """
    want = type_name(spec.default)
    if isinstance(value, bool):
        return value
    if want == 'double' and isinstance(value, int):
        return float(value)
    if want == 'string' and isinstance(value, (int, float)):
        return str(value)
    if want == 'double array' and isinstance(value, (list, tuple)) and all(
            isinstance(v, (int, float)) and not isinstance(v, bool) for v in value):
        return [float(v) for v in value]
    return value


def validate(spec: ParamSpec, value: Any) -> Optional[str]:
    """Return None if value is acceptable for spec, else the reason it is not."""
    want = type_name(spec.default)
    got = type_name(value)
    if want != got and not (want == 'double array' and value == []):
        article = 'an' if want[0] in 'aeiou' else 'a'
        return '%s must be %s %s, got %s %r' % (spec.name, article, want, got, _short(value))
    if isinstance(value, float) and not math.isfinite(value):
        return '%s must be a finite number, got %r' % (spec.name, value)
    if want == 'double array' and not all(math.isfinite(v) for v in value):
        return '%s must hold finite numbers, got %r' % (spec.name, _short(value))
    if spec.choices and value not in spec.choices:
        return '%s must be one of %s, got %r' % (
            spec.name, ', '.join(str(c) for c in spec.choices), _short(value))
    if spec.min is not None and got in ('integer', 'double'):
        if value < spec.min or (spec.max is not None and value > spec.max):
            return '%s must be within [%s, %s], got %r' % (
                spec.name, spec.min, spec.max, value)
    if spec.check is not None:
        reason = spec.check(value)
        if reason:
            return '%s %s' % (spec.name, reason)
    return None


_PROFILE_RE = re.compile(r'^\s*(\d+)\s*[xX]\s*(\d+)\s*[xX]\s*(\d+(?:\.\d+)?)\s*$')


def _profile_match(text: Any, fractional_fps: bool) -> Optional[Any]:
    match = _PROFILE_RE.match(text) if isinstance(text, str) else None
    if match is None or (not fractional_fps and '.' in match.group(3)):
        return None
    return match


def parse_profile(text: Any, name: str, hint: str,
                  fractional_fps: bool = False) -> Tuple[int, int, Any]:
    """Parse a ``WIDTHxHEIGHTxFPS`` stream profile into (width, height, fps).

    fps is an int, or a float when fractional_fps; ranges are for the caller to check.

    :raises InvalidOptionError: naming the parameter, with hint on what it takes.
    """
    match = _profile_match(text, fractional_fps)
    if match is None:
        raise InvalidOptionError('%s must be WIDTHxHEIGHTxFPS (%s), got %r'
                                 % (name, hint, _short(text)))
    fps = float(match.group(3)) if fractional_fps else int(match.group(3))
    return int(match.group(1)), int(match.group(2)), fps


def profile_check(hint: str, fractional_fps: bool = False) -> Check:
    """Return a :attr:`ParamSpec.check` accepting ``WIDTHxHEIGHTxFPS`` profiles."""
    def check(value: Any) -> Optional[str]:
        if _profile_match(value, fractional_fps) is None:
            return 'must be WIDTHxHEIGHTxFPS (%s), got %r' % (hint, _short(value))
        return None
    return check


def _short(value: Any, limit: int = 80) -> Any:
    """Return value, or the start of its repr when that is long (errors stay one line)."""
    text = repr(value)
    return value if len(text) <= limit else text[:limit] + '...'


class ParameterStore:
    """The current value of every parameter of one camera (node and driver).

    Built from specs and the values given at start (coerced), every value validated, the
    defaults too (a parameter without a usable default must be given): an invalid one
    raises :class:`InvalidOptionError` naming every problem. :attr:`view` is a read-only
    live mapping for readers (the driver gets it as ``options``); only :meth:`commit`
    changes a value, after the change was validated and applied.
    """

    def __init__(self, specs: Iterable[ParamSpec],
                 given: Optional[Mapping[str, Any]] = None) -> None:
        self.specs: Dict[str, ParamSpec] = {}
        self._values: Dict[str, Any] = {}
        for spec in specs:
            self.specs[spec.name] = spec
            default = spec.default
            self._values[spec.name] = list(default) if isinstance(default, tuple) else default
        self.view: Mapping[str, Any] = MappingProxyType(self._values)
        problems = []
        given = given or {}
        for name, spec in self.specs.items():
            value = coerce(spec, given[name]) if name in given else self._values[name]
            reason = validate(spec, value)
            if reason:
                problems.append(reason)
            else:
                self._values[name] = value
        if problems:
            raise InvalidOptionError('; '.join(problems))

    def __getitem__(self, name: str) -> Any:
        """Return the current value of a parameter."""
        return self._values[name]

    def __contains__(self, name: object) -> bool:
        """Whether the store has that parameter."""
        return name in self._values

    def check(self, name: str, value: Any) -> Tuple[Any, Optional[str]]:
        """Return ``(coerced value, reason or None)`` for a proposed change."""
        spec = self.specs.get(name)
        if spec is None:
            return value, 'unknown parameter %r' % name
        value = coerce(spec, value)
        return value, validate(spec, value)

    def commit(self, name: str, value: Any) -> None:
        """Record a validated and applied value."""
        self._values[name] = value

    def snapshot(self) -> Dict[str, Any]:
        """Return a copy of every current value."""
        return dict(self._values)


@dataclass(frozen=True)
class Handler:
    """What a change of one parameter does besides being stored.

    :param check: ``value -> prepared`` without side effects (parse a file, ask the
        device); raises (ValueError, InvalidOptionError, ...) with the reason to refuse.
        None: the value itself is the prepared value.
    :param apply: ``prepared -> None``: make the change take effect.
    """

    apply: Callable[[Any], None]
    check: Optional[Callable[[Any], Any]] = None


def _reason(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    if isinstance(exc, (ValueError, InvalidOptionError)):
        return text
    return '%s: %s' % (type(exc).__name__, text)


class ParameterApplier:
    """Validate every change of a request first, then apply them all, or none.

    Each change is checked against its spec (type, choices, range, ``check``) and its
    :class:`Handler`'s ``check``; only when all pass are the handlers' ``apply`` run, in
    order. If one of those fails, the ones already applied are put back to their previous
    values, and nothing is stored. Any exception becomes a refusal with its reason.
    """

    def __init__(self, store: ParameterStore) -> None:
        self.store = store
        self.handlers: Dict[str, Handler] = {}
        self._prepared: Dict[str, Any] = {}

    def on_change(self, name: str, handler: Handler, prepared: Any = None) -> None:
        """Register what a change of name does; prepared is the current value's prepared form."""
        self.handlers[name] = handler
        self._prepared[name] = self.store[name] if prepared is None else prepared

    def apply(self, changes: Sequence[Tuple[str, Any]]) -> Optional[str]:
        """Apply a request's changes (name, value); return None, or why it was refused."""
        staged = []
        for name, value in changes:
            if name not in self.store:
                continue  # not ours (qos_overrides.*, use_sim_time)
            value, reason = self.store.check(name, value)
            if reason:
                return reason
            handler = self.handlers.get(name)
            prepared = value
            if handler is not None and handler.check is not None:
                try:
                    prepared = handler.check(value)
                except Exception as exc:  # a refusal, whatever the checker raised
                    return _reason(exc)
            staged.append((name, value, prepared))
        done = []
        for name, value, prepared in staged:
            handler = self.handlers.get(name)
            if handler is not None:
                try:
                    handler.apply(prepared)
                except Exception as exc:
                    self._roll_back(done)
                    return _reason(exc)
            # stored at once: a later change of the same request may read it (an OAK
            # exposure set after auto-exposure was switched off)
            done.append((name, self.store[name]))
            self.store.commit(name, value)
        for name, value, prepared in staged:
            if name in self.handlers:
                self._prepared[name] = prepared
        return None

    def _roll_back(self, done: Sequence[Tuple[str, Any]]) -> None:
        """Put changes already applied back to their previous values, newest first."""
        for name, old in reversed(done):
            self.store.commit(name, old)
            handler = self.handlers.get(name)
            if handler is not None:
                try:
                    handler.apply(self._prepared[name])
                except Exception:  # best effort: the previous value stays recorded
                    pass
