"""Parameters of the bag driver. Imports no SDK, so launch files and tools can use it."""

from __future__ import annotations

from typing import Any, Optional

from ...core.params import ParamSpec


def _source(value: Any) -> Optional[str]:
    if not value:
        return ('is empty: give a rosbag2 folder (ros2 bag record, save_clip) or an .mcap '
                'file to play')
    return None


def _prefix(value: Any) -> Optional[str]:
    if value and not all(part and (part[0].isalpha() or part[0] == '_')
                         and all(c.isalnum() or c == '_' for c in part)
                         for part in value.strip('/').split('/')):
        return 'must be a topic namespace such as /camera/camera, got %r' % (value,)
    return None


PARAMETERS = (
    ParamSpec('source', '',
              'The recording to play: a rosbag2 folder of MCAP storage (with metadata.yaml, '
              'as ros2 bag record and save_clip write it) or one .mcap file.', check=_source),
    ParamSpec('topic_prefix', '',
              'Namespace of the recorded camera topics, e.g. /camera/camera (realsense-ros '
              'names: <prefix>/color/image_raw, ...). Empty: the streams a clip names, or '
              'the only camera in the bag.', check=_prefix),
    ParamSpec('loop', False, 'Play again from start_offset at the end instead of ending the '
              'stream (set at the end, it plays again).', read_only=False),
    ParamSpec('realtime', True, 'Deliver frame sets at the recorded pace (times rate) instead '
              'of as fast as they can be read.', read_only=False),
    ParamSpec('rate', 1.0, 'Playback speed factor with realtime (2.0: twice as fast).',
              read_only=False, min=0.01, max=100.0),
    ParamSpec('start_offset', 0.0, 'Seconds into the bag where playback starts (and loops '
              'back to).', min=0.0, max=1e7),
    ParamSpec('end_offset', 0.0, 'Seconds into the bag where playback ends (0: the end).',
              min=0.0, max=1e7),
    ParamSpec('restamp', False, 'Stamp frame sets with the time they are delivered instead '
              'of the recorded capture times.'),
    ParamSpec('publish_clock', False, 'Publish /clock from the recorded time being played '
              '(for nodes run with use_sim_time:=true; not with restamp).'),
)
