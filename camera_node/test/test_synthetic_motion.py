"""The synthetic camera as a ground-truth rig: IMU, trajectory, infrared stereo pair, emitter.

In process, no ROS: integrating the IMU samples the driver emits reproduces the true
trajectory; OpenCV's StereoSGBM on the infrared pair reproduces the depth image; the
projector's dots come and go with the emitter; every image is rendered from the pose the
ground truth reports.
"""

import math
import threading
import time

import cv2
import numpy as np
import pytest

from camera_node.core.frames import stereo_baseline_m
from camera_node.core.imu import ImuUniter, UNITE_LINEAR
from camera_node.core.orientation import quaternion_to_matrix
from camera_node.drivers.synthetic import scene
from camera_node.drivers.synthetic.driver import DEPTH_ORIGIN, SyntheticDriver
from camera_node.drivers.synthetic.trajectory import GRAVITY, IMU_IN_COLOR

G = np.array([0.0, GRAVITY, 0.0])


def exp_so3(w):
    """Rotation matrix of the rotation vector w (Rodrigues)."""
    theta = float(np.linalg.norm(w))
    k = np.array([[0.0, -w[2], w[1]], [w[2], 0.0, -w[0]], [-w[1], w[0], 0.0]])
    if theta < 1e-12:
        return np.eye(3) + k
    return np.eye(3) + math.sin(theta) / theta * k + (1 - math.cos(theta)) / theta ** 2 * k @ k


def angle_between(r1, r2):
    c = (np.trace(r1.T @ r2) - 1.0) / 2.0
    return math.acos(max(-1.0, min(1.0, c)))


@pytest.fixture
def rig():
    """A moving synthetic camera with gyro 400 Hz and accel 200 Hz (not opened)."""
    return SyntheticDriver({'width': 64, 'height': 48, 'trajectory': True,
                            'trajectory_period': 8.0, 'enable_gyro': True,
                            'enable_accel': True, 'gyro_fps': 400.0, 'accel_fps': 200.0})


def united_samples(driver, seconds):
    """The driver's samples over `seconds`, united at the gyro stamps (accel interpolated)."""
    uniter = ImuUniter(UNITE_LINEAR)
    gyro_rate = dict(driver.imu_streams())['gyro']
    accel_rate = dict(driver.imu_streams())['accel']
    raw = [driver.imu_sample('gyro', k) for k in range(int(seconds * gyro_rate) + 1)]
    raw += [driver.imu_sample('accel', k) for k in range(int(seconds * accel_rate) + 2)]
    raw.sort(key=lambda s: (s.stamp_ns, s.kind))
    return [u for s in raw for u in uniter.add(s)]


def test_integrating_the_imu_reproduces_the_trajectory(rig):
    """Strapdown integration of 4 s of exact IMU samples stays on the true path.

    Tolerance: 2 mm in position, 0.05 degrees in orientation, 2 mm/s in velocity after
    4 s (half a loop, 0.5 m travelled): trapezoidal integration at 400 Hz with accel
    interpolated from 200 Hz; a wrong axis, sign, frame or gravity convention is off by
    metres.
    """
    rig.open()
    try:
        samples = united_samples(rig, 4.2)
        t0 = (samples[0].stamp_ns - rig._epoch0) / 1e9
        truth0 = rig.truth(t0)
        r, v, p = truth0.rotation.copy(), truth0.velocity.copy(), truth0.position.copy()
        for a, b in zip(samples, samples[1:]):
            dt = (b.stamp_ns - a.stamp_ns) / 1e9
            w = 0.5 * (np.array(a.gyro) + np.array(b.gyro))
            r_next = r @ exp_so3(w * dt)
            acc_a = r @ np.array(a.accel) + G
            acc_b = r_next @ np.array(b.accel) + G
            v_next = v + 0.5 * (acc_a + acc_b) * dt
            p = p + 0.5 * (v + v_next) * dt
            v, r = v_next, r_next
        t1 = (samples[-1].stamp_ns - rig._epoch0) / 1e9
        truth1 = rig.truth(t1)
        travelled = np.linalg.norm(truth1.position - truth0.position)
        assert travelled > 0.3                                     # it did move
        assert np.linalg.norm(p - truth1.position) < 0.002
        assert np.linalg.norm(v - truth1.velocity) < 0.002
        assert math.degrees(angle_between(r, truth1.rotation)) < 0.05
    finally:
        rig.close()


def test_at_rest_the_accelerometer_reads_gravity_upwards():
    d = SyntheticDriver({'width': 64, 'height': 48, 'enable_gyro': True,
                         'enable_accel': True})
    d.open()
    try:
        a, g = d.imu_sample('accel', 5), d.imu_sample('gyro', 5)
        assert (a.x, a.y, a.z) == pytest.approx((0.0, -GRAVITY, 0.0))   # y is down
        assert (g.x, g.y, g.z) == (0.0, 0.0, 0.0)
        assert a.stamp_ns == d._epoch0 + round(5 / 200.0 * 1e9)
    finally:
        d.close()


def test_noise_and_bias_have_the_asked_statistics():
    d = SyntheticDriver({'width': 64, 'height': 48, 'enable_gyro': True,
                         'gyro_noise_density': 0.001, 'gyro_bias': [0.01, -0.02, 0.03],
                         'imu_seed': 3})
    d.open()
    try:
        rng = np.random.default_rng(1)
        samples = [d.imu_sample('gyro', k, rng) for k in range(8000)]
        s = np.array([[x.x, x.y, x.z] for x in samples])
    finally:
        d.close()
    # the mean of 8000 samples of sigma 0.02 is within 4 sigma / sqrt(8000) = 9e-4
    assert s.mean(axis=0) == pytest.approx([0.01, -0.02, 0.03], abs=9e-4)
    sigma = 0.001 * math.sqrt(400.0)                 # density * sqrt(rate)
    assert s.std(axis=0) == pytest.approx([sigma] * 3, rel=0.05)


def test_the_live_thread_emits_every_sample_at_its_time(rig):
    got = []
    lock = threading.Lock()

    def sink(sample):
        with lock:
            got.append((sample, time.time_ns()))
    rig.attach_imu(sink)
    rig.open()
    time.sleep(1.0)
    rig.close()
    gyro = [s for s, _ in got if s.kind == 'gyro']
    accel = [s for s, _ in got if s.kind == 'accel']
    assert len(gyro) >= 300 and len(accel) >= 150
    # exactly the samples imu_sample() describes, none missing, none twice
    assert gyro == [rig.imu_sample('gyro', k) for k in range(len(gyro))]
    assert accel == [rig.imu_sample('accel', k) for k in range(len(accel))]
    # each was emitted at (not before) its stamp
    assert all(arrival >= s.stamp_ns for s, arrival in got)


def test_frames_are_rendered_from_the_true_pose(rig):
    rig.open()
    try:
        frames = [rig.read(1.0) for _ in range(3)]
        truth = rig.commands()['ground_truth'][1]({})
    finally:
        rig.close()
    fs = frames[-1]
    assert truth['stamp_ns'] == fs.stamp_ns and truth['moving']
    r = quaternion_to_matrix(truth['color_optical']['quaternion_xyzw'])
    origin = np.array(truth['color_optical']['position_m'])
    # the centre pixel's depth: where the optical axis meets the first surface
    intr = rig.properties().color
    t, sid, _ = scene.render_posed(intr, r, origin, scene.SPHERE_CENTER)
    v, u = intr.height // 2, intr.width // 2
    assert fs.aligned_depth[v, u] == scene.depth_mm(t, sid)[v, u]
    # and the truth is the IMU's pose moved by the IMU -> colour offset
    assert np.array(truth['imu']['position_m']) == pytest.approx(
        origin + r @ IMU_IN_COLOR, abs=1e-9)


@pytest.fixture(scope='module')
def stereo_pair():
    """One frame set of the static scene with both infrared images, emitter on and off."""
    out = {}
    for emitter in (1, 0):
        with SyntheticDriver({'enable_infra1': True, 'enable_infra2': True,
                              'emitter_enabled': emitter, 'fps': 60.0}) as d:
            out[emitter] = (d.read(1.0), d.properties())
    return out


def sgbm_depth_mm(left, right, fx, baseline):
    sgbm = cv2.StereoSGBM_create(minDisparity=0, numDisparities=48, blockSize=5,
                                 P1=8 * 25, P2=32 * 25, uniquenessRatio=5,
                                 speckleWindowSize=100, speckleRange=2,
                                 mode=cv2.STEREO_SGBM_MODE_SGBM)
    disparity = sgbm.compute(left, right).astype(np.float32) / 16.0
    with np.errstate(divide='ignore'):
        return np.where(disparity > 0.5, fx * baseline / disparity * 1000.0, 0.0)


def test_stereo_matching_on_the_ir_pair_reproduces_the_depth_image(stereo_pair):
    """StereoSGBM on infra1/infra2 (emitter on) gives the published depth.

    Over the pixels where both have depth (outside SGBM's left margin of numDisparities
    columns), at least 95 % of the true depth is matched, and the disparity SGBM finds
    differs from the true one (fx * baseline / depth) by at most 0.25 px for half of the
    pixels and 0.5 px for 90 % of them. (SGBM's sub-pixel estimate is biased towards
    whole pixels by up to ~0.25 px; disparities here are 9-20 px, so the depth tolerance
    is about 3 % median, 5 % for 90 % of the pixels, also asserted.)
    """
    fs, props = stereo_pair[1]
    baseline = stereo_baseline_m(props)
    assert baseline == pytest.approx(0.05)
    fx = props.infra1.fx
    est = sgbm_depth_mm(fs.infra1, fs.infra2, fx, baseline)
    truth = fs.depth.astype(np.float64)          # depth is in infra1's geometry
    region = np.zeros_like(truth, dtype=bool)
    region[:, 48:] = True
    both = region & (truth > 0) & (est > 0)
    coverage = both.sum() / (region & (truth > 0)).sum()
    disparity_error = np.abs(fx * baseline * 1000.0 * (1.0 / est[both] - 1.0 / truth[both]))
    rel = np.abs(est[both] - truth[both]) / truth[both]
    print('SGBM vs depth: coverage %.3f, disparity error median %.3f px, p90 %.3f px, '
          'depth error median %.4f, p90 %.4f' % (
              coverage, np.median(disparity_error), np.percentile(disparity_error, 90),
              np.median(rel), np.percentile(rel, 90)))
    assert coverage > 0.95
    assert np.median(disparity_error) < 0.25 and np.percentile(disparity_error, 90) < 0.5
    assert np.median(rel) < 0.03 and np.percentile(rel, 90) < 0.05


def test_dots_are_what_makes_the_box_matchable(stereo_pair):
    """Without the projector the box's flat faces have no texture; with it they match."""
    on, props = stereo_pair[1]
    off, _ = stereo_pair[0]
    intr = props.infra1
    # the box front face in infra1: x in [-1.0, -0.4], y in [0.2, 0.8] at z = 1.8
    corners = np.array([[-0.9, 0.3, 1.8], [-0.5, 0.7, 1.8]]) - DEPTH_ORIGIN
    u0, u1 = (intr.fx * corners[:, 0] / 1.8 + intr.cx).astype(int)
    v0, v1 = (intr.fy * corners[:, 1] / 1.8 + intr.cy).astype(int)
    assert off.infra1[v0:v1, u0:u1].std() < 1.0          # flat
    assert on.infra1[v0:v1, u0:u1].std() > 10.0          # dotted
    covered = {}
    for name, (fs, _) in (('on', stereo_pair[1]), ('off', stereo_pair[0])):
        est = sgbm_depth_mm(fs.infra1, fs.infra2, intr.fx, 0.05)[v0:v1, u0:u1]
        good = np.abs(est - 1800.0) < 0.03 * 1800.0
        covered[name] = good.mean()
    assert covered['on'] > 0.9 and covered['on'] > covered['off'] + 0.3, covered


def test_emitter_on_off_alternates_frame_by_frame():
    with SyntheticDriver({'width': 160, 'height': 120, 'enable_infra1': True,
                          'emitter_on_off': True, 'fps': 100.0}) as d:
        frames = [d.read(1.0) for _ in range(6)]
    states = [fs.metadata['infra1'].emitter_on for fs in frames]
    counters = [fs.metadata['infra1'].frame_counter for fs in frames]
    assert counters == list(range(6))
    assert states == [True, False] * 3
    assert [fs.metadata['depth'].emitter_on for fs in frames] == states
    # the images show it: the "on" frames carry the dots, the "off" ones do not
    assert np.array_equal(frames[1].infra1, frames[3].infra1)
    assert not np.array_equal(frames[0].infra1, frames[1].infra1)
    assert (frames[0].infra1.astype(int) >= frames[1].infra1).all()
    assert frames[0].metadata['color'].emitter_on is None       # colour sees no dots


def test_properties_place_every_sensor():
    with SyntheticDriver({'width': 64, 'height': 48, 'enable_infra1': True,
                          'enable_infra2': True, 'enable_gyro': True,
                          'ir_baseline': 0.095}) as d:
        props = d.properties()
    assert props.sensors() == ('depth', 'color', 'infra1', 'infra2', 'imu')
    assert stereo_baseline_m(props) == pytest.approx(0.095)
    assert props.imu.gyro_hz == 400.0 and props.imu.accel_hz == 0.0
    ext = props.from_reference('imu')
    # a point at the IMU's origin, seen from the depth imager
    in_depth = IMU_IN_COLOR - DEPTH_ORIGIN
    assert ext.rotation @ in_depth + ext.translation == pytest.approx([0.0, 0.0, 0.0])
