"""DoCommand: the table of commands every camera answers, plus its driver's.

A command is a JSON object ``{"command": NAME, ...}``; the answer is a JSON object.
Generic commands: ``status``, ``help``, ``get_parameters``, ``set_parameters``. The
driver's own (``Driver.commands()``) come after and cannot shadow these. To add a
command, add a row to :meth:`CommandTable._builtin` (or to the driver's ``commands``);
a layer above adds its own with :meth:`CommandTable.add` (``save_clip``, ``clip_status``).
"""

from __future__ import annotations

import json
import math
from typing import Any, Callable, Dict, Mapping, Optional, Protocol, Tuple

import numpy as np

from ..core.errors import InvalidOptionError, Unavailable
from ..core.bounded import load_json, TextError
from ..core.params import ParameterApplier
from ..core.redact import redact_value
from ..core.session import CameraSession, State
from .requests import RequestError, short

#: largest DoCommand request accepted, bytes of JSON text
MAX_COMMAND_BYTES = 64 * 1024
#: commands answered even when the camera is closed
ALWAYS = ('status', 'help')

Command = Callable[[Mapping[str, Any]], Dict[str, Any]]


class ParameterPort(Protocol):
    """How DoCommand reads and changes parameters (the ROS parameters, in the node)."""

    def values(self) -> Dict[str, Any]:
        """Return every parameter's current value."""

    def set(self, values: Mapping[str, Any]) -> Dict[str, Dict[str, Any]]:
        """Change parameters; return name -> {successful, reason}."""


class LocalParameters:
    """A :class:`ParameterPort` straight over an applier (no ROS): for tools and tests."""

    def __init__(self, applier: ParameterApplier) -> None:
        self.applier = applier

    def values(self) -> Dict[str, Any]:
        """Return every parameter's current value."""
        return self.applier.store.snapshot()

    def set(self, values: Mapping[str, Any]) -> Dict[str, Dict[str, Any]]:
        """Apply each change on its own; return name -> {successful, reason}."""
        out = {}
        for name, value in values.items():
            spec = self.applier.store.specs.get(name)
            if spec is not None and spec.read_only:
                reason: Optional[str] = 'parameter %r is read-only' % name
            else:
                reason = self.applier.apply([(name, value)])
            out[name] = {'successful': reason is None, 'reason': reason or ''}
        return out


class CommandTable:
    """The commands of one camera.

    :param session: the camera session (state, driver).
    :param parameters: how parameters are read and set.
    :param status: returns the status figures (session and publishing).
    """

    def __init__(self, session: CameraSession, parameters: ParameterPort,
                 status: Callable[[], Dict[str, Any]]) -> None:
        self.session = session
        self.parameters = parameters
        self.status = status
        self._added: Dict[str, Tuple[str, Command]] = {}

    def add(self, name: str, description: str, handler: Command) -> None:
        """Add a command for every camera from a layer above (the ROS layer's save_clip)."""
        if name in self._builtin() or name in self._added:
            raise ValueError('a command named %r exists already' % name)
        self._added[name] = (description, handler)

    def _builtin(self) -> Dict[str, Tuple[str, Command]]:
        return {
            'status': ('Report state, measured rates, drops, reconnects and errors.',
                       self._status),
            'help': ('List the commands this camera answers.', self._help),
            'get_parameters': ('Return the current value of every camera parameter.',
                               lambda _cmd: {'parameters': {
                                   n: redact_value(v)
                                   for n, v in self.parameters.values().items()}}),
            'set_parameters': ('Set parameters: {"command": "set_parameters", "parameters": '
                               '{"jpeg_quality": 60}}; each is validated like a ROS '
                               'parameter change.', self._set_parameters),
        }

    def commands(self) -> Dict[str, Tuple[str, Command]]:
        """Return every command: the generic ones, then the driver's (which cannot shadow)."""
        out = self._builtin()
        out.update(self._added)
        for name, row in self.session.driver.commands().items():
            out.setdefault(name, row)
        return out

    def run(self, text: str) -> str:
        """Run a DoCommand request (JSON text); return the answer as JSON text."""
        if not isinstance(text, str):
            raise RequestError('command must be JSON text')
        size = len(text.encode('utf-8', 'replace'))
        if size > MAX_COMMAND_BYTES:
            raise RequestError('command is %d bytes; the limit is %d'
                               % (size, MAX_COMMAND_BYTES))
        try:   # within bounds: depth, finite numbers (core.bounded)
            cmd = load_json(text, 'command', MAX_COMMAND_BYTES) if text.strip() else None
        except TextError as exc:
            raise RequestError(str(exc)) from None
        if not isinstance(cmd, dict):
            raise RequestError('command must be a JSON object like {"command": "status"}, '
                               'got %s' % ('nothing' if cmd is None else type(cmd).__name__))
        name = cmd.get('command')
        table = self.commands()
        if not isinstance(name, str):
            raise RequestError('the object needs a "command" string; known commands: %s'
                               % ', '.join(sorted(table)))
        if name not in table:
            raise RequestError('unknown command %s; known commands: %s'
                               % (short(name), ', '.join(sorted(table))))
        if self.session.state is State.CLOSED and name not in ALWAYS:
            raise Unavailable(self.session.unavailable_reason())
        try:
            result = table[name][1](cmd)
        except (RequestError, Unavailable):
            raise
        except (ValueError, TypeError, KeyError, ArithmeticError, InvalidOptionError) as exc:
            raise RequestError('command %r failed: %s' % (name, exc)) from exc
        if not isinstance(result, dict):
            result = {'result': result}
        return json.dumps(result, default=_json_default)

    def _help(self, _cmd: Mapping[str, Any]) -> Dict[str, Any]:
        return {'commands': {n: d for n, (d, _) in sorted(self.commands().items())}}

    def _status(self, _cmd: Mapping[str, Any]) -> Dict[str, Any]:
        f = self.status()
        f['capture_fps'] = round(f['capture_fps'], 2)
        f['published_fps'] = {n: round(r, 2) for n, r in f['published_fps'].items()}
        if 'imu_published_hz' in f:
            f['imu_published_hz'] = {n: round(r, 1) for n, r in f['imu_published_hz'].items()}
        return {'camera': self.session.name, **f}

    def _set_parameters(self, cmd: Mapping[str, Any]) -> Dict[str, Any]:
        values = cmd.get('parameters')
        if not isinstance(values, dict) or not values:
            raise RequestError('set_parameters needs "parameters": {name: value, ...}')
        current = self.parameters.values()
        unknown = [n for n in values if n not in current]
        if unknown:
            raise RequestError('unknown parameter(s): %s'
                               % ', '.join(short(n) for n in unknown[:5]))
        typed = {}
        for name, value in values.items():
            now = current[name]
            if isinstance(now, int) and not isinstance(now, bool) \
                    and isinstance(value, float) and value.is_integer():
                value = int(value)  # DoCommand numbers travel as doubles
            typed[name] = value
        return {'results': self.parameters.set(typed)}


def _json_default(value: Any) -> Any:
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        f = float(value)
        return f if math.isfinite(f) else None
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)
