"""OAK-D driver through the real depthai v3 SDK, with no device attached.

The camera and stereo nodes of depthai cannot run without a device ("Pipeline is host
only") and there is no official mock device, so the narrowest seam the hardware forces is
the driver's graph-building function (``build_device_graph``: device search, Camera +
StereoDepth nodes, queues, device calibration). These tests replace only that function,
through the driver's ``graph_builder`` argument, with a host-only ``dai.Pipeline(False)``
whose ``ThreadedHostNode`` sends real ``ImgFrame`` messages (BGR888i colour, RAW16 depth,
known sequence numbers and steady-clock timestamps) and a real ``dai.CalibrationHandler``.
Queue reading, pairing, conversion, intrinsics, timestamps and options are production code.

Hardware tests run only with ``CAMERA_NODE_HW_OAKD=1`` and a device plugged in.
"""

import datetime
import os
import time

os.environ.setdefault('DEPTHAI_TELEMETRY', '0')
os.environ.setdefault('DEPTHAI_LEVEL', 'error')

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import yaml  # noqa: E402

dai = pytest.importorskip('depthai')

from camera_node.core.errors import (DeviceLostError, DeviceNotFoundError,  # noqa: E402
                                     InvalidOptionError)
from camera_node.drivers import driver_class  # noqa: E402
from camera_node.drivers.oakd.convert import ros_distortion  # noqa: E402
from camera_node.drivers.oakd.driver import OakDriver  # noqa: E402
from camera_node.drivers.oakd.graph import GraphHandles  # noqa: E402
from camera_node.drivers.oakd.pairing import FramePairer  # noqa: E402
from camera_node.drivers.oakd.params import parse_profile  # noqa: E402
from driver_contract import change, make_store  # noqa: E402

W, H, FPS, N = 64, 40, 30, 8
SERIAL = '14442C10TESTGRAPH'
CALIB_SIZE = (1920, 1080)
K = [[1500.0, 0.0, 950.0], [0.0, 1490.0, 540.0], [0.0, 0.0, 1.0]]
DIST = [0.1, -0.2, 0.001, 0.002, 0.05, 0.3, 0.1, 0.01, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]
CONFIG = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                      'config', 'oakd.yaml')

HW = os.environ.get('CAMERA_NODE_HW_OAKD') == '1'
hw_only = pytest.mark.skipif(not HW, reason='needs an OAK device: set CAMERA_NODE_HW_OAKD=1 '
                             'with one plugged in')


def color_rgb(i, w=W, h=H):
    """Colour of frame i as RGB: R carries the frame index, G the column, B the row."""
    img = np.empty((h, w, 3), np.uint8)
    img[..., 0] = 10 * i + 1
    img[..., 1] = (np.arange(w) * 3 % 256)[None, :]
    img[..., 2] = (np.arange(h) * 5 % 256)[:, None]
    return img


def index_of(fs):
    """Frame index the fake device sent a frame set with (from the colour's R channel)."""
    return (int(fs.color[0, 0, 0]) - 1) // 10


def depth_mm(i, w=W, h=H):
    """Depth of frame i in mm: a wall at 1000 + 10 i with a patterned corner block."""
    img = np.full((h, w), 1000 + 10 * i, np.uint16)
    img[:4, :4] = np.arange(16, dtype=np.uint16).reshape(4, 4) * 7 + 300
    img[-1, -1] = 0   # no depth
    return img


class FakeOak(dai.node.ThreadedHostNode):
    """Host node standing in for the device: sends colour and depth ImgFrames."""

    def __init__(self):
        super().__init__()
        self.color = self.createOutput()
        self.depth = self.createOutput()
        self.control = self.createInput()   # CameraControl in, as the device camera takes
        self.cfg = {}
        self.received = []

    def _poll_control(self):
        while True:
            msg = self.control.tryGet()
            if msg is None:
                return
            self.received.append(msg)

    def run(self):
        c = dict(frames=N, size=(W, H), depth=True, skip_odd_depth=False, depth_first=False,
                 depth_seq_offset=0, depth_dt_us=0, lose_after=None)
        c.update(self.cfg)
        w, h = c['size']
        for i in range(c['frames']):
            if not self.isRunning():
                return
            now = dai.Clock.now()
            col = dai.ImgFrame()
            col.setCvFrame(np.ascontiguousarray(color_rgb(i, w, h)[..., ::-1]),
                           dai.ImgFrame.Type.BGR888i)
            col.setSequenceNum(i)
            col.setTimestamp(now)
            col.setTimestampDevice(now)
            dep = None
            if c['depth'] and not (c['skip_odd_depth'] and i % 2):
                dep = dai.ImgFrame()
                dep.setCvFrame(depth_mm(i, w, h), dai.ImgFrame.Type.RAW16)
                dep.setSequenceNum(i + c['depth_seq_offset'])
                dep.setTimestamp(now + datetime.timedelta(microseconds=c['depth_dt_us']))
            if dep is not None and c['depth_first']:
                self.depth.send(dep)
            self.color.send(col)
            if dep is not None and not c['depth_first']:
                self.depth.send(dep)
            if c['lose_after'] is not None and i + 1 >= c['lose_after']:
                self.stopPipeline()   # as a device that went away: queues close
                return
            self._poll_control()
            time.sleep(1.0 / FPS)
        while self.isRunning():       # out of frames: keep taking camera controls
            self._poll_control()
            time.sleep(0.005)


def make_calibration(dist=DIST):
    """A real CalibrationHandler with colour (CAM_A) and stereo (CAM_B/C) data."""
    calib = dai.CalibrationHandler()
    S = dai.CameraBoardSocket
    calib.setCameraIntrinsics(S.CAM_A, K, dai.Size2f(*CALIB_SIZE))
    calib.setDistortionCoefficients(S.CAM_A, dist)
    for s in (S.CAM_B, S.CAM_C):
        calib.setCameraIntrinsics(s, [[800.0, 0, 640.0], [0, 800.0, 400.0], [0, 0, 1]],
                                  dai.Size2f(1280, 800))
        calib.setDistortionCoefficients(s, [0.0] * 14)
    eye = [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]
    calib.setCameraExtrinsics(S.CAM_B, S.CAM_C, eye, [-7.5, 0.0, 0.0], [-7.5, 0.0, 0.0])
    calib.setCameraExtrinsics(S.CAM_C, S.CAM_A, eye, [3.75, 0.0, 0.0], [3.75, 0.0, 0.0])
    calib.setBoardInfo('OAK-D-TEST', 'R3M2E3')
    return calib


class HostGraph:
    """A graph builder for OakDriver: host-only pipeline + real CalibrationHandler."""

    def __init__(self, calibration=None, **cfg):
        self.cfg = cfg
        self.calibration = calibration or make_calibration()
        self.built = []
        self.received = []   # CameraControl messages the fake device got

    def __call__(self, req):
        p = dai.Pipeline(False)
        src = p.create(FakeOak)
        src.cfg = dict(self.cfg, size=(req.width, req.height), depth=req.enable_depth)
        cq = src.color.createOutputQueue(maxSize=4, blocking=False)
        dq = src.depth.createOutputQueue(maxSize=4, blocking=False) \
            if req.enable_depth else None
        src.received = self.received
        control = src.control.createInputQueue()
        self.built.append(req)
        return GraphHandles(p, cq, dq, self.calibration, control, None,
                            {'device_id': SERIAL, 'name': 'host-graph',
                             'product_name': 'OAK-D host graph'})


@pytest.fixture
def drivers():
    """Create drivers; each one is closed at the end of the test."""
    made = []

    def make(options=None, graph=None, store=None):
        opts = {'color_profile': '%dx%dx%d' % (W, H, FPS)}
        opts.update(options or {})
        d = OakDriver(store if store is not None else opts,
                      graph_builder=graph if graph is not None else HostGraph())
        made.append(d)
        return d

    yield make
    for d in made:
        d.close()


def read_n(driver, n, timeout=2.0):
    """Read until n frame sets arrived (or timeout); return them."""
    out = []
    deadline = time.monotonic() + timeout
    while len(out) < n and time.monotonic() < deadline:
        fs = driver.read(0.2)
        if fs is not None:
            out.append(fs)
    return out


def test_registry_and_parameters():
    assert driver_class('oakd') is OakDriver
    names = [p.name for p in OakDriver.parameters]
    for n in ('device_id', 'color_profile', 'enable_depth', 'exposure_us',
              'ir_laser_intensity'):
        assert n in names
    assert not next(p for p in OakDriver.parameters if p.name == 'exposure_us').read_only
    assert next(p for p in OakDriver.parameters if p.name == 'color_profile').read_only


def test_config_yaml_lists_every_parameter_with_its_default():
    with open(CONFIG) as f:
        params = yaml.safe_load(f)['/**']['ros__parameters']
    assert params['driver'] == 'oakd'
    for p in OakDriver.parameters:
        assert p.name in params, p.name
        assert params[p.name] == p.default and type(params[p.name]) is type(p.default), p.name


def test_color_rgb_and_depth_mm_exact(drivers):
    d = drivers()
    d.open()
    got = read_n(d, 4)
    assert len(got) >= 3
    for fs in got:
        i = index_of(fs)
        assert fs.color.dtype == np.uint8 and fs.color.shape == (H, W, 3)
        assert fs.color.flags['C_CONTIGUOUS']
        np.testing.assert_array_equal(fs.color, color_rgb(i))   # RGB, not BGR
        assert fs.depth.dtype == np.uint16
        np.testing.assert_array_equal(fs.depth, depth_mm(i))
        assert fs.aligned_depth is fs.depth


def test_stamps_increase_on_the_system_clock(drivers):
    d = drivers()
    t0 = time.time_ns()
    d.open()
    got = read_n(d, 5)
    t1 = time.time_ns()
    stamps = [fs.stamp_ns for fs in got]
    assert len(stamps) >= 4
    assert all(b > a for a, b in zip(stamps, stamps[1:]))
    # frames were stamped by the source with the steady clock between t0 and t1
    assert all(t0 - 5_000_000 <= s <= t1 + 5_000_000 for s in stamps)
    indices = [index_of(fs) for fs in got]
    assert indices == sorted(indices)


def test_pairs_by_sequence_number(drivers):
    # depth for odd frames never comes, and depth is sent before colour: only even pairs
    graph = HostGraph(skip_odd_depth=True, depth_first=True)
    d = drivers({'sync_mode': 'sequence'}, graph)
    d.open()
    got = read_n(d, 3)
    assert len(got) >= 2
    for fs in got:
        assert index_of(fs) % 2 == 0
        np.testing.assert_array_equal(fs.color, color_rgb(index_of(fs)))
        np.testing.assert_array_equal(fs.depth, depth_mm(index_of(fs)))


def test_pairs_by_timestamp_when_sequence_counters_differ(drivers):
    # the depth counter runs 1000 ahead (another sensor) and depth is stamped 2 ms later
    graph = HostGraph(depth_seq_offset=1000, depth_dt_us=2000)
    d = drivers({'sync_mode': 'timestamp'}, graph)
    d.open()
    got = read_n(d, 3)
    assert len(got) >= 2
    for fs in got:
        np.testing.assert_array_equal(fs.depth, depth_mm(index_of(fs)))
    d.close()
    # the same source in sequence mode never pairs
    d2 = drivers({'sync_mode': 'sequence'}, HostGraph(depth_seq_offset=1000))
    d2.open()
    assert read_n(d2, 1, timeout=0.5) == []


def test_pairer_prefers_newest_pair_and_counts_drops():
    class Msg:
        def __init__(self, seq, us):
            self.seq, self.us = seq, us

        def getSequenceNum(self):
            return self.seq

        def getTimestamp(self):
            return datetime.timedelta(microseconds=self.us)

    p = FramePairer('sequence', 0, ['depth'])
    for s in (1, 2, 3):
        p.add('color', Msg(s, s * 33000))
    for s in (1, 2):
        p.add('depth', Msg(s, s * 33000))
    c, others = p.pop()
    assert (c.seq, others['depth'].seq) == (2, 2)
    assert p.dropped == {'color': 1, 'depth': 1}
    assert p.pop() is None          # colour 3 waits for its depth
    p.add('depth', Msg(3, 99000))
    assert p.pop()[0].seq == 3
    t = FramePairer('timestamp', 16_000_000, ['depth'])
    t.add('color', Msg(5, 100_000))
    t.add('depth', Msg(900, 130_000))  # 30 ms off: outside half a frame
    assert t.pop() is None
    t.add('depth', Msg(901, 104_000))
    assert t.pop()[1]['depth'].seq == 901
    # the mono pair too: a colour frame waits until every stream has its match
    m = FramePairer('timestamp', 16_000_000, ['depth', 'infra1', 'infra2'])
    m.add('color', Msg(1, 100_000))
    m.add('depth', Msg(7, 101_000))
    m.add('infra1', Msg(7, 101_000))
    assert m.pop() is None
    m.add('infra2', Msg(7, 101_000))
    c, others = m.pop()
    assert c.seq == 1 and sorted(others) == ['depth', 'infra1', 'infra2']


def test_intrinsics_rescaled_from_calibration(drivers):
    # same aspect as the calibration (16:9): plain scaling by 1/3
    d = drivers({'color_profile': '640x360x30'})
    d.open()
    c = d.properties().color
    s = 640 / CALIB_SIZE[0]
    assert (c.width, c.height) == (640, 360)
    assert c.fx == pytest.approx(K[0][0] * s, rel=1e-5)
    assert c.fy == pytest.approx(K[1][1] * s, rel=1e-5)
    assert c.cx == pytest.approx(K[0][2] * s, rel=1e-5)
    assert c.cy == pytest.approx(K[1][2] * s, rel=1e-5)
    assert c.distortion_model == 'rational_polynomial'
    assert list(c.distortion) == pytest.approx(DIST[:8], abs=1e-6)
    d.close()
    # other aspect (16:10): the camera scales to cover and crops the middle (CROP mode)
    d = drivers({'color_profile': '640x400x30'})
    d.open()
    props = d.properties()
    c = props.color
    s = max(640 / CALIB_SIZE[0], 400 / CALIB_SIZE[1])
    assert c.fx == pytest.approx(K[0][0] * s, rel=1e-5)
    assert c.fy == pytest.approx(K[1][1] * s, rel=1e-5)
    assert c.cx == pytest.approx(K[0][2] * s - (CALIB_SIZE[0] * s - 640) / 2, rel=1e-5)
    assert c.cy == pytest.approx(K[1][2] * s - (CALIB_SIZE[1] * s - 400) / 2, rel=1e-5)
    # depth is aligned to colour on the device: same intrinsics, identity extrinsics
    assert props.depth == c
    np.testing.assert_array_equal(props.depth_to_color.rotation, np.eye(3))
    np.testing.assert_array_equal(props.depth_to_color.translation, np.zeros(3))
    assert props.intrinsics_source == 'device'
    assert props.serial == SERIAL and props.model == 'OAK-D host graph'
    assert props.fps == 30.0
    info = d.commands()['device_info'][1]({})
    assert info['stereo_baseline_m'] == pytest.approx(0.075, abs=1e-6)


def test_distortion_mapping():
    assert ros_distortion(dai.CameraModel.Perspective, DIST) == (
        'rational_polynomial', pytest.approx(DIST[:8]), '')
    model, coeffs, note = ros_distortion(dai.CameraModel.Perspective,
                                         [0.1, 0.2, 0.0, 0.0, 0.3] + [0.0] * 9)
    assert (model, coeffs, note) == ('plumb_bob', pytest.approx([0.1, 0.2, 0, 0, 0.3]), '')
    model, coeffs, note = ros_distortion(dai.CameraModel.Perspective, [0.1] * 14)
    assert model == 'rational_polynomial' and len(coeffs) == 8 and 'dropped' in note
    assert ros_distortion(dai.CameraModel.Fisheye, [0.1, 0.2, 0.3, 0.4] + [0.0] * 10)[:2] \
        == ('equidistant', pytest.approx([0.1, 0.2, 0.3, 0.4]))


def test_plumb_bob_calibration(drivers):
    dist = [0.1, -0.05, 0.001, 0.0, 0.01] + [0.0] * 9
    d = drivers(graph=HostGraph(calibration=make_calibration(dist)))
    d.open()
    c = d.properties().color
    assert c.distortion_model == 'plumb_bob'
    assert list(c.distortion) == pytest.approx(dist[:5], abs=1e-6)


def test_no_calibration_gives_default_intrinsics(drivers):
    graph = HostGraph(calibration=dai.CalibrationHandler())   # empty EEPROM
    d = drivers(graph=graph)
    d.open()
    props = d.properties()
    assert props.intrinsics_source == 'default'
    assert (props.color.width, props.color.height) == (W, H)
    assert 'calibration_error' in d.commands()['device_info'][1]({})


@pytest.mark.skipif(HW, reason='a device is attached')
@pytest.mark.parametrize('device_id', ['', '1844301041C1AB0F00'])
def test_missing_device_raises_not_found_naming_the_search(device_id):
    if dai.Device.getAllAvailableDevices():
        pytest.skip('an OAK device is visible here')
    d = OakDriver({'device_id': device_id})
    t0 = time.monotonic()
    with pytest.raises(DeviceNotFoundError) as err:
        d.open()
    elapsed = time.monotonic() - t0
    msg = str(err.value)
    assert (device_id in msg) if device_id else ('no OAK device found' in msg)
    assert 'devices seen: none' in msg
    assert not d.is_open
    d.close()
    print('DeviceNotFoundError after %.2f s: %s' % (elapsed, msg))


@pytest.mark.parametrize('bad', ['640x400', 'axbxc', '640x400x0', '0x400x30', '641x400x30',
                                 '', '640*400*30', '640x400x30x1', '99999x400x30',
                                 '640x400x-30'])
def test_bad_profile_strings_rejected(bad):
    with pytest.raises(InvalidOptionError) as err:
        OakDriver({'color_profile': bad})
    assert 'color_profile' in str(err.value)


def test_good_profile_strings():
    assert parse_profile('1280x800x15') == (1280, 800, 15.0)
    assert parse_profile(' 640X400x12.5 ') == (640, 400, 12.5)


def test_bad_static_options_rejected():
    with pytest.raises(InvalidOptionError, match='depth_preset'):
        OakDriver({'depth_preset': 'NOPE'})
    with pytest.raises(InvalidOptionError, match='sync_mode'):
        OakDriver({'sync_mode': 'magic'})
    with pytest.raises(InvalidOptionError, match='iso'):
        OakDriver({'iso': 5})


def test_close_is_idempotent_and_close_open_repeats(drivers):
    graph = HostGraph()
    d = drivers(graph=graph)
    d.close()                       # never opened: nothing to do
    for _ in range(3):
        d.open()
        fs = read_n(d, 1)[0]
        np.testing.assert_array_equal(fs.color, color_rgb(index_of(fs)))
        d.close()
        d.close()
        assert not d.is_open
    assert len(graph.built) == 3    # a fresh graph per open


def test_close_from_another_thread_ends_a_blocked_read(drivers):
    import threading
    d = drivers(graph=HostGraph(frames=0))
    d.open()
    result = {}

    def reader():
        try:
            result['value'] = d.read(30.0)
        except Exception as exc:  # noqa: BLE001 - recorded for the assertion
            result['value'] = exc

    t = threading.Thread(target=reader)
    t.start()
    time.sleep(0.2)
    d.close()
    t.join(5.0)
    assert not t.is_alive()
    assert result['value'] is None


def test_timeout_returns_none(drivers):
    d = drivers(graph=HostGraph(frames=0))
    d.open()
    assert d.read(0.1) is None


def test_device_lost_then_reopen(drivers):
    graph = HostGraph(lose_after=2)
    d = drivers(graph=graph)
    d.open()
    with pytest.raises(DeviceLostError):
        for _ in range(20):
            d.read(0.2)
    d.close()
    graph.cfg = {}
    d.open()
    assert read_n(d, 1)
    d.close()


def test_without_depth(drivers):
    d = drivers({'enable_depth': False})
    d.open()
    fs = read_n(d, 1)[0]
    assert fs.depth is None and fs.aligned_depth is None
    np.testing.assert_array_equal(fs.color, color_rgb(index_of(fs)))
    assert d.properties().depth is None and not d.properties().has_depth


def controls(graph, n, timeout=2.0):
    """Wait until the fake device took n more camera controls; return them."""
    deadline = time.monotonic() + timeout
    while len(graph.received) < n and time.monotonic() < deadline:
        time.sleep(0.01)
    got = list(graph.received)
    del graph.received[:]
    return got


def test_runtime_options_go_to_the_control_queue(drivers):
    graph = HostGraph()
    store = make_store(OakDriver, {'color_profile': '%dx%dx%d' % (W, H, FPS)})
    d = drivers(graph=graph, store=store)
    d.open()
    takes = d.commands()['device_info'][1]({})['runtime_options']
    assert 'exposure_us' in takes
    assert 'ir_laser_intensity' not in takes   # no IR projector here
    change(d, store, 'exposure_us', 5000)       # stored: auto exposure is on
    assert controls(graph, 1, timeout=0.2) == []
    change(d, store, 'auto_exposure', False)
    ctrl = controls(graph, 1)
    assert len(ctrl) == 1
    assert ctrl[0].getExposureTime().microseconds == 5000
    assert ctrl[0].getSensitivity() == 400
    change(d, store, 'iso', 800)
    assert controls(graph, 1)[0].getSensitivity() == 800
    change(d, store, 'auto_white_balance', False)
    assert len(controls(graph, 1)) == 1
    # type and range: the parameter specs, before the driver is asked
    with pytest.raises(InvalidOptionError, match=r'iso must be within \[100, 1600\]'):
        change(d, store, 'iso', 50)
    with pytest.raises(InvalidOptionError, match='integer'):
        change(d, store, 'exposure_us', 'fast')
    # what only the driver and the device can tell
    with pytest.raises(InvalidOptionError, match='read-only'):
        d.check_option('color_profile', '1280x800x30')
    with pytest.raises(InvalidOptionError, match='no option'):
        d.check_option('zoom', 2)
    with pytest.raises(InvalidOptionError, match='Pro models'):
        change(d, store, 'ir_laser_intensity', 0.5)
    assert d.options['iso'] == 800 and d.options['ir_laser_intensity'] == 0.0


def test_initial_manual_exposure_is_sent_at_open(drivers):
    graph = HostGraph()
    d = drivers({'auto_exposure': False, 'exposure_us': 2000, 'iso': 200}, graph)
    d.open()
    ctrl = controls(graph, 1)
    assert len(ctrl) == 1
    assert ctrl[0].getExposureTime().microseconds == 2000 and ctrl[0].getSensitivity() == 200


def test_commands(drivers):
    d = drivers()
    cmds = d.commands()
    assert {'device_info', 'get_calibration'} <= set(cmds)
    assert cmds['device_info'][1]({})['open'] is False
    d.open()
    read_n(d, 1)
    info = cmds['device_info'][1]({})
    assert info['device_id'] == SERIAL and info['open'] is True
    assert info['eeprom']['board_name'] == 'OAK-D-TEST'
    assert info['frames'] >= 1
    cal = cmds['get_calibration'][1]({})
    a = cal['sockets']['CAM_A']
    assert (a['width'], a['height']) == CALIB_SIZE
    assert a['fx'] == pytest.approx(K[0][0])
    assert set(cal['sockets']) == {'CAM_A', 'CAM_B', 'CAM_C'}
    scaled = cmds['get_calibration'][1]({'width': 640, 'height': 360})['sockets']['CAM_A']
    assert scaled['fx'] == pytest.approx(K[0][0] / 3, rel=1e-5)


# -- hardware (opt-in) ----------------------------------------------------------------------
@hw_only
def test_hw_streams_rgb_and_aligned_depth():
    store = make_store(OakDriver, {'device_id': os.environ.get('CAMERA_NODE_OAKD_ID', '')})
    d = OakDriver(store)
    d.open()
    try:
        props = d.properties()
        assert props.intrinsics_source == 'device' and props.serial
        got = read_n(d, 10, timeout=15.0)
        assert len(got) >= 5
        for fs in got:
            assert fs.color.shape == (400, 640, 3) and fs.depth.shape == (400, 640)
            assert abs(fs.stamp_ns - time.time_ns()) < 1_000_000_000
        assert np.count_nonzero(got[-1].depth) > 0
        change(d, store, 'auto_exposure', False)
        change(d, store, 'exposure_us', 8000)
        print(d.commands()['device_info'][1]({}))
    finally:
        d.close()


@hw_only
def test_hw_close_open_cycles():
    d = OakDriver({'device_id': os.environ.get('CAMERA_NODE_OAKD_ID', '')})
    for _ in range(2):
        d.open()
        assert read_n(d, 3, timeout=15.0)
        d.close()
