"""WebcamDriver through the real OpenCV, with no camera.

Sources are made by the tests: lossless FFV1 videos and PNG sequences written with OpenCV in
tmp_path (exact-pixel round trips), 16-bit depth PNG sequences, and a local MJPEG-over-HTTP
server on 127.0.0.1 standing in for a live camera that can be unplugged and plugged back.

Hardware tests run only with ``CAMERA_NODE_HW_WEBCAM=1`` (source from
``CAMERA_NODE_HW_WEBCAM_SOURCE``, default ``0``).
"""

from __future__ import annotations

import http.server
import math
import os
import threading
import time
from typing import List, Optional

import cv2
import numpy as np
import pytest

from camera_node.drivers import (DeviceLostError, DeviceNotFoundError, EndOfStream,
                                 InvalidOptionError, driver_class)
from camera_node.drivers.webcam import source_kind, to_rgb, WebcamDriver

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


def _drain(drv: WebcamDriver, limit: int = 1000) -> list:
    out = []
    with pytest.raises(EndOfStream):
        for _ in range(limit):
            fs = drv.read(1.0)
            if fs is not None:
                out.append(fs)
    return out


@pytest.fixture(scope='module')
def video(tmp_path_factory):
    folder = tmp_path_factory.mktemp('video')
    frames = _frames(6, seed=1)
    return {'frames': frames,
            'avi': _write_video(str(folder / 'clip.avi'), frames, 15.0),
            'mkv': _write_video(str(folder / 'clip.mkv'), frames, 12.0)}


# -- registry and parameters ---------------------------------------------------------------
def test_registry_and_parameters():
    assert driver_class('webcam') is WebcamDriver
    assert driver_class('file') is WebcamDriver
    names = [p.name for p in WebcamDriver.parameters]
    assert len(names) == len(set(names))
    for want in ('source', 'width', 'height', 'fps', 'fourcc', 'loop', 'realtime',
                 'depth_source', 'depth_scale', 'open_timeout', 'stream_read_timeout',
                 'default_hfov_deg'):
        assert want in names
    from camera_node.params import NODE_PARAMETERS
    clash = set(names) & {p.name for p in NODE_PARAMETERS}
    assert not clash, 'driver parameters shadow node parameters: %s' % clash
    assert source_kind('0') == 'device'
    assert source_kind('/dev/video3') == 'device'
    assert source_kind('rtsp://u:p@cam/stream') == 'url'
    assert source_kind('/data/img_%04d.png') == 'sequence'
    assert source_kind('/data/clip.mp4') == 'file'


def test_to_rgb_conversions():
    bgr = np.zeros((2, 3, 3), np.uint8)
    bgr[..., 0] = 10
    bgr[..., 2] = 200
    assert to_rgb(bgr)[0, 0].tolist() == [200, 0, 10]
    bgra = np.dstack([bgr, np.full((2, 3), 7, np.uint8)])
    assert to_rgb(bgra)[0, 0].tolist() == [200, 0, 10]
    grey = np.full((2, 3), 99, np.uint8)
    assert to_rgb(grey).shape == (2, 3, 3) and (to_rgb(grey) == 99).all()
    deep = np.full((2, 3, 3), 0x8000, np.uint16)
    assert to_rgb(deep).dtype == np.uint8 and (to_rgb(deep) == 0x80).all()


# -- video files ---------------------------------------------------------------------------
@pytest.mark.parametrize('ext,fps', [('avi', 15.0), ('mkv', 12.0)])
def test_video_file_exact_rgb_and_end_of_stream(video, ext, fps):
    drv = WebcamDriver(dict(FAST, source=video[ext]))
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
            assert np.array_equal(fs.color, bgr[:, :, ::-1])      # RGB, exact
            assert fs.depth is None and fs.aligned_depth is None
        seqs = [fs.sequence for fs in got]
        assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
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


def test_loop_rewinds_and_sequence_keeps_growing(video):
    drv = WebcamDriver(dict(FAST, source=video['avi'], loop=True))
    n = len(video['frames'])
    with drv:
        got = [drv.read(1.0) for _ in range(2 * n + 2)]
    assert all(fs is not None for fs in got)
    for i, fs in enumerate(got):
        assert np.array_equal(fs.color, video['frames'][i % n][:, :, ::-1])
    assert [fs.sequence for fs in got] == list(range(got[0].sequence, got[0].sequence + 2 * n
                                                     + 2))


def test_loop_can_be_switched_on_at_runtime(video):
    drv = WebcamDriver(dict(FAST, source=video['avi']))
    with drv:
        _drain(drv)
        drv.set_option('loop', True)
        fs = drv.read(1.0)
        assert np.array_equal(fs.color, video['frames'][0][:, :, ::-1])
        assert drv.runtime_options()['loop'] is True


def test_seek_command(video):
    drv = WebcamDriver(dict(FAST, source=video['mkv']))
    with drv:
        cmds = drv.commands()
        assert set(cmds) >= {'source_info', 'seek'}
        drv.read(1.0)
        assert cmds['seek'][1]({'frame': 4})['frame'] == 4
        fs = drv.read(1.0)
        assert np.array_equal(fs.color, video['frames'][4][:, :, ::-1])
        assert cmds['source_info'][1]({})['position_frame'] == 4
        with pytest.raises(InvalidOptionError):
            cmds['seek'][1]({'frame': 99})
        with pytest.raises(InvalidOptionError):
            cmds['seek'][1]({})
        cmds['seek'][1]({'frame': 0})
        assert np.array_equal(drv.read(1.0).color, video['frames'][0][:, :, ::-1])


def test_media_stamps_keep_recorded_spacing(video):
    drv = WebcamDriver(dict(FAST, source=video['avi'], file_stamp='media'))
    with drv:
        got = _drain(drv)
    steps = [b.stamp_ns - a.stamp_ns for a, b in zip(got, got[1:])]
    assert all(abs(s - 1e9 / 15.0) < 2e6 for s in steps), steps
    assert {fs.timestamp_domain for fs in got} == {'media'}


def test_realtime_paces_without_blocking_past_timeout(video):
    # 1 fps playback: the second frame is due ~1 s after the first, so a zero timeout
    # returns None instead of blocking or delivering early.
    drv = WebcamDriver({'source': video['avi'], 'realtime': True, 'fps': 1.0})
    with drv:
        assert drv.read(1.0) is not None
        assert drv.read(0.0) is None
        assert drv.read(5.0) is not None


def test_close_is_idempotent_and_reopen_works(video):
    drv = WebcamDriver(dict(FAST, source=video['avi']))
    drv.close()                     # before open
    for _ in range(3):
        drv.open()
        assert drv.is_open
        assert np.array_equal(drv.read(1.0).color, video['frames'][0][:, :, ::-1])
        drv.close()
        drv.close()
        assert not drv.is_open


def test_set_option_rejects_with_reasons(video):
    drv = WebcamDriver(dict(FAST, source=video['avi']))
    with drv:
        with pytest.raises(InvalidOptionError, match='restart'):
            drv.set_option('width', 320)
        with pytest.raises(InvalidOptionError, match='no option'):
            drv.set_option('exposure', 3)
        with pytest.raises(InvalidOptionError, match='true or false'):
            drv.set_option('loop', 'yes')
        with pytest.raises(InvalidOptionError, match='> 0'):
            drv.set_option('depth_scale', 0.0)
        drv.set_option('realtime', True)
        assert drv.runtime_options()['realtime'] is True


# -- image sequences and depth -------------------------------------------------------------
def test_image_sequence_exact_rgb_grey_and_start_index(tmp_path):
    colour = _frames(4, seed=2)
    pattern = _write_sequence(tmp_path, 'img_%04d.png', colour, start=1)
    drv = WebcamDriver(dict(FAST, source=pattern))
    with drv:
        props = drv.properties()
        assert (props.color.width, props.color.height) == (W, H)
        assert props.fps == 0.0 and props.extra['fps_source'] == 'unknown'
        got = _drain(drv)
    assert [np.array_equal(fs.color, c[:, :, ::-1]) for fs, c in zip(got, colour)] == \
        [True] * 4
    grey = _frames(3, seed=3, shape=(H, W))
    pattern = _write_sequence(tmp_path, 'grey_%03d.png', grey)
    with WebcamDriver(dict(FAST, source=pattern, fps=10.0)) as drv:
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
    drv = WebcamDriver(dict(FAST, source=cpat, depth_source=dpat))
    with drv:
        props = drv.properties()
        assert props.has_depth
        assert props.depth == props.color
        assert np.allclose(props.depth_to_color.rotation, np.eye(3))
        got = _drain(drv)
    assert len(got) == 5
    for fs, c, d in zip(got, colour, depth):
        assert np.array_equal(fs.color, c[:, :, ::-1])
        assert fs.depth.dtype == np.uint16 and np.array_equal(fs.depth, d)
        assert np.array_equal(fs.aligned_depth, d)
    # TUM-style depth (5000 units per metre): scaled to millimetres
    with WebcamDriver(dict(FAST, source=cpat, depth_source=dpat, depth_scale=0.2)) as drv:
        fs = drv.read(1.0)
    assert np.array_equal(fs.depth, np.rint(depth[0] * 0.2).astype(np.uint16))


def test_depth_sequence_with_a_video_file(tmp_path, video):
    depth = [np.full((H, W), 500 * (i + 1), np.uint16) for i in range(len(video['frames']))]
    dpat = _write_sequence(tmp_path, 'd_%02d.png', depth)
    with WebcamDriver(dict(FAST, source=video['mkv'], depth_source=dpat)) as drv:
        got = _drain(drv)
    assert [int(fs.depth[1, 1]) for fs in got] == [500 * (i + 1) for i in range(len(got))]
    assert all(np.array_equal(fs.color, c[:, :, ::-1]) for fs, c in zip(got, video['frames']))


def test_depth_shorter_than_colour_ends_the_stream(tmp_path):
    colour = _frames(4, seed=6)
    depth = [np.full((H, W), 1000 + i, np.uint16) for i in range(2)]
    cpat = _write_sequence(tmp_path, 'c_%03d.png', colour)
    dpat = _write_sequence(tmp_path, 'd_%03d.png', depth)
    with WebcamDriver(dict(FAST, source=cpat, depth_source=dpat)) as drv:
        got = _drain(drv)
    assert [int(fs.depth[0, 0]) for fs in got] == [1000, 1001]


def test_depth_source_errors(tmp_path, video):
    colour = _frames(2, seed=7)
    cpat = _write_sequence(tmp_path, 'c_%03d.png', colour)
    small = _write_sequence(tmp_path, 's_%03d.png', [np.zeros((10, 10), np.uint16)] * 2)
    eight = _write_sequence(tmp_path, 'e_%03d.png', [np.zeros((H, W), np.uint8)] * 2)
    for dpat, match in ((small, 'same size'), (eight, '16-bit'),
                        (str(tmp_path / 'nothing_%03d.png'), 'nothing_000.png'),
                        (str(tmp_path / 'single.png'), 'pattern')):
        drv = WebcamDriver(dict(FAST, source=cpat, depth_source=dpat))
        with pytest.raises((InvalidOptionError, DeviceNotFoundError), match=match):
            drv.open()
        assert not drv.is_open
    drv = WebcamDriver({'source': 'http://127.0.0.1:9/x.mjpg', 'depth_source': small})
    with pytest.raises(InvalidOptionError, match='live'):
        drv.open()


# -- missing sources -----------------------------------------------------------------------
def test_missing_sources_raise_device_not_found(tmp_path):
    missing = str(tmp_path / 'nope.avi')
    with pytest.raises(DeviceNotFoundError, match='nope.avi') as err:
        WebcamDriver({'source': missing}).open()
    assert 'does not exist' in str(err.value)
    with pytest.raises(DeviceNotFoundError, match=r'img_%04d\.png') as err:
        WebcamDriver({'source': str(tmp_path / 'img_%04d.png')}).open()
    assert 'img_0000.png' in str(err.value)
    for source in ('/dev/video9', '9'):
        drv = WebcamDriver({'source': source})
        with pytest.raises(DeviceNotFoundError, match='video9') as err:
            drv.open()
        assert 'V4L2' in str(err.value) and 'video devices on this machine' in str(err.value)
        assert not drv.is_open
        drv.close()
    garbage = tmp_path / 'garbage.avi'
    garbage.write_bytes(b'not a video at all' * 10)
    with pytest.raises(DeviceNotFoundError, match='cannot open|no readable frame'):
        WebcamDriver({'source': str(garbage)}).open()


# -- a live camera: MJPEG over HTTP on 127.0.0.1 --------------------------------------------
class MjpegServer:
    """multipart/x-mixed-replace JPEG stream; bounded: stops by itself after `lifetime` s."""

    def __init__(self, colour_bgr=(30, 60, 220), fps: float = 50.0, lifetime: float = 30.0):
        ok, jpg = cv2.imencode('.jpg', np.full((H, W, 3), colour_bgr, np.uint8),
                               [cv2.IMWRITE_JPEG_QUALITY, 95])
        assert ok
        self.jpeg = jpg.tobytes()
        self.period = 1.0 / fps
        self.lifetime = lifetime
        self.port = 0
        self._server: Optional[http.server.ThreadingHTTPServer] = None
        self._stop = threading.Event()
        self._timer: Optional[threading.Timer] = None
        self._lock = threading.Lock()

    def _handler(self):
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                self.send_response(200)
                self.send_header('Content-Type', 'multipart/x-mixed-replace; boundary=frame')
                self.end_headers()
                end = time.monotonic() + server.lifetime
                while not server._stop.is_set() and time.monotonic() < end:
                    part = (b'--frame\r\nContent-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n'
                            % len(server.jpeg) + server.jpeg + b'\r\n')
                    try:
                        self.wfile.write(part)
                        self.wfile.flush()
                    except OSError:
                        return
                    server._stop.wait(server.period)
        return Handler

    def start(self) -> 'MjpegServer':
        self._stop.clear()
        self._server = http.server.ThreadingHTTPServer(('127.0.0.1', self.port),
                                                       self._handler())
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        self._timer = threading.Timer(self.lifetime, self.stop)
        self._timer.daemon = True
        self._timer.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        with self._lock:
            if self._timer is not None and self._timer is not threading.current_thread():
                self._timer.cancel()
            server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()

    @property
    def url(self) -> str:
        return 'http://127.0.0.1:%d/stream.mjpg' % self.port


@pytest.fixture
def mjpeg():
    server = MjpegServer().start()
    yield server
    server.stop()


def _read_some(drv: WebcamDriver, n: int) -> list:
    got = []
    for _ in range(n + 20):                  # bounded: at most n + 20 one-second reads
        fs = drv.read(1.0)
        if fs is not None:
            got.append(fs)
        if len(got) == n:
            break
    return got


def test_mjpeg_stream_lost_then_reconnects(mjpeg):
    drv = WebcamDriver({'source': mjpeg.url, 'open_timeout': 3.0,
                        'stream_read_timeout': 2.0})
    drv.open()
    try:
        props = drv.properties()
        assert (props.color.width, props.color.height) == (W, H)
        assert props.fps == 0.0             # MJPEG over HTTP carries no rate
        got = _read_some(drv, 5)
        assert len(got) == 5
        r, g, b = (float(got[-1].color[..., c].mean()) for c in range(3))
        assert abs(r - 220) < 8 and abs(g - 60) < 8 and abs(b - 30) < 8   # RGB, not BGR
        seqs = [fs.sequence for fs in got]
        assert seqs == sorted(seqs) and len(set(seqs)) == 5
        info = drv.commands()['source_info'][1]({})
        assert info['kind'] == 'url' and info['backend'] == 'FFMPEG'
        assert 'seek' not in drv.commands()

        mjpeg.stop()                         # unplug
        with pytest.raises(DeviceLostError):
            for _ in range(20):              # bounded; stream_read_timeout is 2 s
                drv.read(1.0)
        drv.close()
        with pytest.raises(DeviceNotFoundError, match='127.0.0.1'):
            drv.open()                       # still unplugged
        assert not drv.is_open

        mjpeg.start()                        # plug back, same port
        drv.open()
        after = _read_some(drv, 3)
        assert len(after) == 3
        assert after[0].sequence > seqs[-1]
    finally:
        drv.close()
        drv.close()


def test_url_credentials_are_not_reported():
    drv = WebcamDriver({'source': 'http://user:secret@127.0.0.1:9/x.mjpg',
                        'open_timeout': 1.0})
    with pytest.raises(DeviceNotFoundError) as err:
        drv.open()
    assert 'secret' not in str(err.value) and '***' in str(err.value)


# -- real hardware (opt-in) ----------------------------------------------------------------
hw = pytest.mark.skipif(os.environ.get('CAMERA_NODE_HW_WEBCAM') != '1',
                        reason='set CAMERA_NODE_HW_WEBCAM=1 (and CAMERA_NODE_HW_WEBCAM_SOURCE) '
                        'with a webcam attached')


@hw
def test_hw_webcam_streams_with_actual_size():
    source = os.environ.get('CAMERA_NODE_HW_WEBCAM_SOURCE', '0')
    drv = WebcamDriver({'source': source, 'width': 640, 'height': 480})
    with drv:
        props = drv.properties()
        got = _read_some(drv, 30)
        assert len(got) == 30
        for fs in got:
            assert fs.color.shape == (props.color.height, props.color.width, 3)
        assert all(b.sequence > a.sequence for a, b in zip(got, got[1:]))
        assert all(b.stamp_ns > a.stamp_ns for a, b in zip(got, got[1:]))
        assert abs(got[-1].stamp_ns - time.time_ns()) < 5e9
        info = drv.commands()['source_info'][1]({})
        assert info['kind'] == 'device' and info['backend'] == 'V4L2'


@hw
def test_hw_webcam_close_open_cycles():
    source = os.environ.get('CAMERA_NODE_HW_WEBCAM_SOURCE', '0')
    drv = WebcamDriver({'source': source})
    for _ in range(3):
        drv.open()
        assert len(_read_some(drv, 3)) == 3
        drv.close()


# -- shipped configuration ------------------------------------------------------------------
@pytest.mark.parametrize('name', ['webcam', 'file'])
def test_config_yaml_lists_every_parameter_with_its_default(name):
    import yaml
    path = os.path.join(os.path.dirname(__file__), '..', 'config', name + '.yaml')
    with open(path) as f:
        values = yaml.safe_load(f)['/**']['ros__parameters']
    assert values.pop('driver') == name
    specs = {p.name: p for p in WebcamDriver.parameters}
    assert set(values) == set(specs)
    for key, value in values.items():
        assert type(value) is type(specs[key].default), key
        if not (name == 'file' and key == 'source'):
            assert value == specs[key].default, key
