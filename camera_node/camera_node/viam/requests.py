"""What a request of the Viam API may carry, and the error that refuses it.

Every JSON text of a request (``extra``, a DoCommand) is parsed within bounds
(:func:`camera_node.core.bounded.load_json`): at most :data:`MAX_EXTRA_BYTES` (DoCommand:
its own limit), nested at most 32 deep, finite numbers only.
"""

from __future__ import annotations

import datetime
import math
import re
from typing import Any, Dict

from ..core.bounded import load_json, TextError

#: largest ``extra`` accepted, bytes of JSON text
MAX_EXTRA_BYTES = 16 * 1024


class RequestError(Exception):
    """A request that cannot be served; the message goes to the reply's error field."""


def short(value: Any, limit: int = 60) -> str:
    """Return the repr of a value cut to limit characters (errors stay one short line)."""
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + '...'


def parse_json_object(text: str, what: str, max_bytes: int = MAX_EXTRA_BYTES) -> Dict[str, Any]:
    """Parse JSON text that must be an object; empty text means ``{}``."""
    if not isinstance(text, str):
        raise RequestError('%s must be text' % what)
    if len(text) <= max_bytes and not text.strip():
        return {}
    try:
        value = load_json(text, what, max_bytes)
    except TextError as exc:
        raise RequestError(str(exc)) from None
    if not isinstance(value, dict):
        raise RequestError('%s must be a JSON object, got %s' % (what, type(value).__name__))
    return value


def parse_extra(text: str) -> Dict[str, Any]:
    """Parse a request's ``extra`` JSON text: empty means {}, else it must be an object."""
    return parse_json_object(text, 'extra')


_TIME_RE = re.compile(r'^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)$')


def parse_time(value: Any, what: str = 'extra.at') -> int:
    """Return a time given in a request as nanoseconds since the epoch (the ROS clock).

    Accepted: seconds since the epoch (a number, as ``captured_at`` in seconds), an
    RFC 3339 text with a time zone (``2026-05-01T12:00:03.250Z``, up to nanoseconds), or
    ``{"sec": S, "nanosec": N}`` (builtin_interfaces/Time, as the replies carry it).
    """
    if isinstance(value, bool):
        pass
    elif isinstance(value, (int, float)) and math.isfinite(value) and value >= 0:
        return int(round(value * 1e9)) if isinstance(value, float) else value * 1_000_000_000
    elif isinstance(value, dict) and set(value) == {'sec', 'nanosec'} and all(
            isinstance(v, int) and not isinstance(v, bool) and v >= 0
            for v in value.values()) and value['nanosec'] < 1_000_000_000:
        return value['sec'] * 1_000_000_000 + value['nanosec']
    elif isinstance(value, str):
        match = _TIME_RE.match(value.strip())
        if match:
            base, frac, zone = match.groups()
            try:
                when = datetime.datetime.fromisoformat(
                    base + ('+00:00' if zone == 'Z' else zone))
            except ValueError as exc:
                raise RequestError('%s: %s' % (what, exc)) from exc
            ns = int((frac or '0').ljust(9, '0'))
            return int(when.timestamp()) * 1_000_000_000 + ns
    raise RequestError('%s must be seconds since the epoch (a number >= 0), an RFC 3339 time '
                       'with a zone such as "2026-05-01T12:00:03.25Z", or {"sec": S, '
                       '"nanosec": N}; got %s' % (what, short(value)))
