"""Byte formats of the Viam camera API, in pure Python/numpy (plus OpenCV for JPEG/PNG).

No ROS import: the node's services call these functions. Array conventions match the
driver seam: colour is ``HxWx3 uint8 RGB``; depth is ``HxW uint16`` millimetres (0 = none).

MIME types and fallback
-----------------------
A requested MIME type is matched after :func:`normalize_mime` (surrounding whitespace and
a ``+lazy`` suffix removed, lower-cased). :func:`choose_mime` decides what a source
returns; the response's ``mime_type`` always names what was actually sent::

    source  requested (after normalize_mime)          returned              fell_back
    ------  ----------------------------------------  --------------------  ---------
    color   image/jpeg                                image/jpeg            False
    color   image/png                                 image/png (8-bit RGB) False
    color   image/vnd.viam.rgba                       image/vnd.viam.rgba   False
    color   '' (no preference)                        image/jpeg            False
    color   image/vnd.viam.dep, pointcloud/pcd, other image/jpeg            True
    depth   image/vnd.viam.dep                        image/vnd.viam.dep    False
    depth   image/png                                 image/png (16-bit mm) False
    depth   '' (no preference)                        image/vnd.viam.dep    False
    depth   image/jpeg, image/vnd.viam.rgba,
            pointcloud/pcd, other                     image/vnd.viam.dep    True

Byte layouts (all validated by the decoders, which raise :class:`FormatError`):

* ``image/vnd.viam.rgba``: ``b'RGBA'``, width u32 BE, height u32 BE, then W*H*4 bytes RGBA.
* ``image/vnd.viam.dep``: ``b'DEPTHMAP'``, width u64 BE, height u64 BE, then W*H uint16 BE.
* ``pointcloud/pcd``: RDK-style binary PCD, metres, little-endian records (see
  :func:`encode_pcd`).
"""

from __future__ import annotations

from functools import lru_cache
import math
from typing import Dict, List, Optional, Sequence, Tuple

import cv2
import numpy as np

MIME_JPEG = 'image/jpeg'
MIME_PNG = 'image/png'
MIME_VIAM_RGBA = 'image/vnd.viam.rgba'
MIME_VIAM_DEP = 'image/vnd.viam.dep'
MIME_PCD = 'pointcloud/pcd'
LAZY_SUFFIX = '+lazy'

SOURCE_COLOR = 'color'
SOURCE_DEPTH = 'depth'

COLOR_MIME_TYPES: Tuple[str, ...] = (MIME_JPEG, MIME_PNG, MIME_VIAM_RGBA)
"""What a colour source can return, default first."""
DEPTH_MIME_TYPES: Tuple[str, ...] = (MIME_VIAM_DEP, MIME_PNG)
"""What a depth source can return, default first."""
DEFAULT_MIME: Dict[str, str] = {SOURCE_COLOR: MIME_JPEG, SOURCE_DEPTH: MIME_VIAM_DEP}
SUPPORTED_MIME: Dict[str, Tuple[str, ...]] = {
    SOURCE_COLOR: COLOR_MIME_TYPES, SOURCE_DEPTH: DEPTH_MIME_TYPES}

RGBA_MAGIC = b'RGBA'
RGBA_HEADER_LEN = 12
DEP_MAGIC = b'DEPTHMAP'
DEP_HEADER_LEN = 24
JPEG_MAGIC = b'\xff\xd8\xff'
PNG_MAGIC = b'\x89PNG\r\n\x1a\n'

DISTORTION_BROWN_CONRADY = 'brown_conrady'
DISTORTION_BROWN_CONRADY_K6 = 'brown_conrady_k6'
ROS_PLUMB_BOB = 'plumb_bob'
ROS_RATIONAL_POLYNOMIAL = 'rational_polynomial'


class FormatError(ValueError):
    """Bytes or arrays that do not have the expected layout."""


# --------------------------------------------------------------------------- MIME types

def strip_lazy(mime: str) -> str:
    """Return ``mime`` without a trailing ``+lazy`` (and without surrounding whitespace)."""
    mime = (mime or '').strip()
    if mime.endswith(LAZY_SUFFIX):
        mime = mime[:-len(LAZY_SUFFIX)]
    return mime


def normalize_mime(mime: str) -> str:
    """Return ``mime`` lower-cased, trimmed, without ``+lazy``: the form used for matching."""
    return strip_lazy((mime or '').lower())


def supported_mime_types(source_kind: str) -> Tuple[str, ...]:
    """Return the MIME types a ``'color'`` or ``'depth'`` source can return, default first."""
    try:
        return SUPPORTED_MIME[source_kind]
    except KeyError:
        raise ValueError(f"source kind must be 'color' or 'depth', got {source_kind!r}")


def choose_mime(source_kind: str, wanted: str) -> Tuple[str, bool]:
    """Return ``(mime, fell_back)``: what a source of this kind returns for ``wanted``.

    ``fell_back`` is True when a type was asked for and another is returned; an empty
    request means "no preference" and gets the default with ``fell_back`` False. See the
    table in the module docstring.
    """
    supported = supported_mime_types(source_kind)
    mime = normalize_mime(wanted)
    if mime in supported:
        return mime, False
    return DEFAULT_MIME[source_kind], mime != ''


def encode_image(source_kind: str, image: np.ndarray, wanted: str, jpeg_quality: int = 90,
                 png_level: int = 1) -> Tuple[bytes, str, bool]:
    """Encode a colour or depth frame as the type :func:`choose_mime` picks.

    Returns ``(data, mime, fell_back)``.
    """
    mime, fell_back = choose_mime(source_kind, wanted)
    if mime == MIME_JPEG:
        data = encode_jpeg(image, jpeg_quality)
    elif mime == MIME_PNG:
        data = encode_png(image, png_level)
    elif mime == MIME_VIAM_RGBA:
        data = encode_rgba(image)
    else:
        data = encode_dep(image)
    return data, mime, fell_back


# --------------------------------------------------------------------------- validation

def _check_rgb(rgb: np.ndarray, allow_alpha: bool = False) -> np.ndarray:
    rgb = np.asarray(rgb)
    channels = (3, 4) if allow_alpha else (3,)
    if rgb.ndim != 3 or rgb.shape[2] not in channels:
        want = 'HxWx3 or HxWx4' if allow_alpha else 'HxWx3'
        raise FormatError(f'colour image must be {want}, got shape {rgb.shape}')
    if rgb.dtype != np.uint8:
        raise FormatError(f'colour image must be uint8, got {rgb.dtype}')
    if rgb.shape[0] == 0 or rgb.shape[1] == 0:
        raise FormatError(f'colour image is empty (shape {rgb.shape})')
    return rgb


def _check_depth(depth: np.ndarray) -> np.ndarray:
    depth = np.asarray(depth)
    if depth.ndim != 2:
        raise FormatError(f'depth image must be HxW, got shape {depth.shape}')
    if depth.dtype != np.uint16:
        raise FormatError(f'depth image must be uint16 millimetres, got {depth.dtype}')
    if depth.shape[0] == 0 or depth.shape[1] == 0:
        raise FormatError(f'depth image is empty (shape {depth.shape})')
    return depth


def _as_bytes(data: bytes | bytearray | memoryview) -> bytes | bytearray | memoryview:
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise FormatError(f'expected bytes, got {type(data).__name__}')
    return data


# --------------------------------------------------------------------------- Viam RGBA

def encode_rgba(rgb: np.ndarray) -> bytes:
    """Encode ``HxWx3`` (A set to 255) or ``HxWx4`` uint8 as ``image/vnd.viam.rgba``."""
    rgb = _check_rgb(rgb, allow_alpha=True)
    h, w = rgb.shape[:2]
    buf = np.empty(RGBA_HEADER_LEN + h * w * 4, dtype=np.uint8)
    buf[:4] = np.frombuffer(RGBA_MAGIC, dtype=np.uint8)
    buf[4:12] = np.frombuffer(w.to_bytes(4, 'big') + h.to_bytes(4, 'big'), dtype=np.uint8)
    body = buf[RGBA_HEADER_LEN:].reshape(h, w, 4)
    if rgb.shape[2] == 4:
        body[...] = rgb
    else:
        # OpenCV fills RGB and A = 255 straight into the output buffer in one pass.
        out = cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2RGBA, dst=body)
        if out is not body and not np.shares_memory(out, body):
            body[...] = out
    return buf.tobytes()


def _read_header(data: bytes, magic: bytes, field: int, name: str) -> Tuple[int, int]:
    """Return ``(width, height)`` after ``magic``, each a big-endian ``field``-byte int."""
    data = _as_bytes(data)
    size = len(magic) + 2 * field
    if len(data) < size:
        raise FormatError(f'{name} data too short for its {size}-byte header: '
                          f'{len(data)} bytes')
    if bytes(data[:len(magic)]) != magic:
        raise FormatError(f'not {name}: magic {bytes(data[:len(magic)])!r}, '
                          f'expected {magic!r}')
    w = int.from_bytes(data[len(magic):len(magic) + field], 'big')
    return w, int.from_bytes(data[len(magic) + field:size], 'big')


def read_rgba_header(data: bytes) -> Tuple[int, int]:
    """Return ``(width, height)`` from an ``image/vnd.viam.rgba`` header."""
    return _read_header(data, RGBA_MAGIC, 4, 'Viam RGBA')


def decode_rgba(data: bytes) -> np.ndarray:
    """Decode ``image/vnd.viam.rgba`` to an ``HxWx4`` uint8 array (a writable copy)."""
    w, h = read_rgba_header(data)
    want = RGBA_HEADER_LEN + w * h * 4
    if len(data) != want:
        raise FormatError(f'Viam RGBA {w}x{h} needs {want} bytes, got {len(data)}')
    return np.frombuffer(data, dtype=np.uint8, offset=RGBA_HEADER_LEN).reshape(h, w, 4).copy()


# --------------------------------------------------------------------------- Viam depth

def encode_dep(depth_mm: np.ndarray) -> bytes:
    """Encode ``HxW`` uint16 millimetres as ``image/vnd.viam.dep`` (big-endian samples)."""
    depth = _check_depth(depth_mm)
    h, w = depth.shape
    buf = np.empty(DEP_HEADER_LEN + h * w * 2, dtype=np.uint8)
    header = DEP_MAGIC + w.to_bytes(8, 'big') + h.to_bytes(8, 'big')
    buf[:DEP_HEADER_LEN] = np.frombuffer(header, dtype=np.uint8)
    # One pass: the assignment converts native uint16 into the big-endian view.
    buf[DEP_HEADER_LEN:].view('>u2').reshape(h, w)[...] = depth
    return buf.tobytes()


def read_dep_header(data: bytes) -> Tuple[int, int]:
    """Return ``(width, height)`` from an ``image/vnd.viam.dep`` header."""
    return _read_header(data, DEP_MAGIC, 8, 'Viam depth')


def decode_dep(data: bytes) -> np.ndarray:
    """Decode ``image/vnd.viam.dep`` to an ``HxW`` native uint16 array in millimetres."""
    w, h = read_dep_header(data)
    want = DEP_HEADER_LEN + w * h * 2
    if len(data) != want:
        raise FormatError(f'Viam depth {w}x{h} needs {want} bytes, got {len(data)}')
    be = np.frombuffer(data, dtype='>u2', offset=DEP_HEADER_LEN).reshape(h, w)
    return be.astype(np.uint16)


# --------------------------------------------------------------------------- JPEG / PNG

def encode_jpeg(rgb: np.ndarray, quality: int = 90) -> bytes:
    """Encode ``HxWx3`` uint8 RGB as baseline JPEG at ``quality`` (0-100)."""
    rgb = _check_rgb(rgb)
    if not 0 <= int(quality) <= 100:
        raise ValueError(f'JPEG quality must be 0..100, got {quality}')
    bgr = cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2BGR)
    ok, out = cv2.imencode('.jpg', bgr, [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:
        raise FormatError('OpenCV could not encode the JPEG')
    return out.tobytes()


def encode_png(image: np.ndarray, level: int = 1) -> bytes:
    """Encode as PNG with zlib ``level`` (0-9).

    ``HxWx3`` uint8 RGB gives an 8-bit colour PNG; ``HxW`` uint16 (depth, mm) gives a 16-bit
    greyscale PNG; ``HxW`` uint8 gives 8-bit greyscale.
    """
    image = np.asarray(image)
    if not 0 <= int(level) <= 9:
        raise ValueError(f'PNG compression level must be 0..9, got {level}')
    if image.ndim == 2:
        if image.dtype not in (np.uint8, np.uint16):
            raise FormatError(f'greyscale/depth PNG must be uint8 or uint16, got {image.dtype}')
        if image.shape[0] == 0 or image.shape[1] == 0:
            raise FormatError(f'image is empty (shape {image.shape})')
        src = np.ascontiguousarray(image)
    else:
        src = cv2.cvtColor(np.ascontiguousarray(_check_rgb(image)), cv2.COLOR_RGB2BGR)
    ok, out = cv2.imencode('.png', src, [cv2.IMWRITE_PNG_COMPRESSION, int(level)])
    if not ok:
        raise FormatError('OpenCV could not encode the PNG')
    return out.tobytes()


def _imdecode(data: bytes, magic: bytes, name: str) -> np.ndarray:
    data = _as_bytes(data)
    if bytes(data[:len(magic)]) != magic:
        raise FormatError(f'not a {name}: bad signature {bytes(data[:len(magic)])!r}')
    arr = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_UNCHANGED)
    if arr is None:
        raise FormatError(f'OpenCV could not decode the {name} ({len(data)} bytes)')
    return arr


def decode_jpeg(data: bytes) -> np.ndarray:
    """Decode a JPEG to ``HxWx3`` uint8 RGB (greyscale JPEGs give ``HxW``)."""
    arr = _imdecode(data, JPEG_MAGIC, 'JPEG')
    if arr.ndim == 3:
        arr = cv2.cvtColor(arr, cv2.COLOR_BGR2RGB)
    return arr


def decode_png(data: bytes) -> np.ndarray:
    """Decode a PNG unchanged: ``HxWx3``/``HxWx4`` RGB(A) or ``HxW`` uint8/uint16 grey."""
    arr = _imdecode(data, PNG_MAGIC, 'PNG')
    if arr.ndim == 3 and arr.shape[2] == 3:
        arr = cv2.cvtColor(arr, cv2.COLOR_BGR2RGB)
    elif arr.ndim == 3 and arr.shape[2] == 4:
        arr = cv2.cvtColor(arr, cv2.COLOR_BGRA2RGBA)
    return arr


# --------------------------------------------------------------------------- PCD

_PCD_XYZRGB = np.dtype([('x', '<f4'), ('y', '<f4'), ('z', '<f4'), ('rgb', '<u4')])
_PCD_XYZ = np.dtype([('x', '<f4'), ('y', '<f4'), ('z', '<f4')])


def pcd_header(n_points: int, with_color: bool) -> bytes:
    """Return the RDK-style binary PCD header for ``n_points`` points."""
    if with_color:
        fields = 'FIELDS x y z rgb\nSIZE 4 4 4 4\nTYPE F F F I\nCOUNT 1 1 1 1\n'
    else:
        fields = 'FIELDS x y z\nSIZE 4 4 4\nTYPE F F F\nCOUNT 1 1 1\n'
    return (f'VERSION .7\n{fields}WIDTH {n_points}\nHEIGHT 1\n'
            f'VIEWPOINT 0 0 0 1 0 0 0\nPOINTS {n_points}\nDATA binary\n').encode('ascii')


def encode_pcd(xyz: np.ndarray, rgb: Optional[np.ndarray] = None) -> bytes:
    """Encode points as binary PCD (``pointcloud/pcd``) the way the Viam RDK writes it.

    ``xyz`` is ``Nx3`` in **metres** (cast to float32); ``rgb`` is ``Nx3`` uint8 or None.
    Records are little-endian: x, y, z float32 and, with colour, uint32
    ``(R << 16) | (G << 8) | B`` (16 bytes a point; 12 without colour). Points are written
    as given: the caller drops invalid ones (see :func:`pcd_from_depth`).
    """
    xyz = np.asarray(xyz)
    if xyz.ndim != 2 or xyz.shape[1] != 3:
        raise FormatError(f'xyz must be Nx3, got shape {xyz.shape}')
    n = xyz.shape[0]
    if rgb is not None:
        rgb = np.asarray(rgb)
        if rgb.shape != (n, 3):
            raise FormatError(f'rgb must be Nx3 matching xyz ({n}x3), got shape {rgb.shape}')
        if rgb.dtype != np.uint8:
            raise FormatError(f'rgb must be uint8, got {rgb.dtype}')
    dtype = _PCD_XYZ if rgb is None else _PCD_XYZRGB
    header = pcd_header(n, rgb is not None)
    buf = np.empty(len(header) + n * dtype.itemsize, dtype=np.uint8)
    buf[:len(header)] = np.frombuffer(header, dtype=np.uint8)
    rec = buf[len(header):].view(dtype)
    rec['x'] = xyz[:, 0]
    rec['y'] = xyz[:, 1]
    rec['z'] = xyz[:, 2]
    if rgb is not None:
        packed = rgb[:, 0].astype(np.uint32) << 16
        packed |= rgb[:, 1].astype(np.uint32) << 8
        packed |= rgb[:, 2]
        rec['rgb'] = packed
    return buf.tobytes()


_PCD_TYPES = {('F', 4): '<f4', ('F', 8): '<f8',
              ('U', 1): 'u1', ('U', 2): '<u2', ('U', 4): '<u4', ('U', 8): '<u8',
              ('I', 1): 'i1', ('I', 2): '<i2', ('I', 4): '<i4', ('I', 8): '<i8'}
_PCD_HEADER_KEYS = ('VERSION', 'FIELDS', 'SIZE', 'TYPE', 'COUNT', 'WIDTH', 'HEIGHT',
                    'VIEWPOINT', 'POINTS', 'DATA')


def _parse_pcd_header(data: bytes) -> Tuple[Dict[str, List[str]], int]:
    header: Dict[str, List[str]] = {}
    pos = 0
    while True:
        end = data.find(b'\n', pos)
        if end < 0:
            raise FormatError('PCD header is truncated (no DATA line)')
        try:
            line = bytes(data[pos:end]).decode('ascii').strip()
        except UnicodeDecodeError:
            raise FormatError('PCD header is not ASCII text')
        pos = end + 1
        if not line or line.startswith('#'):
            continue
        key, *values = line.split()
        if key not in _PCD_HEADER_KEYS:
            raise FormatError(f'unexpected PCD header line {line!r}')
        header[key] = values
        if key == 'DATA':
            return header, pos


def decode_pcd(data: bytes) -> Tuple[np.ndarray, Optional[np.ndarray]]:
    """Decode a binary PCD to ``(xyz Nx3 float32, rgb Nx3 uint8 or None)``.

    Any field sizes/types and extra fields are accepted; ``x``, ``y``, ``z`` are required and
    ``rgb`` (uint32 or PCL's float-packed form) is used when present. ASCII and
    ``binary_compressed`` data are refused with :class:`FormatError`.
    """
    data = bytes(_as_bytes(data))
    header, offset = _parse_pcd_header(data)
    mode = header['DATA'][0] if header['DATA'] else ''
    if mode != 'binary':
        raise FormatError(f'only binary PCD is supported, got DATA {mode or "(missing)"}')
    try:
        fields = header['FIELDS']
        sizes = [int(s) for s in header['SIZE']]
        types = header['TYPE']
        counts = [int(c) for c in header.get('COUNT', ['1'] * len(fields))]
        width = int(header['WIDTH'][0])
        height = int(header.get('HEIGHT', ['1'])[0])
        points = int(header.get('POINTS', [str(width * height)])[0])
    except (KeyError, IndexError, ValueError) as exc:
        raise FormatError(f'bad or missing PCD header entry: {exc}')
    if not len(fields) == len(sizes) == len(types) == len(counts):
        raise FormatError('PCD FIELDS, SIZE, TYPE and COUNT differ in length')
    if points != width * height or points < 0:
        raise FormatError(f'PCD POINTS {points} != WIDTH*HEIGHT {width}*{height}')
    spec = []
    for name, size, kind, count in zip(fields, sizes, types, counts):
        if (kind, size) not in _PCD_TYPES or count < 1:
            raise FormatError(f'unsupported PCD field {name}: TYPE {kind} SIZE {size} '
                              f'COUNT {count}')
        spec.append((name, _PCD_TYPES[(kind, size)], (count,)) if count > 1
                    else (name, _PCD_TYPES[(kind, size)]))
    try:
        dtype = np.dtype(spec)
    except (TypeError, ValueError) as exc:
        raise FormatError(f'bad PCD fields: {exc}')
    want = points * dtype.itemsize
    if len(data) - offset != want:
        raise FormatError(f'PCD body of {points} points x {dtype.itemsize} bytes needs {want} '
                          f'bytes, got {len(data) - offset}')
    rec = np.frombuffer(data, dtype=dtype, count=points, offset=offset)
    for axis in ('x', 'y', 'z'):
        if axis not in fields:
            raise FormatError(f'PCD has no {axis} field (FIELDS {" ".join(fields)})')
    xyz = np.empty((points, 3), dtype=np.float32)
    xyz[:, 0] = rec['x']
    xyz[:, 1] = rec['y']
    xyz[:, 2] = rec['z']
    rgb = None
    if 'rgb' in fields:
        raw = rec['rgb']
        if raw.dtype.itemsize != 4:
            raise FormatError(f'PCD rgb field must be 4 bytes, got {raw.dtype.itemsize}')
        packed = np.ascontiguousarray(raw).view('<u4')
        rgb = np.empty((points, 3), dtype=np.uint8)
        rgb[:, 0] = (packed >> 16) & 0xFF
        rgb[:, 1] = (packed >> 8) & 0xFF
        rgb[:, 2] = packed & 0xFF
    return xyz, rgb


@lru_cache(maxsize=8)
def _ray_tables(fx: float, fy: float, cx: float, cy: float, height: int, width: int,
                decimation: int) -> Tuple[np.ndarray, np.ndarray]:
    """Return read-only ``(x/z, y/z)`` tables for the decimated pixel grid."""
    u = np.arange(0, width, decimation, dtype=np.float64)
    v = np.arange(0, height, decimation, dtype=np.float64)
    rx = np.broadcast_to(((u - cx) / fx).astype(np.float32), (len(v), len(u))).copy()
    ry = np.broadcast_to(((v - cy) / fy).astype(np.float32)[:, None], (len(v), len(u))).copy()
    rx.setflags(write=False)
    ry.setflags(write=False)
    return rx, ry


def pcd_from_depth(depth_mm: np.ndarray, rgb: Optional[np.ndarray], fx: float, fy: float,
                   cx: float, cy: float,
                   decimation: int = 1) -> Tuple[np.ndarray, Optional[np.ndarray]]:
    """Back-project a depth image to ``(xyz Nx3 float32 metres, rgb Nx3 uint8 or None)``.

    Points are in the camera's optical frame (x right, y down, z forward), one per pixel of
    the grid ``depth[::decimation, ::decimation]`` whose depth is non-zero (only valid
    points, in row-major order). Pixel ``(u, v)`` with depth ``d`` mm gives
    ``z = d / 1000``, ``x = (u - cx) / fx * z``, ``y = (v - cy) / fy * z``. ``rgb``, if
    given, must be ``HxWx3`` uint8 registered to the depth image. Ray tables are cached per
    (intrinsics, size, decimation).
    """
    depth = _check_depth(depth_mm)
    h, w = depth.shape
    if int(decimation) != decimation or decimation < 1:
        raise ValueError(f'decimation must be a positive integer, got {decimation}')
    decimation = int(decimation)
    for name, value in (('fx', fx), ('fy', fy), ('cx', cx), ('cy', cy)):
        if not math.isfinite(value):
            raise ValueError(f'{name} must be finite, got {value}')
    if fx == 0 or fy == 0:
        raise ValueError(f'focal lengths must be non-zero, got fx={fx} fy={fy}')
    if rgb is not None:
        rgb = _check_rgb(rgb)
        if rgb.shape[:2] != (h, w):
            raise FormatError(f'rgb {rgb.shape[1]}x{rgb.shape[0]} is not registered to depth '
                              f'{w}x{h}')
    rx, ry = _ray_tables(float(fx), float(fy), float(cx), float(cy), h, w, decimation)
    if decimation > 1:
        depth = depth[::decimation, ::decimation]
        if rgb is not None:
            rgb = rgb[::decimation, ::decimation]
    # Flat indices of the valid pixels, then take(): faster than several boolean masks.
    flat = depth.reshape(-1)
    idx = np.flatnonzero(flat)
    xyz = np.empty((idx.shape[0], 3), dtype=np.float32)
    z = xyz[:, 2]
    np.multiply(flat.take(idx), np.float32(0.001), out=z, casting='unsafe')
    np.multiply(rx.reshape(-1).take(idx), z, out=xyz[:, 0])
    np.multiply(ry.reshape(-1).take(idx), z, out=xyz[:, 1])
    colors = rgb.reshape(-1, 3).take(idx, axis=0) if rgb is not None else None
    return xyz, colors


def depth_to_pcd(depth_mm: np.ndarray, rgb: Optional[np.ndarray], fx: float, fy: float,
                 cx: float, cy: float, decimation: int = 1) -> bytes:
    """Return the binary PCD of :func:`pcd_from_depth` (convenience for GetPointCloud)."""
    return encode_pcd(*pcd_from_depth(depth_mm, rgb, fx, fy, cx, cy, decimation))


# --------------------------------------------------------------------------- distortion

def _floats(values: Sequence[float], what: str) -> List[float]:
    try:
        out = [float(v) for v in values]
    except (TypeError, ValueError):
        raise ValueError(f'{what} must be a sequence of numbers, got {values!r}')
    return out


def _trim(values: List[float], length: int, what: str) -> List[float]:
    """Pad with zeros to ``length``; drop extra entries only if they are all zero."""
    if len(values) > length:
        if any(v != 0.0 for v in values[length:]):
            raise ValueError(f'{what} takes at most {length} coefficients, got {len(values)} '
                             f'with non-zero extras')
        values = values[:length]
    return values + [0.0] * (length - len(values))


def ros_plumb_bob_to_viam(d: Sequence[float]) -> Tuple[str, List[float]]:
    """ROS ``plumb_bob`` ``[k1, k2, p1, p2, k3]`` -> ``('brown_conrady', [k1, k2, k3, p1, p2])``.

    An empty list means "no distortion known" and gives ``('', [])`` (what the RDK sends when
    a camera has no distortion parameters). Shorter lists are zero-padded; all-zero lists
    stay an explicit ``brown_conrady`` of zeros.
    """
    values = _floats(d, 'plumb_bob d')
    if not values:
        return '', []
    k1, k2, p1, p2, k3 = _trim(values, 5, 'plumb_bob')
    return DISTORTION_BROWN_CONRADY, [k1, k2, k3, p1, p2]


def ros_rational_polynomial_to_viam(d: Sequence[float]) -> Tuple[str, List[float]]:
    """ROS ``rational_polynomial`` ``[k1, k2, p1, p2, k3, k4, k5, k6]`` -> Viam k6.

    Returns ``('brown_conrady_k6', [k1, k2, k3, k4, k5, k6, p1, p2])``; empty gives
    ``('', [])``.
    """
    values = _floats(d, 'rational_polynomial d')
    if not values:
        return '', []
    k1, k2, p1, p2, k3, k4, k5, k6 = _trim(values, 8, 'rational_polynomial')
    return DISTORTION_BROWN_CONRADY_K6, [k1, k2, k3, k4, k5, k6, p1, p2]


def viam_brown_conrady_to_ros(params: Sequence[float]) -> Tuple[str, List[float]]:
    """Viam ``brown_conrady`` ``[k1, k2, k3, p1, p2]`` -> ``('plumb_bob', [k1, k2, p1, p2, k3])``.

    Empty parameters give plumb_bob zeros (what ``CameraInfo`` consumers expect).
    """
    k1, k2, k3, p1, p2 = _trim(_floats(params, 'brown_conrady parameters'), 5, 'brown_conrady')
    return ROS_PLUMB_BOB, [k1, k2, p1, p2, k3]


def viam_brown_conrady_k6_to_ros(params: Sequence[float]) -> Tuple[str, List[float]]:
    """Viam ``brown_conrady_k6`` ``[k1..k6, p1, p2]`` -> ROS ``rational_polynomial``.

    Returns ``('rational_polynomial', [k1, k2, p1, p2, k3, k4, k5, k6])``.
    """
    k1, k2, k3, k4, k5, k6, p1, p2 = _trim(
        _floats(params, 'brown_conrady_k6 parameters'), 8, 'brown_conrady_k6')
    return ROS_RATIONAL_POLYNOMIAL, [k1, k2, p1, p2, k3, k4, k5, k6]


def ros_distortion_to_viam(ros_model: str, d: Sequence[float]) -> Tuple[str, List[float]]:
    """Convert ``CameraInfo`` ``(distortion_model, d)`` to Viam ``(model, parameters)``.

    ``plumb_bob`` and ``rational_polynomial`` are converted; an empty ``d`` (any model) or
    an all-zero ``d`` of an unknown/empty model gives ``('', [])``; any other model with
    non-zero coefficients raises ValueError (Viam has no equivalent).
    """
    values = _floats(d, 'd')
    if ros_model == ROS_PLUMB_BOB:
        return ros_plumb_bob_to_viam(values)
    if ros_model == ROS_RATIONAL_POLYNOMIAL:
        return ros_rational_polynomial_to_viam(values)
    if all(v == 0.0 for v in values):
        return '', []
    raise ValueError(f'ROS distortion model {ros_model!r} has no Viam equivalent')


def viam_distortion_to_ros(model: str, params: Sequence[float]) -> Tuple[str, List[float]]:
    """Convert Viam ``(model, parameters)`` to ``CameraInfo`` ``(distortion_model, d)``.

    ``''`` (no distortion known) gives ``('plumb_bob', [0.0] * 5)``; an unknown model
    raises ValueError.
    """
    if model == DISTORTION_BROWN_CONRADY:
        return viam_brown_conrady_to_ros(params)
    if model == DISTORTION_BROWN_CONRADY_K6:
        return viam_brown_conrady_k6_to_ros(params)
    if model == '':
        return viam_brown_conrady_to_ros([])
    raise ValueError(f'unknown Viam distortion model {model!r}')
