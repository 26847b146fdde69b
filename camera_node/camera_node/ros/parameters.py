"""ROS parameters of a camera: declared with descriptors, validated first, then applied.

At start the values given (``-p``, a params file, launch) are coerced where the meaning is
clear (an integer for a double or a string), checked against their specs, and declared;
anything invalid stops the node with one line naming every problem. At runtime every
change, whether from ``ros2 param set`` or DoCommand ``set_parameters``, goes through
:class:`~camera_node.core.params.ParameterApplier`: all of a request is validated before
any of it is applied, and an exception anywhere becomes a refusal with its reason.
"""

from __future__ import annotations

from typing import Any, Dict, Iterable, List, Mapping, Sequence

from rcl_interfaces.msg import (FloatingPointRange, IntegerRange, ParameterDescriptor,
                                SetParametersResult)
from rclpy.parameter import Parameter

from ..core.errors import InvalidOptionError
from ..core.params import coerce, ParameterApplier, ParameterStore, ParamSpec

#: parameters every node has besides the camera's (never reported as unknown)
GENERIC = ('use_sim_time', 'start_type_description_service')


class StartupError(InvalidOptionError):
    """Parameters given at start that the camera cannot take (the message names each)."""


def descriptor(spec: ParamSpec) -> ParameterDescriptor:
    """Build the rcl_interfaces ParameterDescriptor of a spec."""
    d = ParameterDescriptor(description=spec.description, read_only=spec.read_only)
    if spec.min is not None and spec.max is not None and not isinstance(spec.default, bool):
        if isinstance(spec.default, int):
            d.integer_range = [IntegerRange(from_value=int(spec.min), to_value=int(spec.max),
                                            step=int(spec.step or 1))]
        elif isinstance(spec.default, float):
            d.floating_point_range = [FloatingPointRange(
                from_value=float(spec.min), to_value=float(spec.max),
                step=float(spec.step or 0.0))]
    if spec.choices:
        d.additional_constraints = 'one of: ' + ', '.join(str(c) for c in spec.choices)
    return d


def given_values(node: Any) -> Dict[str, Any]:
    """Return the parameter values given to a node at start (command line, files, launch).

    rclpy keeps them in ``Node._parameter_overrides`` on every distro; there is no public
    accessor before a parameter is declared.
    """
    overrides = getattr(node, '_parameter_overrides', None) or {}
    return {name: p.value for name, p in overrides.items()}


def declare(node: Any, specs: Iterable[ParamSpec]) -> ParameterStore:
    """Check the values given at start against specs, declare them all, return the store.

    :raises StartupError: naming every value that cannot be used.
    """
    specs = tuple(specs)
    try:
        store = ParameterStore(specs, given_values(node))
    except InvalidOptionError as exc:
        raise StartupError(str(exc)) from None
    for spec in specs:
        if not node.has_parameter(spec.name):
            # the store's value is the given one, coerced: declare with it
            node.declare_parameter(spec.name, store[spec.name], descriptor(spec),
                                   ignore_override=True)
    return store


def unknown_given(node: Any, store: ParameterStore) -> List[str]:
    """Return the names given at start that neither the node nor its driver take (typos)."""
    return sorted(n for n in given_values(node)
                  if n not in store and not n.startswith('qos_overrides.') and n not in GENERIC)


class RosParameters:
    """Connects a node's ROS parameters to the camera's store and applier."""

    def __init__(self, node: Any, store: ParameterStore) -> None:
        self.node = node
        self.store = store
        self.applier = ParameterApplier(store)
        node.add_on_set_parameters_callback(self._on_set)
        pre = getattr(node, 'add_pre_set_parameters_callback', None)
        if pre is not None:  # Iron and newer: an integer given for a double is converted
            pre(self._coerce)

    def _coerce(self, parameters: Sequence[Parameter]) -> List[Parameter]:
        out = []
        for p in parameters:
            spec = self.store.specs.get(p.name)
            value = p.value
            if spec is not None:
                value = coerce(spec, value)
            out.append(p if value is p.value else Parameter(p.name, value=value))
        return out

    def _on_set(self, changes: Sequence[Parameter]) -> SetParametersResult:
        try:
            reason = self.applier.apply([(p.name, p.value) for p in changes])
        except Exception as exc:  # never let a change crash the executor
            reason = '%s: %s' % (type(exc).__name__, exc)
        return SetParametersResult(successful=reason is None, reason=_cut(reason or ''))

    # -- the DoCommand parameter port -----------------------------------------------------
    def values(self) -> Dict[str, Any]:
        """Return every camera parameter's current value."""
        return self.store.snapshot()

    def set(self, values: Mapping[str, Any]) -> Dict[str, Dict[str, Any]]:
        """Set parameters through the node (so ``ros2 param get`` agrees); return results."""
        results = {}
        for name, value in values.items():
            spec = self.store.specs.get(name)
            if spec is not None:
                value = coerce(spec, value)
            try:
                r = self.node.set_parameters([Parameter(name, value=value)])[0]
                results[name] = {'successful': r.successful, 'reason': r.reason}
            except Exception as exc:  # a type rclpy cannot hold raises in rclpy
                results[name] = {'successful': False, 'reason': _cut(
                    'a parameter cannot hold a value of type %s' % type(value).__name__
                    if isinstance(exc, TypeError) else str(exc))}
        return results


def _cut(reason: str, limit: int = 400) -> str:
    """Return a refusal reason of at most limit characters (it may echo a value)."""
    return reason if len(reason) <= limit else reason[:limit] + '...'
