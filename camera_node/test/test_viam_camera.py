"""The Viam API and DoCommand in process, over a real camera session (no ROS, no DDS).

The same objects the node's services call: ViamCamera and the CommandTable over a
CameraSession running the synthetic driver, with the LocalParameters port in place of the
ROS parameter services.
"""

import json
import logging

import numpy as np
import pytest

from camera_node.core.calibration import Calibration, IntrinsicsResolver
from camera_node.core.errors import Unavailable
from camera_node.core.frames import FrameNames
from camera_node.core.params import ParameterApplier, ParameterStore
from camera_node.core.session import CameraSession, State
from camera_node.drivers import parameter_specs
from camera_node.drivers.synthetic.driver import SyntheticDriver
from camera_node.drivers.synthetic.scene import WALL_Z
from camera_node.viam import codecs, pcd
from camera_node.viam.camera import GeometrySet, ViamCamera
from camera_node.viam.commands import CommandTable, LocalParameters
from camera_node.viam.geometries import parse_geometries
from camera_node.viam.requests import RequestError

W, H = 64, 48


class Camera:
    """A camera assembled as the node assembles it, minus ROS."""

    def __init__(self, **given):
        self.store = ParameterStore(parameter_specs('synthetic'),
                                    dict({'width': W, 'height': H, 'fps': 60.0}, **given))
        self.driver = SyntheticDriver(self.store)
        self.session = CameraSession('cam', self.driver, self.store.view,
                                     logging.getLogger('test'))
        self.intrinsics = IntrinsicsResolver(logging.getLogger('test'))
        self.session.on_open.append(self.intrinsics.resolve)
        self.geometries = GeometrySet()
        self.viam = ViamCamera(self.session, self.store.view, self.intrinsics,
                               FrameNames('cam'), self.geometries)
        self.applier = ParameterApplier(self.store)
        for name, handler in self.driver.option_handlers().items():
            self.applier.on_change(name, handler)
        self.commands = CommandTable(self.session, LocalParameters(self.applier),
                                     lambda: dict(self.session.figures(), published_fps={}))

    def command(self, **cmd):
        return json.loads(self.commands.run(json.dumps(cmd)))


@pytest.fixture
def cam():
    c = Camera()
    c.session.start()
    c.session.frame_set()  # waits for the first frame set
    yield c
    c.session.close()


def test_images_of_one_frame_set_agree_with_the_scene(cam):
    images = cam.viam.get_images()
    assert [(i.source_name, i.mime_type) for i in images.images] == [
        ('color', codecs.MIME_JPEG), ('depth', codecs.MIME_VIAM_DEP)]
    depth = codecs.decode_dep(images.images[1].data)
    assert depth.shape == (H, W) and depth[2, 2] == int(WALL_Z * 1000)
    assert images.captured_at_ns == images.images[0].stamp_ns == images.images[1].stamp_ns
    png = cam.viam.get_images(['color'], '{"mime_type": "image/png"}').images[0]
    assert np.array_equal(codecs.decode_png(png.data), png.array)


def test_get_image_types_sources_and_fallbacks(cam):
    assert cam.viam.get_image('image/vnd.viam.dep').source_name == 'depth'
    img = cam.viam.get_image('image/jpeg', '{"source": "depth"}')
    assert (img.mime_type, img.stream) == (codecs.MIME_VIAM_DEP, 'aligned_depth')
    rgba = cam.viam.get_image('image/vnd.viam.rgba+lazy')
    assert codecs.read_rgba_header(rgba.data) == (W, H)
    assert not rgba.pixels_wanted and cam.viam.get_image('', '{"ros_image": true}').pixels_wanted
    for extra, reason in (('{"source": "ir"}', 'unknown source'),
                          ('{"ros_image": "true"}', 'ros_image must be true or false'),
                          ('{"source": []}', 'unknown source'),
                          ('[1]', 'must be a JSON object'), ('{', 'not valid JSON')):
        with pytest.raises(RequestError, match=reason):
            cam.viam.get_image('', extra)


def test_point_cloud_and_properties(cam):
    cloud = cam.viam.get_point_cloud('{"decimation": 2}')
    xyz, rgb = pcd.decode_pcd(cloud.data)
    assert len(xyz) <= (W // 2) * (H // 2) and rgb is not None
    assert np.nanmax(xyz[:, 2]) == pytest.approx(WALL_Z, abs=1e-3)
    with pytest.raises(RequestError, match='decimation'):
        cam.viam.get_point_cloud('{"decimation": 0}')
    props = cam.viam.get_properties()
    assert props.supports_pcd and props.intrinsics.width == W
    assert props.distortion_model == 'brown_conrady'
    assert props.default_reference_frame == 'cam_color_optical_frame'
    assert props.depth_to_color_translation == pytest.approx((-0.015, 0.0, 0.0))
    assert codecs.MIME_VIAM_DEP in props.mime_types


def test_calibration_wins_over_the_driver_and_bad_focal_length_is_refused(cam):
    intr = cam.session.props.color
    cal = Calibration.from_intrinsics(intr)
    cal.k[0] = cal.p[0] = 2 * intr.fx
    cam.intrinsics.set_stored(cal)
    cam.intrinsics.resolve(cam.session.props)
    assert cam.viam.get_properties().intrinsics.fx == 2 * intr.fx
    cal2 = Calibration.from_intrinsics(intr)
    cal2.k[0] = float('nan')
    cam.intrinsics.set_stored(cal2)
    cam.intrinsics.resolve(cam.session.props)
    with pytest.raises(RequestError, match='fx must be finite'):
        cam.viam.get_point_cloud()


def test_geometries_and_close(cam):
    cam.geometries.items = parse_geometries('[{type: sphere, radius_mm: 5, label: lens}]')
    assert [g.label for g in cam.viam.get_geometries()] == ['lens']
    assert cam.viam.close() is True and cam.viam.close() is False
    assert cam.session.state is State.CLOSED
    for call in (cam.viam.get_image, cam.viam.get_images, cam.viam.get_point_cloud,
                 cam.viam.get_properties, cam.viam.get_geometries):
        with pytest.raises(Unavailable, match='closed'):
            call()


def test_inactive_session_refuses_with_the_reason():
    c = Camera()
    c.session.idle_reason = 'lifecycle state: unconfigured'
    with pytest.raises(Unavailable, match='not active .lifecycle state: unconfigured'):
        c.viam.get_image()
    with pytest.raises(Unavailable, match='no frame captured yet'):
        c.viam.get_properties()


def test_do_command_table(cam):
    status = cam.command(command='status')
    assert status['camera'] == 'cam' and status['state'] == 'streaming'
    assert status['driver'] == 'synthetic' and status['frames_captured'] >= 1
    assert set(cam.command(command='help')['commands']) >= {
        'status', 'help', 'get_parameters', 'set_parameters', 'scene'}
    assert cam.command(command='get_parameters')['parameters']['width'] == W
    res = cam.command(command='set_parameters',
                      parameters={'fps': 20, 'jpeg_quality': 55.0, 'width': 10})['results']
    assert res['fps']['successful'] and res['jpeg_quality']['successful']
    assert not res['width']['successful'] and 'read-only' in res['width']['reason']
    assert cam.store['fps'] == 20.0 and cam.store['jpeg_quality'] == 55
    assert cam.driver.properties().fps == 20.0
    bad = cam.command(command='set_parameters', parameters={'fps': 1e9})['results']['fps']
    assert not bad['successful'] and 'within' in bad['reason'] and cam.store['fps'] == 20.0
    assert 'sphere_center_m' in cam.command(command='scene')
    for text, reason in (('', 'got nothing'), ('[]', 'must be a JSON object'),
                         ('{"command": 3}', 'needs a "command" string'),
                         ('{"command": "fly"}', 'unknown command'),
                         ('{"command": "set_parameters"}', 'needs "parameters"'),
                         ('{"command": "set_parameters", "parameters": {"x": 1}}',
                          'unknown parameter'),
                         ('{"command": "status", "pad": "%s"}' % ('x' * 70000), 'limit')):
        with pytest.raises(RequestError, match=reason):
            cam.commands.run(text)
    cam.session.close()
    assert cam.command(command='status')['state'] == 'closed'
    with pytest.raises(Unavailable, match='closed'):
        cam.commands.run('{"command": "get_parameters"}')


def test_a_failed_change_leaves_nothing_half_applied(cam):
    applied = []
    from camera_node.core.params import Handler
    cam.applier.on_change('jpeg_quality', Handler(apply=applied.append))

    def refuse(_value):
        raise RuntimeError('device said no')
    cam.applier.on_change('png_level', Handler(apply=refuse))
    reason = cam.applier.apply([('jpeg_quality', 50), ('png_level', 3)])
    assert reason == 'RuntimeError: device said no'
    assert applied == [50, 80]          # applied, then put back
    assert cam.store['jpeg_quality'] == 80 and cam.store['png_level'] == 1
    assert cam.applier.apply([('jpeg_quality', 'high')]).startswith('jpeg_quality must be')
