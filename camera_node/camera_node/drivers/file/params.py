"""Parameters of the file driver. Imports no SDK, so launch files and tools can use it."""

from __future__ import annotations

from ...core.filterparams import FILTER_PARAMETERS
from ...core.params import ParamSpec
from ..opencv.sources import check_file_source, check_sequence_pattern

PARAMETERS = (
    ParamSpec('source', '',
              'What to play: a video file (.mkv, .avi, .mp4) or an image-sequence pattern '
              '(img_%04d.png, first index 0-4). Cameras and URLs: driver webcam.',
              check=check_file_source),
    ParamSpec('backend', 'auto',
              'OpenCV backend: auto (OpenCV picks), ffmpeg, images, gstreamer.',
              choices=('auto', 'ffmpeg', 'images', 'gstreamer')),
    ParamSpec('fps', 0.0,
              'Playback rate overriding the rate in the file (0: use it). Image sequences '
              'carry no rate: 0 means unknown.', min=0.0, max=1000.0),
    ParamSpec('loop', False, 'Rewind at the end instead of ending the stream (set at the '
              'end, it plays again from the start).', read_only=False),
    ParamSpec('realtime', True, 'Deliver frames at the rate of the file (or fps) instead '
              'of as fast as they can be read.', read_only=False),
    ParamSpec('file_stamp', 'arrival',
              'Stamp frames with the system time they are delivered (arrival), or with the '
              'time of the first frame plus the position in the file (media: keeps the '
              'recorded spacing exactly).', choices=('arrival', 'media')),
    ParamSpec('depth_source', '',
              'Image-sequence pattern of 16-bit PNG depth images matching the colour '
              'frames one to one, same size (empty: no depth).',
              check=check_sequence_pattern),
    ParamSpec('depth_scale', 1.0, 'Multiplier turning depth PNG values into millimetres '
              '(TUM RGB-D: 0.2, i.e. 5000 units per metre).', read_only=False,
              min=1e-6, max=1000.0),
    ParamSpec('default_hfov_deg', 60.0, 'Horizontal field of view assumed for the default '
              'intrinsics when no calibration file is given, degrees.', min=1.0,
              max=179.0),
) + FILTER_PARAMETERS
