"""Unit tests of the camera geometry: projection, rays, cloud packing, frame rotations."""

import math

import numpy as np
import pytest

from camera_node.core import cloud as geometry, orientation
from camera_node.core.frames import OPTICAL_QUATERNION
from camera_node.core.types import Intrinsics

INTR = Intrinsics(8, 6, 10.0, 12.0, 3.5, 2.5)


def test_project_deproject_round_trip():
    rng = np.random.default_rng(1)
    pts = rng.uniform([-1, -1, 0.5], [1, 1, 5], size=(50, 3))
    uv = geometry.project(pts, INTR)
    back = geometry.deproject(uv[:, 0], uv[:, 1], pts[:, 2], INTR)
    np.testing.assert_allclose(back, pts, atol=1e-12)


def test_principal_point_projects_on_axis():
    uv = geometry.project(np.array([[0.0, 0.0, 2.0]]), INTR)
    assert uv[0].tolist() == [INTR.cx, INTR.cy]


def test_ray_table_matches_deproject_and_decimates():
    rays = geometry.RayTable(INTR)
    assert (rays.width, rays.height) == (8, 6)
    p = geometry.deproject(5, 4, 2.0, INTR)
    assert p[0] == pytest.approx(2.0 * rays.xr[5])
    assert p[1] == pytest.approx(2.0 * rays.yr[4])
    dec = geometry.RayTable(INTR, 3)
    assert (dec.width, dec.height) == (3, 2)
    assert dec.xr[1] == pytest.approx(rays.xr[3])


def naive_cloud(depth_mm, rgb, intr):
    """Per-pixel reference implementation (slow, obvious)."""
    out = []
    for v in range(depth_mm.shape[0]):
        for u in range(depth_mm.shape[1]):
            d = int(depth_mm[v, u])
            if d == 0:
                out.append((math.nan, math.nan, math.nan, tuple(rgb[v, u])))
                continue
            z = d / 1000.0
            out.append(((u - intr.cx) / intr.fx * z, (v - intr.cy) / intr.fy * z, z,
                        tuple(rgb[v, u])))
    return out


def test_cloud_buffer_matches_per_pixel_reference():
    rng = np.random.default_rng(2)
    depth = rng.integers(0, 5000, size=(6, 8)).astype(np.uint16)
    depth[0, 0] = 0
    depth[3, 5] = 0
    rgb = rng.integers(0, 256, size=(6, 8, 3)).astype(np.uint8)
    buf = geometry.CloudBuffer(geometry.RayTable(INTR))
    valid = buf.fill(depth, rgb)
    assert valid == np.count_nonzero(depth)
    pts = buf.points().reshape(-1, 4)
    raw = np.frombuffer(buf.data, dtype=np.uint8).reshape(-1, 16)
    for i, (x, y, z, (r, g, b)) in enumerate(naive_cloud(depth, rgb, INTR)):
        if math.isnan(z):
            assert np.isnan(pts[i, :3]).all()
        else:
            np.testing.assert_allclose(pts[i, :3], (x, y, z), rtol=1e-6, atol=1e-6)
        # rgb field: bytes B, G, R, 0 == uint32 0x00RRGGBB little-endian
        assert raw[i, 12:16].tolist() == [b, g, r, 0]
        assert int(raw[i, 12:16].view('<u4')[0]) == (int(r) << 16) | (int(g) << 8) | int(b)


@pytest.mark.parametrize('decimation', [1, 2, 3])
def test_cloud_buffer_fills_band_by_band_like_the_reference(monkeypatch, decimation):
    """Bands of rows (forced to a few points here), every d-th pixel, colour then none."""
    monkeypatch.setattr(geometry.CloudBuffer, 'BAND_POINTS', 5)
    rng = np.random.default_rng(4)
    depth = rng.integers(0, 5000, size=(6, 8)).astype(np.uint16)
    depth[rng.random((6, 8)) < 0.3] = 0
    rgb = rng.integers(0, 256, size=(6, 8, 3)).astype(np.uint8)
    buf = geometry.CloudBuffer(geometry.RayTable(INTR, decimation))
    sub_d, sub_rgb = depth[::decimation, ::decimation], rgb[::decimation, ::decimation]
    assert buf.fill(depth, rgb) == np.count_nonzero(sub_d)
    rays = geometry.RayTable(INTR, decimation)
    z = sub_d.astype(np.float32) * np.float32(0.001)
    z[sub_d == 0] = np.nan
    want = np.zeros(sub_d.shape + (16,), np.uint8)
    xyz = np.stack([z * rays.xr[None, :], z * rays.yr[:, None], z], -1).astype(np.float32)
    want[..., :12] = xyz.view(np.uint8).reshape(sub_d.shape + (12,))
    want[..., 12:15] = sub_rgb[..., ::-1]
    assert bytes(buf.data) == want.tobytes()        # bit for bit, NaN included
    xyz_valid, rgb_valid = buf.valid_points()
    assert rgb_valid.tolist() == sub_rgb[sub_d > 0].tolist()
    buf.fill(depth, None)                            # no colour: the colour bytes are zero
    want[..., 12:16] = 0
    assert bytes(buf.data) == want.tobytes()


def test_cloud_buffer_dense_keeps_valid_points_only():
    depth = np.zeros((6, 8), np.uint16)
    depth[2, 3] = 1500
    depth[4, 7] = 2500
    rgb = np.zeros((6, 8, 3), np.uint8)
    buf = geometry.CloudBuffer(geometry.RayTable(INTR))
    assert buf.fill(depth, rgb) == 2
    dense = np.frombuffer(buf.dense_bytes(), dtype=np.float32).reshape(-1, 4)
    assert dense[:, 2].tolist() == pytest.approx([1.5, 2.5])


def test_cloud_buffer_rejects_wrong_size():
    from array import array
    with pytest.raises(ValueError):
        geometry.CloudBuffer(geometry.RayTable(INTR), array('B', bytes(10)))


def test_cloud_rgb_float_byte_order():
    buf = geometry.CloudBuffer(geometry.RayTable(Intrinsics(1, 1, 1.0, 1.0, 0.0, 0.0)))
    buf.fill(np.array([[1000]], np.uint16), np.array([[[10, 20, 30]]], np.uint8))
    packed = buf.points()[..., 3].reshape(-1)
    assert packed.view(np.uint32)[0] == (10 << 16) | (20 << 8) | 30


def test_optical_rotation_follows_rep103():
    r = orientation.quaternion_to_matrix(OPTICAL_QUATERNION)
    # optical z (forward) is body x, optical x (right) is body -y, optical y (down) is -z
    np.testing.assert_allclose(r @ [0, 0, 1], [1, 0, 0], atol=1e-12)
    np.testing.assert_allclose(r @ [1, 0, 0], [0, -1, 0], atol=1e-12)
    np.testing.assert_allclose(r @ [0, 1, 0], [0, 0, -1], atol=1e-12)
    q = orientation.rpy_to_quaternion(-math.pi / 2, 0.0, -math.pi / 2)
    np.testing.assert_allclose(q, OPTICAL_QUATERNION, atol=1e-12)


def test_quaternion_matrix_round_trip():
    rng = np.random.default_rng(3)
    for _ in range(20):
        q = rng.normal(size=4)
        q /= np.linalg.norm(q)
        if q[3] < 0:
            q = -q
        r = orientation.quaternion_to_matrix(tuple(q))
        back = orientation.rotation_matrix_to_quaternion(r)
        np.testing.assert_allclose(back, q, atol=1e-9)


def test_rpy_yaw_rotates_x_to_y():
    r = orientation.quaternion_to_matrix(orientation.rpy_to_quaternion(0, 0, math.pi / 2))
    np.testing.assert_allclose(r @ [1, 0, 0], [0, 1, 0], atol=1e-12)
