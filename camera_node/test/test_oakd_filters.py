"""The depth filter parameters and JPEG passthrough on the OAK driver, with no device.

As in test_driver_oakd.py the seam is the graph builder: a host-only ``dai.Pipeline(False)``
whose host node stands in for the device. Here it also takes the StereoDepth configs the
driver sends at runtime (real ``dai.StereoDepthConfig`` messages through a real input
queue) and can send colour as ``EncodedFrame`` JPEG, as the device's MJPEG encoder does, or
depth decimated. What the device itself does with a config (filtering) needs hardware.
"""

import os
import time

import cv2
import numpy as np
import pytest

os.environ.setdefault('DEPTHAI_LEVEL', 'error')
dai = pytest.importorskip('depthai')

from camera_node.core.depthops import decimated_intrinsics  # noqa: E402
from camera_node.core.errors import InvalidOptionError  # noqa: E402
from camera_node.core.filterparams import FilterSettings  # noqa: E402
from camera_node.core.params import ParameterApplier, ParameterStore  # noqa: E402
from camera_node.drivers.oakd import postproc  # noqa: E402
from camera_node.drivers.oakd.driver import OakDriver  # noqa: E402
from camera_node.drivers.oakd.graph import GraphHandles  # noqa: E402
from test_driver_oakd import (color_rgb, depth_mm, FPS, H, make_calibration,  # noqa: E402
                              read_n, SERIAL, W)

PP = dai.StereoDepthConfig.PostProcessing


class Device(dai.node.ThreadedHostNode):
    """Sends colour (ImgFrame or JPEG EncodedFrame) and depth; keeps configs it is sent."""

    def __init__(self):
        super().__init__()
        self.color = self.createOutput()
        self.depth = self.createOutput()
        self.config = self.createInput()
        self.cfg = {}
        self.configs = []
        self.jpegs = []

    def run(self):
        jpeg, depth_size = self.cfg.get('jpeg', False), self.cfg.get('depth_size', (W, H))
        for i in range(40):
            if not self.isRunning():
                return
            now = dai.Clock.now()
            bgr = np.ascontiguousarray(color_rgb(i)[..., ::-1])
            if jpeg:
                data = cv2.imencode('.jpg', bgr, [cv2.IMWRITE_JPEG_QUALITY, 90])[1].tobytes()
                self.jpegs.append(data)
                col = dai.EncodedFrame()
                col.setData(data)
                col.setProfile(dai.EncodedFrame.Profile.JPEG)
                col.setWidth(W)
                col.setHeight(H)
            else:
                col = dai.ImgFrame()
                col.setCvFrame(bgr, dai.ImgFrame.Type.BGR888i)
            col.setSequenceNum(i)
            col.setTimestamp(now)
            dep = dai.ImgFrame()
            image = depth_mm(i)[:depth_size[1], :depth_size[0]]
            dep.setCvFrame(np.ascontiguousarray(image), dai.ImgFrame.Type.RAW16)
            dep.setSequenceNum(i)
            dep.setTimestamp(now)
            self.color.send(col)
            self.depth.send(dep)
            msg = self.config.tryGet()
            if msg is not None:
                self.configs.append(msg)
            time.sleep(1.0 / FPS)


class Graph:
    """A graph builder like the device's: initial config from the request, config input."""

    def __init__(self, **cfg):
        self.cfg = cfg
        self.requests = []
        self.node = None

    def __call__(self, req):
        p = dai.Pipeline(False)
        src = p.create(Device)
        src.cfg = self.cfg
        self.node = src
        self.requests.append(req)
        initial = postproc.configure(dai.StereoDepthConfig(), req.filters)   # as the device
        return GraphHandles(p, src.color.createOutputQueue(maxSize=4, blocking=False),
                            src.depth.createOutputQueue(maxSize=4, blocking=False),
                            make_calibration(), None, None, {'device_id': SERIAL},
                            stereo_config=initial, config_queue=src.config.createInputQueue())


def driver(graph, **given):
    store = ParameterStore(OakDriver.parameters,
                           dict({'color_profile': '%dx%dx%d' % (W, H, FPS)}, **given))
    drv = OakDriver(store, graph_builder=graph)
    applier = ParameterApplier(store)
    for name, handler in drv.option_handlers().items():
        applier.on_change(name, handler)
    return drv, applier


def test_settings_map_onto_the_devices_post_processing():
    s = FilterSettings(threshold_mm=(200.0, 3500.0), decimation=2,
                       spatial=(0.6, 12.0, 3, 2), temporal=(0.3, 15.0, 7))
    pp = postproc.configure(dai.StereoDepthConfig(), s).postProcessing
    assert (pp.thresholdFilter.minRange, pp.thresholdFilter.maxRange) == (200, 3500)
    assert pp.decimationFilter.decimationFactor == 2
    assert pp.decimationFilter.decimationMode == PP.DecimationFilter.DecimationMode \
        .NON_ZERO_MEDIAN
    sp = pp.spatialFilter
    assert sp.enable and (sp.delta, sp.numIterations, sp.holeFillingRadius) == (12, 3, 4)
    assert sp.alpha == pytest.approx(0.6)
    tf = pp.temporalFilter
    assert tf.enable and tf.delta == 15 and tf.alpha == pytest.approx(0.3)
    assert tf.persistencyMode == PP.TemporalFilter.PersistencyMode.VALID_1_IN_LAST_8
    off = postproc.configure(dai.StereoDepthConfig(), FilterSettings()).postProcessing
    assert not off.spatialFilter.enable and not off.temporalFilter.enable
    assert (off.thresholdFilter.minRange, off.thresholdFilter.maxRange) == (0, 65535)
    assert off.decimationFilter.decimationFactor == 1


def test_filters_go_to_the_device_at_start_and_at_runtime():
    graph = Graph()
    drv, applier = driver(graph, **{'temporal_filter.enable': True})
    assert OakDriver.native_depth_filters and drv._depth_filter is None
    drv.open()
    try:
        assert graph.requests[-1].filters.temporal == (pytest.approx(0.4), 20.0, 3)
        assert len(read_n(drv, 2)) == 2
        assert applier.apply([('spatial_filter.enable', True),
                              ('spatial_filter.filter_smooth_alpha', 0.75)]) is None
        deadline = time.monotonic() + 5
        while not graph.node.configs and time.monotonic() < deadline:
            drv.read(0.2)
        assert graph.node.configs, 'no StereoDepthConfig reached the device'
        sent = graph.node.configs[-1].postProcessing
        assert sent.spatialFilter.enable and sent.temporalFilter.enable
        assert sent.spatialFilter.alpha == pytest.approx(0.75)
        reason = applier.apply([('decimation_filter.enable', True)])
        assert 'cannot change while an OAK streams' in reason
    finally:
        drv.close()
    bad, _ = driver(Graph(), **{'decimation_filter.enable': True,
                                'decimation_filter.filter_magnitude': 5})
    with pytest.raises(InvalidOptionError, match='decimate by 1 to 4'):
        bad.open()


def test_decimated_depth_gets_its_intrinsics_and_is_registered_on_the_host():
    graph = Graph(depth_size=(W // 2, H // 2))
    drv, _ = driver(graph, **{'decimation_filter.enable': True,
                              'hole_filling_filter.enable': True})
    drv.open()
    try:
        fs = read_n(drv, 2)[-1]
        assert graph.requests[-1].filters.decimation == 2
        assert fs.depth.shape == (H // 2, W // 2)
        assert fs.depth_intrinsics == decimated_intrinsics(drv.properties().color, 2)
        assert fs.aligned_depth.shape == (H, W)
        assert (fs.depth > 0).all()           # hole filling, on the host
        wall = int(fs.depth[-1, -1])
        assert (fs.aligned_depth[-2:, -2:] == wall).all()
    finally:
        drv.close()


def test_jpeg_from_the_devices_encoder_is_passed_through():
    graph = Graph(jpeg=True)
    drv, _ = driver(graph, jpeg_passthrough=True)
    drv.open()
    try:
        got = read_n(drv, 3)
        assert graph.requests[-1].jpeg_quality == 80       # the node's jpeg_quality
        assert len(got) == 3
        for fs in got:
            assert fs.color_jpeg in graph.node.jpegs and not fs.has_color_pixels
        fs = got[-1]
        index = graph.node.jpegs.index(fs.color_jpeg)
        assert np.abs(fs.color.astype(int) - color_rgb(index)).max() < 40  # JPEG q90
        assert fs.metadata['color'].frame_counter == index
        assert fs.depth is not None and fs.aligned_depth is not None
    finally:
        drv.close()
    graph = Graph()
    drv, _ = driver(graph)
    drv.open()
    try:
        fs = read_n(drv, 1)[-1]
        assert graph.requests[-1].jpeg_quality == 0 and fs.color_jpeg is None
    finally:
        drv.close()
