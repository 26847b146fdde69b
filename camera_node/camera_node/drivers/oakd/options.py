"""Runtime options of an OAK device: colour camera controls and IR intensities.

Type and range come from the parameter specs; :func:`check` says what only the device can
tell (an IR projector? a camera control input?), :func:`send` applies a value. Values are
read from the camera's parameters (``options``), the one copy of the current settings.
"""

from __future__ import annotations

import logging
from typing import Any, List, Mapping, Sequence

import depthai as dai

from .graph import GraphHandles
from ...core.errors import InvalidOptionError

_log = logging.getLogger(__name__)

#: colour camera options, sent as ``dai.CameraControl`` messages
CONTROLS = ('auto_exposure', 'exposure_us', 'iso', 'auto_white_balance', 'white_balance_k')
#: device options (OAK-D Pro models)
IR = ('ir_laser_intensity', 'ir_flood_intensity')
#: every runtime option of the driver
RUNTIME = CONTROLS + IR


def control_message(options: Mapping[str, Any], name: str, value: Any) -> Any:
    """Build the CameraControl message for one colour option set to value."""
    ctrl = dai.CameraControl()
    v = dict(options)
    v[name] = value
    if name in ('auto_exposure', 'exposure_us', 'iso'):
        if v['auto_exposure']:
            ctrl.setAutoExposureEnable()
        else:
            ctrl.setManualExposure(int(v['exposure_us']), int(v['iso']))
    else:
        if v['auto_white_balance']:
            ctrl.setAutoWhiteBalanceMode(dai.CameraControl.AutoWhiteBalanceMode.AUTO)
        else:
            ctrl.setManualWhiteBalance(int(v['white_balance_k']))
    return ctrl


def ir_supported(h: GraphHandles, ir_drivers: Sequence[Any], name: str) -> bool:
    """Whether the device has the IR emitter that option name drives."""
    return h.device is not None and bool(ir_drivers) and hasattr(
        h.device, 'setIrLaserDotProjectorIntensity' if name == 'ir_laser_intensity'
        else 'setIrFloodLightIntensity')


def supported(h: GraphHandles, ir_drivers: Sequence[Any]) -> List[str]:
    """Return the runtime options this device takes."""
    names = list(CONTROLS) if h.control_queue is not None else []
    return names + [n for n in IR if ir_supported(h, ir_drivers, n)]


def check(h: GraphHandles, ir_drivers: Sequence[Any], name: str) -> None:
    """Raise InvalidOptionError if the open device has nothing that takes option name."""
    if name in IR:
        if not ir_supported(h, ir_drivers, name):
            raise InvalidOptionError(
                '%s: device %s has no IR projector/flood light (OAK-D Pro models only)'
                % (name, h.info.get('product_name') or h.info.get('device_id') or '?'))
    elif h.control_queue is None:
        raise InvalidOptionError('%s: this graph has no colour camera control input' % name)


def send(h: GraphHandles, options: Mapping[str, Any], name: str, value: Any) -> None:
    """Apply a checked value: a camera control, or an IR intensity on the device.

    A manual exposure (or white balance) value only goes to the camera while the matching
    auto mode is off; otherwise it takes effect when the auto mode is switched off.
    """
    if name in IR:
        setter = (h.device.setIrLaserDotProjectorIntensity if name == 'ir_laser_intensity'
                  else h.device.setIrFloodLightIntensity)
        try:
            ok = setter(float(value))
        except RuntimeError as exc:
            raise InvalidOptionError('%s: device refused %r: %s' % (name, value, exc))
        if ok is False:
            raise InvalidOptionError('%s: device refused intensity %r' % (name, value))
        return
    if name in ('exposure_us', 'iso') and options['auto_exposure']:
        return
    if name == 'white_balance_k' and options['auto_white_balance']:
        return
    try:
        # an InputQueue from createInputQueue(): non-blocking, overwrites the oldest
        h.control_queue.send(control_message(options, name, value))
    except (RuntimeError, dai.MessageQueue.QueueException) as exc:
        raise InvalidOptionError('%s: could not send camera control: %s' % (name, exc))


def apply_initial(h: GraphHandles, options: Mapping[str, Any],
                  ir_drivers: Sequence[Any]) -> None:
    """Send the runtime options set away from their defaults, after the pipeline started."""
    if h.control_queue is not None:
        if not options['auto_exposure']:
            send(h, options, 'auto_exposure', False)
        if not options['auto_white_balance']:
            send(h, options, 'auto_white_balance', False)
    for name in IR:
        if options[name] > 0.0:
            try:
                check(h, ir_drivers, name)
                send(h, options, name, options[name])
            except InvalidOptionError as exc:
                _log.warning('oakd: %s', exc)
