"""Pre-event buffer and clips on a running node, over DDS; the clip read back and replayed.

* save_clip writes a rosbag2 MCAP bag that rosbags (an independent reader) opens as a
  folder and as a lone .mcap, decoding every message; the reply's counts are the bag's.
* The clip replays through the bag driver bit-exact: every image and stamp as recorded,
  in process (all frame sets) and through a node's topics over DDS.
* GetImages ``extra.at`` answers from the buffer; DoCommand save_clip / clip_status.
"""

import json
import pathlib
import os
import time

import numpy as np
import pytest
from rosbags.highlevel import AnyReader
from rosbags.rosbag2 import Reader

from camera_node.core.errors import EndOfStream
from camera_node.drivers.bag.driver import BagDriver
from driver_contract import make_store

W, H = 160, 120


@pytest.fixture(scope='module')
def clip_dir(tmp_path_factory):
    return tmp_path_factory.mktemp('clips')


@pytest.fixture(scope='module')
def node(clip_dir):
    from conftest import NodeProcess
    proc = NodeProcess(namespace='cliptest', params={
        'width': W, 'height': H, 'motion': True, 'buffer_seconds': 2.0,
        'buffer_memory_mb': 64, 'clip_directory': str(clip_dir), 'camera_name': 'front'})
    assert proc.wait_output('publishing', 30), proc.output()
    time.sleep(2.5)                                    # let the buffer fill
    yield proc
    assert proc.stop() == 0, proc.output()


def srv(name):
    return '/cliptest/camera/' + name


@pytest.fixture(scope='module')
def saved(node, probe):
    from camera_node_interfaces.srv import SaveClip
    res = probe.call(SaveClip, srv('save_clip'), SaveClip.Request(after=0.5, name='event1'),
                     timeout=60)
    assert res is not None and res.success, res and res.error
    return res


def image_array(msg):
    """Pixels of a rosbags- or rclpy-decoded Image."""
    dtype = np.uint16 if msg.encoding == '16UC1' else np.uint8
    a = np.frombuffer(bytes(msg.data), dtype)
    return a.reshape(msg.height, msg.width, 3) if msg.encoding == 'rgb8' \
        else a.reshape(msg.height, msg.width)


def stamp_of(msg):
    return msg.header.stamp.sec * 10**9 + msg.header.stamp.nanosec


def read_with_rosbags(path):
    """Return (connections, topic -> [(stamp, decoded message)]) reading every message."""
    out = {}
    with AnyReader([pathlib.Path(path)]) as reader:
        for conn, _t, raw in reader.messages():
            msg = reader.deserialize(raw, conn.msgtype)
            stamp = stamp_of(msg) if hasattr(msg, 'header') else None
            out.setdefault(conn.topic, []).append((stamp, msg))
        return list(reader.connections), out


def test_the_reply_describes_the_bag(saved, clip_dir):
    assert saved.path == str(clip_dir / 'event1')
    assert saved.file == str(clip_dir / 'event1' / 'event1_0.mcap')
    assert os.path.getsize(saved.file) == saved.bytes
    counts = dict(zip(saved.topics, saved.message_counts))
    # 2 s before + 0.5 s after (capture time), every image stream with its CameraInfo
    assert 1.5 < saved.duration <= 2.5 + 0.034 and saved.frame_sets_dropped == 0
    assert saved.frame_sets >= 10
    for topic in ('color/image_raw', 'color/camera_info', 'depth/image_rect_raw',
                  'depth/camera_info', 'aligned_depth_to_color/image_raw',
                  'aligned_depth_to_color/camera_info'):
        assert counts['/cliptest/camera/' + topic] == saved.frame_sets, topic
    assert counts['/tf_static'] == 1
    assert '/cliptest/camera/color/image_raw/compressed' not in counts   # derived: not kept


def test_rosbags_reads_the_bag_folder_and_the_lone_mcap_decoding_every_message(saved):
    conns, topics = read_with_rosbags(saved.path)
    counts = dict(zip(saved.topics, saved.message_counts))
    assert {t: len(m) for t, m in topics.items()} == counts
    _, from_file = read_with_rosbags(saved.file)
    assert {t: len(m) for t, m in from_file.items()} == counts
    color = next(c for c in conns if c.topic.endswith('color/image_raw'))
    assert color.msgtype == 'sensor_msgs/msg/Image'
    qos = color.ext.offered_qos_profiles[0]
    assert (qos.reliability.name, qos.durability.name, qos.depth) == ('RELIABLE', 'VOLATILE', 1)
    tf = next(c for c in conns if c.topic == '/tf_static')
    assert tf.ext.offered_qos_profiles[0].durability.name == 'TRANSIENT_LOCAL'
    # every stream of a frame set carries its capture stamp
    stamps = {t: [s for s, _ in m] for t, m in topics.items() if t != '/tf_static'}
    assert len({tuple(v) for v in stamps.values()}) == 1
    frames = {name for _, m in topics['/tf_static'] for name in
              (t.child_frame_id for t in m.transforms)}
    assert {'front_color_optical_frame', 'front_depth_optical_frame'} <= frames
    info = topics['/cliptest/camera/color/camera_info'][0][1]
    assert (info.width, info.height, info.header.frame_id) == (W, H,
                                                               'front_color_optical_frame')
    with Reader(pathlib.Path(saved.path)) as reader:       # metadata.yaml as rosbag2 has it
        assert reader.message_count == sum(counts.values())


def test_schemas_are_rosbag2s_msg_text_with_dependencies(saved):
    from mcap.reader import make_reader
    with open(saved.file, 'rb') as f:
        reader = make_reader(f)
        summary = reader.get_summary()
        schemas = {s.name: s for s in summary.schemas.values()}
        header = reader.get_header()
        meta = {m.name: m.metadata for m in reader.iter_metadata()}
    assert header.profile == 'ros2'
    image = schemas['sensor_msgs/msg/Image']
    assert image.encoding == 'ros2msg'
    text = image.data.decode()
    assert '\n' + '=' * 80 + '\nMSG: std_msgs/Header\n' in text
    assert '\nMSG: builtin_interfaces/Time\n' in text
    assert 'MSG: geometry_msgs/TransformStamped' in \
        schemas['tf2_msgs/msg/TFMessage'].data.decode()
    assert all(c.message_encoding == 'cdr' and 'offered_qos_profiles' in c.metadata
               for c in summary.channels.values())
    assert 'serialized_metadata' in meta['rosbag2']
    streams = json.loads(meta['camera_node']['streams'])
    assert {s['field'] for s in streams} == {'color', 'depth', 'aligned_depth'}


def test_the_clip_replays_bit_exact_in_process(saved):
    _, topics = read_with_rosbags(saved.path)
    want = {f: [(s, image_array(m)) for s, m in topics['/cliptest/camera/' + t]]
            for f, t in (('color', 'color/image_raw'), ('depth', 'depth/image_rect_raw'),
                         ('aligned_depth', 'aligned_depth_to_color/image_raw'))}
    drv = BagDriver(make_store(BagDriver, {'source': saved.path, 'realtime': False}))
    got = []
    with drv:
        with pytest.raises(EndOfStream):
            while True:
                fs = drv.read(1.0)
                if fs is not None:
                    got.append(fs)
        props = drv.properties()
    assert len(got) == saved.frame_sets
    moving = 0
    for k, fs in enumerate(got):
        for f in want:
            stamp, pixels = want[f][k]
            assert fs.stamp_ns == stamp
            np.testing.assert_array_equal(getattr(fs, f), pixels)
        moving += k > 0 and not np.array_equal(fs.color, got[k - 1].color)
    assert moving > len(got) // 2                          # the sphere moves: frames differ
    from camera_node.core.types import default_intrinsics
    from camera_node.drivers.synthetic.driver import DEPTH_ORIGIN
    np.testing.assert_allclose(props.depth_to_color.translation, DEPTH_ORIGIN, atol=1e-9)
    assert props.color.fx == pytest.approx(default_intrinsics(W, H, 60.0).fx)


def test_the_clip_replays_through_a_node_as_recorded(saved, start_node, probe):
    from rclpy.qos import QoSProfile, ReliabilityPolicy
    from sensor_msgs.msg import Image
    _, topics = read_with_rosbags(saved.path)
    recorded = {s: image_array(m) for s, m in topics['/cliptest/camera/color/image_raw']}
    depth = {s: image_array(m) for s, m in topics['/cliptest/camera/depth/image_rect_raw']}
    node = start_node(namespace='replay', params={'driver': 'bag', 'source': saved.path,
                                                  'loop': True, 'camera_name': 'front'})
    assert node.wait_output('publishing', 30), node.output()
    qos = QoSProfile(depth=5, reliability=ReliabilityPolicy.RELIABLE)
    colour = probe.collect(Image, node.topic('color/image_raw'), count=20, qos=qos)
    depths = probe.collect(Image, node.topic('depth/image_rect_raw'), count=5, qos=qos)
    assert len(colour) == 20 and len(depths) == 5
    for msg in colour:
        np.testing.assert_array_equal(image_array(msg), recorded[stamp_of(msg)])
        assert msg.header.frame_id == 'front_color_optical_frame'
    for msg in depths:
        np.testing.assert_array_equal(image_array(msg), depth[stamp_of(msg)])


def test_get_images_at_a_time_answers_from_the_buffer(node, probe):
    from camera_node_interfaces.srv import GetImages
    now = probe.call(GetImages, srv('get_images'), GetImages.Request())
    assert now.success, now.error
    t = now.captured_at.sec * 10**9 + now.captured_at.nanosec
    time.sleep(0.3)                                        # newer frame sets arrive
    # a captured_at given back, in each form, finds exactly that frame set
    for at in ({'sec': t // 10**9, 'nanosec': t % 10**9},
               time.strftime('%Y-%m-%dT%H:%M:%S', time.gmtime(t // 10**9))
               + '.%09dZ' % (t % 10**9)):
        res = probe.call(GetImages, srv('get_images'), GetImages.Request(
            extra=json.dumps({'at': at})))
        assert res.success, res.error
        assert res.captured_at.sec * 10**9 + res.captured_at.nanosec == t, at
        assert {i.source_name for i in res.images} == {'color', 'depth'}
    past = t - 1_000_000_000                               # seconds: the nearest one
    res = probe.call(GetImages, srv('get_images'), GetImages.Request(
        extra=json.dumps({'at': past / 1e9})))
    got = res.captured_at.sec * 10**9 + res.captured_at.nanosec
    assert res.success and abs(got - past) < 250_000_000, res.error
    res = probe.call(GetImages, srv('get_images'), GetImages.Request(
        extra=json.dumps({'at': (t - 60 * 10**9) / 1e9})))
    assert not res.success and 'outside the buffer, which holds' in res.error
    res = probe.call(GetImages, srv('get_images'), GetImages.Request(
        extra=json.dumps({'at': 'yesterday'})))
    assert not res.success and 'extra.at must be seconds since the epoch' in res.error


def test_do_command_saves_and_reports(node, probe, clip_dir):
    from camera_node_interfaces.srv import DoCommand, SaveClip
    res = probe.call(DoCommand, srv('do_command'), DoCommand.Request(
        command='{"command": "save_clip", "before": 0.5, "name": "by_command"}'))
    assert res.success, res.error
    started = json.loads(res.result)
    assert started['path'] == str(clip_dir / 'by_command') and started['state'] == 'writing'
    deadline = time.monotonic() + 30
    status = {}
    while time.monotonic() < deadline:
        res = probe.call(DoCommand, srv('do_command'), DoCommand.Request(
            command='{"command": "clip_status"}'))
        status = json.loads(res.result)
        if any(f['path'] == started['path'] for f in status['finished']):
            break
        time.sleep(0.2)
    done = next(f for f in status['finished'] if f['path'] == started['path'])
    assert done['state'] == 'done' and done['duration_s'] <= 0.5 and done['frame_sets'] > 1
    assert status['buffer']['enabled'] and status['buffer']['held_mb'] <= 64
    # the same name again, and names that are paths, are refused with the reason
    res = probe.call(SaveClip, srv('save_clip'), SaveClip.Request(name='by_command'))
    assert not res.success and 'cannot create clip' in res.error and 'exists' in res.error
    res = probe.call(SaveClip, srv('save_clip'), SaveClip.Request(name='../escape'))
    assert not res.success and 'clip name must be' in res.error
    assert not (clip_dir.parent / 'escape').exists()


@pytest.mark.parametrize('shape,dtype,encoding,frame', [
    ((7, 5, 3), np.uint8, 'rgb8', 'front_color_optical_frame'),
    ((6, 9), np.uint16, '16UC1', 'd'),
    ((3, 4), np.uint16, '16UC1', ''),
])
def test_image_cdr_is_what_rclpy_serializes(shape, dtype, encoding, frame):
    from rclpy.serialization import deserialize_message, serialize_message
    from sensor_msgs.msg import Image
    from camera_node.ros.clipwriter import image_cdr
    from camera_node.ros.messages import image_message, stamp_msg
    pixels = np.arange(np.prod(shape), dtype=dtype).reshape(shape)
    stamp = 1_795_993_942_024_109_842
    msg = image_message(pixels, encoding, frame, stamp_msg(stamp))
    want = serialize_message(msg)
    got = image_cdr(pixels, encoding, frame, stamp)
    # same length and layout; rclpy leaves alignment padding unset, ours is zero
    assert len(got) == len(want) and got[-pixels.nbytes:] == want[-pixels.nbytes:]
    assert deserialize_message(got, Image) == msg


def test_a_decimated_depth_is_recorded_with_its_own_camera_info(start_node, probe, tmp_path):
    from camera_node_interfaces.srv import SaveClip
    p = start_node(namespace='clipdec', params={
        'width': W, 'height': H, 'buffer_seconds': 1.0, 'buffer_memory_mb': 32,
        'clip_directory': str(tmp_path), 'decimation_filter.enable': True,
        'decimation_filter.filter_magnitude': 2})
    assert p.wait_output('publishing', 30), p.output()
    time.sleep(1.5)
    res = probe.call(SaveClip, '/clipdec/camera/save_clip', SaveClip.Request(after=0.2),
                     timeout=60)
    assert res is not None and res.success, res and res.error
    _, topics = read_with_rosbags(res.path)
    depth = [m for _, m in topics['/clipdec/camera/depth/image_rect_raw']]
    infos = [m for _, m in topics['/clipdec/camera/depth/camera_info']]
    colour = topics['/clipdec/camera/color/camera_info'][0][1]
    assert len(infos) == len(depth) > 0
    for image, info in zip(depth, infos):       # each depth frame with the info of its size
        assert (image.width, image.height) == (info.width, info.height) == (W // 2, H // 2)
        assert info.k[0] == pytest.approx(colour.k[0] / 2, rel=1e-6)
        assert info.header.frame_id == 'camera_depth_optical_frame'
