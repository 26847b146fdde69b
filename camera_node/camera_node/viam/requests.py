"""What a request of the Viam API may carry, and the error that refuses it."""

from __future__ import annotations

import json
from typing import Any, Dict


class RequestError(Exception):
    """A request that cannot be served; the message goes to the reply's error field."""


def parse_json_object(text: str, what: str) -> Dict[str, Any]:
    """Parse JSON text that must be an object; empty text means ``{}``."""
    if not text or not text.strip():
        return {}
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise RequestError('%s is not valid JSON: %s' % (what, exc)) from exc
    if not isinstance(value, dict):
        raise RequestError('%s must be a JSON object, got %s' % (what, type(value).__name__))
    return value


def parse_extra(text: str) -> Dict[str, Any]:
    """Parse a request's ``extra`` JSON text: empty means {}, else it must be an object."""
    return parse_json_object(text, 'extra')
