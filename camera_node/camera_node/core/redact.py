"""Secrets in URLs: what status, logs, errors and DoCommand answers show instead.

A source like ``rtsp://user:p@ss-SECRET@cam.local/stream`` carries a password. Whatever the
node shows about it (``get_parameters``, ``status``, ``source_info``, device names in
errors and logs) goes through :func:`redact`: the password (everything between the first
``:`` after ``://`` and the last ``@`` before the host) and the values of query parameters
that name secrets become ``***``. The ROS parameter itself keeps the clear value (the
parameter services return it: protect them with DDS Security access control, see
docs/security.md).
"""

from __future__ import annotations

import re
from typing import Any

# scheme://user:password@host: the authority ends at the first '/', '?' or '#'; the
# password runs to the last '@' inside it (an '@' in a password is often left unescaped)
_USERINFO_RE = re.compile(r'(?P<head>[A-Za-z][A-Za-z0-9+.\-]*://[^/?#@:]*:)'
                          r'(?P<secret>[^/?#]*)@')
_QUERY_SECRET_RE = re.compile(
    r'(?P<key>[?&;](?:[A-Za-z_\-]*(?:pass|pwd|token|secret|key|auth|signature|sig)'
    r'[A-Za-z_\-]*)=)(?P<value>[^&;#\s]*)', re.I)

MASK = '***'


def redact(text: str) -> str:
    """Return text with URL passwords and secret query values replaced by ``***``."""
    if '://' not in text and '=' not in text:
        return text
    out = _USERINFO_RE.sub(lambda m: m.group('head') + MASK + '@', text)
    return _QUERY_SECRET_RE.sub(lambda m: m.group('key') + MASK, out)


def redact_value(value: Any) -> Any:
    """Return a parameter value with every string in it redacted."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, (list, tuple)):
        return [redact_value(v) for v in value]
    return value
