"""JPEG bytes as sources deliver them: size, completeness, Huffman tables, decoding.

MJPEG cameras often send frames without the Huffman tables (DHT segment): the Motion-JPEG
convention is that the standard tables of ITU-T T.81 Annex K apply, which ordinary JPEG
decoders do not assume. :func:`complete_jpeg` puts them back (and trims what follows the
end marker), so bytes passed through unchanged otherwise decode anywhere. The standard
tables are taken once from a JPEG that OpenCV's libjpeg writes with its default
(non-optimised) Huffman coding, which are those tables.
"""

from __future__ import annotations

from typing import List, Optional, Tuple, Union

import numpy as np

Bytes = Union[bytes, bytearray, memoryview]

SOI = b'\xff\xd8'
EOI = b'\xff\xd9'
_DHT, _SOS = 0xC4, 0xDA
#: start-of-frame markers (baseline, progressive, ...): not DHT, JPG or DAC
_SOF_MARKERS = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
_standard_dht: Optional[bytes] = None


def _segments(data: bytes) -> List[Tuple[int, int, int]]:
    """Return (marker, start, end) of every segment before the scan data (SOS included).

    :raises ValueError: not a JPEG, or a segment runs past the end.
    """
    if not data.startswith(SOI):
        raise ValueError('not a JPEG (no start-of-image marker)')
    out = []
    pos = 2
    while pos + 4 <= len(data):
        if data[pos] != 0xFF:
            raise ValueError('JPEG segment without a marker at byte %d' % pos)
        marker = data[pos + 1]
        if marker == 0xFF:          # fill byte
            pos += 1
            continue
        length = int.from_bytes(data[pos + 2:pos + 4], 'big')
        if length < 2 or pos + 2 + length > len(data):
            raise ValueError('JPEG segment 0x%02X at byte %d is cut short' % (marker, pos))
        out.append((marker, pos, pos + 2 + length))
        if marker == _SOS:
            return out
        pos += 2 + length
    raise ValueError('JPEG has no start-of-scan segment')


def jpeg_size(data: Bytes) -> Tuple[int, int]:
    """Return ``(width, height)`` from a JPEG's start-of-frame segment (no decoding)."""
    data = bytes(data)
    for marker, start, _ in _segments(data):
        if marker in _SOF_MARKERS and start + 9 <= len(data):
            return (int.from_bytes(data[start + 7:start + 9], 'big'),
                    int.from_bytes(data[start + 5:start + 7], 'big'))
    raise ValueError('JPEG has no start-of-frame segment')


def standard_huffman_tables() -> bytes:
    """Return the DHT segment(s) of the standard (Annex K) tables, markers included."""
    global _standard_dht
    if _standard_dht is None:
        import cv2
        ok, out = cv2.imencode('.jpg', np.zeros((8, 8, 3), np.uint8),
                               [cv2.IMWRITE_JPEG_QUALITY, 75, cv2.IMWRITE_JPEG_OPTIMIZE, 0])
        if not ok:
            raise RuntimeError('OpenCV could not encode a JPEG')
        data = out.tobytes()
        _standard_dht = b''.join(data[s:e] for m, s, e in _segments(data) if m == _DHT)
    return _standard_dht


def complete_jpeg(data: Bytes) -> bytes:
    """Return a JPEG as any decoder takes it: Huffman tables, nothing after its end.

    The standard tables are inserted before the scan when it has none; bytes after the
    end-of-image marker (a driver's padding) are dropped.

    :raises ValueError: not a JPEG, or cut short (no end-of-image marker).
    """
    data = bytes(data)
    segments = _segments(data)
    end = data.rfind(EOI)
    if end < segments[-1][2]:
        raise ValueError('JPEG is cut short (no end-of-image marker after the scan)')
    data = data[:end + 2]
    if any(m == _DHT for m, _, _ in segments):
        return data
    sos = segments[-1][1]
    return data[:sos] + standard_huffman_tables() + data[sos:]


def decode_rgb(data: Bytes) -> np.ndarray:
    """Decode a JPEG to ``HxWx3 uint8`` RGB (a greyscale JPEG is repeated on 3 channels).

    :raises ValueError: the bytes cannot be decoded.
    """
    import cv2
    bgr = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_COLOR)
    if bgr is None:
        raise ValueError('could not decode the JPEG (%d bytes)' % len(data))
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
