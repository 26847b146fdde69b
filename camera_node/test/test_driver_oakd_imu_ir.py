"""OAK mono pair and IMU through the real depthai v3 SDK, with no device attached.

As in test_driver_oakd.py, only the graph-building function (the narrowest seam the
hardware forces: depthai's Camera, StereoDepth and IMU nodes need a device) is replaced,
here by a host-only ``dai.Pipeline(False)`` whose ``ThreadedHostNode`` sends real
``ImgFrame`` messages (colour, RAW16 depth, GRAY8 rectified left and right, the stereo
ones with their own sequence counter) and real ``IMUData`` messages (packets holding an
accelerometer report at 200 Hz and a gyroscope report at 400 Hz, so every other packet
repeats the accelerometer report, as a device sends them), and a real
``CalibrationHandler`` with stereo and IMU extrinsics. Queue reading, matching, conversion,
stamps and the IMU thread are production code.
"""

import os
import time

os.environ.setdefault('DEPTHAI_TELEMETRY', '0')
os.environ.setdefault('DEPTHAI_LEVEL', 'error')

import numpy as np  # noqa: E402
import pytest  # noqa: E402

dai = pytest.importorskip('depthai')

from camera_node.core.errors import DriverError  # noqa: E402
from camera_node.core.frames import extrinsics_between, stereo_baseline_m  # noqa: E402
from camera_node.drivers.oakd.driver import OakDriver  # noqa: E402
from camera_node.drivers.oakd.graph import GraphHandles  # noqa: E402
from test_driver_oakd import color_rgb, depth_mm, make_calibration, SERIAL  # noqa: E402

W, H, FPS, N = 64, 40, 30, 12
GYRO_HZ, ACCEL_HZ = 400, 200
#: IMU -> colour camera (CAM_A) in the EEPROM: axes swapped, 2 cm off (centimetres)
IMU_ROTATION = [[0.0, 1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, -1.0]]
IMU_TRANSLATION_CM = [1.0, -2.0, 0.5]


def mono(i, side):
    img = ((np.arange(W)[None, :] + 3 * np.arange(H)[:, None]) % 97).astype(np.uint8)
    return img + np.uint8(i + 100 * side)


def stamp(seconds):
    ts = dai.Timestamp()
    ts.sec, ts.nsec = int(seconds), int(round((seconds % 1) * 1e9))
    return ts


class FakeOakVio(dai.node.ThreadedHostNode):
    """Host node standing in for the device: images, the mono pair and IMU packets."""

    def __init__(self):
        super().__init__()
        self.color = self.createOutput()
        self.depth = self.createOutput()
        self.left = self.createOutput()
        self.right = self.createOutput()
        self.imu = self.createOutput()
        self.control = self.createInput()

    def _frame(self, pixels, kind, seq, now):
        f = dai.ImgFrame()
        f.setCvFrame(pixels, kind)
        f.setSequenceNum(seq)
        f.setTimestamp(now)
        return f

    def _imu_packet(self, k, t0):
        """The k-th 400 Hz packet: gyro report k, accel report k // 2 (repeated)."""
        packet = dai.IMUPacket()
        gyro, accel = packet.gyroscope, packet.acceleroMeter
        gyro.x, gyro.y, gyro.z = 0.001 * k, 0.25, -0.5
        gyro.sequence, gyro.timestamp = k, stamp(t0 + k / GYRO_HZ)
        j = k // 2
        accel.x, accel.y, accel.z = 0.0, 9.81, 0.01 * j
        accel.sequence, accel.timestamp = j, stamp(t0 + j / ACCEL_HZ)
        packet.gyroscope, packet.acceleroMeter = gyro, accel
        return packet

    def run(self):
        start = dai.Clock.now()
        t0 = start.total_seconds()
        k = 0
        for i in range(N):
            if not self.isRunning():
                return
            now = dai.Clock.now()
            self.color.send(self._frame(np.ascontiguousarray(color_rgb(i, W, H)[..., ::-1]),
                                        dai.ImgFrame.Type.BGR888i, i, now))
            self.depth.send(self._frame(depth_mm(i, W, H), dai.ImgFrame.Type.RAW16,
                                        1000 + i, now))
            for side, out in ((1, self.left), (2, self.right)):
                out.send(self._frame(mono(i, side), dai.ImgFrame.Type.GRAY8, 1000 + i, now))
            # the IMU samples up to this frame's time, in batches as the device sends them
            packets = []
            while k / GYRO_HZ <= (now - start).total_seconds():
                packets.append(self._imu_packet(k, t0))
                k += 1
            if packets:
                data = dai.IMUData()
                data.packets = packets
                self.imu.send(data)
            time.sleep(1.0 / FPS)
        while self.isRunning():
            time.sleep(0.005)


class VioGraph:
    def __init__(self, imu_extrinsics=True):
        self.calibration = make_calibration()
        eye = [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]
        self.calibration.setStereoLeft(dai.CameraBoardSocket.CAM_B, eye)
        self.calibration.setStereoRight(dai.CameraBoardSocket.CAM_C, eye)
        if imu_extrinsics:
            self.calibration.setImuExtrinsics(dai.CameraBoardSocket.CAM_A, IMU_ROTATION,
                                              IMU_TRANSLATION_CM, IMU_TRANSLATION_CM)
        self.requests = []

    def __call__(self, req):
        self.requests.append(req)
        p = dai.Pipeline(False)
        src = p.create(FakeOakVio)
        queues = {name: getattr(src, name).createOutputQueue(maxSize=4, blocking=False)
                  for name in ('color', 'depth', 'left', 'right')}
        imu = src.imu.createOutputQueue(maxSize=50, blocking=False)
        return GraphHandles(p, queues['color'], queues['depth'], self.calibration,
                            src.control.createInputQueue(), None,
                            {'device_id': SERIAL, 'product_name': 'OAK-D host graph'},
                            queues['left'] if req.infra[0] else None,
                            queues['right'] if req.infra[1] else None,
                            imu if req.imu else None)


def driver(graph, **options):
    opts = {'color_profile': '%dx%dx%d' % (W, H, FPS), 'enable_infra1': True,
            'enable_infra2': True, 'enable_gyro': True, 'enable_accel': True,
            'gyro_fps': GYRO_HZ, 'accel_fps': ACCEL_HZ}
    opts.update(options)
    return OakDriver(opts, graph_builder=graph)


def test_the_graph_is_asked_for_the_mono_pair_and_the_imu():
    graph = VioGraph()
    d = driver(graph, enable_accel=False)
    d.open()
    d.close()
    req = graph.requests[0]
    assert req.infra == (True, True) and req.imu == {'gyro': GYRO_HZ}


def test_mono_pair_matched_with_colour_and_depth():
    d = driver(VioGraph(), enable_gyro=False, enable_accel=False)
    d.open()
    try:
        got = []
        deadline = time.monotonic() + 3.0
        while len(got) < 4 and time.monotonic() < deadline:
            fs = d.read(0.2)
            if fs is not None:
                got.append(fs)
        props = d.properties()
        info = d.commands()['device_info'][1]({})
    finally:
        d.close()
    assert len(got) >= 3
    for fs in got:
        i = (int(fs.color[0, 0, 0]) - 1) // 10
        np.testing.assert_array_equal(fs.depth, depth_mm(i, W, H))
        np.testing.assert_array_equal(fs.infra1, mono(i, 1))
        np.testing.assert_array_equal(fs.infra2, mono(i, 2))
        assert fs.metadata['infra1'].frame_counter == 1000 + i
        assert fs.metadata['color'].frame_counter == i
        assert fs.metadata['infra1'].emitter_on is None        # no IR projector here
    # rectified pair: the right camera's matrix at the stereo size, no distortion; the
    # baseline from the EEPROM (7.5 cm), the left imager 3.75 cm left of colour
    assert (props.infra1.width, props.infra1.height) == (640, 400)
    assert props.infra1.fx == pytest.approx(800.0 * 0.5) and props.infra2 == props.infra1
    assert list(props.infra1.distortion) == [0.0] * 5
    assert stereo_baseline_m(props) == pytest.approx(0.075)
    to_left = extrinsics_between(props, 'color', 'infra1')
    assert to_left.translation == pytest.approx([0.0375, 0.0, 0.0])
    assert 'dropped_infra1' in info


def test_imu_samples_deduplicated_on_the_images_clock():
    samples = []
    d = driver(VioGraph())
    d.attach_imu(samples.append)
    t_open = time.time_ns()
    d.open()
    try:
        frames = [fs for fs in (d.read(0.2) for _ in range(15)) if fs is not None]
        time.sleep(0.1)
        props = d.properties()
        info = d.commands()['device_info'][1]({})
    finally:
        d.close()
    gyro = [s for s in samples if s.kind == 'gyro']
    accel = [s for s in samples if s.kind == 'accel']
    assert len(gyro) > 50 and len(accel) > 25
    # every report exactly once, in order: the repeated accel reports were skipped
    ks = [round(s.x / 0.001) for s in gyro]
    assert ks == list(range(len(gyro)))
    js = [round(s.z / 0.01) for s in accel]
    assert js == list(range(len(accel)))
    assert all(s.y == pytest.approx(0.25) for s in gyro)
    assert all(s.y == pytest.approx(9.81) for s in accel)
    steps = np.diff([s.stamp_ns for s in gyro])
    # 400 Hz on the device's clock: steps within 20 us (host arrival times would jitter by
    # hundreds of us; the host-to-system mapping moved a step by up to 1.7 us under load)
    assert np.all(np.abs(steps - 2_500_000) < 20_000)
    # the same clock as the frames: host steady time mapped to system time
    assert t_open - 50_000_000 < gyro[0].stamp_ns < frames[-1].stamp_ns + 100_000_000
    assert info['imu_sequence_gaps'] == 0 and info['imu_errors'] == 0
    assert (props.imu.gyro_hz, props.imu.accel_hz) == (GYRO_HZ, ACCEL_HZ)
    # colour -> IMU is the inverse of the EEPROM's IMU -> colour (cm -> m)
    ext = props.from_reference('imu')
    r = np.array(IMU_ROTATION)
    t = np.array(IMU_TRANSLATION_CM) / 100.0
    p_imu = np.array([0.1, -0.2, 0.3])
    p_color = r @ p_imu + t
    assert ext.rotation @ p_color + ext.translation == pytest.approx(p_imu)
    assert info['imu_extrinsics'] == 'calibration'


def test_missing_imu_calibration_is_reported_not_invented():
    d = driver(VioGraph(imu_extrinsics=False), enable_infra1=False, enable_infra2=False)
    d.open()
    try:
        info = d.commands()['device_info'][1]({})
        ext = d.properties().from_reference('imu')
    finally:
        d.close()
    assert 'identity assumed' in info['imu_extrinsics']
    np.testing.assert_array_equal(ext.rotation, np.eye(3))


def test_a_graph_without_the_asked_outputs_is_refused():
    graph = VioGraph()

    def without_imu(req):
        h = graph(req)
        h.imu_queue = None
        return h
    with pytest.raises(DriverError, match='IMU asked for'):
        driver(without_imu).open()


def test_emitter_state_follows_the_projector_on_pro_models():
    d = driver(VioGraph(), enable_gyro=False, enable_accel=False,
               ir_laser_intensity=0.6)
    d.open()
    try:
        # what Device.getIrDrivers() reports on a Pro model: the one device-only fact here
        d._ir_drivers = [('LM3644', 2, 0x63)]
        fs = next(f for f in (d.read(0.5) for _ in range(10)) if f is not None)
    finally:
        d.close()
    assert fs.metadata['infra1'].emitter_on is True
    assert fs.metadata['color'].emitter_on is None
