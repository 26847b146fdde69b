"""Image formats of the Viam camera API: one registry from MIME type to encoder and decoder.

Pure Python/numpy (plus OpenCV for JPEG/PNG); no ROS import. The services, the client and
the snapshot tool all go through :data:`CODECS`: adding a MIME type is one entry there.
Array conventions match the driver seam: colour is ``HxWx3 uint8 RGB``; depth is
``HxW uint16`` millimetres (0 = none); infrared is ``HxW uint8``.

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
    ir      image/png                                 image/png (8-bit grey) False
    ir      image/jpeg                                image/jpeg (grey)     False
    ir      '' (no preference)                        image/png (lossless)  False
    ir      image/vnd.viam.*, pointcloud/pcd, other   image/png             True

Byte layouts (all validated by the decoders, which raise :class:`FormatError`):

* ``image/vnd.viam.rgba``: ``b'RGBA'``, width u32 BE, height u32 BE, then W*H*4 bytes RGBA.
* ``image/vnd.viam.dep``: ``b'DEPTHMAP'``, width u64 BE, height u64 BE, then W*H uint16 BE.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Dict, Tuple, Union

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
SOURCE_INFRARED = 'infrared'

RGBA_MAGIC = b'RGBA'
RGBA_HEADER_LEN = 12
DEP_MAGIC = b'DEPTHMAP'
DEP_HEADER_LEN = 24
JPEG_MAGIC = b'\xff\xd8\xff'
PNG_MAGIC = b'\x89PNG\r\n\x1a\n'

Bytes = Union[bytes, bytearray, memoryview]


class FormatError(ValueError):
    """Bytes or arrays that do not have the expected layout."""


def strip_lazy(mime: str) -> str:
    """Return ``mime`` without a trailing ``+lazy`` (and without surrounding whitespace)."""
    mime = (mime or '').strip()
    if mime.endswith(LAZY_SUFFIX):
        mime = mime[:-len(LAZY_SUFFIX)]
    return mime


def normalize_mime(mime: str) -> str:
    """Return ``mime`` lower-cased, trimmed, without ``+lazy``: the form used for matching."""
    return strip_lazy((mime or '').lower())


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


def _as_bytes(data: Bytes) -> Bytes:
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
    """Encode ``HxWx3`` uint8 RGB (or ``HxW`` uint8 grey) as baseline JPEG at ``quality``."""
    if not 0 <= int(quality) <= 100:
        raise ValueError(f'JPEG quality must be 0..100, got {quality}')
    rgb = np.asarray(rgb)
    if rgb.ndim == 2 and rgb.dtype == np.uint8 and rgb.size:
        src = np.ascontiguousarray(rgb)
    else:
        src = cv2.cvtColor(np.ascontiguousarray(_check_rgb(rgb)), cv2.COLOR_RGB2BGR)
    ok, out = cv2.imencode('.jpg', src, [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
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


def png_size(data: Bytes) -> Tuple[int, int]:
    """Return ``(width, height)`` from a PNG's IHDR chunk (no decoding)."""
    data = _as_bytes(data)
    if bytes(data[:8]) != PNG_MAGIC or len(data) < 24 or bytes(data[12:16]) != b'IHDR':
        raise FormatError('not a PNG (no signature and IHDR chunk)')
    return int.from_bytes(data[16:20], 'big'), int.from_bytes(data[20:24], 'big')


_SOF_MARKERS = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}


def jpeg_size(data: Bytes) -> Tuple[int, int]:
    """Return ``(width, height)`` from a JPEG's first start-of-frame segment (no decoding)."""
    data = bytes(_as_bytes(data))
    if not data.startswith(JPEG_MAGIC):
        raise FormatError('not a JPEG (no SOI marker)')
    pos = 2
    while pos + 4 <= len(data):
        if data[pos] != 0xFF:
            raise FormatError('JPEG segment without a marker at byte %d' % pos)
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        length = int.from_bytes(data[pos + 2:pos + 4], 'big')
        if marker in _SOF_MARKERS and pos + 9 <= len(data):
            return (int.from_bytes(data[pos + 7:pos + 9], 'big'),
                    int.from_bytes(data[pos + 5:pos + 7], 'big'))
        if length < 2:
            break
        pos += 2 + length
    raise FormatError('JPEG has no start-of-frame segment')


def _rgba_to_rgb(data: Bytes) -> np.ndarray:
    return np.ascontiguousarray(decode_rgba(data)[..., :3])


def _png_to_array(data: Bytes) -> np.ndarray:
    arr = decode_png(data)
    return np.ascontiguousarray(arr[..., :3]) if arr.ndim == 3 and arr.shape[2] == 4 else arr


@dataclass(frozen=True)
class Codec:
    """One MIME type: which sources it serves and how to encode, decode and size it.

    :param kinds: source kinds it can encode (``color``, ``depth``, ``infrared``).
    :param encode: ``(image, jpeg_quality, png_level) -> bytes``.
    :param decode: ``bytes -> array``: ``HxWx3`` uint8 RGB (alpha dropped) for colour,
        ``HxW`` uint16 millimetres for depth (8-bit grey stays uint8).
    :param size: ``bytes -> (width, height)`` read from the header only.
    :param extension: file extension under which the bytes are a valid file, or '' when
        they must be re-encoded (e.g. as PNG) to be opened by ordinary tools.
    """

    mime: str
    kinds: Tuple[str, ...]
    encode: Callable[[np.ndarray, int, int], bytes]
    decode: Callable[[Bytes], np.ndarray]
    size: Callable[[Bytes], Tuple[int, int]]
    extension: str


#: every MIME type the cameras serve; a source kind's default comes first in DEFAULT_MIME
CODECS: Dict[str, Codec] = {c.mime: c for c in (
    Codec(MIME_JPEG, (SOURCE_COLOR, SOURCE_INFRARED),
          lambda img, q, _lvl: encode_jpeg(img, q), decode_jpeg, jpeg_size, '.jpg'),
    Codec(MIME_PNG, (SOURCE_COLOR, SOURCE_DEPTH, SOURCE_INFRARED),
          lambda img, _q, lvl: encode_png(img, lvl), _png_to_array, png_size, '.png'),
    Codec(MIME_VIAM_RGBA, (SOURCE_COLOR,), lambda img, _q, _lvl: encode_rgba(img),
          _rgba_to_rgb, read_rgba_header, ''),
    Codec(MIME_VIAM_DEP, (SOURCE_DEPTH,), lambda img, _q, _lvl: encode_dep(img),
          decode_dep, read_dep_header, ''),
)}
#: what a source kind returns when nothing (or something it cannot make) is asked for
DEFAULT_MIME: Dict[str, str] = {SOURCE_COLOR: MIME_JPEG, SOURCE_DEPTH: MIME_VIAM_DEP,
                                SOURCE_INFRARED: MIME_PNG}


def codec(mime: str) -> Codec:
    """Return the codec of a MIME type (normalised first); FormatError if there is none."""
    found = CODECS.get(normalize_mime(mime))
    if found is None:
        raise FormatError('unknown image MIME type %r (known: %s)'
                          % (mime, ', '.join(CODECS)))
    return found


def supported_mime_types(source_kind: str) -> Tuple[str, ...]:
    """Return the MIME types a source kind (:data:`DEFAULT_MIME`) can return, default first."""
    if source_kind not in DEFAULT_MIME:
        raise ValueError('source kind must be one of %s, got %r'
                         % (', '.join(DEFAULT_MIME), source_kind))
    default = DEFAULT_MIME[source_kind]
    return (default,) + tuple(m for m, c in CODECS.items()
                              if source_kind in c.kinds and m != default)


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
    """Encode a colour, depth or infrared frame as the type :func:`choose_mime` picks.

    Returns ``(data, mime, fell_back)``.
    """
    mime, fell_back = choose_mime(source_kind, wanted)
    return CODECS[mime].encode(image, jpeg_quality, png_level), mime, fell_back


def decode_image(mime: str, data: Bytes) -> np.ndarray:
    """Decode bytes of a MIME type (see :attr:`Codec.decode` for the array layout)."""
    return codec(mime).decode(data)


def image_size(mime: str, data: Bytes) -> Tuple[int, int]:
    """Return ``(width, height)`` of encoded bytes from their header."""
    return codec(mime).size(data)
