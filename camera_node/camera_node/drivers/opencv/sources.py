"""What a ``source`` string names, and the parameter checks built on it. No SDK import.

A source is a device index (``'0'``) or device path (``/dev/video2``), a URL
(``http://...``, ``rtsp://...``), an image-sequence pattern (``img_%04d.png``) or a video
file (anything else; a ``file://`` prefix is dropped). The ``webcam`` driver opens the
first two kinds, the ``file`` driver the last two; each refuses the others by naming the
driver that takes them.
"""

from __future__ import annotations

import re
from typing import Any, Optional

from ...core.redact import redact

SEQUENCE_RE = re.compile(r'%0?\d*d')
INDEX_RE = re.compile(r'-?\d+')

#: how messages name each kind of source
KIND_WORDS = {'device': 'a camera device', 'url': 'a live network stream',
              'file': 'a video file', 'sequence': 'an image sequence'}
LIVE_KINDS = ('device', 'url')
FILE_KINDS = ('file', 'sequence')


def normalise(source: Any) -> str:
    """Return a source string stripped of blanks and of a ``file://`` prefix."""
    text = str(source).strip()
    return text[len('file://'):] if text.startswith('file://') else text


def source_kind(source: str) -> str:
    """Classify a source string: ``device``, ``url``, ``sequence`` or ``file``."""
    s = source.strip()
    if INDEX_RE.fullmatch(s) or s.startswith('/dev/'):
        return 'device'
    if '://' in s and not s.startswith('file://'):
        return 'url'
    if SEQUENCE_RE.search(s):
        return 'sequence'
    return 'file'


def check_live_source(value: Any) -> Optional[str]:
    """Return why value is not a source the webcam driver opens, or None."""
    source = normalise(value)
    if not source:
        return ('is empty: give a device index, a /dev/video path or a URL '
                '(http://..., rtsp://...)')
    kind = source_kind(source)
    if kind not in LIVE_KINDS:
        return ('%r is %s: the webcam driver opens cameras and network streams; play video '
                'files and image sequences with driver:=file' % (source, KIND_WORDS[kind]))
    return None


def check_file_source(value: Any) -> Optional[str]:
    """Return why value is not a source the file driver plays, or None."""
    source = normalise(value)
    if not source:
        return 'is empty: give a video file or an image-sequence pattern (img_%04d.png)'
    kind = source_kind(source)
    if kind not in FILE_KINDS:
        return ('%r is %s: the file driver plays video files and image sequences; open '
                'cameras and network streams with driver:=webcam'
                % (redact(source), KIND_WORDS[kind]))
    return None


def check_fourcc(value: Any) -> Optional[str]:
    """Return why value is not a fourcc request ('' or 4 characters), or None."""
    text = str(value).strip()
    if text and len(text) != 4:
        return 'must be 4 characters (e.g. MJPG, YUYV), got %r' % text
    return None


def check_sequence_pattern(value: Any) -> Optional[str]:
    """Return why value is neither '' nor an image-sequence pattern, or None."""
    text = str(value).strip()
    if text and not SEQUENCE_RE.search(text):
        return 'must be an image-sequence pattern like depth_%%04d.png, got %r' % text
    return None
