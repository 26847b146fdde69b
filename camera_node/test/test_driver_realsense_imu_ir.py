"""RealSense infrared pair, emitter metadata and motion module through the real SDK.

A recording is made here from an ``rs.software_device`` holding what a D435i streams: a
stereo module (z16 depth, Y8 infrared 1 and 2 with a 50 mm baseline, per-frame metadata
with the emitter alternating on and off), an RGB camera and a motion module (gyro 200 Hz,
accelerometer 100 Hz, each sample paced at its rate, values encoding its index). The
production driver plays it through ``playback_file``: the video through the pipeline, the
motion streams through the motion sensor's callback (``drivers/realsense/motion.py``).
"""

import json
import math
import time

import numpy as np
import pytest

rs = pytest.importorskip('pyrealsense2')

from camera_node.core.errors import InvalidOptionError  # noqa: E402
from camera_node.core.frames import stereo_baseline_m  # noqa: E402
from camera_node.drivers.realsense.driver import RealSenseDriver  # noqa: E402
from driver_contract import change, make_store  # noqa: E402

W, H, FPS, N = 64, 48, 30, 15
GYRO_HZ, ACCEL_HZ = 200, 100
BASELINE = 0.05
SERIAL = '000011112222'
EXPOSURE_US = 8500


def intrinsics(fx):
    i = rs.intrinsics()
    i.width, i.height, i.fx, i.fy, i.ppx, i.ppy = W, H, fx, fx, 31.5, 23.5
    i.model, i.coeffs = rs.distortion.brown_conrady, [0.0] * 5
    return i


def ir_image(i, side):
    """Infrared frame i of imager side (1 or 2): a gradient plus the frame index."""
    img = ((np.arange(W)[None, :] * 2 + np.arange(H)[:, None]) % 200).astype(np.uint8)
    return img + np.uint8(i + 30 * side)


def gyro_value(k):
    return (0.001 * k, 0.5, -0.25)


def accel_value(k):
    return (0.0, -9.8, 0.01 * k)


def make_recording(path):
    """Record N frame sets and the motion samples of the same 0.5 s, paced in real time."""
    dev = rs.software_device()
    dev.register_info(rs.camera_info.name, 'Intel RealSense D435I (software)')
    dev.register_info(rs.camera_info.serial_number, SERIAL)
    stereo = dev.add_sensor('Stereo Module')
    color = dev.add_sensor('RGB Camera')
    motion = dev.add_sensor('Motion Module')
    profs, uid = {}, 0
    for name, sensor, kind, index, fmt, bpp in (
            ('depth', stereo, rs.stream.depth, 0, rs.format.z16, 2),
            ('ir1', stereo, rs.stream.infrared, 1, rs.format.y8, 1),
            ('ir2', stereo, rs.stream.infrared, 2, rs.format.y8, 1),
            ('color', color, rs.stream.color, 0, rs.format.rgb8, 3)):
        vs = rs.video_stream()
        vs.type, vs.index, vs.uid = kind, index, uid
        vs.width, vs.height, vs.fps, vs.bpp, vs.fmt = W, H, FPS, bpp, fmt
        vs.intrinsics = intrinsics(50.0 if name != 'color' else 60.0)
        profs[name] = sensor.add_video_stream(vs, name == 'color')
        uid += 1
    for name, kind, fps in (('gyro', rs.stream.gyro, GYRO_HZ),
                            ('accel', rs.stream.accel, ACCEL_HZ)):
        ms = rs.motion_stream()
        ms.type, ms.index, ms.uid, ms.fps, ms.fmt = kind, 0, uid, fps, rs.format.motion_xyz32f
        ms.intrinsics = rs.motion_device_intrinsic()
        profs[name] = motion.add_motion_stream(ms)
        uid += 1
    stereo.add_read_only_option(rs.option.depth_units, 0.001)

    def ext(tx):
        e = rs.extrinsics()
        e.rotation, e.translation = [1, 0, 0, 0, 1, 0, 0, 0, 1], [tx, 0.0, 0.0]
        return e
    profs['ir1'].register_extrinsics_to(profs['depth'], ext(0.0))
    profs['ir2'].register_extrinsics_to(profs['ir1'], ext(BASELINE))   # right of left
    profs['depth'].register_extrinsics_to(profs['color'], ext(-0.015))
    recorder = rs.recorder(str(path), dev)
    syncer = rs.syncer()
    stereo.open([profs['depth'], profs['ir1'], profs['ir2']])
    color.open(profs['color'])
    motion.open([profs['gyro'], profs['accel']])
    stereo.start(syncer)
    color.start(syncer)
    motion.start(lambda f: None)
    keep = []
    events = [(k / GYRO_HZ, 'gyro', k) for k in range(int(N / FPS * GYRO_HZ))]
    events += [(k / ACCEL_HZ, 'accel', k) for k in range(int(N / FPS * ACCEL_HZ))]
    events += [(i / FPS, 'video', i) for i in range(N)]
    t0 = time.monotonic()
    for t, kind, k in sorted(events):
        time.sleep(max(0.0, t0 + t - time.monotonic()))
        if kind == 'video':
            stereo.set_metadata(rs.frame_metadata_value.frame_emitter_mode, (k + 1) % 2)
            stereo.set_metadata(rs.frame_metadata_value.frame_counter, k)
            stereo.set_metadata(rs.frame_metadata_value.actual_exposure, EXPOSURE_US)
            stereo.set_metadata(rs.frame_metadata_value.gain_level, 16)
            for sensor, name, pixels, bpp in (
                    (stereo, 'depth', np.full((H, W), 1000 + k, np.uint16), 2),
                    (stereo, 'ir1', ir_image(k, 1), 1), (stereo, 'ir2', ir_image(k, 2), 1),
                    (color, 'color', np.full((H, W, 3), k, np.uint8), 3)):
                frame = rs.software_video_frame()
                frame.pixels, frame.bpp, frame.stride = pixels, bpp, W * bpp
                frame.timestamp, frame.frame_number = t * 1000.0, k
                frame.domain = rs.timestamp_domain.hardware_clock
                frame.profile = profs[name].as_video_stream_profile()
                keep.append(pixels)
                sensor.on_video_frame(frame)
            syncer.try_wait_for_frames(5)
        else:
            frame = rs.software_motion_frame()
            v = rs.vector()
            v.x, v.y, v.z = gyro_value(k) if kind == 'gyro' else accel_value(k)
            frame.data, frame.timestamp, frame.frame_number = v, t * 1000.0, k
            frame.domain = rs.timestamp_domain.hardware_clock
            frame.profile = profs[kind].as_motion_stream_profile()
            motion.on_motion_frame(frame)
    for sensor in (stereo, color, motion):
        sensor.stop()
        sensor.close()
    del recorder, syncer
    return path


@pytest.fixture(scope='module')
def recording(tmp_path_factory):
    return make_recording(tmp_path_factory.mktemp('rs_imu_ir') / 'd435i.db3')


def play(recording, **options):
    opts = {'playback_file': str(recording), 'enable_infra1': True, 'enable_infra2': True,
            'enable_gyro': True, 'enable_accel': True}
    opts.update(options)
    return RealSenseDriver(opts)


def read_to_end(driver, limit=300):
    out = []
    for _ in range(limit):
        try:
            fs = driver.read(0.5)
        except Exception as exc:     # EndOfStream
            assert type(exc).__name__ == 'EndOfStream', exc
            break
        if fs is not None:
            out.append(fs)
    return out


def test_properties_place_the_infrared_pair_and_the_imu(recording):
    with play(recording) as drv:
        props = drv.properties()
        info = drv.commands()['device_info'][1]({})
    assert props.sensors() == ('depth', 'color', 'infra1', 'infra2', 'imu')
    assert (props.infra1.width, props.infra1.fx) == (W, pytest.approx(50.0))
    assert stereo_baseline_m(props) == pytest.approx(BASELINE, abs=1e-7)
    assert (props.imu.gyro_hz, props.imu.accel_hz) == (GYRO_HZ, ACCEL_HZ)
    # rs.recorder keeps no motion extrinsics: the driver says so instead of inventing them
    assert 'identity assumed' in info['imu_extrinsics']
    assert info['motion']['gyro_hz'] == GYRO_HZ


def test_infrared_frames_and_their_metadata_round_trip(recording):
    with play(recording, enable_gyro=False, enable_accel=False) as drv:
        sets = read_to_end(drv)
    assert len(sets) >= N // 2
    for fs in sets:
        k = int(fs.color[0, 0, 0])
        assert fs.infra1.dtype == np.uint8 and fs.infra1.shape == (H, W)
        np.testing.assert_array_equal(fs.infra1, ir_image(k, 1))
        np.testing.assert_array_equal(fs.infra2, ir_image(k, 2))
        for key in ('depth', 'infra1', 'infra2'):
            md = fs.metadata[key]
            assert md.frame_counter == k
            assert md.emitter_on is (k % 2 == 0)            # alternating, per frame
            assert md.exposure_us == EXPOSURE_US and md.gain == 16.0
    states = [fs.metadata['infra1'].emitter_on for fs in sets]
    assert True in states and False in states


def test_motion_samples_arrive_on_their_own_path_with_the_frames_clock(recording):
    samples = []
    drv = play(recording)
    drv.attach_imu(samples.append)
    drv.open()
    try:
        sets = read_to_end(drv)
        time.sleep(0.3)               # the motion playback runs beside the video
        info = drv.commands()['device_info'][1]({})
    finally:
        drv.close()
    gyro = [s for s in samples if s.kind == 'gyro']
    accel = [s for s in samples if s.kind == 'accel']
    n_gyro, n_accel = int(N / FPS * GYRO_HZ), int(N / FPS * ACCEL_HZ)
    print('motion samples played: gyro %d/%d, accel %d/%d, gaps %s' % (
        len(gyro), n_gyro, len(accel), n_accel, info['motion']['frame_number_gaps']))
    # playback may lose the first samples while it starts; none after
    assert len(gyro) >= 0.9 * n_gyro and len(accel) >= 0.9 * n_accel
    for s in gyro:
        k = int(round(s.x / 0.001))
        assert (s.x, s.y, s.z) == pytest.approx(gyro_value(k), abs=1e-6)
    ks = [int(round(s.z / 0.01)) for s in accel]
    assert ks == sorted(ks) and ks[-1] == n_accel - 1
    for series in (gyro, accel):
        stamps = [s.stamp_ns for s in series]
        assert all(b > a for a, b in zip(stamps, stamps[1:]))
        # 200 / 100 Hz on the device clock stay 5 / 10 ms apart once mapped
        steps = np.diff(stamps) / 1e6
        rate = GYRO_HZ if series is gyro else ACCEL_HZ
        assert np.median(steps) == pytest.approx(1000.0 / rate, abs=0.01)
    # the IMU and the images share one clock: a gyro sample and the frame recorded at the
    # same device time are stamped within a few milliseconds of each other
    frame = sets[len(sets) // 2]
    k = int(frame.color[0, 0, 0])
    same_time = [s for s in gyro if math.isclose(s.x, gyro_value(round(k / FPS * GYRO_HZ))[0],
                                                 abs_tol=1e-7)]
    assert same_time and abs(same_time[0].stamp_ns - frame.stamp_ns) < 20_000_000
    assert info['motion']['callback_errors'] == 0


def test_emitter_on_off_is_a_runtime_option_refused_in_playback(recording):
    store = make_store(RealSenseDriver, {'playback_file': str(recording)})
    with RealSenseDriver(store) as drv:
        with pytest.raises(InvalidOptionError, match='read-only'):
            change(drv, store, 'emitter_on_off', True)
    assert next(p for p in RealSenseDriver.parameters
                if p.name == 'emitter_on_off').read_only is False


def test_missing_streams_are_named(tmp_path):
    test_rs = pytest.importorskip('test_driver_realsense')
    plain = test_rs.make_recording(tmp_path / 'plain.db3')     # colour + depth only
    with pytest.raises(InvalidOptionError, match='no Y8 infrared 1'):
        RealSenseDriver({'playback_file': str(plain), 'enable_infra1': True}).open()
    with pytest.raises(InvalidOptionError, match='no motion streams'):
        RealSenseDriver({'playback_file': str(plain), 'enable_gyro': True}).open()


def test_node_publishes_the_recording_imu_and_infrared(recording, start_node, probe):
    from rclpy.qos import QoSProfile, ReliabilityPolicy
    from sensor_msgs.msg import CameraInfo, Image, Imu

    from camera_node_interfaces.msg import Metadata
    from camera_node_interfaces.srv import DoCommand
    reliable = QoSProfile(depth=100, reliability=ReliabilityPolicy.RELIABLE)
    p = start_node(namespace='rsimu', params={
        'driver': 'realsense', 'playback_file': str(recording), 'playback_loop': True,
        'camera_name': 'd435i', 'enable_infra1': True, 'enable_infra2': True,
        'enable_gyro': True, 'enable_accel': True, 'unite_imu_method': 1})
    assert p.wait_output('publishing', 30), p.output()
    ir = probe.collect(Image, p.topic('infra1/image_rect_raw'))[0]
    assert (ir.encoding, ir.width) == ('mono8', W)
    assert ir.header.frame_id == 'd435i_infra1_optical_frame'
    right = probe.collect(CameraInfo, p.topic('infra2/camera_info'))[0]
    assert right.p[3] == pytest.approx(-50.0 * BASELINE, abs=1e-5)
    md = probe.collect(Metadata, p.topic('infra1/metadata'), count=4, qos=reliable)
    assert {m.emitter for m in md} == {Metadata.EMITTER_ON, Metadata.EMITTER_OFF}
    for m in md:
        assert m.emitter == (Metadata.EMITTER_ON if m.frame_counter % 2 == 0
                             else Metadata.EMITTER_OFF)
    united = probe.collect(Imu, p.topic('imu'), count=20, qos=reliable, timeout=30)
    assert len(united) == 20
    assert united[-1].header.frame_id == 'd435i_imu_optical_frame'
    assert united[-1].linear_acceleration.y == pytest.approx(-9.8, abs=1e-5)   # copy
    assert united[-1].angular_velocity.y == pytest.approx(0.5)
    status = json.loads(probe.call(DoCommand, p.topic('do_command'), DoCommand.Request(
        command='{"command": "status"}')).result)
    assert status['imu_samples_received'] > 0 and status['imu_samples_dropped'] == 0
    assert p.stop() == 0, p.output()
