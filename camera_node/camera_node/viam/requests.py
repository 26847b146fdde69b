"""What a request of the Viam API may carry, and the error that refuses it.

Every JSON text of a request (``extra``, a DoCommand) is parsed within bounds
(:func:`camera_node.core.bounded.load_json`): at most :data:`MAX_EXTRA_BYTES` (DoCommand:
its own limit), nested at most 32 deep, finite numbers only.
"""

from __future__ import annotations

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
