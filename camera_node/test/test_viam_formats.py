"""Tests of camera_node.viam_formats, checked against the real viam-sdk where it can decode."""

import io
import struct

from camera_node.core import cloud
from camera_node.core.types import Intrinsics
from camera_node.viam import codecs as vf
from camera_node.viam import distortion
from camera_node.viam import pcd
import numpy as np
from PIL import Image
import pytest
from viam.media.utils.pil import pil_to_viam_image, viam_to_pil_image
from viam.media.video import CameraMimeType, ViamImage


def _rgb(h=7, w=11, seed=1):
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def _depth(h=7, w=11, seed=2):
    d = np.random.default_rng(seed).integers(0, 65536, (h, w), dtype=np.uint16)
    d[0, 0] = 0
    d[0, 1] = 0x0102  # byte order visible in the output
    d[-1, -1] = 65535
    return d


def _smooth_rgb(h=48, w=64):
    """Return a gradient image that JPEG reproduces closely."""
    y, x = np.mgrid[0:h, 0:w]
    return np.stack([x * 4, y * 5, (x + y) * 2], axis=-1).astype(np.uint8)


# ----------------------------------------------------------------------------- MIME


def test_mime_constants_match_viam_sdk():
    assert vf.MIME_JPEG == CameraMimeType.JPEG
    assert vf.MIME_PNG == CameraMimeType.PNG
    assert vf.MIME_VIAM_RGBA == CameraMimeType.VIAM_RGBA
    assert vf.MIME_VIAM_DEP == CameraMimeType.VIAM_RAW_DEPTH
    assert vf.MIME_PCD == CameraMimeType.PCD


@pytest.mark.parametrize('given, expected', [
    ('image/jpeg+lazy', 'image/jpeg'),
    ('image/vnd.viam.dep+lazy', 'image/vnd.viam.dep'),
    ('image/png', 'image/png'),
    ('  image/png+lazy ', 'image/png'),
    ('', ''),
    ('+lazy', ''),
])
def test_strip_lazy(given, expected):
    assert vf.strip_lazy(given) == expected
    # viam-sdk strips the same suffix
    if given.strip() == given:
        assert CameraMimeType.from_string(given) == expected


def test_normalize_mime_lowercases():
    assert vf.normalize_mime(' Image/JPEG+lazy') == 'image/jpeg'


FALLBACK_TABLE = [
    ('color', 'image/jpeg', 'image/jpeg', False),
    ('color', 'image/png', 'image/png', False),
    ('color', 'image/vnd.viam.rgba', 'image/vnd.viam.rgba', False),
    ('color', 'image/jpeg+lazy', 'image/jpeg', False),
    ('color', 'image/vnd.viam.rgba+lazy', 'image/vnd.viam.rgba', False),
    ('color', 'IMAGE/PNG', 'image/png', False),
    ('color', '', 'image/jpeg', False),
    ('color', '+lazy', 'image/jpeg', False),
    ('color', 'image/vnd.viam.dep', 'image/jpeg', True),
    ('color', 'image/vnd.viam.dep+lazy', 'image/jpeg', True),
    ('color', 'pointcloud/pcd', 'image/jpeg', True),
    ('color', 'image/gif', 'image/jpeg', True),
    ('color', 'garbage', 'image/jpeg', True),
    ('depth', 'image/vnd.viam.dep', 'image/vnd.viam.dep', False),
    ('depth', 'image/vnd.viam.dep+lazy', 'image/vnd.viam.dep', False),
    ('depth', 'image/png', 'image/png', False),
    ('depth', 'image/png+lazy', 'image/png', False),
    ('depth', '', 'image/vnd.viam.dep', False),
    ('depth', 'image/jpeg', 'image/vnd.viam.dep', True),
    ('depth', 'image/jpeg+lazy', 'image/vnd.viam.dep', True),
    ('depth', 'image/vnd.viam.rgba', 'image/vnd.viam.dep', True),
    ('depth', 'pointcloud/pcd', 'image/vnd.viam.dep', True),
    ('depth', 'image/gif', 'image/vnd.viam.dep', True),
]


@pytest.mark.parametrize('kind, wanted, mime, fell_back', FALLBACK_TABLE)
def test_choose_mime_table(kind, wanted, mime, fell_back):
    assert vf.choose_mime(kind, wanted) == (mime, fell_back)


def test_choose_mime_returns_only_supported_types():
    for kind in ('color', 'depth'):
        for _, wanted, _, _ in FALLBACK_TABLE:
            mime, _ = vf.choose_mime(kind, wanted)
            assert mime in vf.supported_mime_types(kind)
    assert vf.supported_mime_types('color') == ('image/jpeg', 'image/png', 'image/vnd.viam.rgba')
    assert vf.supported_mime_types('depth') == ('image/vnd.viam.dep', 'image/png')


def test_choose_mime_unknown_kind():
    with pytest.raises(ValueError, match='color'):
        vf.choose_mime('ir', 'image/jpeg')


@pytest.mark.parametrize('kind, wanted, mime, fell_back', FALLBACK_TABLE)
def test_encode_image_follows_table(kind, wanted, mime, fell_back):
    image = _smooth_rgb() if kind == 'color' else _depth()
    data, got_mime, got_fell_back = vf.encode_image(kind, image, wanted)
    assert (got_mime, got_fell_back) == (mime, fell_back)
    pil = viam_to_pil_image(ViamImage(data, CameraMimeType.from_string(mime))) \
        if mime != vf.MIME_VIAM_DEP else None
    if mime == vf.MIME_VIAM_DEP:
        assert np.array_equal(vf.decode_dep(data), image)
    else:
        assert pil.size == (image.shape[1], image.shape[0])


def test_fallback_table_documented_in_docs():
    import pathlib
    doc = pathlib.Path(__file__).resolve().parents[2] / 'docs' / 'viam-api.md'
    if not doc.exists():
        pytest.skip('docs/viam-api.md not in this checkout')
    text = doc.read_text()
    for _, wanted, mime, _ in FALLBACK_TABLE:
        assert mime in text
    assert 'fell_back' in text


# ----------------------------------------------------------------------------- RGBA


def test_rgba_header_byte_by_byte():
    rgb = _rgb(h=3, w=258)
    data = vf.encode_rgba(rgb)
    assert data[:4] == b'RGBA'
    assert data[4:8] == b'\x00\x00\x01\x02'   # width 258, uint32 big-endian
    assert data[8:12] == b'\x00\x00\x00\x03'  # height 3
    assert len(data) == 12 + 258 * 3 * 4
    # first pixel R, G, B, 255; row-major
    assert data[12:16] == bytes([*rgb[0, 0], 255])
    assert data[16:20] == bytes([*rgb[0, 1], 255])
    assert data[12 + 258 * 4:12 + 258 * 4 + 4] == bytes([*rgb[1, 0], 255])


def test_rgba_round_trip_and_alpha():
    rgb = _rgb()
    out = vf.decode_rgba(vf.encode_rgba(rgb))
    assert out.shape == (7, 11, 4) and out.dtype == np.uint8
    assert np.array_equal(out[..., :3], rgb)
    assert np.all(out[..., 3] == 255)
    out[0, 0, 0] ^= 1  # decoded array is writable


def test_rgba_accepts_rgba_input_and_views():
    rgba = np.random.default_rng(3).integers(0, 256, (5, 6, 4), dtype=np.uint8)
    assert np.array_equal(vf.decode_rgba(vf.encode_rgba(rgba)), rgba)
    rgb = _rgb(h=10, w=10)
    view = rgb[::2, 1::3]  # non-contiguous
    assert np.array_equal(vf.decode_rgba(vf.encode_rgba(view))[..., :3], view)


def test_rgba_through_viam_sdk():
    rgb = _rgb()
    data = vf.encode_rgba(rgb)
    img = ViamImage(data, CameraMimeType.VIAM_RGBA)
    assert (img.width, img.height) == (11, 7)
    pil = viam_to_pil_image(img)
    assert pil.mode == 'RGBA' and pil.size == (11, 7)
    assert np.array_equal(np.asarray(pil)[..., :3], rgb)
    assert np.all(np.asarray(pil)[..., 3] == 255)


def test_rgba_decodes_viam_sdk_output():
    rgba = np.random.default_rng(4).integers(0, 256, (4, 9, 4), dtype=np.uint8)
    data = pil_to_viam_image(Image.fromarray(rgba, 'RGBA'), CameraMimeType.VIAM_RGBA).data
    assert np.array_equal(vf.decode_rgba(data), rgba)
    assert data == vf.encode_rgba(rgba)


@pytest.mark.parametrize('bad', [
    np.zeros((4, 4), np.uint8), np.zeros((4, 4, 2), np.uint8), np.zeros((4, 4, 3), np.uint16),
    np.zeros((0, 4, 3), np.uint8),
])
def test_rgba_encode_rejects(bad):
    with pytest.raises(ValueError):
        vf.encode_rgba(bad)


def test_rgba_decode_errors():
    data = vf.encode_rgba(_rgb())
    with pytest.raises(vf.FormatError, match='too short'):
        vf.decode_rgba(data[:11])
    with pytest.raises(ValueError, match='needs'):
        vf.decode_rgba(data[:-1])
    with pytest.raises(ValueError, match='needs'):
        vf.decode_rgba(data + b'\x00')
    with pytest.raises(ValueError, match='magic'):
        vf.decode_rgba(b'RGBX' + data[4:])
    with pytest.raises(ValueError, match='magic'):
        vf.decode_rgba(vf.encode_dep(_depth()))
    with pytest.raises(ValueError):
        vf.decode_rgba(b'RGBA\xff\xff\xff\xff\xff\xff\xff\xff')  # absurd size, no data
    with pytest.raises(ValueError):
        vf.decode_rgba('RGBA')  # not bytes


# ----------------------------------------------------------------------------- DEP


def test_dep_header_byte_by_byte():
    d = _depth(h=3, w=258)
    data = vf.encode_dep(d)
    assert data[:8] == b'DEPTHMAP'
    assert data[8:16] == b'\x00' * 6 + b'\x01\x02'   # width 258, uint64 big-endian
    assert data[16:24] == b'\x00' * 7 + b'\x03'      # height 3
    assert len(data) == 24 + 258 * 3 * 2
    assert data[24:26] == b'\x00\x00'
    assert data[26:28] == b'\x01\x02'                 # big-endian sample 0x0102
    assert data[-2:] == b'\xff\xff'
    assert data[24:] == d.astype('>u2').tobytes()
    assert data[24:] == b''.join(struct.pack('>H', int(v)) for v in d.ravel())


def test_dep_round_trip():
    d = _depth()
    out = vf.decode_dep(vf.encode_dep(d))
    assert out.dtype == np.uint16 and out.dtype.isnative
    assert np.array_equal(out, d)
    view = _depth(h=20, w=30)[1::3, ::2]
    assert np.array_equal(vf.decode_dep(vf.encode_dep(view)), view)
    big_endian_input = d.astype('>u2')
    assert vf.encode_dep(big_endian_input.astype(np.uint16)) == vf.encode_dep(d)


def test_dep_through_viam_sdk():
    d = _depth()
    img = ViamImage(vf.encode_dep(d), CameraMimeType.VIAM_RAW_DEPTH)
    assert np.array_equal(np.array(img.bytes_to_depth_array(), dtype=np.uint16), d)
    assert (img.width, img.height) == (11, 7)


def test_dep_encode_rejects():
    with pytest.raises(ValueError, match='uint16'):
        vf.encode_dep(np.zeros((3, 3), np.float32))
    with pytest.raises(ValueError, match='uint16'):
        vf.encode_dep(np.zeros((3, 3), np.int32))
    with pytest.raises(ValueError, match='HxW'):
        vf.encode_dep(np.zeros((3, 3, 1), np.uint16))
    with pytest.raises(ValueError, match='empty'):
        vf.encode_dep(np.zeros((3, 0), np.uint16))


def test_dep_decode_errors():
    data = vf.encode_dep(_depth())
    with pytest.raises(vf.FormatError, match='too short'):
        vf.decode_dep(data[:23])
    with pytest.raises(ValueError, match='needs'):
        vf.decode_dep(data[:-1])
    with pytest.raises(ValueError, match='needs'):
        vf.decode_dep(data + b'\x00\x00')
    with pytest.raises(ValueError, match='magic'):
        vf.decode_dep(b'DEPTHMAX' + data[8:])
    with pytest.raises(ValueError, match='magic'):
        vf.decode_dep(vf.encode_rgba(_rgb()) + b'\x00' * 100)
    with pytest.raises(ValueError):
        vf.decode_dep(b'DEPTHMAP' + b'\xff' * 16)


# ----------------------------------------------------------------------------- JPEG / PNG


def test_jpeg_colours_not_swapped():
    rgb = _smooth_rgb()
    data = vf.encode_jpeg(rgb, 95)
    assert data[:3] == b'\xff\xd8\xff'
    pil = viam_to_pil_image(ViamImage(data, CameraMimeType.JPEG))
    assert pil.format == 'JPEG' and pil.size == (64, 48)
    decoded = np.asarray(pil.convert('RGB')).astype(int)
    assert np.abs(decoded - rgb).mean() < 3.0
    ours = vf.decode_jpeg(data).astype(int)
    assert np.abs(ours - decoded).max() <= 2
    red = np.zeros((16, 16, 3), np.uint8)
    red[..., 0] = 255
    r, g, b = np.asarray(Image.open(io.BytesIO(vf.encode_jpeg(red))).convert('RGB'))[8, 8]
    assert r > 240 and g < 15 and b < 15


def test_jpeg_quality_changes_size_and_is_validated():
    rgb = _rgb(h=64, w=64)
    assert len(vf.encode_jpeg(rgb, 10)) < len(vf.encode_jpeg(rgb, 95))
    with pytest.raises(ValueError):
        vf.encode_jpeg(rgb, 101)
    with pytest.raises(ValueError):
        vf.encode_jpeg(np.zeros((4, 4), np.uint16))


def test_png_colour_exact_through_viam_sdk():
    rgb = _rgb()
    data = vf.encode_png(rgb)
    assert data[:8] == b'\x89PNG\r\n\x1a\n'
    img = ViamImage(data, CameraMimeType.PNG)
    assert (img.width, img.height) == (11, 7)
    pil = viam_to_pil_image(img)
    assert pil.mode == 'RGB'
    assert np.array_equal(np.asarray(pil), rgb)
    assert np.array_equal(vf.decode_png(data), rgb)


def test_png_depth_is_16_bit_grey_millimetres():
    d = _depth()
    data = vf.encode_png(d, 6)
    assert data[24] == 16 and data[25] == 0  # IHDR bit depth 16, colour type 0 (grey)
    pil = viam_to_pil_image(ViamImage(data, CameraMimeType.PNG))
    assert pil.mode.startswith('I;16') or pil.mode == 'I'
    assert np.array_equal(np.asarray(pil).astype(np.uint16), d)
    out = vf.decode_png(data)
    assert out.dtype == np.uint16 and np.array_equal(out, d)


def test_png_levels_and_grey8():
    g = np.arange(64, dtype=np.uint8).reshape(8, 8)
    assert np.array_equal(vf.decode_png(vf.encode_png(g, 0)), g)
    assert np.array_equal(vf.decode_png(vf.encode_png(g, 9)), g)
    with pytest.raises(ValueError):
        vf.encode_png(g, 10)
    with pytest.raises(ValueError):
        vf.encode_png(np.zeros((4, 4), np.float32))


def test_png_rgba_decodes_to_rgba():
    rgba = np.random.default_rng(5).integers(0, 256, (3, 4, 4), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(rgba, 'RGBA').save(buf, format='PNG')
    assert np.array_equal(vf.decode_png(buf.getvalue()), rgba)


def test_image_decoders_reject_garbage():
    png = vf.encode_png(_rgb())
    jpg = vf.encode_jpeg(_rgb())
    with pytest.raises(vf.FormatError, match='signature'):
        vf.decode_png(jpg)
    with pytest.raises(vf.FormatError, match='signature'):
        vf.decode_jpeg(png)
    with pytest.raises(vf.FormatError):
        vf.decode_png(png[:20])
    with pytest.raises(vf.FormatError):
        vf.decode_jpeg(b'\xff\xd8\xff' + b'\x00' * 10)
    with pytest.raises(vf.FormatError):
        vf.decode_jpeg(b'')


# ----------------------------------------------------------------------------- PCD


def test_pcd_hand_computed_bytes():
    xyz = np.array([[1.0, -2.0, 0.5], [0.0, 0.25, 3.0]], dtype=np.float32)
    rgb = np.array([[255, 0, 16], [1, 2, 3]], dtype=np.uint8)
    data = pcd.encode_pcd(xyz, rgb)
    header = (b'VERSION .7\n'
              b'FIELDS x y z rgb\n'
              b'SIZE 4 4 4 4\n'
              b'TYPE F F F I\n'
              b'COUNT 1 1 1 1\n'
              b'WIDTH 2\n'
              b'HEIGHT 1\n'
              b'VIEWPOINT 0 0 0 1 0 0 0\n'
              b'POINTS 2\n'
              b'DATA binary\n')
    body = (b'\x00\x00\x80\x3f' b'\x00\x00\x00\xc0' b'\x00\x00\x00\x3f'  # 1.0 -2.0 0.5 LE
            b'\x10\x00\xff\x00'                                          # 0xFF0010 LE
            b'\x00\x00\x00\x00' b'\x00\x00\x80\x3e' b'\x00\x00\x40\x40'  # 0.0 0.25 3.0
            b'\x03\x02\x01\x00')                                         # 0x010203
    assert data == header + body
    assert struct.unpack('<fffI', body[:16]) == (1.0, -2.0, 0.5, (255 << 16) | 16)


def test_pcd_without_colour():
    xyz = np.array([[1.0, 2.0, 3.0]], dtype=np.float64)  # cast to float32
    data = pcd.encode_pcd(xyz)
    assert data == (b'VERSION .7\nFIELDS x y z\nSIZE 4 4 4\nTYPE F F F\nCOUNT 1 1 1\n'
                    b'WIDTH 1\nHEIGHT 1\nVIEWPOINT 0 0 0 1 0 0 0\nPOINTS 1\nDATA binary\n'
                    + struct.pack('<fff', 1.0, 2.0, 3.0))
    out, rgb = pcd.decode_pcd(data)
    assert rgb is None and np.array_equal(out, xyz.astype(np.float32))


def test_pcd_empty_cloud():
    data = pcd.encode_pcd(np.zeros((0, 3), np.float32), np.zeros((0, 3), np.uint8))
    assert data.endswith(b'WIDTH 0\nHEIGHT 1\nVIEWPOINT 0 0 0 1 0 0 0\nPOINTS 0\nDATA binary\n')
    xyz, rgb = pcd.decode_pcd(data)
    assert xyz.shape == (0, 3) and rgb.shape == (0, 3)


def test_pcd_round_trip_random():
    rng = np.random.default_rng(6)
    xyz = rng.normal(size=(1000, 3)).astype(np.float32)
    rgb = rng.integers(0, 256, (1000, 3), dtype=np.uint8)
    out_xyz, out_rgb = pcd.decode_pcd(pcd.encode_pcd(xyz, rgb))
    assert np.array_equal(out_xyz, xyz) and np.array_equal(out_rgb, rgb)
    # records are 16 bytes each, parseable independently with struct
    data = pcd.encode_pcd(xyz, rgb)
    body = data[data.index(b'DATA binary\n') + 12:]
    assert len(body) == 16 * 1000
    x, y, z, packed = struct.unpack_from('<fffI', body, 16 * 999)
    assert (x, y, z) == tuple(float(v) for v in xyz[999])
    assert packed == (int(rgb[999, 0]) << 16) | (int(rgb[999, 1]) << 8) | int(rgb[999, 2])


def test_pcd_decode_pcl_float_rgb_and_extra_fields():
    rec = np.zeros(2, dtype=[('x', '<f4'), ('y', '<f4'), ('z', '<f4'), ('rgb', '<f4'),
                             ('intensity', '<f8'), ('n', '<u2', (3,))])
    rec['x'] = [1, 2]
    rec['rgb'] = np.array([0x00AABBCC, 0x00010203], dtype='<u4').view('<f4')
    header = (b'# .PCD v0.7\nVERSION 0.7\nFIELDS x y z rgb intensity n\nSIZE 4 4 4 4 8 2\n'
              b'TYPE F F F F F U\nCOUNT 1 1 1 1 1 3\nWIDTH 2\nHEIGHT 1\n'
              b'VIEWPOINT 0 0 0 1 0 0 0\nPOINTS 2\nDATA binary\n')
    xyz, rgb = pcd.decode_pcd(header + rec.tobytes())
    assert xyz[:, 0].tolist() == [1.0, 2.0]
    assert rgb.tolist() == [[0xAA, 0xBB, 0xCC], [1, 2, 3]]


def test_pcd_decode_errors():
    data = pcd.encode_pcd(np.ones((3, 3), np.float32), np.ones((3, 3), np.uint8))
    with pytest.raises(vf.FormatError, match='needs'):
        pcd.decode_pcd(data[:-1])
    with pytest.raises(vf.FormatError, match='needs'):
        pcd.decode_pcd(data + b'\x00')
    with pytest.raises(vf.FormatError, match='truncated'):
        pcd.decode_pcd(data[:40])
    with pytest.raises(vf.FormatError, match='binary'):
        pcd.decode_pcd(data.replace(b'DATA binary', b'DATA ascii'))
    with pytest.raises(vf.FormatError, match='binary'):
        pcd.decode_pcd(data.replace(b'DATA binary', b'DATA binary_compressed'))
    with pytest.raises(vf.FormatError):
        pcd.decode_pcd(b'\x89PNG\r\n\x1a\n garbage \n more')
    with pytest.raises(vf.FormatError):
        pcd.decode_pcd(b'\xff\xfe\xfd\n')
    with pytest.raises(vf.FormatError, match='POINTS'):
        pcd.decode_pcd(data.replace(b'POINTS 3', b'POINTS 4'))
    with pytest.raises(vf.FormatError, match='differ'):
        pcd.decode_pcd(data.replace(b'SIZE 4 4 4 4', b'SIZE 4 4 4'))
    with pytest.raises(vf.FormatError, match='unsupported'):
        pcd.decode_pcd(data.replace(b'TYPE F F F I', b'TYPE F F F Q'))
    with pytest.raises(vf.FormatError, match='no z'):
        pcd.decode_pcd(data.replace(b'FIELDS x y z rgb', b'FIELDS x y w rgb'))


def test_pcd_encode_rejects():
    with pytest.raises(ValueError, match='Nx3'):
        pcd.encode_pcd(np.zeros((3, 2), np.float32))
    with pytest.raises(ValueError, match='rgb'):
        pcd.encode_pcd(np.zeros((3, 3), np.float32), np.zeros((2, 3), np.uint8))
    with pytest.raises(ValueError, match='uint8'):
        pcd.encode_pcd(np.zeros((3, 3), np.float32), np.zeros((3, 3), np.float32))


# ----------------------------------------------------------------------------- depth -> points


def _brute_force_points(depth, rgb, fx, fy, cx, cy, dec):
    pts, cols = [], []
    for v in range(0, depth.shape[0], dec):
        for u in range(0, depth.shape[1], dec):
            d = int(depth[v, u])
            if d == 0:
                continue
            z = d / 1000.0
            pts.append(((u - cx) / fx * z, (v - cy) / fy * z, z))
            if rgb is not None:
                cols.append(rgb[v, u])
    return np.array(pts, dtype=np.float64).reshape(-1, 3), np.array(cols, np.uint8)


def points(depth, rgb, fx, fy, cx, cy, decimation=1):
    """The one back-projection (core.cloud) that PointCloud2 and PCD share."""
    intr = Intrinsics(depth.shape[1], depth.shape[0], fx, fy, cx, cy)
    return cloud.points_from_depth(depth, rgb, intr, decimation)


@pytest.mark.parametrize('dec', [1, 2, 3])
def test_pcd_from_depth_matches_brute_force(dec):
    rng = np.random.default_rng(7)
    depth = rng.integers(0, 5000, (13, 17), dtype=np.uint16)
    depth[rng.random(depth.shape) < 0.3] = 0
    rgb = _rgb(h=13, w=17)
    fx, fy, cx, cy = 600.5, 601.25, 8.3, 6.1
    xyz, cols = points(depth, rgb, fx, fy, cx, cy, decimation=dec)
    want_xyz, want_cols = _brute_force_points(depth, rgb, fx, fy, cx, cy, dec)
    assert xyz.dtype == np.float32 and xyz.shape == want_xyz.shape
    np.testing.assert_allclose(xyz, want_xyz, rtol=1e-5, atol=1e-7)
    assert np.array_equal(cols, want_cols)
    assert np.all(xyz[:, 2] > 0)


def test_pcd_from_depth_without_colour_and_all_invalid():
    depth = np.zeros((4, 5), np.uint16)
    xyz, cols = points(depth, None, 1, 1, 2, 2)
    assert xyz.shape == (0, 3) and cols is None
    depth[2, 2] = 1000
    xyz, cols = points(depth, None, 1, 1, 2, 2)
    assert xyz.tolist() == [[0.0, 0.0, 1.0]] and cols is None
    data = pcd.depth_to_pcd(depth, None, Intrinsics(5, 4, 1, 1, 2, 2))
    assert b'FIELDS x y z\n' in data and data.endswith(struct.pack('<fff', 0, 0, 1))


def test_pcd_from_depth_ray_tables_cached():
    cloud._cached_rays.cache_clear()
    depth = np.full((6, 8), 500, np.uint16)
    points(depth, None, 100.0, 100.0, 4.0, 3.0)
    points(depth, None, 100.0, 100.0, 4.0, 3.0)
    info = cloud._cached_rays.cache_info()
    assert info.misses == 1 and info.hits == 1
    points(depth, None, 100.0, 100.0, 4.0, 3.5)  # new intrinsics -> new tables
    points(depth, None, 100.0, 100.0, 4.0, 3.0, decimation=2)
    assert cloud._cached_rays.cache_info().misses == 3


def test_pcd_from_depth_rejects():
    depth = np.ones((4, 5), np.uint16)
    with pytest.raises(ValueError, match='registered'):
        points(depth, _rgb(h=4, w=6), 1, 1, 0, 0)
    with pytest.raises(ValueError, match='decimation'):
        points(depth, None, 1, 1, 0, 0, decimation=0)
    with pytest.raises(ValueError, match='non-zero'):
        points(depth, None, 0, 1, 0, 0)
    with pytest.raises(ValueError, match='uint16'):
        points(depth.astype(np.float32), None, 1, 1, 0, 0)


# ----------------------------------------------------------------------------- distortion


def test_plumb_bob_round_trip_order():
    ros = [0.1, 0.2, 0.3, 0.4, 0.5]  # k1 k2 p1 p2 k3
    model, params = distortion.ros_plumb_bob_to_viam(ros)
    assert model == 'brown_conrady'
    assert params == [0.1, 0.2, 0.5, 0.3, 0.4]  # k1 k2 k3 p1 p2
    assert distortion.viam_brown_conrady_to_ros(params) == ('plumb_bob', ros)
    assert distortion.viam_distortion_to_ros(model, params) == ('plumb_bob', ros)
    assert distortion.ros_distortion_to_viam('plumb_bob', ros) == (model, params)


def test_rational_polynomial_round_trip_order():
    ros = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]  # k1 k2 p1 p2 k3 k4 k5 k6
    model, params = distortion.ros_rational_polynomial_to_viam(ros)
    assert model == 'brown_conrady_k6'
    assert params == [1.0, 2.0, 5.0, 6.0, 7.0, 8.0, 3.0, 4.0]  # k1..k6 p1 p2
    assert distortion.viam_brown_conrady_k6_to_ros(params) == ('rational_polynomial', ros)
    assert distortion.viam_distortion_to_ros(model, params) == ('rational_polynomial', ros)
    assert distortion.ros_distortion_to_viam('rational_polynomial', ros) == (model, params)


def test_distortion_empty_zero_and_padding():
    assert distortion.ros_plumb_bob_to_viam([]) == ('', [])
    assert distortion.ros_rational_polynomial_to_viam([]) == ('', [])
    assert distortion.ros_plumb_bob_to_viam([0.0] * 5) == ('brown_conrady', [0.0] * 5)
    assert distortion.ros_plumb_bob_to_viam([0.1, 0.2, 0.3, 0.4]) == \
        ('brown_conrady', [0.1, 0.2, 0.0, 0.3, 0.4])
    assert distortion.ros_plumb_bob_to_viam([0.1, 0.2, 0.3, 0.4, 0.5, 0.0, 0.0]) == \
        ('brown_conrady', [0.1, 0.2, 0.5, 0.3, 0.4])
    assert distortion.viam_distortion_to_ros('', []) == ('plumb_bob', [0.0] * 5)
    assert distortion.ros_distortion_to_viam('', []) == ('', [])
    assert distortion.ros_distortion_to_viam('equidistant', [0.0, 0.0, 0.0, 0.0]) == ('', [])
    assert distortion.ros_distortion_to_viam('plumb_bob', np.zeros(5)) == (
        'brown_conrady', [0.0] * 5)


def test_distortion_errors():
    with pytest.raises(ValueError, match='at most 5'):
        distortion.ros_plumb_bob_to_viam([0.1] * 6)
    with pytest.raises(ValueError, match='no Viam equivalent'):
        distortion.ros_distortion_to_viam('equidistant', [0.1, 0.0, 0.0, 0.0])
    with pytest.raises(ValueError, match='unknown Viam'):
        distortion.viam_distortion_to_ros('kannala_brandt', [0.1])
    with pytest.raises(ValueError, match='numbers'):
        distortion.ros_plumb_bob_to_viam(['a'])
