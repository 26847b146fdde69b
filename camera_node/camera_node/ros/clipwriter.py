"""Writing a clip as a rosbag2 bag of MCAP storage: what ``ros2 bag record`` would have made.

A clip is a folder ``<name>/`` holding ``<name>_0.mcap`` and ``metadata.yaml``, the layout
of ``ros2 bag record -s mcap``, so every distro's ``ros2 bag play <folder>`` and Foxglove
(open the ``.mcap``) read it. Inside, following rosbag2's MCAP storage plugin:

* profile ``ros2``; every message CDR (``cdr``): CameraInfo and TF serialized by rclpy,
  images by :func:`image_cdr` (the same bytes, one copy fewer; a test compares them);
* schemas ``ros2msg``: the ``.msg`` text of the type, then each type it uses after a line
  of 80 ``=`` and ``MSG: pkg/Type`` (read from the installed interface packages, as
  rosbag2 does);
* each channel's ``offered_qos_profiles`` (the publisher's QoS as YAML; integer policies,
  rosbag2 metadata version 8, which Humble through Rolling read alike);
* a ``rosbag2`` metadata record holding the same ``serialized_metadata`` as
  ``metadata.yaml``, so the ``.mcap`` file alone also plays (Jazzy and newer);
* a ``camera_node`` metadata record mapping topics to frame set fields, which the ``bag``
  driver uses to replay the clip field for field.

Messages: every image stream of the camera (``sensor_msgs/Image`` on its real topic, the
pixels of one frame set field) with its CameraInfo, all with the frame set's capture stamp
as header stamp, log time and publish time; ``/tf_static`` once at the start and again
when the transforms changed. Records of other kinds (IMU) go through :data:`RECORD_WRITERS`.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
import json
import os
import re
import struct
from typing import Any, Callable, Dict, List, Optional, Tuple

from ament_index_python.packages import get_package_share_directory, PackageNotFoundError
from mcap.writer import CompressionType, Writer
import numpy as np
from rclpy.serialization import serialize_message
from sensor_msgs.msg import CameraInfo
import yaml

from ..core.files import make_new_folder, open_new_file
from ..core.frames import Transform
from ..core.prebuffer import Entry
from .messages import own_camera_info, stamp_msg, transform_messages
from .tf import TF_STATIC_QOS, TFMessage

#: rosbag2 metadata version written (integer QoS policies: read by Humble .. Rolling)
BAG_VERSION = 8
_SEPARATOR = '=' * 80
_PRIMITIVES = {'bool', 'byte', 'char', 'float32', 'float64', 'int8', 'uint8', 'int16',
               'uint16', 'int32', 'uint32', 'int64', 'uint64', 'string', 'wstring'}
_FIELD_TYPE = re.compile(r'^\s*([A-Za-z][A-Za-z0-9_/]*)(?:<=\d+)?(?:\[[^\]]*\])?\s+\w')
_COMPRESSION = {'none': CompressionType.NONE, 'lz4': CompressionType.LZ4,
                'zstd': CompressionType.ZSTD}
#: record kind -> (topic, ROS type name, QoS, item + stamp -> message); #12's IMU goes here
RECORD_WRITERS: Dict[str, Tuple[str, str, Any, Callable[[Any, int], Any]]] = {}


def _msg_file(type_name: str) -> Tuple[str, str]:
    parts = type_name.split('/')
    package, name = parts[0], parts[-1]
    try:
        share = get_package_share_directory(package)
    except PackageNotFoundError as exc:
        raise LookupError('no definition of %s: package %s is not installed'
                          % (type_name, package)) from exc
    path = os.path.join(share, 'msg', name + '.msg')
    if not os.path.isfile(path):
        raise LookupError('no definition of %s: %s does not exist' % (type_name, path))
    with open(path, encoding='utf-8') as f:
        return package, f.read()


def message_definition(type_name: str) -> str:
    """Return the ``ros2msg`` schema text of a type as rosbag2 writes it (with dependencies).

    :raises LookupError: a type's ``.msg`` file is not installed.
    """
    seen = set()

    def text_of(name: str) -> str:
        package, text = _msg_file(name)
        out = text
        deps = set()
        for line in text.splitlines():
            match = _FIELD_TYPE.match(line.split('#', 1)[0])
            if match and match.group(1) not in _PRIMITIVES:
                t = match.group(1)
                deps.add(t if '/' in t else package + '/' + t)
        for dep in sorted(deps):
            if dep not in seen:
                seen.add(dep)
                out += '\n%s\nMSG: %s\n%s' % (_SEPARATOR, dep, text_of(dep))
        return out
    return text_of(type_name)


def qos_yaml(qos: Any) -> str:
    """Return rosbag2's ``offered_qos_profiles`` text (metadata version 8) for one QoS."""
    def t(d: Any) -> Dict[str, int]:
        ns = int(getattr(d, 'nanoseconds', 0) or 0)
        return {'sec': ns // 1_000_000_000, 'nsec': ns % 1_000_000_000}
    profile = {
        'history': int(qos.history), 'depth': int(qos.depth),
        'reliability': int(qos.reliability), 'durability': int(qos.durability),
        'deadline': t(qos.deadline), 'lifespan': t(qos.lifespan),
        'liveliness': int(qos.liveliness),
        'liveliness_lease_duration': t(qos.liveliness_lease_duration),
        'avoid_ros_namespace_conventions': bool(qos.avoid_ros_namespace_conventions),
    }
    return yaml.safe_dump([profile], sort_keys=False).strip()


@dataclass(frozen=True)
class ClipStream:
    """One image stream as a clip records it (taken from the live stream table)."""

    field: str
    key: str
    topic: str
    info_topic: Optional[str]
    encoding: str
    frame_id: str
    qos: Any
    info_qos: Any


@dataclass(frozen=True)
class ClipContext:
    """What a frame set needs to be written besides its pixels: CameraInfo, transforms."""

    infos: Dict[str, CameraInfo]        # stream key -> CameraInfo (a private copy)
    transforms: Tuple[Transform, ...]


def make_context(infos: Dict[str, Optional[CameraInfo]],
                 transforms: List[Transform]) -> ClipContext:
    """Return a context holding copies (the live CameraInfo messages keep changing stamps)."""
    return ClipContext({k: copy.deepcopy(v) for k, v in infos.items() if v is not None},
                       tuple(transforms))


def _cdr_string(text: str) -> bytes:
    raw = text.encode('utf-8') + b'\0'
    return struct.pack('<I', len(raw)) + raw


def _pad(n: int) -> bytes:
    return b'\0' * (-n % 4)


def image_cdr(pixels: Any, encoding: str, frame_id: str, stamp_ns: int) -> bytes:
    """Return a sensor_msgs/Image serialized as CDR (little endian), with one copy of pixels.

    The same bytes as ``serialize_message`` of the Image ``image_message`` builds (a test
    checks it), without building the message: the writer thread holds the GIL less.
    """
    a = np.ascontiguousarray(pixels)
    h, w = a.shape[:2]
    step = int(a.strides[0])
    head = bytearray(b'\0\1\0\0')                    # CDR little endian
    head += struct.pack('<iI', stamp_ns // 1_000_000_000, stamp_ns % 1_000_000_000)
    head += _cdr_string(frame_id)
    head += _pad(len(head) - 4)
    head += struct.pack('<II', h, w)
    head += _cdr_string(encoding)
    head += b'\0'                                        # is_bigendian
    head += _pad(len(head) - 4)
    head += struct.pack('<II', step, step * h)
    return b''.join((head, a.data.cast('B') if a.ndim else bytes(a)))


def _stamped(template: bytes, stamp_ns: int) -> bytes:
    """Return a serialized message starting with a std_msgs/Header, with its stamp set."""
    buf = bytearray(template)
    struct.pack_into('<iI', buf, 4, stamp_ns // 1_000_000_000, stamp_ns % 1_000_000_000)
    return bytes(buf)


class BagWriter:
    """A clip being written: the :class:`~camera_node.core.clips.ClipSink` of the ROS layer."""

    def __init__(self, directory: str, name: str, streams: List[ClipStream],
                 compression: str, about: Dict[str, str]) -> None:
        self.streams = streams
        self.name = name
        self.path = make_new_folder(directory, name, parents=True)
        self.file_name = name + '_0.mcap'
        self.file = os.path.join(self.path, self.file_name)
        self._out = open_new_file(self.path, self.file_name)
        self._mcap = Writer(self._out, chunk_size=4 << 20,
                            compression=_COMPRESSION[compression], enable_crcs=False)
        self._mcap.start(profile='ros2', library='camera_node clip writer')
        self._schemas: Dict[str, int] = {}
        self._channels: Dict[str, Tuple[int, str, Any]] = {}
        self.counts: Dict[str, int] = {}
        self._templates: Dict[str, Tuple[CameraInfo, bytes]] = {}
        self._own_infos: Dict[Tuple[Any, ...], CameraInfo] = {}
        self._tf_sent: Optional[Tuple[Transform, ...]] = None
        self.first_ns: Optional[int] = None
        self.last_ns = 0
        self.skipped: Dict[str, int] = {}
        mapping = [{'field': s.field, 'topic': s.topic, 'info_topic': s.info_topic or ''}
                   for s in streams]
        self._mcap.add_metadata('camera_node', dict(about, format='1',
                                                    streams=json.dumps(mapping)))

    # -- channels -------------------------------------------------------------------------
    def _channel(self, topic: str, type_name: str, qos: Any) -> int:
        found = self._channels.get(topic)
        if found is not None:
            return found[0]
        schema = self._schemas.get(type_name)
        if schema is None:
            schema = self._mcap.register_schema(
                type_name, 'ros2msg', message_definition(type_name).encode('utf-8'))
            self._schemas[type_name] = schema
        offered = qos_yaml(qos)
        cid = self._mcap.register_channel(topic, 'cdr', schema,
                                          {'offered_qos_profiles': offered})
        self._channels[topic] = (cid, type_name, offered)
        self.counts[topic] = 0
        return cid

    def _add(self, topic: str, type_name: str, qos: Any, data: bytes, stamp_ns: int) -> None:
        cid = self._channel(topic, type_name, qos)
        self._mcap.add_message(cid, log_time=stamp_ns, data=data, publish_time=stamp_ns,
                               sequence=self.counts[topic])
        self.counts[topic] += 1
        self.first_ns = stamp_ns if self.first_ns is None else min(self.first_ns, stamp_ns)
        self.last_ns = max(self.last_ns, stamp_ns)

    # -- entries --------------------------------------------------------------------------
    def write(self, entry: Entry) -> None:
        """Write one buffered entry: a frame set's streams, or a record of a known kind."""
        stamp = entry.stamp_ns
        context: Optional[ClipContext] = entry.context
        if context is not None and context.transforms != self._tf_sent \
                and TFMessage is not None:
            tf = TFMessage(transforms=transform_messages(context.transforms, stamp_msg(stamp)))
            self._add('/tf_static', 'tf2_msgs/msg/TFMessage', TF_STATIC_QOS,
                      serialize_message(tf), stamp)
            self._tf_sent = context.transforms
        if entry.kind != 'frames':
            writer = RECORD_WRITERS.get(entry.kind)
            if writer is None:
                self.skipped[entry.kind] = self.skipped.get(entry.kind, 0) + 1
                return
            topic, type_name, qos, to_message = writer
            self._add(topic, type_name, qos, serialize_message(to_message(entry.item, stamp)),
                      stamp)
            return
        fs = entry.item
        for s in self.streams:
            pixels = getattr(fs, s.field, None)
            if pixels is None:
                continue
            self._add(s.topic, 'sensor_msgs/msg/Image', s.qos,
                      image_cdr(pixels, s.encoding, s.frame_id, stamp), stamp)
            info = context.infos.get(s.key) if context is not None else None
            if info is not None and s.field == 'depth' and fs.depth_intrinsics is not None:
                info = own_camera_info(fs.depth_intrinsics, s.frame_id,   # decimated depth
                                       self._own_infos)
            if s.info_topic and info is not None:
                # serialised once per CameraInfo object; the object is kept with its bytes,
                # so a later one can never take its id
                cached = self._templates.get(s.key)
                if cached is None or cached[0] is not info:
                    cached = self._templates[s.key] = (info, serialize_message(info))
                self._add(s.info_topic, 'sensor_msgs/msg/CameraInfo', s.info_qos,
                          _stamped(cached[1], stamp), stamp)

    # -- the end --------------------------------------------------------------------------
    def _metadata(self) -> Dict[str, Any]:
        first = self.first_ns or 0
        total = sum(self.counts.values())
        return {'rosbag2_bagfile_information': {
            'version': BAG_VERSION, 'storage_identifier': 'mcap',
            'duration': {'nanoseconds': self.last_ns - first},
            'starting_time': {'nanoseconds_since_epoch': first},
            'message_count': total,
            'topics_with_message_count': [
                {'topic_metadata': {'name': topic, 'type': type_name,
                                    'serialization_format': 'cdr',
                                    'offered_qos_profiles': offered,
                                    'type_description_hash': ''},
                 'message_count': self.counts[topic]}
                for topic, (_, type_name, offered) in self._channels.items()],
            'compression_format': '', 'compression_mode': '',
            'relative_file_paths': [self.file_name],
            'files': [{'path': self.file_name,
                       'starting_time': {'nanoseconds_since_epoch': first},
                       'duration': {'nanoseconds': self.last_ns - first},
                       'message_count': total}],
            'custom_data': {}, 'ros_distro': os.environ.get('ROS_DISTRO', ''),
        }}

    def finish(self) -> Dict[str, Any]:
        """Write the summary and metadata.yaml; return path, counts and size."""
        metadata = self._metadata()
        text = yaml.safe_dump(metadata, sort_keys=False)
        self._mcap.add_metadata('rosbag2', {
            'serialized_metadata': yaml.safe_dump(
                metadata['rosbag2_bagfile_information'], sort_keys=False),
            'ROS_DISTRO': os.environ.get('ROS_DISTRO', '')})
        self._mcap.finish()
        self._out.close()
        with open_new_file(self.path, 'metadata.yaml') as f:
            f.write(text.encode('utf-8'))
        out = {'path': self.path, 'file': self.file, 'bytes': os.path.getsize(self.file),
               'message_counts': dict(self.counts)}
        if self.skipped:
            out['records_not_written'] = dict(self.skipped)
        return out

    def abort(self) -> None:
        """Close the file after a failure (what was written stays)."""
        try:
            self._out.close()
        except OSError:
            pass
