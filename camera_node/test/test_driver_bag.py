"""The bag driver on bags written by an independent writer (rosbags), realsense-ros names.

Everything below the driver is real: rosbags writes MCAP rosbag2 bags to a temporary
folder, the driver reads them with mcap and mcap-ros2-support. The node test replays a bag
through every topic and service over DDS.
"""

import json
import time

import numpy as np
import pytest
from rosbags.rosbag2 import StoragePlugin, Writer

import bagmaker as bm
from camera_node.core.errors import DeviceNotFoundError, EndOfStream, InvalidOptionError
from camera_node.drivers.bag.driver import BagDriver
from driver_contract import change, make_store


def driver(path, **options):
    store = make_store(BagDriver, dict({'source': str(path), 'realtime': False}, **options))
    return BagDriver(store), store


def read_all(drv, limit=1000):
    out = []
    with pytest.raises(EndOfStream):
        for _ in range(limit):
            fs = drv.read(1.0)
            if fs is not None:
                out.append(fs)
    return out


@pytest.fixture(scope='module')
def realsense_bag(tmp_path_factory):
    path = tmp_path_factory.mktemp('rs') / 'rs_bag'
    stamps = bm.write_bag(path)
    return path, stamps


def test_properties_come_from_the_recording(realsense_bag):
    path, _ = realsense_bag
    drv, _ = driver(path)
    with drv:
        p = drv.properties()
        assert (p.color.width, p.color.height) == (bm.W, bm.H)
        assert (p.color.fx, p.color.fy, p.color.cx, p.color.cy) == (60.0, 61.0, 31.5, 23.5)
        assert (p.depth.fx, p.depth.cx) == (58.0, 32.0)
        assert p.intrinsics_source == 'recording'
        # colour 15 mm right of depth: a depth-optical point is 15 mm to colour's left
        np.testing.assert_allclose(p.depth_to_color.translation, [-0.015, 0, 0], atol=1e-12)
        np.testing.assert_allclose(p.depth_to_color.rotation, np.eye(3), atol=1e-12)
        assert p.fps == pytest.approx(bm.FPS, rel=0.05)
        info = drv.commands()['bag_info'][1]({})
        assert info['streams']['color']['topic'] == '/camera/camera/color/image_raw'
        assert all(s['played'] for s in info['streams'].values())
        assert '/camera/camera/extrinsics/depth_to_color' in info['topics']   # not played
        assert info['notes'] == []


def test_frame_sets_pair_depth_by_nearest_stamp_and_keep_pixels_exact(realsense_bag):
    path, stamps = realsense_bag
    drv, _ = driver(path)
    with drv:
        got = read_all(drv)
    assert [fs.stamp_ns for fs in got] == stamps         # colour stamps, every frame, in order
    for i, fs in enumerate(got):
        np.testing.assert_array_equal(fs.color, bm.color_of(i))
        np.testing.assert_array_equal(fs.depth, bm.depth_of(i))       # 3 ms later: paired
        np.testing.assert_array_equal(fs.aligned_depth, bm.depth_of(i))
        assert not fs.color.flags.writeable                  # a view of the recorded bytes


def test_loop_seek_and_resume_after_the_end(realsense_bag):
    path, stamps = realsense_bag
    drv, store = driver(path)
    with drv:
        assert len(read_all(drv)) == len(stamps)
        with pytest.raises(EndOfStream):                   # it stays ended
            drv.read(0.2)
        out = drv.commands()['seek'][1]({'offset': 0.5})     # seek after the end plays again
        assert out['offset'] == pytest.approx(0.5)
        fs = drv.read(1.0)
        assert fs.stamp_ns == next(s for s in stamps if s >= stamps[0] - 1000 + 5 * 10**8)
        change(drv, store, 'loop', True)
        seen = [drv.read(1.0).stamp_ns for _ in range(2 * len(stamps))]
        assert seen.count(stamps[0]) >= 1 and drv.commands()['bag_info'][1]({})['loops'] >= 1
        with pytest.raises(InvalidOptionError, match='outside the bag'):
            drv.commands()['seek'][1]({'offset': 99.0})
        with pytest.raises(InvalidOptionError, match='seek needs'):
            drv.commands()['seek'][1]({'frame': 3})


def test_loop_switched_on_after_the_end_restarts(realsense_bag):
    path, stamps = realsense_bag
    drv, store = driver(path)
    with drv:
        read_all(drv)
        change(drv, store, 'loop', True)
        assert drv.read(1.0).stamp_ns == stamps[0]


def test_start_and_end_offsets_bound_playback(realsense_bag):
    path, stamps = realsense_bag
    drv, _ = driver(path, start_offset=0.2, end_offset=0.6)
    with drv:
        got = [fs.stamp_ns for fs in read_all(drv)]
    first_log = stamps[0] - 1000         # the bag starts with /tf_static at START_NS
    expect = [s for s in stamps if first_log + 2 * 10**8 <= s + 500_000
              <= first_log + 6 * 10**8]
    assert got == expect and 8 <= len(got) <= 14


def test_realtime_paces_and_reports_the_playback_clock(realsense_bag):
    path, stamps = realsense_bag
    drv, _ = driver(path, realtime=True, rate=4.0)
    with drv:
        assert drv.playback_time_ns() is None               # nothing played yet
        t0 = time.monotonic()
        got = [fs for fs in (drv.read(1.0) for _ in range(12)) if fs is not None]
        took = time.monotonic() - t0
        clock = drv.playback_time_ns()
        assert stamps[0] <= clock <= stamps[-1]
        assert clock >= got[-1].stamp_ns
    print('12 frame sets at rate 4: %.3f s (recorded spacing %.3f s)'
          % (took, (stamps[11] - stamps[0]) / 4e9))
    assert [fs.stamp_ns for fs in got] == stamps[:len(got)]


def test_restamp_uses_delivery_time(realsense_bag):
    path, stamps = realsense_bag
    drv, _ = driver(path, restamp=True)
    with drv:
        before = time.time_ns()
        fs = drv.read(1.0)
        assert fs.stamp_ns >= before and drv.playback_time_ns() is None


def test_other_encodings_are_converted(tmp_path):
    path = tmp_path / 'bgr'
    bm.write_bag(path, frames=3, color_encoding='bgr8', depth_encoding='32FC1')
    drv, _ = driver(path)
    with drv:
        got = read_all(drv)
    np.testing.assert_array_equal(got[1].color, bm.color_of(1))            # back to RGB
    np.testing.assert_array_equal(got[1].depth, bm.depth_of(1))            # metres to mm


def test_missing_streams_are_reported_not_invented(tmp_path):
    path = tmp_path / 'colour_only'
    bm.write_bag(path, frames=3, depth=False, aligned=False, infos=False, tf=False)
    drv, _ = driver(path)
    with drv:
        p = drv.properties()
        assert not p.has_depth and p.intrinsics_source == 'default'
        fs = drv.read(1.0)
        assert fs.depth is None and fs.aligned_depth is None
        notes = drv.commands()['bag_info'][1]({})['notes']
    assert any('no depth images at /camera/camera/depth/image_rect_raw' in n for n in notes)
    assert any('no CameraInfo at /camera/camera/color/camera_info' in n for n in notes)


def test_no_extrinsics_without_tf_static(tmp_path):
    path = tmp_path / 'no_tf'
    bm.write_bag(path, frames=2, tf=False)
    drv, _ = driver(path)
    with drv:
        assert drv.properties().depth_to_color is None
        notes = drv.commands()['bag_info'][1]({})['notes']
    assert any('depth-to-colour extrinsics are unknown' in n for n in notes)


def test_which_camera_several_cameras_and_topic_prefix(tmp_path):
    path = tmp_path / 'two'
    bm.write_bag(path, frames=2, extra_cameras=('/left/left',))
    with pytest.raises(DeviceNotFoundError, match='several cameras .*/camera/camera, /left/left'
                       '.*set topic_prefix'):
        driver(path)[0].open()
    drv, _ = driver(path, topic_prefix='/left/left')
    with drv:
        assert not drv.properties().has_depth                  # that camera has colour only
        assert drv.read(1.0) is not None


@pytest.mark.parametrize('make,reason', [
    (lambda p: p / 'missing', 'does not exist'),
    (lambda p: (p / 'x.db3').write_bytes(b'SQLite format 3\0') and p / 'x.db3',
     'SQLite bag; this driver reads MCAP'),
    (lambda p: (p / 'bad.mcap').write_bytes(b'not an mcap') and p / 'bad.mcap',
     'not a readable MCAP file'),
    (lambda p: (p / 'empty').mkdir() or p / 'empty', 'no .mcap file in'),
])
def test_what_cannot_be_played_is_refused_with_the_reason(tmp_path, make, reason):
    with pytest.raises(DeviceNotFoundError, match=reason):
        driver(make(tmp_path))[0].open()


def test_a_bag_without_colour_names_the_image_topics(tmp_path):
    path = tmp_path / 'depth_only'
    with Writer(path, version=9, storage_plugin=StoragePlugin.MCAP):
        pass
    bm_path = tmp_path / 'dep'
    bm.write_bag(bm_path, frames=2, prefix='/cam/cam')
    with pytest.raises(DeviceNotFoundError, match='no colour images at /camera/camera/color'):
        driver(bm_path, topic_prefix='/camera/camera')[0].open()
    with pytest.raises(DeviceNotFoundError, match='no topic ends in /color/image_raw'):
        driver(path)[0].open()


# -- through the node, over DDS ------------------------------------------------------------
def test_a_realsense_bag_replays_through_every_topic_and_service(tmp_path, start_node, probe):
    from camera_node_interfaces.srv import (Close, DoCommand, GetGeometries, GetImage,
                                            GetImages, GetPointCloud, GetProperties)
    from rosgraph_msgs.msg import Clock
    from sensor_msgs.msg import CameraInfo, Image
    from camera_node.viam import codecs
    path = tmp_path / 'rs'
    stamps = bm.write_bag(path, frames=20)
    node = start_node(namespace='bagtest', params={
        'driver': 'bag', 'source': str(path), 'loop': True, 'publish_clock': True,
        'geometries': '[{type: sphere, label: s, x: 0, y: 0, z: 500, radius_mm: 50}]'})
    assert node.wait_output('publishing', 30), node.output()
    srv = '/bagtest/camera/'
    img = probe.collect(Image, node.topic('color/image_raw'))[0]
    i = stamps.index(img.header.stamp.sec * 10**9 + img.header.stamp.nanosec)
    got = np.frombuffer(bytes(img.data), np.uint8).reshape(bm.H, bm.W, 3)
    np.testing.assert_array_equal(got, bm.color_of(i))
    info = probe.collect(CameraInfo, node.topic('depth/camera_info'))[0]
    assert list(info.k) == list(bm.K_DEPTH)
    clock = probe.collect(Clock, '/clock')[0].clock
    assert stamps[0] <= clock.sec * 10**9 + clock.nanosec <= stamps[-1]

    res = probe.call(GetImage, srv + 'get_image', GetImage.Request(mime_type='image/png'))
    assert res.success, res.error
    png = codecs.decode_png(bytes(res.data))
    assert any(np.array_equal(png, bm.color_of(k)) for k in range(20))
    res = probe.call(GetImages, srv + 'get_images', GetImages.Request())
    assert res.success and [i.source_name for i in res.images] == ['color', 'depth']
    assert res.captured_at.sec * 10**9 + res.captured_at.nanosec in stamps
    res = probe.call(GetPointCloud, srv + 'get_point_cloud', GetPointCloud.Request())
    assert res.success and bytes(res.data).startswith(b'VERSION .7')
    res = probe.call(GetProperties, srv + 'get_properties', GetProperties.Request())
    assert res.success and res.supports_pcd
    assert res.intrinsic_parameters.focal_x_px == 60.0 and not res.intrinsics_are_default
    assert res.extrinsic_translation_mm.x == pytest.approx(-15.0)
    res = probe.call(DoCommand, srv + 'do_command', DoCommand.Request(
        command='{"command": "bag_info"}'))
    assert res.success and json.loads(res.result)['streams']['depth']['played']
    res = probe.call(DoCommand, srv + 'do_command', DoCommand.Request(
        command='{"command": "seek", "offset": 0.1}'))
    assert res.success, res.error
    res = probe.call(GetGeometries, srv + 'get_geometries', GetGeometries.Request())
    assert res.success and res.geometries[0].label == 's'
    res = probe.call(Close, srv + 'close', Close.Request())
    assert res.success
    assert node.stop() == 0, node.output()
