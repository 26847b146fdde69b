"""RealSense driver through the real pyrealsense2 SDK, with no camera attached.

A tiny recording is made here from an ``rs.software_device`` (colour rgb8 + depth z16 of
known content, intrinsics, extrinsics and depth units) with ``rs.recorder``; the production
driver then plays it through ``playback_file``. Hardware tests run only with
``CAMERA_NODE_HW_REALSENSE=1``.
"""

import math
import os
import pathlib
import time

import numpy as np
import pytest

try:
    import pyrealsense2 as rs
except ImportError as _exc:   # e.g. libusb-1.0.so.0 missing: apt-get install libusb-1.0-0
    pytest.skip('pyrealsense2 cannot be imported here: %s' % _exc, allow_module_level=True)

from camera_node.core.errors import (DeviceLostError, DeviceNotFoundError,  # noqa: E402
                                     DriverError, EndOfStream, InvalidOptionError)
from camera_node.drivers import driver_class  # noqa: E402
from camera_node.drivers.realsense.driver import RealSenseDriver  # noqa: E402
from camera_node.drivers.realsense.params import parse_profile  # noqa: E402
from driver_contract import change, make_store  # noqa: E402

W, H, FPS, N = 64, 48, 30, 12
DEPTH_UNITS = 0.0001            # 0.1 mm per unit, so the driver must convert to mm
SERIAL = '000042424242'
MODEL = 'Intel RealSense Test Recording'
ANGLE = 0.01                    # depth -> colour rotation about y, radians
TRANSLATION = [0.015, 0.0005, -0.001]
DEPTH_INTR = dict(fx=50.0, fy=51.0, ppx=31.5, ppy=23.5, model='brown_conrady',
                  coeffs=[0.01, -0.02, 0.001, 0.0005, 0.003])
COLOR_INTR = dict(fx=60.0, fy=61.0, ppx=32.0, ppy=24.5, model='inverse_brown_conrady',
                  coeffs=[0.02, 0.01, 0.0, 0.0, 0.0])
BLOCK = (np.arange(16, dtype=np.uint16).reshape(4, 4) * 10 + 400)   # mm, top-left corner

HW = os.environ.get('CAMERA_NODE_HW_REALSENSE') == '1'
hw_only = pytest.mark.skipif(not HW, reason='needs a RealSense camera: set '
                             'CAMERA_NODE_HW_REALSENSE=1 with one plugged in')


def wall_mm(i):
    """Depth of the flat wall in frame i, millimetres."""
    return 1000 + 10 * i


def depth_image_mm(i):
    """Depth of frame i in millimetres: a flat wall with a patterned corner block."""
    img = np.full((H, W), wall_mm(i), np.uint16)
    img[:4, :4] = BLOCK
    return img


def color_image(i):
    """Colour of frame i: R carries the frame index, G the column, B the row."""
    img = np.empty((H, W, 3), np.uint8)
    img[..., 0] = 10 * i
    img[..., 1] = (np.arange(W) * 4)[None, :]
    img[..., 2] = (np.arange(H) * 5)[:, None]
    return img


def rotation():
    """Row-major depth -> colour rotation (about y)."""
    c, s = math.cos(ANGLE), math.sin(ANGLE)
    return np.array([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]])


def sdk_intrinsics(spec):
    intr = rs.intrinsics()
    intr.width, intr.height = W, H
    intr.fx, intr.fy, intr.ppx, intr.ppy = spec['fx'], spec['fy'], spec['ppx'], spec['ppy']
    intr.model = getattr(rs.distortion, spec['model'])
    intr.coeffs = list(spec['coeffs'])
    return intr


def sdk_extrinsics():
    ext = rs.extrinsics()
    ext.rotation = list(rotation().T.reshape(-1))      # librealsense stores column-major
    ext.translation = list(TRANSLATION)
    return ext


def make_recording(path):
    """Record N frame pairs from a software device to path (.db3), paced at FPS."""
    dev = rs.software_device()
    dev.register_info(rs.camera_info.name, MODEL)
    dev.register_info(rs.camera_info.serial_number, SERIAL)
    dev.register_info(rs.camera_info.firmware_version, '5.99.0.0')
    dev.register_info(rs.camera_info.product_line, 'D400')
    depth_sensor = dev.add_sensor('Stereo Module')
    color_sensor = dev.add_sensor('RGB Camera')
    streams = []
    for uid, (kind, fmt, bpp, intr) in enumerate((
            (rs.stream.depth, rs.format.z16, 2, DEPTH_INTR),
            (rs.stream.color, rs.format.rgb8, 3, COLOR_INTR))):
        vs = rs.video_stream()
        vs.type, vs.index, vs.uid = kind, 0, uid
        vs.width, vs.height, vs.fps, vs.bpp, vs.fmt = W, H, FPS, bpp, fmt
        vs.intrinsics = sdk_intrinsics(intr)
        streams.append(vs)
    depth_prof = depth_sensor.add_video_stream(streams[0])
    color_prof = color_sensor.add_video_stream(streams[1], True)
    depth_sensor.add_read_only_option(rs.option.depth_units, DEPTH_UNITS)
    depth_prof.register_extrinsics_to(color_prof, sdk_extrinsics())
    recorder = rs.recorder(str(path), dev)
    syncer = rs.syncer()
    depth_sensor.open(depth_prof)
    color_sensor.open(color_prof)
    depth_sensor.start(syncer)
    color_sensor.start(syncer)
    keep = []
    t0 = time.monotonic()
    for i in range(N):
        raw_depth = (depth_image_mm(i).astype(np.uint32) * round(0.001 / DEPTH_UNITS))
        for sensor, prof, pixels, bpp in (
                (depth_sensor, depth_prof, raw_depth.astype(np.uint16), 2),
                (color_sensor, color_prof, color_image(i), 3)):
            frame = rs.software_video_frame()
            frame.pixels = pixels
            frame.bpp, frame.stride = bpp, W * bpp
            frame.timestamp = i * 1000.0 / FPS
            frame.domain = rs.timestamp_domain.hardware_clock
            frame.frame_number = i
            frame.profile = prof.as_video_stream_profile()
            keep.append(pixels)
            sensor.on_video_frame(frame)
        syncer.try_wait_for_frames(50)
        time.sleep(max(0.0, t0 + (i + 1) / FPS - time.monotonic()))
    for sensor in (depth_sensor, color_sensor):
        sensor.stop()
        sensor.close()
    del recorder, syncer
    return path


@pytest.fixture(scope='module')
def recording(tmp_path_factory):
    """A small .db3 recording made by this test module."""
    return make_recording(tmp_path_factory.mktemp('realsense') / 'test.db3')


def playback(recording, **options):
    return RealSenseDriver({'playback_file': str(recording), **options})


def read_all(driver, limit=200):
    """Read frame sets until EndOfStream; return them."""
    out = []
    with pytest.raises(EndOfStream):
        for _ in range(limit):
            fs = driver.read(0.5)
            if fs is not None:
                out.append(fs)
    return out


def frame_index(fs):
    return int(fs.color[0, 0, 0]) // 10


# -- playback of the recording ----------------------------------------------------------
def test_registry_returns_this_driver():
    assert driver_class('realsense') is RealSenseDriver


def test_properties_come_from_the_recording(recording):
    with playback(recording) as drv:
        props = drv.properties()
    assert props.intrinsics_source == 'device'
    assert props.model == MODEL and props.serial == SERIAL
    assert props.fps == FPS
    for got, spec in ((props.color, COLOR_INTR), (props.depth, DEPTH_INTR)):
        assert (got.width, got.height) == (W, H)
        assert (got.fx, got.fy, got.cx, got.cy) == pytest.approx(
            (spec['fx'], spec['fy'], spec['ppx'], spec['ppy']))
        assert got.distortion_model == 'plumb_bob'
        assert list(got.distortion) == pytest.approx(spec['coeffs'], abs=1e-7)
    ext = props.depth_to_color
    assert ext.rotation == pytest.approx(rotation(), abs=1e-6)   # stored as float32
    assert ext.translation == pytest.approx(TRANSLATION, abs=1e-7)
    # the SDK's own transform agrees with p_to = R p_from + t
    point = [0.3, -0.2, 1.5]
    sdk = rs.rs2_transform_point_to_point(sdk_extrinsics(), point)
    assert ext.rotation @ np.array(point) + ext.translation == pytest.approx(sdk, abs=1e-6)


def test_frames_round_trip(recording):
    with playback(recording) as drv:
        sets = read_all(drv)
    assert len(sets) >= N // 2     # the first one or two may drop on playback (more under load)
    indices = [frame_index(fs) for fs in sets]
    assert indices == sorted(set(indices)) and indices[-1] == N - 1
    for fs in sets:
        i = frame_index(fs)
        assert fs.color.dtype == np.uint8 and fs.color.shape == (H, W, 3)
        np.testing.assert_array_equal(fs.color, color_image(i))
        assert fs.depth.dtype == np.uint16 and fs.depth.shape == (H, W)
        np.testing.assert_array_equal(fs.depth, depth_image_mm(i))   # units -> mm


def test_aligned_depth_keeps_the_wall(recording):
    with playback(recording) as drv:
        sets = read_all(drv)
    for fs in sets:
        wall = wall_mm(frame_index(fs))
        aligned = fs.aligned_depth
        assert aligned.shape == fs.color.shape[:2] and aligned.dtype == np.uint16
        valid = aligned[8:, 8:]              # away from the patterned corner block
        assert np.count_nonzero(valid) > 0.9 * valid.size
        # a 10 mrad tilt changes a 1 m wall's depth by at most ~7 mm across the image
        assert np.abs(valid[valid > 0].astype(int) - wall).max() <= 10


def test_stamps_are_increasing_system_clock_ints(recording):
    before = time.time_ns()
    with playback(recording) as drv:
        sets = read_all(drv)
    after = time.time_ns()
    stamps = [fs.stamp_ns for fs in sets]
    assert all(isinstance(s, int) for s in stamps)
    assert all(b > a for a, b in zip(stamps, stamps[1:]))
    assert before <= stamps[0] and stamps[-1] <= after


def test_no_align_and_no_depth_options(recording):
    with playback(recording, align_depth=False) as drv:
        fs = next(f for f in iter(lambda: drv.read(1.0), 'never') if f is not None)
        assert fs.aligned_depth is None and fs.depth is not None
    with playback(recording, enable_depth=False) as drv:
        assert not drv.properties().has_depth
        fs = next(f for f in iter(lambda: drv.read(1.0), 'never') if f is not None)
        assert fs.depth is None and fs.aligned_depth is None


def test_loop_keeps_counting(recording):
    with playback(recording, playback_loop=True) as drv:
        sets = []
        for _ in range(200):
            fs = drv.read(1.0)
            if fs is not None:
                sets.append(fs)
            if len(sets) > 2 and frame_index(sets[-1]) < frame_index(sets[-2]) \
                    and len(sets) >= N + 3:
                break
    indices = [frame_index(fs) for fs in sets]
    assert any(b < a for a, b in zip(indices, indices[1:])), 'recording did not loop'
    stamps = [fs.stamp_ns for fs in sets]
    assert all(b > a for a, b in zip(stamps, stamps[1:]))


def test_stalled_stream_is_device_lost_and_reopen_works(recording):
    drv = playback(recording, playback_loop=True, device_lost_timeout=0.3)
    drv.open()
    try:
        assert any(drv.read(1.0) is not None for _ in range(10))
        drv._playback.pause()            # frames stop arriving, as from an unplugged camera
        with pytest.raises(DeviceLostError, match='no frames'):
            for _ in range(100):
                drv.read(0.1)
        drv.close()
        drv.open()                       # what the node does after DeviceLostError
        assert any(drv.read(1.0) is not None for _ in range(10))
    finally:
        drv.close()


def test_close_is_idempotent_and_reopen_works(recording):
    drv = playback(recording)
    drv.close()                          # never opened
    for _ in range(3):
        drv.open()
        assert drv.is_open
        assert any(drv.read(1.0) is not None for _ in range(10))
        drv.close()
        drv.close()
        assert not drv.is_open
    with pytest.raises(DriverError):
        drv.read(0.1)


def test_close_right_after_open(recording):
    # librealsense aborts the process when a playback pipeline stops before its first
    # frame (seen under CPU load); open() waits for that frame so this must be safe
    drv = playback(recording)
    for _ in range(8):
        drv.open()
        drv.close()
    drv.open()
    fs = drv.read(1.0)               # the frame open() waited for is not lost
    drv.close()
    assert fs is not None and fs.color.shape == (H, W, 3)


# -- errors -----------------------------------------------------------------------------
def test_wrong_serial_names_what_was_seen():
    seen = [d.get_info(rs.camera_info.serial_number) for d in rs.context().query_devices()]
    drv = RealSenseDriver({'serial_no': 'no-such-serial-0000'})
    with pytest.raises(DeviceNotFoundError) as err:
        drv.open()                       # no 15 s pipeline wait: devices are listed first
    assert 'no-such-serial-0000' in str(err.value)
    assert 'serials seen: %s' % seen in str(err.value)
    assert not drv.is_open


def test_no_device_at_all():
    if len(rs.context().query_devices()):
        pytest.skip('a RealSense camera is attached')
    with pytest.raises(DeviceNotFoundError, match=r'serials seen: \[\]'):
        RealSenseDriver().open()


def test_missing_or_bad_playback_file(tmp_path):
    missing = tmp_path / 'nothing.db3'
    with pytest.raises(DeviceNotFoundError, match='nothing.db3'):
        RealSenseDriver({'playback_file': str(missing)}).open()
    garbage = tmp_path / 'garbage.db3'
    garbage.write_bytes(b'not a recording')
    with pytest.raises(DeviceNotFoundError, match='garbage.db3'):
        RealSenseDriver({'playback_file': str(garbage)}).open()


def test_playback_serial_is_checked(recording):
    with pytest.raises(DeviceNotFoundError, match=SERIAL):
        playback(recording, serial_no='999').open()
    with playback(recording, serial_no='_' + SERIAL) as drv:    # realsense-ros style
        assert drv.properties().serial == SERIAL


@pytest.mark.parametrize('text', ['640x480', '640x480x30x2', 'axbxc', '-640x480x30',
                                  '640x480x29.97', '', 'wide', 640])
def test_bad_profiles_rejected(text):
    with pytest.raises(InvalidOptionError, match='WIDTHxHEIGHTxFPS'):
        RealSenseDriver({'color_profile': text})
    with pytest.raises(InvalidOptionError, match='depth_profile'):
        RealSenseDriver({'depth_profile': text})


def test_good_profiles_parse():
    assert parse_profile('1280x720x15') == (1280, 720, 15)
    assert parse_profile(' 848X480x90 ') == (848, 480, 90)
    assert parse_profile('0x0x0') == (0, 0, 0)


def test_runtime_options_on_playback_are_rejected_with_reason(recording):
    store = make_store(RealSenseDriver, {'playback_file': str(recording)})
    with RealSenseDriver(store) as drv:
        with pytest.raises(InvalidOptionError, match='read-only'):
            change(drv, store, 'exposure', 5000)
        assert drv.options['exposure'] == -1            # nothing stored
        with pytest.raises(InvalidOptionError, match='no runtime option'):
            drv.check_option('shutter_speed', 1)
        # type and range: the parameter specs, before the driver is asked
        with pytest.raises(InvalidOptionError, match='integer'):
            change(drv, store, 'exposure', 12.5)
        with pytest.raises(InvalidOptionError, match='bool'):
            change(drv, store, 'enable_auto_exposure', 'yes')
        with pytest.raises(InvalidOptionError, match=r'within \[-1.0, 360.0\]'):
            change(drv, store, 'laser_power', 400.0)
    runtime = {p.name for p in RealSenseDriver.parameters if not p.read_only}
    assert {'enable_auto_exposure', 'exposure', 'laser_power'} <= runtime


def test_runtime_options_before_open_are_stored_for_open(recording):
    store = make_store(RealSenseDriver, {'playback_file': str(recording)})
    drv = RealSenseDriver(store)
    assert change(drv, store, 'laser_power', 150) == 150.0    # an integer for a double
    assert drv.options['laser_power'] == 150.0


def test_commands(recording):
    with playback(recording) as drv:
        cmds = drv.commands()
        assert {'hardware_reset', 'device_info', 'get_options'} <= set(cmds)
        info = cmds['device_info'][1]({})
        assert info['serial_number'] == SERIAL and info['name'] == MODEL
        assert info['firmware_version'] == '5.99.0.0' and info['playback'] is True
        assert info['depth_scale'] == pytest.approx(DEPTH_UNITS)
        assert info['color_format'] == 'rgb8'
        options = cmds['get_options'][1]({})
        units = options['sensors']['Stereo Module']['depth_units']
        assert units['value'] == pytest.approx(DEPTH_UNITS) and units['read_only']
        with pytest.raises(DriverError, match='playing back'):
            cmds['hardware_reset'][1]({})


def test_config_file_lists_every_parameter():
    yaml = pytest.importorskip('yaml')
    path = pathlib.Path(__file__).resolve().parents[1] / 'config' / 'realsense.yaml'
    params = yaml.safe_load(path.read_text())['/**']['ros__parameters']
    assert params['driver'] == 'realsense'
    for spec in RealSenseDriver.parameters:
        assert params[spec.name] == spec.default, spec.name


# -- real hardware (opt-in) -------------------------------------------------------------
@hw_only
def test_hw_streams_and_reports_device():
    with RealSenseDriver({'serial_no': os.environ.get('CAMERA_NODE_RS_SERIAL', '')}) as drv:
        props = drv.properties()
        assert props.serial and props.depth is not None
        sets = [fs for fs in (drv.read(2.0) for _ in range(30)) if fs is not None]
        assert len(sets) > 20
        fs = sets[-1]
        assert fs.color.shape == (props.color.height, props.color.width, 3)
        assert fs.aligned_depth.shape == fs.color.shape[:2]
        assert abs(fs.stamp_ns - time.time_ns()) < 1e9
        info = drv.commands()['device_info'][1]({})
        assert info['serial_number'] == props.serial


@hw_only
def test_hw_runtime_option_round_trip():
    store = make_store(RealSenseDriver)
    with RealSenseDriver(store) as drv:
        change(drv, store, 'exposure', 5000)
        current = drv.commands()['get_options'][1]({})['runtime_parameters']
        assert current['exposure'] == pytest.approx(5000, rel=0.05)
        change(drv, store, 'enable_auto_exposure', True)
        with pytest.raises(InvalidOptionError, match='outside'):
            drv.check_option('laser_power', 100000.0)
