"""Parameters of the OAK-D driver. Imports no SDK, so launch files and tools can use it."""

from __future__ import annotations

from typing import Any, Optional, Tuple

from ...core.params import parse_profile as _parse_profile, profile_check, ParamSpec

#: what color_profile takes, in error messages
PROFILE_HINT = 'e.g. 640x400x30'
#: StereoDepth preset modes of depthai v3 (the driver checks the installed SDK has it)
DEPTH_PRESETS = ('DEFAULT', 'ROBOTICS', 'FAST_ACCURACY', 'FAST_DENSITY', 'HIGH_DETAIL',
                 'ACCURACY', 'DENSITY', 'FACE')
#: colour output limits: size (the 12 MP IMX378 sensor) and frame rate
MIN_SIZE, MAX_SIZE = (16, 16), (4056, 3040)
MIN_FPS, MAX_FPS = 0.5, 120.0

_format_check = profile_check(PROFILE_HINT, fractional_fps=True)


def _profile_range(text: Any) -> Optional[str]:
    """Return why a well-formed profile is out of range for the colour camera, or None."""
    width, height, fps = _parse_profile(text, 'color_profile', PROFILE_HINT,
                                        fractional_fps=True)
    if not (MIN_SIZE[0] <= width <= MAX_SIZE[0] and MIN_SIZE[1] <= height <= MAX_SIZE[1]):
        return '%r: size must be between %dx%d and %dx%d' % ((text,) + MIN_SIZE + MAX_SIZE)
    if width % 2 or height % 2:
        return '%r: width and height must be even' % (text,)
    if not MIN_FPS <= fps <= MAX_FPS:
        return '%r: fps must be between %g and %g' % (text, MIN_FPS, MAX_FPS)
    return None


def check_color_profile(value: Any) -> Optional[str]:
    """Return why value is not a colour profile the OAK camera takes, or None."""
    return _format_check(value) or _profile_range(value)


def parse_profile(text: Any) -> Tuple[int, int, float]:
    """Parse a ``WIDTHxHEIGHTxFPS`` colour profile such as ``640x400x30`` (fps may be 12.5).

    :raises InvalidOptionError: the string is malformed (range checks are the spec's).
    """
    return _parse_profile(text, 'color_profile', PROFILE_HINT, fractional_fps=True)


PARAMETERS = (
    ParamSpec('device_id', '', "device id (MXID), USB path or IP to open; '' = first "
              'found'),
    ParamSpec('color_profile', '640x400x30', 'colour stream WIDTHxHEIGHTxFPS; depth is '
              'aligned to it at the same size', check=check_color_profile),
    ParamSpec('enable_depth', True, 'run the stereo pair and publish depth aligned to '
              'colour'),
    ParamSpec('depth_preset', 'DEFAULT', 'StereoDepth preset mode', choices=DEPTH_PRESETS),
    ParamSpec('enable_infra1', False, 'publish the rectified left mono image (640x400, '
              'mono8) as infra1/image_rect_raw'),
    ParamSpec('enable_infra2', False, 'publish the rectified right mono image as '
              'infra2/image_rect_raw (its CameraInfo P carries the baseline)'),
    ParamSpec('enable_gyro', False, 'stream the IMU gyroscope (GYROSCOPE_RAW)'),
    ParamSpec('enable_accel', False, 'stream the IMU accelerometer (ACCELEROMETER_RAW)'),
    ParamSpec('gyro_fps', 400, 'gyroscope rate in Hz (the IMU picks the nearest it '
              'supports)', min=1, max=1000),
    ParamSpec('accel_fps', 200, 'accelerometer rate in Hz (the IMU picks the nearest it '
              'supports)', min=1, max=1000),
    ParamSpec('sync_mode', 'timestamp', 'pair colour and depth by nearest timestamp '
              '(within half a frame) or by equal sequence number',
              choices=('timestamp', 'sequence')),
    ParamSpec('auto_exposure', True, 'colour auto exposure (off: exposure_us and iso '
              'apply)', read_only=False),
    ParamSpec('exposure_us', 10000, 'colour manual exposure time in microseconds (used '
              'when auto_exposure is false)', read_only=False, min=1, max=33000, step=1),
    ParamSpec('iso', 400, 'colour manual sensitivity ISO (used when auto_exposure is '
              'false)', read_only=False, min=100, max=1600, step=1),
    ParamSpec('auto_white_balance', True, 'colour auto white balance (off: '
              'white_balance_k applies)', read_only=False),
    ParamSpec('white_balance_k', 5000, 'colour manual white balance in kelvin (used '
              'when auto_white_balance is false)', read_only=False, min=1000, max=12000,
              step=1),
    ParamSpec('ir_laser_intensity', 0.0, 'IR dot projector intensity 0..1 (Pro models '
              'only)', read_only=False, min=0.0, max=1.0),
    ParamSpec('ir_flood_intensity', 0.0, 'IR flood light intensity 0..1 (Pro models '
              'only)', read_only=False, min=0.0, max=1.0),
)
