"""Encodings of a frame set's images, made at most once per frame set and setting.

The compressed topics and the Viam services encode the same images: the JPEG the
``color/image_raw/compressed`` topic made for a frame set is the JPEG GetImage(s) of that
frame set at the same quality answers with, and the PNG inside a ``compressedDepth``
message is GetImage's depth PNG at the same level. Both go through these functions, which
keep what they make in the frame set's ``encoded`` cache (keyed ``(format, field,
setting)``; a frame set is never changed otherwise, so an entry never goes stale).

A colour image the source delivered as JPEG (``FrameSet.color_jpeg``) is that JPEG,
whatever quality is asked for: it is not decoded and encoded again.
"""

from __future__ import annotations

from ..core.types import FrameSet
from . import codecs


def color_jpeg(fs: FrameSet, quality: int) -> bytes:
    """Return the colour image as JPEG: the source's own, else encoded at quality (cached)."""
    if fs.color_jpeg is not None:
        return fs.color_jpeg
    key = ('jpeg', 'color', int(quality))
    data = fs.encoded.get(key)
    if data is None:
        data = fs.encoded[key] = codecs.encode_jpeg(fs.color, int(quality))
    return data


def png(fs: FrameSet, field: str, level: int) -> bytes:
    """Return an image of the frame set (``depth``, ``aligned_depth``...) as PNG (cached)."""
    key = ('png', field, int(level))
    data = fs.encoded.get(key)
    if data is None:
        data = fs.encoded[key] = codecs.encode_png(getattr(fs, field), int(level))
    return data
