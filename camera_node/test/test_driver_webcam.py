"""WebcamDriver through the real OpenCV, with no camera.

A local MJPEG-over-HTTP server on 127.0.0.1 stands in for a live camera that can be
unplugged and plugged back (the ``source`` parameter is the seam; no test double). Video
files and image sequences are the file driver's (test_driver_file.py).

Hardware tests run only with ``CAMERA_NODE_HW_WEBCAM=1`` (source from
``CAMERA_NODE_HW_WEBCAM_SOURCE``, default ``0``).
"""

from __future__ import annotations

import http.server
import os
import threading
import time
from typing import Optional

import cv2
import numpy as np
import pytest

from camera_node.core.errors import DeviceLostError, DeviceNotFoundError, InvalidOptionError
from camera_node.core.params import node_parameters
from camera_node.drivers import driver_class, known_drivers
from camera_node.drivers.file.driver import FileDriver
from camera_node.drivers.opencv.common import to_rgb
from camera_node.drivers.opencv.sources import source_kind
from camera_node.drivers.webcam.driver import WebcamDriver

W, H = 64, 48


def test_registry_and_parameters():
    assert driver_class('webcam') is WebcamDriver
    assert driver_class('file') is FileDriver
    node = {p.name for p in node_parameters(known_drivers())}
    for cls, wants in ((WebcamDriver, ('source', 'width', 'height', 'fps', 'fourcc',
                                       'open_timeout', 'stream_read_timeout',
                                       'default_hfov_deg')),
                       (FileDriver, ('source', 'fps', 'loop', 'realtime', 'depth_source',
                                     'depth_scale', 'default_hfov_deg'))):
        names = [p.name for p in cls.parameters]
        assert len(names) == len(set(names))
        for want in wants:
            assert want in names
        clash = set(names) & node
        assert not clash, 'driver parameters shadow node parameters: %s' % clash
    webcam = {p.name for p in WebcamDriver.parameters}
    assert not webcam & {'loop', 'realtime', 'file_stamp', 'depth_source', 'depth_scale'}
    assert source_kind('0') == 'device'
    assert source_kind('/dev/video3') == 'device'
    assert source_kind('rtsp://u:p@cam/stream') == 'url'
    assert source_kind('/data/img_%04d.png') == 'sequence'
    assert source_kind('/data/clip.mp4') == 'file'


@pytest.mark.parametrize('source,kind', [('/data/clip.mp4', 'a video file'),
                                         ('file:///data/clip.mkv', 'a video file'),
                                         ('/data/img_%04d.png', 'an image sequence')])
def test_files_are_refused_naming_the_file_driver(source, kind):
    # driver:=webcam source:=video.mp4 is a parameter error naming driver:=file
    with pytest.raises(InvalidOptionError) as err:
        WebcamDriver({'source': source})
    text = str(err.value)
    assert text.startswith('source ') and kind in text and 'driver:=file' in text


def test_bad_fourcc_and_empty_source_are_refused():
    with pytest.raises(InvalidOptionError, match=r'fourcc must be 4 characters \(e.g. MJPG, '
                       r'YUYV\), got .MJPEG.$'):
        WebcamDriver({'fourcc': 'MJPEG'})
    with pytest.raises(InvalidOptionError, match='source is empty: give a device index'):
        WebcamDriver({'source': ' '})


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


# -- missing devices -----------------------------------------------------------------------
def test_missing_devices_raise_device_not_found():
    for source in ('/dev/video9', '9'):
        drv = WebcamDriver({'source': source})
        with pytest.raises(DeviceNotFoundError, match='video9') as err:
            drv.open()
        assert 'V4L2' in str(err.value) and 'video devices on this machine' in str(err.value)
        assert not drv.is_open
        drv.close()


# -- a live camera: MJPEG over HTTP on 127.0.0.1 --------------------------------------------
class MjpegServer:
    """multipart/x-mixed-replace JPEG stream; bounded: stops by itself after `lifetime` s."""

    def __init__(self, colour_bgr=(30, 60, 220), fps: float = 50.0, lifetime: float = 30.0,
                 truncate_every: int = 0):
        ok, jpg = cv2.imencode('.jpg', np.full((H, W, 3), colour_bgr, np.uint8),
                               [cv2.IMWRITE_JPEG_QUALITY, 95])
        assert ok
        self.jpeg = jpg.tobytes()
        self.truncate_every = truncate_every     # every Nth part is cut in half (0: none)
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
                n = 0
                while not server._stop.is_set() and time.monotonic() < end:
                    n += 1
                    jpeg = server.jpeg
                    if server.truncate_every and n % server.truncate_every == 0:
                        jpeg = jpeg[:len(jpeg) // 2]
                    part = (b'--frame\r\nContent-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n'
                            % len(jpeg) + jpeg + b'\r\n')
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
        stamps = [fs.stamp_ns for fs in got]
        assert all(b > a for a, b in zip(stamps, stamps[1:]))     # five distinct frames
        info = drv.commands()['source_info'][1]({})
        assert info['kind'] == 'url' and info['backend'] == 'FFMPEG'
        assert info['frames_delivered'] == 5 and info['position_frame'] >= 4
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
        assert after[0].stamp_ns > stamps[-1]
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
    specs = {p.name: p for p in driver_class(name).parameters}
    assert set(values) == set(specs)
    for key, value in values.items():
        assert type(value) is type(specs[key].default), key
        if not (name == 'file' and key == 'source'):
            assert value == specs[key].default, key


def test_truncated_jpegs_are_counted_and_never_delivered():
    # issue #10 F12: a cut-off JPEG used to be published as a good (half grey) frame
    server = MjpegServer(truncate_every=3).start()
    drv = WebcamDriver({'source': server.url, 'open_timeout': 3.0, 'stream_read_timeout': 2.0})
    try:
        drv.open()
        got = _read_some(drv, 12)
        assert len(got) == 12
        for fs in got:     # every delivered frame is the whole colour, bottom rows included
            bottom = fs.color[-4:].reshape(-1, 3).astype(int)
            assert np.abs(bottom - [220, 60, 30]).max() < 12
        info = drv.commands()['source_info'][1]({})
        assert info['jpeg_checked'] is True
        assert info['frames_truncated'] >= 4
        assert info['frames_undecodable'] == 0
    finally:
        drv.close()
        server.stop()


def test_jpeg_is_whole():
    from camera_node.drivers.webcam.grabber import jpeg_is_whole
    ok, jpg = cv2.imencode('.jpg', np.zeros((8, 8, 3), np.uint8))
    data = jpg.tobytes()
    assert jpeg_is_whole(data) and jpeg_is_whole(data + b'\r\n\x00')
    assert not jpeg_is_whole(data[:-10]) and not jpeg_is_whole(b'') and not jpeg_is_whole(data[2:])
