"""Parameters of the webcam driver. Imports no SDK, so launch files and tools can use it."""

from __future__ import annotations

from ...core.params import ParamSpec
from ..opencv.sources import check_fourcc, check_live_source

PARAMETERS = (
    ParamSpec('source', '0',
              'What to open: a device index (0), a device path (/dev/video0) or a URL '
              '(http://..., rtsp://...). Video files and image sequences: driver file.',
              check=check_live_source),
    ParamSpec('backend', 'auto',
              'OpenCV backend: auto (V4L2 for devices, FFmpeg for URLs), v4l2, ffmpeg, '
              'gstreamer.', choices=('auto', 'v4l2', 'ffmpeg', 'gstreamer')),
    ParamSpec('width', 0, 'Requested width in pixels (0: leave as is); the actual width is '
              'read back.', min=0, max=16384, step=1),
    ParamSpec('height', 0, 'Requested height in pixels (0: leave as is); the actual height '
              'is read back.', min=0, max=16384, step=1),
    ParamSpec('fps', 0.0,
              'Devices: requested frame rate (0: leave as is), read back. URLs: the nominal '
              'rate of a stream that carries none (MJPEG over HTTP; 0: unknown).',
              min=0.0, max=1000.0),
    ParamSpec('fourcc', '',
              'Requested pixel format of a device, e.g. MJPG or YUYV (empty: leave as '
              'is). MJPG usually unlocks higher resolutions and rates on USB webcams.',
              check=check_fourcc),
    ParamSpec('jpeg_passthrough', True, 'When the source sends JPEG (MJPG devices, MJPEG over '
              'HTTP), publish its bytes on color/image_raw/compressed unchanged and decode '
              'them only for raw images, the cloud and services; false: decode every frame.'),
    ParamSpec('open_timeout', 5.0, 'Seconds to wait for a URL to open and for the first '
              'frame of a live source.', min=0.1, max=120.0),
    ParamSpec('stream_read_timeout', 5.0, 'Seconds a URL read may block before the stream '
              'counts as lost.', min=0.1, max=120.0),
    ParamSpec('default_hfov_deg', 60.0, 'Horizontal field of view assumed for the default '
              'intrinsics when no calibration file is given, degrees.', min=1.0,
              max=179.0),
)
