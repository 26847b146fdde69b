"""Parameters of the RealSense driver. Imports no SDK, so launch files and tools can use it."""

from __future__ import annotations

from typing import Any, Tuple

from ...core.params import parse_profile as _parse_profile, profile_check, ParamSpec

#: what a stream profile takes, in error messages
PROFILE_HINT = 'non-negative integers, e.g. 640x480x30, 0 meaning any'


def parse_profile(text: Any, name: str = 'profile') -> Tuple[int, int, int]:
    """Parse a ``WIDTHxHEIGHTxFPS`` stream profile; 0 in a field means "any".

    :raises InvalidOptionError: the string is not three non-negative integers joined by x.
    """
    return _parse_profile(text, name, PROFILE_HINT)


def serial_number(value: Any) -> str:
    """Return a ``serial_no`` value as the serial to look for ('' = any).

    A leading ``_`` is stripped (realsense-ros style), so ``_0123`` stays a string when
    given on a command line.
    """
    return str(value or '').strip().lstrip('_')


PARAMETERS = (
    ParamSpec('serial_no', '', 'serial number of the device to open (a leading _ is '
              'stripped, so _0123 stays a string); empty: the first one found (with '
              'playback_file: checked against the recorded serial)'),
    ParamSpec('color_profile', '640x480x30',
              'colour stream WIDTHxHEIGHTxFPS (0 = any); ignored in playback',
              check=profile_check(PROFILE_HINT)),
    ParamSpec('depth_profile', '640x480x30',
              'depth stream WIDTHxHEIGHTxFPS (0 = any); ignored in playback',
              check=profile_check(PROFILE_HINT)),
    ParamSpec('enable_depth', True, 'stream depth as well as colour'),
    ParamSpec('enable_infra1', False, 'stream the left infrared imager (Y8, mono8) at '
              'depth_profile: infra1/image_rect_raw'),
    ParamSpec('enable_infra2', False, 'stream the right infrared imager (Y8, mono8) at '
              'depth_profile: infra2/image_rect_raw'),
    ParamSpec('enable_gyro', False, 'stream the gyro of the motion module (D435i, D455, '
              'D457...): gyro/sample and, with enable_accel, imu'),
    ParamSpec('enable_accel', False, 'stream the accelerometer of the motion module'),
    ParamSpec('gyro_fps', 0, 'gyro rate in Hz (e.g. 200 or 400); 0: the highest the '
              'device offers', min=0, max=2000),
    ParamSpec('accel_fps', 0, 'accelerometer rate in Hz (e.g. 63, 100, 200, 250); 0: the '
              'highest the device offers', min=0, max=2000),
    ParamSpec('align_depth', True, 'also deliver depth aligned to colour (rs.align)'),
    ParamSpec('playback_file', '', 'play this .db3 (or legacy .bag) recording instead '
              'of opening a device; empty: live device'),
    ParamSpec('playback_loop', False, 'restart the recording at its end instead of '
              'ending the stream'),
    ParamSpec('device_lost_timeout', 5.0, 'seconds without frames after which the '
              'device counts as lost (the node then reconnects)', min=0.1, max=60.0),
    ParamSpec('enable_auto_exposure', True, 'depth module auto exposure',
              read_only=False),
    ParamSpec('exposure', -1, 'depth module exposure in microseconds (setting it '
              'turns auto exposure off); -1: device setting', read_only=False,
              min=-1, max=200000),
    ParamSpec('gain', -1, 'depth module gain; -1: device setting', read_only=False,
              min=-1, max=248),
    ParamSpec('laser_power', -1.0, 'projector power in mW; -1: device setting',
              read_only=False, min=-1.0, max=360.0),
    ParamSpec('emitter_enabled', -1, 'projector: 0 off, 1 on, 2 auto; -1: device '
              'setting', read_only=False, min=-1, max=2),
    ParamSpec('emitter_on_off', False, 'alternate the projector frame by frame (each '
              "frame's state is in <stream>/metadata); false: the device setting",
              read_only=False),
    ParamSpec('color_enable_auto_exposure', True, 'colour camera auto exposure',
              read_only=False),
    ParamSpec('color_exposure', -1, 'colour exposure in units of 100 us (setting it '
              'turns auto exposure off); -1: device setting', read_only=False,
              min=-1, max=10000),
)
