"""The parameters each driver takes, declared without importing any driver's SDK.

The node declares them (through ``Driver.parameters``, which each driver class sets from
here) and the launch files check launch arguments against them: importing this module
loads neither pyrealsense2, depthai nor OpenCV, so ``ros2 launch`` stays quiet and quick
whatever the driver. :func:`camera_node.drivers.driver_parameters` looks them up by
driver name.
"""

from __future__ import annotations

from typing import Dict, Tuple

from .base import ParamSpec

#: StereoDepth preset names of depthai v3 (the oakd driver accepts those its SDK has)
OAKD_DEPTH_PRESETS: Tuple[str, ...] = (
    'DEFAULT', 'ROBOTICS', 'FAST_ACCURACY', 'FAST_DENSITY', 'HIGH_DETAIL', 'ACCURACY',
    'DENSITY', 'FACE')
#: OpenCV capture backends the webcam and file drivers can be told to use
WEBCAM_BACKENDS: Tuple[str, ...] = ('auto', 'v4l2', 'ffmpeg', 'images', 'gstreamer')

SYNTHETIC_PARAMETERS: Tuple[ParamSpec, ...] = (
    ParamSpec('width', 640, 'Image width in pixels (colour and depth).', min=16, max=3840),
    ParamSpec('height', 480, 'Image height in pixels (colour and depth).', min=16, max=2160),
    ParamSpec('fps', 30.0, 'Frame-set rate in Hz.', read_only=False, min=0.5, max=240.0),
    ParamSpec('hfov_deg', 60.0, 'Horizontal field of view of both imagers, degrees.',
              min=10.0, max=150.0),
    ParamSpec('motion', False, 'Swing the sphere along x (4 s period) so frames change.',
              read_only=False),
)

REALSENSE_PARAMETERS: Tuple[ParamSpec, ...] = (
    ParamSpec('serial_no', '', 'serial number of the device to open (a leading _ is '
              'stripped, so _0123 stays a string); empty: the first one found (with '
              'playback_file: checked against the recorded serial)'),
    ParamSpec('color_profile', '640x480x30',
              'colour stream WIDTHxHEIGHTxFPS (0 = any); ignored in playback'),
    ParamSpec('depth_profile', '640x480x30',
              'depth stream WIDTHxHEIGHTxFPS (0 = any); ignored in playback'),
    ParamSpec('enable_depth', True, 'stream depth as well as colour'),
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
    ParamSpec('color_enable_auto_exposure', True, 'colour camera auto exposure',
              read_only=False),
    ParamSpec('color_exposure', -1, 'colour exposure in units of 100 us (setting it '
              'turns auto exposure off); -1: device setting', read_only=False,
              min=-1, max=10000),
)

OAKD_PARAMETERS: Tuple[ParamSpec, ...] = (
    ParamSpec('device_id', '', "device id (MXID), USB path or IP to open; '' = first "
              'found'),
    ParamSpec('color_profile', '640x400x30', 'colour stream WIDTHxHEIGHTxFPS; depth is '
              'aligned to it at the same size'),
    ParamSpec('enable_depth', True, 'run the stereo pair and publish depth aligned to '
              'colour'),
    ParamSpec('depth_preset', 'DEFAULT', 'StereoDepth preset mode', choices=OAKD_DEPTH_PRESETS),
    ParamSpec('sync_mode', 'timestamp', 'pair colour and depth by nearest timestamp '
              '(within half a frame) or by equal sequence number',
              choices=['timestamp', 'sequence']),
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

WEBCAM_PARAMETERS: Tuple[ParamSpec, ...] = (
    ParamSpec('source', '0',
              'What to open: a device index (0), a device path (/dev/video0), a video '
              'file, an image-sequence pattern (img_%04d.png) or a URL '
              '(http://..., rtsp://...).'),
    ParamSpec('backend', 'auto',
              'OpenCV backend: auto (V4L2 for devices, FFmpeg for URLs, OpenCV picks for '
              'files), v4l2, ffmpeg, images, gstreamer.',
              choices=WEBCAM_BACKENDS),
    ParamSpec('width', 0, 'Requested width in pixels (0: leave as is). Live devices only; '
              'the actual width is read back.', min=0, max=16384, step=1),
    ParamSpec('height', 0, 'Requested height in pixels (0: leave as is). Live devices '
              'only; the actual height is read back.', min=0, max=16384, step=1),
    ParamSpec('fps', 0.0,
              'Devices: requested frame rate (0: leave as is), read back. Files and '
              'sequences: playback rate overriding the rate in the file (0: use it). '
              'Sequences and MJPEG-over-HTTP streams carry no rate: 0 means unknown.',
              min=0.0, max=1000.0),
    ParamSpec('fourcc', '',
              'Requested pixel format of a device, e.g. MJPG or YUYV (empty: leave as '
              'is). MJPG usually unlocks higher resolutions and rates on USB webcams.'),
    ParamSpec('loop', False, 'Files and sequences: rewind at the end instead of ending '
              'the stream.', read_only=False),
    ParamSpec('realtime', True, 'Files and sequences: deliver frames at the rate of the '
              'file (or fps) instead of as fast as they can be read.', read_only=False),
    ParamSpec('file_stamp', 'arrival',
              'Files and sequences: stamp frames with the system time they are delivered '
              '(arrival), or with the time of the first frame plus the position '
              'in the file (media: keeps the recorded spacing exactly).',
              choices=('arrival', 'media')),
    ParamSpec('depth_source', '',
              'Image-sequence pattern of 16-bit PNG depth images matching a file or '
              'sequence source frame by frame (empty: no depth).'),
    ParamSpec('depth_scale', 1.0, 'Multiplier turning depth PNG values into millimetres '
              '(TUM RGB-D: 0.2, i.e. 5000 units per metre).', read_only=False,
              min=1e-6, max=1000.0),
    ParamSpec('open_timeout', 5.0, 'Seconds to wait for a URL to open and for the first '
              'frame of a live source.', min=0.1, max=120.0),
    ParamSpec('stream_read_timeout', 5.0, 'Seconds a URL read may block before the stream '
              'counts as lost.', min=0.1, max=120.0),
    ParamSpec('default_hfov_deg', 60.0, 'Horizontal field of view assumed for the default '
              'intrinsics when no calibration file is given, degrees.', min=1.0,
              max=179.0),
)


#: driver name (as in ``camera_node.drivers.DRIVERS``) -> its parameters
PARAMETERS: Dict[str, Tuple[ParamSpec, ...]] = {
    'synthetic': SYNTHETIC_PARAMETERS,
    'realsense': REALSENSE_PARAMETERS,
    'oakd': OAKD_PARAMETERS,
    'webcam': WEBCAM_PARAMETERS,
    'file': WEBCAM_PARAMETERS,
}
