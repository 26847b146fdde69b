"""What a request of the Viam API may carry, and the error that refuses it."""

from __future__ import annotations

import json
from typing import Any, Dict


class RequestError(Exception):
    """A request that cannot be served; the message goes to the reply's error field."""


def parse_extra(text: str) -> Dict[str, Any]:
    """Parse a request's ``extra`` JSON text: empty means {}, else it must be an object."""
    if not text or not text.strip():
        return {}
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise RequestError('extra is not valid JSON: %s' % exc) from exc
    if not isinstance(value, dict):
        raise RequestError('extra must be a JSON object, got %s' % type(value).__name__)
    return value
