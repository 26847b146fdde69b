"""Parameters of the synthetic driver (no rendering import, like every driver's params)."""

from __future__ import annotations

from typing import Any, Optional

from ...core.params import ParamSpec


def _three(value: Any) -> Optional[str]:
    if len(value) != 3:
        return 'needs 3 numbers (x, y, z), got %d' % len(value)
    return None


PARAMETERS = (
    ParamSpec('width', 640, 'Image width in pixels (colour, depth and infrared).',
              min=16, max=3840),
    ParamSpec('height', 480, 'Image height in pixels (colour, depth and infrared).',
              min=16, max=2160),
    ParamSpec('fps', 30.0, 'Frame-set rate in Hz.', read_only=False, min=0.5, max=240.0),
    ParamSpec('hfov_deg', 60.0, 'Horizontal field of view of every imager, degrees.',
              min=10.0, max=150.0),
    ParamSpec('motion', False, 'Swing the sphere along x (4 s period) so frames change.',
              read_only=False),
    ParamSpec('trajectory', False,
              'Move the camera through the scene on a smooth loop (trajectory_period '
              's): every image is rendered from the moving pose, the IMU reads the exact '
              'motion, DoCommand ground_truth gives the true pose. Costs a full render '
              'per frame.'),
    ParamSpec('trajectory_period', 8.0, 'Seconds per loop of the trajectory.',
              min=1.0, max=600.0),
    ParamSpec('enable_infra1', False, 'Render the left infrared image (at the depth '
              'imager, mono8).'),
    ParamSpec('enable_infra2', False, 'Render the right infrared image (ir_baseline to '
              'the right of infra1, mono8).'),
    ParamSpec('ir_baseline', 0.05, 'Stereo baseline of the infrared pair, metres.',
              min=0.005, max=1.0),
    ParamSpec('emitter_enabled', 1, 'IR dot projector: 0 off, 1 on.', read_only=False,
              choices=(0, 1)),
    ParamSpec('emitter_on_off', False, 'Alternate the projector frame by frame (on for '
              'even frame counters, off for odd); each frame says which in its metadata.',
              read_only=False),
    ParamSpec('enable_gyro', False, 'Deliver gyro samples (rad/s).'),
    ParamSpec('enable_accel', False, 'Deliver accelerometer samples (m/s^2, gravity '
              'included).'),
    ParamSpec('gyro_fps', 400.0, 'Gyro sample rate, Hz.', min=1.0, max=2000.0),
    ParamSpec('accel_fps', 200.0, 'Accelerometer sample rate, Hz.', min=1.0, max=2000.0),
    ParamSpec('gyro_noise_density', 0.0, 'Gyro white noise, rad/s/sqrt(Hz) (0: exact).',
              min=0.0, max=1.0),
    ParamSpec('accel_noise_density', 0.0, 'Accelerometer white noise, m/s^2/sqrt(Hz) '
              '(0: exact).', min=0.0, max=10.0),
    ParamSpec('gyro_bias', [0.0, 0.0, 0.0], 'Constant gyro bias x, y, z, rad/s.',
              check=_three),
    ParamSpec('accel_bias', [0.0, 0.0, 0.0], 'Constant accelerometer bias x, y, z, m/s^2.',
              check=_three),
    ParamSpec('imu_seed', 0, 'Seed of the IMU noise (the same seed gives the same noise).',
              min=0, max=2 ** 31 - 1),
)
