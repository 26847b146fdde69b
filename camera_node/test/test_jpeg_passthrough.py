"""JPEG passthrough (a source's JPEG published as it came) and JPEG reuse by the services.

The webcam driver reads a local MJPEG-over-HTTP server through the real OpenCV/FFmpeg (the
``source`` parameter is the seam, as in test_driver_webcam.py): the bytes on
``color/image_raw/compressed`` must be the bytes the server sent. The synthetic camera
shows the other half: the JPEG the compressed topic encoded for a frame set is the one
GetImage answers with for that frame set, not a second encoding.
"""

import time

import cv2
import numpy as np
import pytest
from rclpy.executors import SingleThreadedExecutor
from rclpy.parameter import Parameter
from rclpy.qos import QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import CompressedImage

from camera_node.core import jpeg as core_jpeg
from camera_node.ros.node import CameraNode
from camera_node.viam import codecs
from camera_node_interfaces.srv import GetImage
from test_driver_webcam import _read_some, MjpegServer

from camera_node.drivers.webcam.driver import WebcamDriver


def strip_huffman_tables(data):
    """Remove every DHT segment, as MJPEG cameras send their frames."""
    out, pos = data[:2], 2
    while True:
        marker, length = data[pos + 1], int.from_bytes(data[pos + 2:pos + 4], 'big')
        if marker == 0xDA:
            return out + data[pos:]
        if marker != 0xC4:
            out += data[pos:pos + 2 + length]
        pos += 2 + length


@pytest.fixture
def mjpeg():
    server = MjpegServer(colour_bgr=(40, 90, 200)).start()
    yield server
    server.stop()


def test_complete_jpeg_adds_the_standard_tables_and_trims():
    noise = np.random.default_rng(1).integers(0, 255, (16, 24, 3), dtype=np.uint8)
    ok, enc = cv2.imencode('.jpg', noise)
    original = enc.tobytes()
    bare = strip_huffman_tables(original)
    assert b'\xff\xc4' not in bare[:bare.index(b'\xff\xda')]
    assert core_jpeg.complete_jpeg(bare) == original          # the Annex K tables, in place
    assert core_jpeg.complete_jpeg(original + b'\x00' * 7) == original
    with pytest.raises(ValueError, match='cut short'):
        core_jpeg.complete_jpeg(original[:-40])
    with pytest.raises(ValueError, match='not a JPEG'):
        core_jpeg.complete_jpeg(b'\x89PNG....')
    assert core_jpeg.jpeg_size(original) == (24, 16)


@pytest.mark.parametrize('strip', [False, True])
def test_webcam_passes_the_streams_jpeg_through(mjpeg, strip):
    sent = mjpeg.jpeg
    if strip:
        mjpeg.jpeg = strip_huffman_tables(sent)        # an MJPEG camera's frames
    drv = WebcamDriver({'source': mjpeg.url, 'open_timeout': 3.0})
    drv.open()
    try:
        got = _read_some(drv, 3)
        assert len(got) == 3
        for fs in got:
            assert fs.color_jpeg == sent                    # the server's bytes, as they came
            assert not fs.has_color_pixels                  # not decoded by the driver
        pixels = got[-1].color                              # decoded when asked for
        want = cv2.cvtColor(cv2.imdecode(np.frombuffer(sent, np.uint8), cv2.IMREAD_COLOR),
                            cv2.COLOR_BGR2RGB)
        np.testing.assert_array_equal(pixels, want)
        assert got[-1].has_color_pixels and not pixels.flags.writeable
        info = drv.commands()['source_info'][1]({})
        assert info['jpeg_passthrough'] is True and info['fourcc'] == 'MJPG'
    finally:
        drv.close()


def test_webcam_decodes_when_passthrough_is_off(mjpeg):
    drv = WebcamDriver({'source': mjpeg.url, 'open_timeout': 3.0, 'jpeg_passthrough': False})
    drv.open()
    try:
        fs = _read_some(drv, 1)[0]
        assert fs.color_jpeg is None and fs.has_color_pixels
        assert abs(float(fs.color[..., 0].mean()) - 200) < 8       # RGB
        assert drv.commands()['source_info'][1]({})['jpeg_passthrough'] is False
    finally:
        drv.close()


def test_node_publishes_the_source_jpeg_and_serves_it(mjpeg, start_node, probe):
    p = start_node(namespace='passthrough', params={
        'driver': 'webcam', 'source': mjpeg.url, 'open_timeout': 3.0})
    assert p.wait_output('publishing', 30), p.output()
    got = probe.collect(CompressedImage, p.topic('color/image_raw/compressed'), count=3)
    assert len(got) == 3
    assert all(bytes(m.data) == mjpeg.jpeg for m in got)
    assert got[0].format == 'rgb8; jpeg compressed bgr8'
    res = probe.call(GetImage, p.topic('get_image'), GetImage.Request(
        mime_type='image/jpeg', extra='{"ros_image": true}'))
    assert res.success and bytes(res.data) == mjpeg.jpeg            # no re-encoding either
    assert res.image.width == 64 and res.image.encoding == 'rgb8'   # pixels when asked
    png = probe.call(GetImage, p.topic('get_image'), GetImage.Request(mime_type='image/png'))
    assert png.success and codecs.decode_png(bytes(png.data)).shape == (48, 64, 3)


@pytest.fixture
def synthetic_node(rclpy_context):
    node = CameraNode('reuse', namespace='/reuse', parameter_overrides=[
        Parameter('width', value=64), Parameter('height', value=48),
        Parameter('fps', value=4.0)])
    executor = SingleThreadedExecutor()
    executor.add_node(node)
    yield node, executor
    node.shutdown()
    executor.remove_node(node)
    node.destroy_node()


def test_getimage_reuses_the_jpeg_the_topic_encoded(synthetic_node, monkeypatch):
    node, executor = synthetic_node
    encodes = []
    real = codecs.encode_jpeg
    monkeypatch.setattr(codecs, 'encode_jpeg',
                        lambda img, q=90: encodes.append(q) or real(img, q))
    got = {}
    qos = QoSProfile(depth=5, reliability=ReliabilityPolicy.RELIABLE)
    node.create_subscription(CompressedImage, '/reuse/reuse/color/image_raw/compressed',
                             lambda m: got.__setitem__(
                                 m.header.stamp.sec * 10**9 + m.header.stamp.nanosec, m), qos)
    session = node.camera.session
    checked = False
    deadline = time.monotonic() + 30
    while not checked and time.monotonic() < deadline:
        executor.spin_once(timeout_sec=0.05)
        fs = session.latest
        if fs is None or fs.stamp_ns not in got:
            continue                  # the topic has not published the newest frame set yet
        before = len(encodes)
        answers = [node.camera.viam.get_image('image/jpeg') for _ in range(3)]
        if session.latest is not fs:
            continue                  # a newer frame set came meanwhile (4 fps): again
        assert len(encodes) == before                    # GetImage encoded nothing
        for a in answers:
            assert a.data is fs.encoded[('jpeg', 'color', 80)]
            assert bytes(got[fs.stamp_ns].data) == a.data
        checked = True
    assert checked, 'never saw a compressed message of the newest frame set'
    # a different quality is encoded (once per frame set and quality)
    assert node.camera.parameters.set({'jpeg_quality': 50})['jpeg_quality']['successful']
    node.camera.viam.get_image('image/jpeg')
    assert encodes[-1] == 50
