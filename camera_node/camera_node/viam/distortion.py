"""Lens distortion between ROS CameraInfo order and Viam's. Pure Python.

ROS ``plumb_bob`` is ``[k1, k2, p1, p2, k3]`` and ``rational_polynomial``
``[k1, k2, p1, p2, k3, k4, k5, k6]``; Viam's ``brown_conrady`` is ``[k1, k2, k3, p1, p2]``
and ``brown_conrady_k6`` ``[k1..k6, p1, p2]``.
"""

from __future__ import annotations

from typing import List, Sequence, Tuple

DISTORTION_BROWN_CONRADY = 'brown_conrady'
DISTORTION_BROWN_CONRADY_K6 = 'brown_conrady_k6'
ROS_PLUMB_BOB = 'plumb_bob'
ROS_RATIONAL_POLYNOMIAL = 'rational_polynomial'


def _floats(values: Sequence[float], what: str) -> List[float]:
    try:
        out = [float(v) for v in values]
    except (TypeError, ValueError):
        raise ValueError(f'{what} must be a sequence of numbers, got {values!r}')
    return out


def _trim(values: List[float], length: int, what: str) -> List[float]:
    """Pad with zeros to ``length``; drop extra entries only if they are all zero."""
    if len(values) > length:
        if any(v != 0.0 for v in values[length:]):
            raise ValueError(f'{what} takes at most {length} coefficients, got {len(values)} '
                             f'with non-zero extras')
        values = values[:length]
    return values + [0.0] * (length - len(values))


def ros_plumb_bob_to_viam(d: Sequence[float]) -> Tuple[str, List[float]]:
    """ROS ``plumb_bob`` ``[k1, k2, p1, p2, k3]`` -> ``('brown_conrady', [k1, k2, k3, p1, p2])``.

    An empty list means "no distortion known" and gives ``('', [])`` (what the RDK sends when
    a camera has no distortion parameters). Shorter lists are zero-padded; all-zero lists
    stay an explicit ``brown_conrady`` of zeros.
    """
    values = _floats(d, 'plumb_bob d')
    if not values:
        return '', []
    k1, k2, p1, p2, k3 = _trim(values, 5, 'plumb_bob')
    return DISTORTION_BROWN_CONRADY, [k1, k2, k3, p1, p2]


def ros_rational_polynomial_to_viam(d: Sequence[float]) -> Tuple[str, List[float]]:
    """ROS ``rational_polynomial`` ``[k1, k2, p1, p2, k3, k4, k5, k6]`` -> Viam k6.

    Returns ``('brown_conrady_k6', [k1, k2, k3, k4, k5, k6, p1, p2])``; empty gives
    ``('', [])``.
    """
    values = _floats(d, 'rational_polynomial d')
    if not values:
        return '', []
    k1, k2, p1, p2, k3, k4, k5, k6 = _trim(values, 8, 'rational_polynomial')
    return DISTORTION_BROWN_CONRADY_K6, [k1, k2, k3, k4, k5, k6, p1, p2]


def viam_brown_conrady_to_ros(params: Sequence[float]) -> Tuple[str, List[float]]:
    """Viam ``brown_conrady`` ``[k1, k2, k3, p1, p2]`` -> ``('plumb_bob', [k1, k2, p1, p2, k3])``.

    Empty parameters give plumb_bob zeros (what ``CameraInfo`` consumers expect).
    """
    k1, k2, k3, p1, p2 = _trim(_floats(params, 'brown_conrady parameters'), 5, 'brown_conrady')
    return ROS_PLUMB_BOB, [k1, k2, p1, p2, k3]


def viam_brown_conrady_k6_to_ros(params: Sequence[float]) -> Tuple[str, List[float]]:
    """Viam ``brown_conrady_k6`` ``[k1..k6, p1, p2]`` -> ROS ``rational_polynomial``.

    Returns ``('rational_polynomial', [k1, k2, p1, p2, k3, k4, k5, k6])``.
    """
    k1, k2, k3, k4, k5, k6, p1, p2 = _trim(
        _floats(params, 'brown_conrady_k6 parameters'), 8, 'brown_conrady_k6')
    return ROS_RATIONAL_POLYNOMIAL, [k1, k2, p1, p2, k3, k4, k5, k6]


def ros_distortion_to_viam(ros_model: str, d: Sequence[float]) -> Tuple[str, List[float]]:
    """Convert ``CameraInfo`` ``(distortion_model, d)`` to Viam ``(model, parameters)``.

    ``plumb_bob`` and ``rational_polynomial`` are converted; an empty ``d`` (any model) or
    an all-zero ``d`` of an unknown/empty model gives ``('', [])``; any other model with
    non-zero coefficients raises ValueError (Viam has no equivalent).
    """
    values = _floats(d, 'd')
    if ros_model == ROS_PLUMB_BOB:
        return ros_plumb_bob_to_viam(values)
    if ros_model == ROS_RATIONAL_POLYNOMIAL:
        return ros_rational_polynomial_to_viam(values)
    if all(v == 0.0 for v in values):
        return '', []
    raise ValueError(f'ROS distortion model {ros_model!r} has no Viam equivalent')


def viam_distortion_to_ros(model: str, params: Sequence[float]) -> Tuple[str, List[float]]:
    """Convert Viam ``(model, parameters)`` to ``CameraInfo`` ``(distortion_model, d)``.

    ``''`` (no distortion known) gives ``('plumb_bob', [0.0] * 5)``; an unknown model
    raises ValueError.
    """
    if model == DISTORTION_BROWN_CONRADY:
        return viam_brown_conrady_to_ros(params)
    if model == DISTORTION_BROWN_CONRADY_K6:
        return viam_brown_conrady_k6_to_ros(params)
    if model == '':
        return viam_brown_conrady_to_ros([])
    raise ValueError(f'unknown Viam distortion model {model!r}')
