"""PCD (``pointcloud/pcd``) as the Viam RDK writes it: binary, metres, valid points only.

Header lines ``VERSION .7``, ``FIELDS x y z rgb``, ``SIZE 4 4 4 4``, ``TYPE F F F I``,
``COUNT 1 1 1 1``, ``WIDTH N``, ``HEIGHT 1``, ``VIEWPOINT 0 0 0 1 0 0 0``, ``POINTS N``,
``DATA binary``; then 16 little-endian bytes a point (x, y, z float32 and uint32
``(R << 16) | (G << 8) | B``), or 12 without colour.
"""

from __future__ import annotations

from typing import Dict, List, Optional, Tuple

import numpy as np

from ..core.cloud import points_from_depth
from ..core.types import Intrinsics
from .codecs import FormatError


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
    as given: the caller drops invalid ones (see :func:`depth_to_pcd`).
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
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise FormatError(f'expected bytes, got {type(data).__name__}')
    data = bytes(data)
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


def depth_to_pcd(depth_mm: np.ndarray, rgb: Optional[np.ndarray], intr: Intrinsics,
                 decimation: int = 1) -> bytes:
    """Return the binary PCD of a depth image (+ registered colour) back-projected by intr.

    The points are :func:`camera_node.core.cloud.points_from_depth`'s: one per pixel of the
    decimated grid with non-zero depth, in the imager's optical frame.
    """
    return encode_pcd(*points_from_depth(depth_mm, rgb, intr, decimation))
