"""The three extension points of docs/architecture.md, each shown working end to end.

* a topic is one row of ``ros.streams.STREAMS``;
* a MIME type is one entry of ``viam.codecs.CODECS``, which the services, the client and the
  snapshot tool all follow;
* a driver is one ``drivers.register(DriverEntry(...))`` plus its module.
"""

import logging
import sys
import textwrap
import time

import cv2
import numpy as np
import pytest
from rclpy.executors import SingleThreadedExecutor
from rclpy.parameter import Parameter
from sensor_msgs.msg import Image

from camera_node import drivers
from camera_node.cli import snapshot
from camera_node.client import ViamLikeImage
from camera_node.core.calibration import IntrinsicsResolver
from camera_node.core.frames import FrameNames
from camera_node.core.params import ParameterStore
from camera_node.core.session import CameraSession
from camera_node.ros import streams
from camera_node.ros.node import CameraNode
from camera_node.viam import codecs
from camera_node.viam.camera import GeometrySet, ViamCamera

LOG = logging.getLogger('test_extension_points')


def viam_camera(driver_name, **given):
    store = ParameterStore(drivers.parameter_specs(driver_name), given)
    session = CameraSession('ext', drivers.driver_class(driver_name)(store), store.view, LOG)
    resolver = IntrinsicsResolver(LOG)
    session.on_open.append(resolver.resolve)
    session.start()
    session.frame_set()
    return session, ViamCamera(session, store.view, resolver, FrameNames('ext'),
                               GeometrySet())


def test_a_topic_is_one_row(rclpy_context, monkeypatch):
    row = streams.StreamSpec('depth_mirror', 'image', '~/depth_mirror/image_raw',
                             '~/depth_mirror/camera_info', '16UC1', 'depth_optical', 'depth',
                             'depth', needs='depth')
    monkeypatch.setattr(streams, 'STREAMS', streams.STREAMS + (row,))
    node = CameraNode('ext', namespace='/ext_topic', parameter_overrides=[
        Parameter('width', value=32), Parameter('height', value=24)])
    executor = SingleThreadedExecutor()
    executor.add_node(node)
    got = []
    node.create_subscription(Image, '/ext_topic/ext/depth_mirror/image_raw', got.append, 5)
    try:
        deadline = time.monotonic() + 20
        while not got and time.monotonic() < deadline:
            executor.spin_once(timeout_sec=0.05)
        assert got and (got[0].width, got[0].encoding) == (32, '16UC1')
        assert got[0].header.frame_id == 'camera_depth_optical_frame'
        assert '/ext_topic/ext/depth_mirror/image_raw' in node.camera.streams.topics()
        assert 'depth_mirror' in node.camera.figures()['published_fps']
    finally:
        node.shutdown()
        executor.remove_node(node)
        node.destroy_node()


def _bmp_size(data):
    if bytes(data[:2]) != b'BM':
        raise codecs.FormatError('not a BMP')
    height = int.from_bytes(data[22:26], 'little', signed=True)
    return int.from_bytes(data[18:22], 'little'), abs(height)


def _bmp_encode(rgb, _quality, _level):
    return cv2.imencode('.bmp', cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2BGR))[1]\
        .tobytes()


def _bmp_decode(data):
    return cv2.cvtColor(cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR),
                        cv2.COLOR_BGR2RGB)


def test_a_mime_type_is_one_registry_entry(monkeypatch, tmp_path):
    monkeypatch.setitem(codecs.CODECS, 'image/bmp', codecs.Codec(
        'image/bmp', (codecs.SOURCE_COLOR,), _bmp_encode, _bmp_decode, _bmp_size, '.bmp'))
    assert 'image/bmp' in codecs.supported_mime_types('color')
    session, cam = viam_camera('synthetic', width=40, height=30)
    try:
        img = cam.get_image('image/bmp')                    # the service path
        assert img.mime_type == 'image/bmp'
        assert 'image/bmp' in cam.get_properties().mime_types
    finally:
        session.close()
    client_image = ViamLikeImage(img.data, img.mime_type, 'color')   # the client path
    assert (client_image.width, client_image.height) == (40, 30)
    assert np.array_equal(client_image.to_numpy(), img.array)
    lines, _ = snapshot.save_images([client_image], snapshot.datetime.now(), str(tmp_path))
    assert (tmp_path / 'color.bmp').read_bytes() == img.data          # the snapshot path
    assert 'image/bmp' in lines[0]


DRIVER_MODULE = """
from camera_node.core.params import ParamSpec
from camera_node.core.types import CameraProperties, FrameSet, default_intrinsics
from camera_node.drivers.base import Driver
import numpy as np
import time

PARAMETERS = (ParamSpec('level', 7, 'Grey level of every pixel.', min=0, max=255),)


class GreyDriver(Driver):
    name = 'grey'
    parameters = PARAMETERS

    def _open(self):
        self.intr = default_intrinsics(8, 6, 60.0)

    def _read(self, timeout):
        time.sleep(0.01)
        level = self.options['level']
        return FrameSet(color=np.full((6, 8, 3), level, np.uint8), stamp_ns=time.time_ns())

    def _close(self):
        pass

    def properties(self):
        return CameraProperties(color=self.intr, intrinsics_source='default')
"""


def test_a_driver_is_one_registry_entry(monkeypatch, tmp_path):
    (tmp_path / 'grey_driver.py').write_text(textwrap.dedent(DRIVER_MODULE))
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(drivers, 'REGISTRY', list(drivers.REGISTRY))
    drivers.register(drivers.DriverEntry('grey', 'grey_driver', 'GreyDriver', 'grey_driver',
                                         'a flat grey test image'))
    with pytest.raises(ValueError, match='registered already'):
        drivers.register(drivers.REGISTRY[0])
    assert 'grey' in drivers.known_drivers()
    assert 'level' in [s.name for s in drivers.parameter_specs('grey')]
    session, cam = viam_camera('grey', level=9)
    try:
        assert codecs.decode_png(cam.get_image('image/png').data)[0, 0].tolist() == [9, 9, 9]
        assert not cam.get_properties().supports_pcd
    finally:
        session.close()
    sys.modules.pop('grey_driver', None)
