"""Launch argument values: conversions to parameter types, and ROS name checks.

Launch arguments arrive as strings; an empty string means "not given". Every check raises
:class:`ValueError` with a message naming the argument and what it takes.
"""

from __future__ import annotations

import re
from typing import Any, List, Sequence

import yaml

LOG_LEVELS = ('debug', 'info', 'warn', 'error', 'fatal')
OUTPUTS = ('screen', 'log', 'both')

_NAME_TOKEN_RE = re.compile(r'^[A-Za-z_][A-Za-z0-9_]*$')
_TRUE = ('true', '1', 'yes', 'on')
_FALSE = ('false', '0', 'no', 'off')


def to_bool(name: str, value: Any) -> bool:
    """Convert a launch argument to bool (true/false, 1/0, yes/no, on/off)."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError('%s:=%r is not a boolean (use true or false)' % (name, value))


def _to_int(name: str, value: Any) -> int:
    if isinstance(value, bool):
        raise ValueError('%s:=%r is not an integer' % (name, value))
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    try:
        return int(str(value).strip())
    except ValueError:
        raise ValueError('%s:=%r is not an integer' % (name, value)) from None


def _to_float(name: str, value: Any) -> float:
    if isinstance(value, bool):
        raise ValueError('%s:=%r is not a number' % (name, value))
    try:
        return float(str(value).strip()) if isinstance(value, str) else float(value)
    except (TypeError, ValueError):
        raise ValueError('%s:=%r is not a number' % (name, value)) from None


def _to_float_list(name: str, value: Any) -> List[float]:
    if isinstance(value, str):
        text = value.strip()
        if text.startswith('[') and text.endswith(']'):
            text = text[1:-1]
        items: Sequence[Any] = [t for t in re.split(r'[,\s]+', text) if t]
    elif isinstance(value, (list, tuple)):
        items = value
    else:
        raise ValueError('%s:=%r is not a list of numbers' % (name, value))
    try:
        return [_to_float(name, v) for v in items]
    except ValueError:
        raise ValueError('%s:=%r is not a list of numbers, e.g. [0.0, 0.1, 0.0, 0.0, 0.0, 0.0]'
                         % (name, value)) from None


def unquote(text: str) -> str:
    """Return text without the YAML quotes around it, if it is one quoted YAML string.

    ``serial_no:="'0123'"`` (the habit launch_ros' own YAML reading taught) and
    ``serial_no:=0123`` then give the same string; anything else is returned as it is.
    """
    stripped = text.strip()
    if len(stripped) >= 2 and stripped[0] == stripped[-1] and stripped[0] in '\'"':
        try:
            value = yaml.safe_load(stripped)
        except yaml.YAMLError:
            return text
        if isinstance(value, str):
            return value
    return text


def convert(name: str, value: Any, kind: type) -> Any:
    """Convert a launch argument (a string) or a YAML value to the parameter type kind.

    A string parameter takes a launch argument as it is (``012345678901`` stays that
    string; see :func:`unquote` for quoted ones), but a YAML value only when YAML read a
    string: ``serial_no: 012345`` in a file is the number 5349, so it is refused.
    """
    if kind is bool:
        return to_bool(name, value)
    if kind is int:
        return _to_int(name, value)
    if kind is float:
        return _to_float(name, value)
    if kind is list:
        return _to_float_list(name, value)
    if not isinstance(value, str):
        raise ValueError('%s: %r must be a string (quote it in YAML)' % (name, value))
    return value


def kind_of(default: Any) -> type:
    """Return the parameter type (bool, int, float, list or str) of a default value."""
    if isinstance(default, bool):
        return bool
    if isinstance(default, int):
        return int
    if isinstance(default, float):
        return float
    if isinstance(default, (list, tuple)):
        return list
    return str


def check_name_token(what: str, value: str) -> str:
    """Return value if it is a valid ROS name token (letters, digits, _), else raise."""
    if not _NAME_TOKEN_RE.match(value or ''):
        raise ValueError('%s %r is not a valid ROS name: use letters, digits and _, not '
                         'starting with a digit' % (what, value))
    return value


def normalize_namespace(value: str) -> str:
    """Return a namespace as ``/a/b`` (``/`` for the root), or raise ValueError."""
    tokens = [t for t in (value or '').strip().split('/') if t]
    for t in tokens:
        if t.startswith('~') or not _NAME_TOKEN_RE.match(t):
            raise ValueError('namespace %r is not a valid ROS namespace: use tokens of '
                             'letters, digits and _ separated by /' % value)
    return '/' + '/'.join(tokens)


def topic_prefix(namespace: str, node_name: str) -> str:
    """Return the prefix of the node's private topics, e.g. ``/camera/camera``."""
    ns = normalize_namespace(namespace)
    return (ns.rstrip('/') + '/' + node_name) if ns != '/' else '/' + node_name


def check_log_level(value: str) -> str:
    """Return a log level for ``--log-level`` (``info`` or ``logger:=info``), or raise."""
    text = (value or '').strip()
    level = text.rpartition(':=')[2].lower()
    if level not in LOG_LEVELS:
        raise ValueError('log_level:=%r must be one of %s (or <logger>:=<level>)'
                         % (value, ', '.join(LOG_LEVELS)))
    return text.lower() if ':=' not in text else text


def check_output(value: str) -> str:
    """Return a launch ``output`` value (screen, log, both), or raise ValueError."""
    text = (value or '').strip().lower()
    if text not in OUTPUTS:
        raise ValueError('output:=%r must be one of %s' % (value, ', '.join(OUTPUTS)))
    return text
