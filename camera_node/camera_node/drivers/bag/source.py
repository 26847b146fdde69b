"""Finding and reading a rosbag2 bag of MCAP storage: files, topics, the camera in it.

A bag is a folder (``metadata.yaml`` naming its ``.mcap`` files, as ``ros2 bag record``
writes it; without ``metadata.yaml`` every ``.mcap`` in it, in name order) or one ``.mcap``
file. Its camera is found from, in this order: the ``topic_prefix`` parameter; the
``camera_node`` metadata record of a clip this package saved (topic of each frame set
field); the one prefix under which ``color/image_raw`` is recorded (realsense-ros names:
``/camera/camera/color/image_raw`` gives ``/camera/camera``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
import json
import os
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple

from mcap.reader import make_reader
from mcap_ros2.decoder import DecoderFactory
import yaml

from ...core.errors import DeviceNotFoundError, InvalidOptionError

#: frame set field -> (image topic, camera_info topic) under a camera's prefix, as
#: realsense-ros names them; a stream added to FrameSet gets a row here to be replayed
REALSENSE_LAYOUT: Tuple[Tuple[str, str, str], ...] = (
    ('color', 'color/image_raw', 'color/camera_info'),
    ('depth', 'depth/image_rect_raw', 'depth/camera_info'),
    ('aligned_depth', 'aligned_depth_to_color/image_raw', 'aligned_depth_to_color/camera_info'),
)
IMAGE_TYPE = 'sensor_msgs/msg/Image'
INFO_TYPE = 'sensor_msgs/msg/CameraInfo'
TF_STATIC = '/tf_static'


@dataclass
class Stream:
    """One frame set field as the bag records it."""

    field: str
    topic: str
    info_topic: str
    present: bool = False
    info_present: bool = False


@dataclass
class BagFiles:
    """The open files of a bag, their topics, time range and the camera streams found."""

    path: str
    files: List[str]
    readers: List[Any] = field(default_factory=list)
    handles: List[Any] = field(default_factory=list)
    topics: Dict[str, str] = field(default_factory=dict)        # topic -> type
    start_ns: int = 0
    end_ns: int = 0
    counts: Dict[str, int] = field(default_factory=dict)
    clip_about: Dict[str, str] = field(default_factory=dict)
    clip_streams: List[Dict[str, str]] = field(default_factory=list)

    def close(self) -> None:
        """Close every file."""
        for h in self.handles:
            h.close()
        self.handles, self.readers = [], []


def bag_files(path: str) -> List[str]:
    """Return the ``.mcap`` files of a bag folder or file, in play order.

    :raises DeviceNotFoundError: nothing there, or nothing this driver reads (says why).
    """
    if not path:
        raise InvalidOptionError('source is empty: give a rosbag2 folder or an .mcap file')
    if os.path.isfile(path):
        if path.endswith('.db3'):
            raise DeviceNotFoundError(
                '%s is a rosbag2 SQLite bag; this driver reads MCAP storage. Convert it: '
                'ros2 bag convert -i <bag> -o out.yaml (out.yaml: output_bags: [{uri: '
                'clip_mcap, storage_id: mcap}])' % path)
        return [path]
    if not os.path.isdir(path):
        folder = os.path.dirname(os.path.abspath(path))
        raise DeviceNotFoundError('bag %s does not exist (folder %s %s)' % (
            path, folder, 'exists' if os.path.isdir(folder) else 'does not exist'))
    meta = os.path.join(path, 'metadata.yaml')
    if os.path.isfile(meta):
        with open(meta, encoding='utf-8') as f:
            info = (yaml.safe_load(f) or {}).get('rosbag2_bagfile_information', {})
        storage = info.get('storage_identifier', '')
        if storage and storage != 'mcap':
            raise DeviceNotFoundError('bag %s has %s storage; this driver reads MCAP (convert '
                                      'it with ros2 bag convert)' % (path, storage))
        names = [os.path.basename(p) for p in info.get('relative_file_paths', [])]
        files = [os.path.join(path, n) for n in names]
        missing = [f for f in files if not os.path.isfile(f)]
        if missing:
            raise DeviceNotFoundError('bag %s: files named in metadata.yaml are missing: %s'
                                      % (path, ', '.join(missing)))
        if files:
            return files
    files = sorted(os.path.join(path, n) for n in os.listdir(path) if n.endswith('.mcap'))
    if not files:
        raise DeviceNotFoundError('no .mcap file in %s (found: %s)'
                                  % (path, ', '.join(sorted(os.listdir(path))) or 'nothing'))
    return files


def open_bag(path: str) -> BagFiles:
    """Open every file of a bag and read its summary (topics, types, counts, time range)."""
    bag = BagFiles(path, bag_files(path))
    starts, ends = [], []
    try:
        for name in bag.files:
            handle = open(name, 'rb')
            bag.handles.append(handle)
            try:
                reader = make_reader(handle)
                summary = reader.get_summary()
            except Exception as exc:
                raise DeviceNotFoundError('%s is not a readable MCAP file: %s' % (name, exc))
            bag.readers.append(reader)
            if summary is None:
                raise DeviceNotFoundError('%s has no summary section (was the recording '
                                          'cut short? mcap recover can repair it)' % name)
            schemas = summary.schemas
            for cid, ch in summary.channels.items():
                schema = schemas.get(ch.schema_id)
                bag.topics[ch.topic] = schema.name if schema is not None else ''
                n = summary.statistics.channel_message_counts.get(cid, 0) \
                    if summary.statistics else 0
                bag.counts[ch.topic] = bag.counts.get(ch.topic, 0) + n
            if summary.statistics and summary.statistics.message_count:
                starts.append(summary.statistics.message_start_time)
                ends.append(summary.statistics.message_end_time)
            for record in reader.iter_metadata():
                if record.name == 'camera_node' and not bag.clip_about:
                    bag.clip_about = dict(record.metadata)
                    bag.clip_streams = json.loads(record.metadata.get('streams', '[]'))
    except BaseException:
        bag.close()
        raise
    bag.start_ns, bag.end_ns = (min(starts), max(ends)) if starts else (0, 0)
    return bag


def find_streams(bag: BagFiles, prefix: str) -> List[Stream]:
    """Return the camera's streams in the bag (see the module doc for how it is found)."""
    if prefix:
        prefix = '/' + prefix.strip('/')
        rows = [Stream(f, prefix + '/' + t, prefix + '/' + i) for f, t, i in REALSENSE_LAYOUT]
    elif bag.clip_streams:
        rows = [Stream(s['field'], s['topic'], s.get('info_topic', ''))
                for s in bag.clip_streams]
    else:
        suffix = '/' + REALSENSE_LAYOUT[0][1]
        found = sorted(t[:-len(suffix)] for t, ty in bag.topics.items()
                       if t.endswith(suffix) and ty == IMAGE_TYPE)
        images = sorted(t for t, ty in bag.topics.items() if ty == IMAGE_TYPE)
        if len(found) != 1:
            raise DeviceNotFoundError(
                'bag %s: %s; set topic_prefix to the camera to play (image topics: %s)' % (
                    bag.path, 'no topic ends in %s' % suffix if not found else
                    'several cameras (%s)' % ', '.join(found), ', '.join(images) or 'none'))
        rows = [Stream(f, found[0] + '/' + t, found[0] + '/' + i)
                for f, t, i in REALSENSE_LAYOUT]
    for s in rows:
        s.present = bag.topics.get(s.topic) == IMAGE_TYPE and bag.counts.get(s.topic, 0) > 0
        s.info_present = bag.topics.get(s.info_topic) == INFO_TYPE
    return rows


class Decoders:
    """CDR decoders per schema (mcap_ros2), made once."""

    def __init__(self) -> None:
        self._factory = DecoderFactory()
        self._cache: Dict[int, Callable[[bytes], Any]] = {}

    def decode(self, schema: Any, channel: Any, data: bytes) -> Any:
        """Decode one message's bytes."""
        fn = self._cache.get(id(schema))
        if fn is None:
            fn = self._factory.decoder_for(channel.message_encoding, schema)
            if fn is None:
                raise InvalidOptionError('cannot decode %s (%s, %s)' % (
                    channel.topic, channel.message_encoding, getattr(schema, 'encoding', '')))
            self._cache[id(schema)] = fn
        return fn(data)


def iter_records(bag: BagFiles, topics: List[str], start_ns: Optional[int] = None,
                 end_ns: Optional[int] = None) -> Iterator[Tuple[Any, Any, Any]]:
    """Yield (schema, channel, message) of topics, file after file, in log-time order."""
    for reader in bag.readers:
        yield from reader.iter_messages(topics=topics, starting_at=start_ns,
                                        ending_before=end_ns, log_time_order=True)


def first_messages(bag: BagFiles, decoders: Decoders, topics: List[str]) -> Dict[str, Any]:
    """Return the first decoded message of each topic (scanning only those topics)."""
    out: Dict[str, Any] = {}
    wanted = [t for t in topics if t in bag.topics]
    for reader in bag.readers:
        for schema, channel, message in reader.iter_messages(topics=wanted):
            if channel.topic not in out:
                out[channel.topic] = decoders.decode(schema, channel, message.data)
                if len(out) == len(wanted):
                    return out
    return out


def all_messages(bag: BagFiles, decoders: Decoders, topic: str) -> List[Any]:
    """Return every decoded message of a (small) topic such as /tf_static."""
    if topic not in bag.topics:
        return []
    return [decoders.decode(s, c, m.data) for s, c, m in iter_records(bag, [topic])]
