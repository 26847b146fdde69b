"""Tests of camera_node.orientation against known rotations and viam-sdk's spatialmath."""

import math

from camera_node.core import orientation as o
import numpy as np
import pytest

try:  # viam-sdk's Rust-backed spatialmath, parity-tested against the Go RDK
    from viam.spatialmath import OrientationVector as ViamOV
    from viam.spatialmath import Quaternion as ViamQuaternion
    from viam.spatialmath import RotationMatrix as ViamRotationMatrix
    ViamOV(0.0, 0.0, 1.0, 0.0).to_quaternion()
except Exception:  # pragma: no cover - native library missing on this platform
    ViamOV = None

needs_viam = pytest.mark.skipif(ViamOV is None, reason='viam.spatialmath unavailable')

S = math.sqrt(0.5)


def _same_rotation(q1, q2, tol=1e-9):
    """Return True if two quaternions are the same rotation (q and -q are equal)."""
    d = abs(float(np.dot(o.normalize_quaternion(q1), o.normalize_quaternion(q2))))
    return abs(d - 1.0) < tol


def _rx(a):
    c, s = math.cos(a), math.sin(a)
    return np.array([[1, 0, 0], [0, c, -s], [0, s, c]])


def _ry(a):
    c, s = math.cos(a), math.sin(a)
    return np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]])


def _rz(a):
    c, s = math.cos(a), math.sin(a)
    return np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])


def _random_quaternions(n, seed=1234):
    rng = np.random.default_rng(seed)
    qs = rng.normal(size=(n, 4))
    return [tuple(q / np.linalg.norm(q)) for q in qs]


def _ov_equal(a, b, tol=1e-7):
    """Compare OVs: direction component-wise, theta modulo 360."""
    assert np.allclose(a[:3], b[:3], atol=tol), (a, b)
    dt = (a[3] - b[3] + 180.0) % 360.0 - 180.0
    assert abs(dt) < tol * 1e3, (a, b)


# ----------------------------------------------------------------------------- basics


def test_quaternion_multiply_hamilton():
    i, j, k, one = (1, 0, 0, 0), (0, 1, 0, 0), (0, 0, 1, 0), (0, 0, 0, 1)
    assert o.quaternion_multiply(i, j) == (0, 0, 1, 0)
    assert o.quaternion_multiply(j, k) == (1, 0, 0, 0)
    assert o.quaternion_multiply(k, i) == (0, 1, 0, 0)
    assert o.quaternion_multiply(j, i) == (0, 0, -1, 0)
    assert o.quaternion_multiply(i, i) == (0, 0, 0, -1)
    assert o.quaternion_multiply(one, (1, 2, 3, 4)) == (1, 2, 3, 4)


def test_quaternion_multiply_composes_like_matrices():
    for a, b in zip(_random_quaternions(20, 1), _random_quaternions(20, 2)):
        ab = o.quaternion_multiply(a, b)
        assert np.allclose(o.quaternion_to_matrix(ab),
                           o.quaternion_to_matrix(a) @ o.quaternion_to_matrix(b))


def test_quaternion_to_matrix_axes():
    assert np.allclose(o.quaternion_to_matrix((0, 0, 0, 1)), np.eye(3))
    assert np.allclose(o.quaternion_to_matrix((0, 0, S, S)), _rz(math.pi / 2))
    assert np.allclose(o.quaternion_to_matrix((S, 0, 0, S)), _rx(math.pi / 2))
    assert np.allclose(o.quaternion_to_matrix((0, 2 * S, 0, 2 * S)), _ry(math.pi / 2))
    with pytest.raises(ValueError):
        o.quaternion_to_matrix((0, 0, 0, 0))
    with pytest.raises(ValueError):
        o.quaternion_to_matrix((0, 0, 1))


def test_matrix_quaternion_round_trip_all_branches():
    cases = _random_quaternions(200, 3) + [
        (0, 0, 0, 1), (1, 0, 0, 0), (0, 1, 0, 0), (0, 0, 1, 0),  # 180 degree turns
        (S, S, 0, 0), (0, S, S, 0), (S, 0, S, 0)]
    for q in cases:
        back = o.rotation_matrix_to_quaternion(o.quaternion_to_matrix(q))
        assert _same_rotation(back, q)
        assert back[3] >= 0.0


def test_rotation_matrix_to_quaternion_rejects():
    with pytest.raises(ValueError, match='3x3'):
        o.rotation_matrix_to_quaternion(np.eye(4))
    with pytest.raises(ValueError, match='proper rotation'):
        o.rotation_matrix_to_quaternion(np.diag([1.0, 1.0, -1.0]))  # reflection
    with pytest.raises(ValueError, match='proper rotation'):
        o.rotation_matrix_to_quaternion(2 * np.eye(3))
    with pytest.raises(ValueError, match='non-finite'):
        o.rotation_matrix_to_quaternion(np.full((3, 3), np.nan))


def test_matrix_to_axis_angle():
    rx, ry, rz, th = o.matrix_to_axis_angle(_rz(0.3))
    assert np.allclose((rx, ry, rz, th), (0, 0, 1, 0.3))
    rx, ry, rz, th = o.matrix_to_axis_angle(_rx(-1.2))
    assert np.allclose((rx, ry, rz, th), (-1, 0, 0, 1.2))  # theta >= 0, axis flips
    assert o.matrix_to_axis_angle(np.eye(3)) == (0.0, 0.0, 1.0, 0.0)
    rx, ry, rz, th = o.matrix_to_axis_angle(_ry(math.pi))
    assert np.allclose((abs(ry), th), (1, math.pi)) and np.allclose((rx, rz), (0, 0))
    for q in _random_quaternions(50, 4):
        rx, ry, rz, th = o.matrix_to_axis_angle(o.quaternion_to_matrix(q))
        assert math.isclose(math.sqrt(rx * rx + ry * ry + rz * rz), 1.0)
        assert 0.0 <= th <= math.pi
        assert _same_rotation(o.axis_angle_to_quaternion(rx, ry, rz, th), q)


def test_axis_angle_to_quaternion():
    assert np.allclose(o.axis_angle_to_quaternion(0, 0, 2, math.pi / 2), (0, 0, S, S))
    assert o.axis_angle_to_quaternion(0, 0, 0, 1.0) == (0.0, 0.0, 0.0, 1.0)


def test_rpy_matches_fixed_axis_xyz():
    rng = np.random.default_rng(5)
    for roll, pitch, yaw in rng.uniform(-math.pi, math.pi, size=(30, 3)):
        want = _rz(yaw) @ _ry(pitch) @ _rx(roll)
        assert np.allclose(o.quaternion_to_matrix(o.rpy_to_quaternion(roll, pitch, yaw)), want)
    assert np.allclose(o.rpy_to_quaternion(0, 0, math.pi / 2), (0, 0, S, S))
    assert np.allclose(o.rpy_to_quaternion(math.pi / 2, 0, 0), (S, 0, 0, S))


def test_optical_frame_rotation():
    q = o.rpy_to_quaternion(-math.pi / 2, 0, -math.pi / 2)
    assert np.allclose(q, (-0.5, 0.5, -0.5, 0.5))  # the well-known optical-frame quaternion
    assert np.allclose(o.rotate_vector(q, (0, 0, 1)), (1, 0, 0))   # optical z -> body x
    assert np.allclose(o.rotate_vector(q, (1, 0, 0)), (0, -1, 0))  # optical x -> body -y
    assert np.allclose(o.rotate_vector(q, (0, 1, 0)), (0, 0, -1))  # optical y -> body -z


# ----------------------------------------------------------------------------- OV


def test_ov_rdk_check_value_is_45_degrees_about_x():
    q = o.ov_to_quaternion(0, -0.7071, 0.7071, 90)
    want = o.axis_angle_to_quaternion(1, 0, 0, math.radians(45))
    assert _same_rotation(q, want, tol=1e-9)
    assert np.allclose(o.quaternion_to_matrix(q), _rx(math.radians(45)))


@pytest.mark.parametrize('theta', [-270.0, -90.0, -30.0, 0.0, 45.0, 90.0, 180.0, 359.0])
def test_ov_up_is_rotation_about_z(theta):
    q = o.ov_to_quaternion(0, 0, 1, theta)
    assert np.allclose(o.quaternion_to_matrix(q), _rz(math.radians(theta)))
    q = o.ov_to_quaternion(0, 0, 5.0, theta)  # direction length does not matter
    assert np.allclose(o.quaternion_to_matrix(q), _rz(math.radians(theta)))


def test_ov_x_maps_local_z_to_x():
    q = o.ov_to_quaternion(1, 0, 0, 0)
    assert np.allclose(o.rotate_vector(q, (0, 0, 1)), (1, 0, 0))
    assert np.allclose(q, (0, S, 0, S))  # 90 degrees about +y


def test_ov_maps_local_z_onto_direction():
    rng = np.random.default_rng(8)
    for v in rng.normal(size=(50, 3)):
        theta = float(rng.uniform(-180, 180))
        q = o.ov_to_quaternion(*v, theta)
        assert np.allclose(o.rotate_vector(q, (0, 0, 1)), v / np.linalg.norm(v))


def test_ov_down_and_zero():
    q = o.ov_to_quaternion(0, 0, -1, 0)
    assert np.allclose(o.quaternion_to_matrix(q), _ry(math.pi))
    # near the pole the RDK forces lon = 0
    q = o.ov_to_quaternion(0, 1e-3, 1.0, 0)
    assert np.allclose(o.quaternion_to_matrix(q), _ry(math.acos(1 / math.sqrt(1 + 1e-6))))
    # an unset (all-zero) direction is +Z
    assert np.allclose(o.quaternion_to_matrix(o.ov_to_quaternion(0, 0, 0, 90)), _rz(math.pi / 2))
    with pytest.raises(ValueError):
        o.ov_to_quaternion(float('nan'), 0, 1, 0)
    with pytest.raises(ValueError):
        o.ov_to_quaternion(0, 0, 1, float('inf'))


def test_quaternion_to_ov_known():
    _ov_equal(o.quaternion_to_ov((0, 0, 0, 1)), (0, 0, 1, 0))
    _ov_equal(o.quaternion_to_ov((0, S, 0, S)), (1, 0, 0, 0))
    _ov_equal(o.quaternion_to_ov(o.axis_angle_to_quaternion(1, 0, 0, math.radians(45))),
              (0, -S, S, 90))
    _ov_equal(o.quaternion_to_ov((0, 0, S, S)), (0, 0, 1, 90))
    assert o.quaternion_to_ov((0, 0, 1, 0))[3] == pytest.approx(180.0)  # (-180, 180]
    _ov_equal(o.quaternion_to_ov((0, 1, 0, 0)), (0, 0, -1, 0))       # pole: straight down


def test_quaternion_ov_round_trip_random():
    for q in _random_quaternions(500, 2024):
        ov = o.quaternion_to_ov(q)
        assert math.isclose(math.sqrt(sum(c * c for c in ov[:3])), 1.0)
        assert -180.0 < ov[3] <= 180.0
        assert _same_rotation(o.ov_to_quaternion(*ov), q, tol=1e-9)


def test_quaternion_ov_round_trip_poles():
    for theta in (-170.0, -90.0, 0.0, 33.0, 180.0):
        for up in (1.0, -1.0):
            q = o.ov_to_quaternion(0, 0, up, theta)
            ov = o.quaternion_to_ov(q)
            assert np.allclose(ov[:3], (0, 0, up))
            assert _same_rotation(o.ov_to_quaternion(*ov), q)
            # near (within the pole epsilon) the round trip still holds
            q = o.ov_to_quaternion(2e-3, -1e-3, up, theta)
            assert _same_rotation(o.ov_to_quaternion(*o.quaternion_to_ov(q)), q, tol=1e-9)


# ----------------------------------------------------------------------------- viam-sdk


def _viam_q(q):
    """Return viam's Quaternion(w, i, j, k) as (x, y, z, w)."""
    return (q.i, q.j, q.k, q.w)


@needs_viam
def test_ov_to_quaternion_matches_viam_sdk():
    rng = np.random.default_rng(11)
    cases = [(0, -0.7071, 0.7071, 90), (1, 0, 0, 0), (0, 0, 1, 30), (0, 0, -1, 30),
             (0, 1e-3, 1, 10), (0, 0.02, 1, 10), (3, 4, 0, -120)]
    cases += [(*rng.normal(size=3), float(rng.uniform(-360, 360))) for _ in range(200)]
    for ox, oy, oz, th in cases:
        theirs = _viam_q(ViamOV(ox, oy, oz, math.radians(th)).to_quaternion())
        ours = o.ov_to_quaternion(ox, oy, oz, th)
        assert _same_rotation(ours, theirs, tol=1e-9), (ox, oy, oz, th, ours, theirs)


@needs_viam
def test_quaternion_to_ov_matches_viam_sdk():
    for q in _random_quaternions(200, 12) + [(0, 0, 0, 1), (0, 0, S, S), (S, 0, 0, S)]:
        x, y, z, w = q
        vo = ViamQuaternion(w, x, y, z).to_orientation_vector()
        theirs = (vo.o_x, vo.o_y, vo.o_z, math.degrees(vo.theta))
        _ov_equal(o.quaternion_to_ov(q), theirs, tol=1e-6)


@needs_viam
def test_quaternion_to_ov_near_pole_matches_viam_sdk():
    # Within the pole epsilon the RDK's theta is an approximation (off by ~2e-4 degrees
    # here); ours is the exact inverse of ov_to_quaternion.
    for ov in [(0, 5e-3, 1, 20), (0.01, 0, 1, -100), (3e-3, -4e-3, -1, 70), (0, 0, -1, 70)]:
        q = o.ov_to_quaternion(*ov)
        x, y, z, w = q
        vo = ViamQuaternion(w, x, y, z).to_orientation_vector()
        theirs = (vo.o_x, vo.o_y, vo.o_z, math.degrees(vo.theta))
        ours = o.quaternion_to_ov(q)
        assert np.allclose(ours[:3], theirs[:3], atol=1e-12)
        assert abs(ours[3] - theirs[3]) < 1e-3
        assert abs(ours[3] - ov[3]) < 1e-9


@needs_viam
def test_rotation_matrix_matches_viam_sdk():
    for q in _random_quaternions(50, 13):
        x, y, z, w = q
        theirs = np.array(ViamQuaternion(w, x, y, z).to_rotation_matrix().elements).reshape(3, 3)
        ours = o.quaternion_to_matrix(q)
        assert np.allclose(ours, theirs)  # viam-sdk elements are row-major, same convention
        back = _viam_q(ViamRotationMatrix(list(ours.ravel())).to_quaternion())
        assert _same_rotation(back, q)
        assert _same_rotation(o.rotation_matrix_to_quaternion(theirs), q)


@needs_viam
def test_axis_angle_matches_viam_sdk():
    for q in _random_quaternions(50, 14):
        x, y, z, w = q
        aa = ViamQuaternion(w, x, y, z).to_axis_angle()
        theirs = o.axis_angle_to_quaternion(aa.axis.x, aa.axis.y, aa.axis.z, aa.theta)
        rx, ry, rz, th = o.matrix_to_axis_angle(o.quaternion_to_matrix(q))
        assert _same_rotation(o.axis_angle_to_quaternion(rx, ry, rz, th), theirs)
