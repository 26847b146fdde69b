"""JSON and YAML text from callers, parsed within bounds: size, nesting, aliases, numbers.

Every structured text a caller can hand the node (a request's ``extra``, a DoCommand, the
``geometries`` parameter, a calibration file) is parsed here, so no input can exhaust the
stack (deep nesting), the memory (YAML aliases expanding to gigabytes) or the time of the
executor, and no non-finite number enters the node. Errors say where and what, never
quote the text (it may be a file holding secrets).
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

import yaml
from yaml.composer import ComposerError

#: deepest nesting of lists and mappings accepted in any caller's text
MAX_DEPTH = 32
#: default size limit of a caller's text, bytes
MAX_TEXT_BYTES = 64 * 1024

_JSON_STRING_RE = re.compile(r'"(?:[^"\\]|\\.)*"', re.S)
_NOT_BRACKET_RE = re.compile(r'[^\[\]{}]+')
_QUOTED_RE = re.compile(r"'[^']*'|\"[^\"]*\"")


class TextError(ValueError):
    """Text that cannot be used: too large, too deep, malformed; the reason quotes none of it."""


def _check_size(text: Any, what: str, max_bytes: int) -> str:
    if not isinstance(text, str):
        raise TextError('%s must be text, got %s' % (what, type(text).__name__))
    if len(text) > max_bytes or len(text.encode('utf-8', 'surrogatepass')) > max_bytes:
        raise TextError('%s is %d bytes; the limit is %d'
                        % (what, len(text.encode('utf-8', 'surrogatepass')), max_bytes))
    return text


def bracket_depth(text: str) -> int:
    """Return the deepest nesting of ``[`` and ``{`` in JSON text, strings ignored."""
    brackets = _NOT_BRACKET_RE.sub('', _JSON_STRING_RE.sub('', text))
    depth = deepest = 0
    for c in brackets:
        if c in '[{':
            depth += 1
            if depth > deepest:
                deepest = depth
        else:
            depth -= 1
    return deepest


def _refuse_constant(name: str) -> Any:
    raise TextError('numbers must be finite (%s is not accepted)' % name)


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise TextError('number %s is out of range' % (text[:24] + ('...' if len(text) > 24
                                                                    else '')))
    return value


def load_json(text: Any, what: str, max_bytes: int = MAX_TEXT_BYTES,
              max_depth: int = MAX_DEPTH) -> Any:
    """Parse JSON text within bounds; NaN, Infinity and overflowing numbers are refused.

    :raises TextError: naming ``what`` and the problem.
    """
    text = _check_size(text, what, max_bytes)
    depth = bracket_depth(text)
    if depth > max_depth:
        raise TextError('%s is nested %d deep; the limit is %d' % (what, depth, max_depth))
    try:
        return json.loads(text, parse_constant=_refuse_constant, parse_float=_finite_float)
    except TextError as exc:
        raise TextError('%s: %s' % (what, exc)) from None
    except json.JSONDecodeError as exc:
        raise TextError('%s is not valid JSON: %s at line %d column %d'
                        % (what, exc.msg, exc.lineno, exc.colno)) from None
    except (ValueError, RecursionError) as exc:  # e.g. an integer over 4300 digits
        raise TextError('%s is not usable JSON: %s' % (what, type(exc).__name__)) from None


class _BoundedLoader(yaml.SafeLoader):
    """PyYAML's safe loader without aliases and with a nesting limit."""

    max_depth = MAX_DEPTH

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            raise ComposerError(None, None, 'aliases (*name) are not accepted',
                                self.peek_event().start_mark)
        self._depth += 1
        try:
            if self._depth > self.max_depth:
                raise ComposerError(None, None, 'nested deeper than %d' % self.max_depth,
                                    self.peek_event().start_mark)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def load_yaml(text: Any, what: str, max_bytes: int = MAX_TEXT_BYTES,
              max_depth: int = MAX_DEPTH) -> Any:
    """Parse one YAML document safely within bounds (no aliases, no deep nesting).

    :raises TextError: naming ``what``, the line and column, and the problem.
    """
    text = _check_size(text, what, max_bytes)
    loader = None
    try:
        loader = _BoundedLoader(text)     # the reader refuses unprintable characters here
        loader.max_depth = max_depth
        return loader.get_single_data()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = ' at line %d column %d' % (mark.line + 1, mark.column + 1) if mark else ''
        problem = _QUOTED_RE.sub("'...'", str(exc.problem or exc.context or 'syntax error'))
        raise TextError('%s is not valid YAML%s: %s' % (what, where, problem)) from None
    except yaml.YAMLError:      # e.g. a control character (yaml.reader.ReaderError)
        raise TextError('%s is not valid YAML (it holds characters YAML does not allow)'
                        % what) from None
    except (ValueError, TypeError, OverflowError, RecursionError) as exc:
        # a value the constructors cannot build (an integer over 4300 digits, a bad date)
        raise TextError('%s holds a value that cannot be read (%s)'
                        % (what, type(exc).__name__)) from None
    finally:
        if loader is not None:
            loader.dispose()
