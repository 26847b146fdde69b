"""FileDriver through the real OpenCV: video files and image sequences as a camera.

Sources are made by the tests: lossless FFV1 videos and PNG sequences written with OpenCV in
tmp_path (exact-pixel round trips) and 16-bit depth PNG sequences. No test double: the
``source`` parameter is the seam.
"""

from __future__ import annotations

import math
import time
from typing import List

import cv2
import numpy as np
import pytest

from camera_node.core.errors import (DeviceNotFoundError, DriverError, EndOfStream,
                                     InvalidOptionError)
from camera_node.drivers import driver_class
from camera_node.drivers.file.driver import FileDriver
from driver_contract import change, make_store

W, H = 64, 48
FAST = {'realtime': False}


def _frames(n: int, seed: int = 0, shape=(H, W, 3)) -> List[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.integers(0, 256, shape, dtype=np.uint8) for _ in range(n)]


def _write_video(path: str, frames: List[np.ndarray], fps: float) -> str:
    h, w = frames[0].shape[:2]
    writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*'FFV1'), fps, (w, h))
    assert writer.isOpened()
    for f in frames:
        writer.write(f)
    writer.release()
    return path


def _write_sequence(folder, name: str, images: List[np.ndarray], start: int = 0) -> str:
    for i, img in enumerate(images):
        assert cv2.imwrite(str(folder / (name % (i + start))), img)
    return str(folder / name)


def _drain(drv: FileDriver, limit: int = 1000) -> list:
    out = []
    with pytest.raises(EndOfStream):
        for _ in range(limit):
            fs = drv.read(1.0)
            if fs is not None:
                out.append(fs)
    return out


def _rgb(bgr: np.ndarray) -> np.ndarray:
    return bgr[:, :, ::-1]


@pytest.fixture(scope='module')
def video(tmp_path_factory):
    folder = tmp_path_factory.mktemp('video')
    frames = _frames(6, seed=1)
    return {'frames': frames,
            'avi': _write_video(str(folder / 'clip.avi'), frames, 15.0),
            'mkv': _write_video(str(folder / 'clip.mkv'), frames, 12.0)}


# -- name and registry ---------------------------------------------------------------------
def test_registry_gives_the_file_driver_named_file(video):
    # issue #11 finding 6: the file driver called itself "driver webcam"
    assert driver_class('file') is FileDriver and FileDriver.name == 'file'
    drv = FileDriver({'source': video['avi']})
    assert drv.name == 'file'
    with pytest.raises(DriverError, match='^file driver'):
        drv.properties()
    names = {p.name for p in FileDriver.parameters}
    assert {'loop', 'realtime', 'depth_source', 'depth_scale', 'file_stamp'} <= names
    assert not names & {'width', 'height', 'fourcc', 'open_timeout', 'stream_read_timeout'}


# -- video files ---------------------------------------------------------------------------
@pytest.mark.parametrize('ext,fps', [('avi', 15.0), ('mkv', 12.0)])
def test_video_file_exact_rgb_and_end_of_stream(video, ext, fps):
    drv = FileDriver(dict(FAST, source=video[ext]))
    drv.open()
    try:
        props = drv.properties()
        assert (props.color.width, props.color.height) == (W, H)
        assert props.fps == pytest.approx(fps)
        assert props.depth is None and not props.has_depth
        assert props.intrinsics_source == 'default'
        f = (W / 2) / math.tan(math.radians(60.0) / 2)
        assert props.color.fx == pytest.approx(f) and props.color.fy == pytest.approx(f)
        assert (props.color.cx, props.color.cy) == ((W - 1) / 2, (H - 1) / 2)
        assert list(props.color.distortion) == [0.0] * 5
        got = _drain(drv)
        assert len(got) == len(video['frames'])
        for fs, bgr in zip(got, video['frames']):
            assert fs.color.dtype == np.uint8 and fs.color.shape == (H, W, 3)
            assert np.array_equal(fs.color, _rgb(bgr))      # RGB, exact, in order
            assert fs.depth is None and fs.aligned_depth is None
        assert all(b.stamp_ns >= a.stamp_ns for a, b in zip(got, got[1:]))
        assert abs(got[0].stamp_ns - time.time_ns()) < 60e9
        with pytest.raises(EndOfStream):      # and it stays ended
            drv.read(0.1)
        info = drv.commands()['source_info'][1]({})
        assert info['kind'] == 'file' and info['backend'] == 'FFMPEG'
        assert info['frame_count'] == len(video['frames'])
        assert (info['width'], info['height']) == (W, H)
        assert info['position_frame'] == len(video['frames']) - 1
        assert info['fourcc'].upper() == 'FFV1' and info['ended'] is True
    finally:
        drv.close()


def test_loop_rewinds(video):
    drv = FileDriver(dict(FAST, source=video['avi'], loop=True))
    n = len(video['frames'])
    with drv:
        got = [drv.read(1.0) for _ in range(2 * n + 2)]
    assert all(fs is not None for fs in got)
    for i, fs in enumerate(got):
        assert np.array_equal(fs.color, _rgb(video['frames'][i % n]))
    assert all(b.stamp_ns >= a.stamp_ns for a, b in zip(got, got[1:]))


def test_loop_can_be_switched_on_at_runtime(video):
    store = make_store(FileDriver, dict(FAST, source=video['avi']))
    drv = FileDriver(store)
    with drv:
        _drain(drv)
        change(drv, store, 'loop', True)
        fs = drv.read(1.0)
        assert np.array_equal(fs.color, _rgb(video['frames'][0]))
        assert drv.options['loop'] is True


def _poll_ended(drv: FileDriver, polls: int = 3) -> None:
    """Read as the camera session does while a source has ended: EndOfStream each time."""
    for _ in range(polls):
        with pytest.raises(EndOfStream):
            drv.read(0.2)


def test_plays_again_after_the_end_when_loop_is_switched_on(video):
    # issue #11 finding 4: `ros2 param set ... loop true` at the end played nothing
    n = len(video['frames'])
    store = make_store(FileDriver, dict(FAST, source=video['mkv']))
    with FileDriver(store) as drv:
        assert len(_drain(drv)) == n
        _poll_ended(drv)
        change(drv, store, 'loop', True)
        got = [drv.read(0.2) for _ in range(n + 2)]     # from the start, then looping
        assert all(fs is not None for fs in got)
        for i, fs in enumerate(got):
            assert np.array_equal(fs.color, _rgb(video['frames'][i % n]))
        assert drv.commands()['source_info'][1]({})['ended'] is False
        change(drv, store, 'loop', False)
        rest = _drain(drv)                               # ends again at the end
        assert np.array_equal(rest[-1].color, _rgb(video['frames'][-1]))


def test_plays_again_after_the_end_when_seeking(video):
    # issue #11 finding 4: DoCommand seek at the end answered but played nothing
    n = len(video['frames'])
    with FileDriver(dict(FAST, source=video['avi'])) as drv:
        first = _drain(drv)
        _poll_ended(drv)
        seek = drv.commands()['seek'][1]
        assert seek({'frame': 2})['frame'] == 2
        again = _drain(drv)
        assert len(again) == n - 2
        for fs, bgr in zip(again, video['frames'][2:]):
            assert np.array_equal(fs.color, _rgb(bgr))
        assert again[0].stamp_ns > first[-1].stamp_ns
        _poll_ended(drv)
        seek({'msec': 0})
        assert np.array_equal(drv.read(0.2).color, _rgb(video['frames'][0]))


def test_realtime_resume_after_the_end_starts_at_once(video):
    # paced at 2 fps: after a restart the first frame is due now, not 0.5 s late or early
    store = make_store(FileDriver, {'source': video['avi'], 'fps': 2.0})
    with FileDriver(store) as drv:
        drv.commands()['seek'][1]({'frame': len(video['frames']) - 1})
        assert drv.read(1.0) is not None
        with pytest.raises(EndOfStream):
            drv.read(1.0)
        time.sleep(0.3)
        change(drv, store, 'loop', True)
        t0 = time.monotonic()
        fs = drv.read(1.0)
        assert time.monotonic() - t0 < 0.2
        assert np.array_equal(fs.color, _rgb(video['frames'][0]))
        assert drv.read(0.0) is None                      # the next is due in 0.5 s


def test_seek_command(video):
    drv = FileDriver(dict(FAST, source=video['mkv']))
    with drv:
        cmds = drv.commands()
        assert set(cmds) >= {'source_info', 'seek'}
        drv.read(1.0)
        assert cmds['seek'][1]({'frame': 4})['frame'] == 4
        fs = drv.read(1.0)
        assert np.array_equal(fs.color, _rgb(video['frames'][4]))
        assert cmds['source_info'][1]({})['position_frame'] == 4
        with pytest.raises(InvalidOptionError):
            cmds['seek'][1]({'frame': 99})
        with pytest.raises(InvalidOptionError):
            cmds['seek'][1]({})
        cmds['seek'][1]({'frame': 0})
        assert np.array_equal(drv.read(1.0).color, _rgb(video['frames'][0]))


def test_media_stamps_keep_recorded_spacing(video):
    drv = FileDriver(dict(FAST, source=video['avi'], file_stamp='media'))
    with drv:
        got = _drain(drv)
    steps = [b.stamp_ns - a.stamp_ns for a, b in zip(got, got[1:])]
    assert all(abs(s - 1e9 / 15.0) < 2e6 for s in steps), steps
    assert drv.commands()['source_info'][1]({})['stamps'] == 'media'


def test_realtime_paces_without_blocking_past_timeout(video):
    # 1 fps playback: the second frame is due ~1 s after the first, so a zero timeout
    # returns None instead of blocking or delivering early.
    drv = FileDriver({'source': video['avi'], 'realtime': True, 'fps': 1.0})
    with drv:
        assert drv.read(1.0) is not None
        assert drv.read(0.0) is None
        assert drv.read(5.0) is not None


def test_close_is_idempotent_and_reopen_works(video):
    drv = FileDriver(dict(FAST, source=video['avi']))
    drv.close()                     # before open
    for _ in range(3):
        drv.open()
        assert drv.is_open
        assert np.array_equal(drv.read(1.0).color, _rgb(video['frames'][0]))
        drv.close()
        drv.close()
        assert not drv.is_open


def test_option_changes_rejected_with_reasons(video):
    store = make_store(FileDriver, dict(FAST, source=video['avi']))
    drv = FileDriver(store)
    with drv:
        with pytest.raises(InvalidOptionError, match='restart'):
            drv.check_option('fps', 5.0)
        with pytest.raises(InvalidOptionError, match='no option'):
            drv.check_option('exposure', 3)
        # type and range: the parameter specs, before the driver is asked
        with pytest.raises(InvalidOptionError, match='loop must be a bool'):
            change(drv, store, 'loop', 'yes')
        with pytest.raises(InvalidOptionError, match=r'depth_scale must be within'):
            change(drv, store, 'depth_scale', 0.0)
        change(drv, store, 'realtime', True)
        assert drv.options['realtime'] is True and drv.options['loop'] is False


# -- image sequences and depth -------------------------------------------------------------
def test_image_sequence_exact_rgb_grey_and_start_index(tmp_path):
    colour = _frames(4, seed=2)
    pattern = _write_sequence(tmp_path, 'img_%04d.png', colour, start=1)
    drv = FileDriver(dict(FAST, source=pattern))
    with drv:
        props = drv.properties()
        assert (props.color.width, props.color.height) == (W, H)
        info = drv.commands()['source_info'][1]({})
        assert props.fps == 0.0 and info['fps_source'] == 'unknown'
        assert info['kind'] == 'sequence'
        got = _drain(drv)
    assert [np.array_equal(fs.color, _rgb(c)) for fs, c in zip(got, colour)] == [True] * 4
    grey = _frames(3, seed=3, shape=(H, W))
    pattern = _write_sequence(tmp_path, 'grey_%03d.png', grey)
    with FileDriver(dict(FAST, source=pattern, fps=10.0)) as drv:
        assert drv.properties().fps == 10.0
        got = _drain(drv)
    assert len(got) == 3
    for fs, g in zip(got, grey):
        assert fs.color.shape == (H, W, 3)
        assert all(np.array_equal(fs.color[:, :, c], g) for c in range(3))


def test_depth_sequence_replay(tmp_path):
    colour = _frames(5, seed=4)
    rng = np.random.default_rng(5)
    depth = [rng.integers(0, 60000, (H, W), dtype=np.uint16) for _ in range(5)]
    cpat = _write_sequence(tmp_path, 'rgb_%05d.png', colour)
    dpat = _write_sequence(tmp_path, 'depth_%05d.png', depth, start=1)
    drv = FileDriver(dict(FAST, source=cpat, depth_source=dpat))
    with drv:
        props = drv.properties()
        assert props.has_depth
        assert props.depth == props.color
        assert np.allclose(props.depth_to_color.rotation, np.eye(3))
        got = _drain(drv)
    assert len(got) == 5
    for fs, c, d in zip(got, colour, depth):
        assert np.array_equal(fs.color, _rgb(c))
        assert fs.depth.dtype == np.uint16 and np.array_equal(fs.depth, d)
        assert np.array_equal(fs.aligned_depth, d)
    # TUM-style depth (5000 units per metre): scaled to millimetres
    with FileDriver(dict(FAST, source=cpat, depth_source=dpat, depth_scale=0.2)) as drv:
        fs = drv.read(1.0)
    assert np.array_equal(fs.depth, np.rint(depth[0] * 0.2).astype(np.uint16))
    # and changed at runtime: the next frame is scaled by the new value
    store = make_store(FileDriver, dict(FAST, source=cpat, depth_source=dpat))
    with FileDriver(store) as drv:
        drv.read(1.0)                     # frame 0 was read at open
        change(drv, store, 'depth_scale', 0.5)
        fs = drv.read(1.0)
    assert np.array_equal(fs.depth, np.rint(depth[1] * 0.5).astype(np.uint16))


def test_depth_sequence_with_a_video_file(tmp_path, video):
    depth = [np.full((H, W), 500 * (i + 1), np.uint16) for i in range(len(video['frames']))]
    dpat = _write_sequence(tmp_path, 'd_%02d.png', depth)
    with FileDriver(dict(FAST, source=video['mkv'], depth_source=dpat)) as drv:
        got = _drain(drv)
    assert [int(fs.depth[1, 1]) for fs in got] == [500 * (i + 1) for i in range(len(got))]
    assert all(np.array_equal(fs.color, _rgb(c)) for fs, c in zip(got, video['frames']))


def test_depth_shorter_than_colour_ends_the_stream(tmp_path):
    colour = _frames(4, seed=6)
    depth = [np.full((H, W), 1000 + i, np.uint16) for i in range(2)]
    cpat = _write_sequence(tmp_path, 'c_%03d.png', colour)
    dpat = _write_sequence(tmp_path, 'd_%03d.png', depth)
    with FileDriver(dict(FAST, source=cpat, depth_source=dpat)) as drv:
        got = _drain(drv)
    assert [int(fs.depth[0, 0]) for fs in got] == [1000, 1001]


def test_depth_source_errors(tmp_path, video):
    colour = _frames(2, seed=7)
    cpat = _write_sequence(tmp_path, 'c_%03d.png', colour)
    small = _write_sequence(tmp_path, 's_%03d.png', [np.zeros((10, 10), np.uint16)] * 2)
    eight = _write_sequence(tmp_path, 'e_%03d.png', [np.zeros((H, W), np.uint8)] * 2)
    for dpat, match in ((small, 'same size'), (eight, '16-bit'),
                        (str(tmp_path / 'nothing_%03d.png'), 'nothing_000.png')):
        drv = FileDriver(dict(FAST, source=cpat, depth_source=dpat))
        with pytest.raises((InvalidOptionError, DeviceNotFoundError), match=match):
            drv.open()
        assert not drv.is_open
    # not a pattern: refused by the parameter's check, before anything opens
    with pytest.raises(InvalidOptionError, match='depth_source must be an image-sequence '
                       'pattern like depth_%04d.png'):
        FileDriver(dict(FAST, source=cpat, depth_source=str(tmp_path / 'single.png')))
    # live sources are the webcam driver's, with or without depth
    with pytest.raises(InvalidOptionError, match='live network stream.*driver:=webcam'):
        FileDriver({'source': 'http://127.0.0.1:9/x.mjpg', 'depth_source': small})


# -- sources the file driver does not take -------------------------------------------------
@pytest.mark.parametrize('source,kind', [('0', 'a camera device'),
                                         ('/dev/video2', 'a camera device'),
                                         ('rtsp://u:secret@cam/s', 'a live network stream')])
def test_cameras_and_streams_are_refused_naming_the_webcam_driver(source, kind):
    with pytest.raises(InvalidOptionError) as err:
        FileDriver({'source': source})
    text = str(err.value)
    assert text.startswith('source ') and kind in text and 'driver:=webcam' in text
    assert 'secret' not in text


def test_no_source_is_refused_at_start():
    with pytest.raises(InvalidOptionError, match='source is empty: give a video file'):
        FileDriver()                # the default source is empty: it must be given


def test_missing_sources_raise_device_not_found(tmp_path):
    missing = str(tmp_path / 'nope.avi')
    with pytest.raises(DeviceNotFoundError, match='nope.avi') as err:
        FileDriver({'source': missing}).open()
    assert 'does not exist' in str(err.value)
    with pytest.raises(DeviceNotFoundError, match=r'img_%04d\.png') as err:
        FileDriver({'source': str(tmp_path / 'img_%04d.png')}).open()
    assert 'img_0000.png' in str(err.value)
    garbage = tmp_path / 'garbage.avi'
    garbage.write_bytes(b'not a video at all' * 10)
    with pytest.raises(DeviceNotFoundError, match='cannot open|no readable frame'):
        FileDriver({'source': str(garbage)}).open()
