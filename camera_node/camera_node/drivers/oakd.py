"""Luxonis OAK-D driver through the depthai v3 SDK.

The device runs a colour camera (socket CAM_A) and a stereo pair whose depth is aligned to
the colour camera on the device. The host reads two output queues, pairs colour and depth
frames (by timestamp or by sequence number), converts BGR to RGB and maps the frames'
host-synchronised steady-clock timestamps to the system clock.

Everything that needs a device lives in :func:`build_device_graph` (device search, the
camera and stereo nodes, the queues, the device calibration). It is the one function tests
replace, with a host-only pipeline that sends real ``ImgFrame`` messages; queue reading,
pairing, frame conversion, intrinsics and timestamps below are the production code.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
import datetime
import logging
import re
import threading
import time
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple

import depthai as dai
import numpy as np

from . import base
from .base import (CameraProperties, default_intrinsics, DeviceLostError,
                   DeviceNotFoundError, Driver, DriverError, Extrinsics, FrameSet, Intrinsics,
                   InvalidOptionError, ParamSpec)
from .parameters import OAKD_DEPTH_PRESETS, OAKD_PARAMETERS

__all__ = ['GraphHandles', 'GraphRequest', 'OakDriver', 'build_device_graph',
           'find_device', 'parse_profile', 'ros_distortion']

_log = logging.getLogger(__name__)

#: colour imager socket; depth is aligned to it on the device
COLOR_SOCKET = dai.CameraBoardSocket.CAM_A
#: stereo pair sockets (left, right) of OAK-D models
LEFT_SOCKET = dai.CameraBoardSocket.CAM_B
RIGHT_SOCKET = dai.CameraBoardSocket.CAM_C
#: size of the device output queues: small, non-blocking (old frames are dropped)
QUEUE_SIZE = 4
#: frames kept on the host while waiting for their partner
PAIR_BUFFER = 8
#: stereo input size of the mono cameras (the OV9282 sensors are 1280x800)
STEREO_INPUT_SIZE = (640, 400)
#: horizontal field of view assumed when the device has no colour calibration
DEFAULT_HFOV_DEG = 69.0
TIMESTAMP_DOMAIN = 'device_synced_host_steady'

#: the StereoDepth presets this depthai has (of those the parameter lists)
_PRESETS = [m for m in OAKD_DEPTH_PRESETS if hasattr(dai.node.StereoDepth.PresetMode, m)]

#: runtime options, applied through the colour camera's control queue or the device
_RUNTIME = ('auto_exposure', 'exposure_us', 'iso', 'auto_white_balance', 'white_balance_k',
            'ir_laser_intensity', 'ir_flood_intensity')


def parse_profile(text: str) -> Tuple[int, int, float]:
    """Parse a ``WIDTHxHEIGHTxFPS`` stream profile such as ``640x400x30``.

    :raises InvalidOptionError: the string is malformed or a number is out of range.
    """
    width, height, fps = base.parse_profile(str(text), 'color_profile', 'e.g. 640x400x30',
                                            fractional_fps=True)
    if not (16 <= width <= 4056 and 16 <= height <= 3040):
        raise InvalidOptionError(
            'color_profile %r: size must be between 16x16 and 4056x3040' % (text,))
    if width % 2 or height % 2:
        raise InvalidOptionError('color_profile %r: width and height must be even' % (text,))
    if not 0.5 <= fps <= 120.0:
        raise InvalidOptionError('color_profile %r: fps must be between 0.5 and 120' % (text,))
    return width, height, fps


def ros_distortion(model: Any, coeffs: Sequence[float]) -> Tuple[str, List[float], str]:
    """Map a depthai lens model and its coefficients to a ROS distortion model.

    depthai stores 14 coefficients ``k1 k2 p1 p2 k3 k4 k5 k6 s1 s2 s3 s4 tx ty`` (OpenCV
    order). Perspective lenses become ``plumb_bob`` (5) when k4..k6 are zero and
    ``rational_polynomial`` (8) otherwise; fisheye lenses become ``equidistant`` (4).

    :returns: (ROS model name, coefficients, note about anything that was dropped).
    """
    c = [float(v) for v in coeffs] + [0.0] * 14
    note = ''
    if model == dai.CameraModel.Fisheye:
        return 'equidistant', c[:4], note
    if model != dai.CameraModel.Perspective:
        return 'plumb_bob', [0.0] * 5, 'lens model %s has no ROS equivalent: distortion ' \
            'reported as none' % getattr(model, 'name', model)
    if any(c[8:14]):
        note = 'thin-prism/tilt coefficients s1..s4, tx, ty dropped (no ROS model has them)'
    if any(c[5:8]):
        return 'rational_polynomial', c[:8], note
    return 'plumb_bob', c[:5], note


def _td_ns(td: datetime.timedelta) -> int:
    """Return a timedelta in integer nanoseconds (depthai timestamps are microseconds)."""
    return ((td.days * 86400 + td.seconds) * 1_000_000 + td.microseconds) * 1000


def steady_to_system_offset_ns() -> int:
    """Return ``system - steady`` in ns, steady being depthai's ``dai.Clock`` (host steady).

    Frame timestamps from ``ImgFrame.getTimestamp()`` are on that steady clock (the device
    clock is synchronised to it by the SDK); adding this offset gives system time.
    """
    t0 = time.time_ns()
    steady = _td_ns(dai.Clock.now())
    t1 = time.time_ns()
    return (t0 + t1) // 2 - steady


# -- the device seam ----------------------------------------------------------------------
@dataclass
class GraphRequest:
    """What the driver asks the graph builder for."""

    device_id: str
    width: int
    height: int
    fps: float
    enable_depth: bool = True
    depth_preset: str = 'DEFAULT'


@dataclass
class GraphHandles:
    """What a graph builder returns: a built (not started) pipeline and its endpoints.

    :param pipeline: the ``dai.Pipeline``; the driver starts and stops it.
    :param color_queue: output queue of colour ``ImgFrame`` (BGR888i or any colour type).
    :param depth_queue: output queue of RAW16 depth in mm aligned to colour, or None.
    :param calibration: the device's ``dai.CalibrationHandler``, or None.
    :param control_queue: ``dai.InputQueue`` taking ``dai.CameraControl`` for the colour
        camera (``camera.inputControl.createInputQueue()``), or None.
    :param device: the ``dai.Device``, None for host-only pipelines.
    :param info: device facts for ``device_info`` (id, name, model, usb speed...).
    """

    pipeline: Any
    color_queue: Any
    depth_queue: Optional[Any] = None
    calibration: Optional[Any] = None
    control_queue: Optional[Any] = None
    device: Optional[Any] = None
    info: Dict[str, Any] = field(default_factory=dict)


GraphBuilder = Callable[[GraphRequest], GraphHandles]


def _describe(info: Any) -> str:
    state = getattr(getattr(info, 'state', None), 'name', '?')
    return '%s (%s, %s)' % (info.getDeviceId(), info.name, state)


def find_device(device_id: str) -> Any:
    """Return the ``dai.DeviceInfo`` of the device with this id, name or IP ('' = first).

    Enumerates once (about 0.5 s) instead of letting ``dai.Device()`` search for ~11 s.
    A dotted-quad IP address that enumeration did not see is returned as is, so PoE
    devices on another subnet can still be reached directly.

    :raises DeviceNotFoundError: naming the id looked for and the devices seen.
    """
    try:
        seen = list(dai.Device.getAllAvailableDevices())
    except RuntimeError as exc:  # pragma: no cover - XLink failure
        raise DeviceNotFoundError('OAK device search failed: %s' % exc) from exc
    wanted = (device_id or '').strip()
    for info in seen:
        if not wanted or wanted in (info.getDeviceId(), info.name):
            return info
    if wanted and re.match(r'^\d+\.\d+\.\d+\.\d+$', wanted):
        return dai.DeviceInfo(wanted)
    what = 'OAK device %r not found' % wanted if wanted else 'no OAK device found'
    listing = ', '.join(_describe(i) for i in seen) or 'none'
    raise DeviceNotFoundError(
        '%s (searched USB and network with depthai %s); devices seen: %s'
        % (what, dai.__version__, listing))


def build_device_graph(req: GraphRequest) -> GraphHandles:
    """Open the device and build camera + stereo nodes aligned to colour (production).

    This is the only part of the driver that needs hardware: tests replace it.
    """
    info = find_device(req.device_id)
    try:
        device = dai.Device(info)
    except RuntimeError as exc:
        raise DeviceNotFoundError('OAK device %s was found but could not be opened: %s'
                                  % (_describe(info), exc)) from exc
    try:
        pipeline = dai.Pipeline(device)
        cam = pipeline.create(dai.node.Camera).build(COLOR_SOCKET)
        color_out = cam.requestOutput((req.width, req.height), dai.ImgFrame.Type.BGR888i,
                                      dai.ImgResizeMode.CROP, req.fps)
        color_queue = color_out.createOutputQueue(maxSize=QUEUE_SIZE, blocking=False)
        control_queue = cam.inputControl.createInputQueue()
        depth_queue = None
        if req.enable_depth:
            preset = getattr(dai.node.StereoDepth.PresetMode, req.depth_preset)
            stereo = pipeline.create(dai.node.StereoDepth).build(
                True, preset, STEREO_INPUT_SIZE, req.fps)
            stereo.setLeftRightCheck(True)  # required for alignment
            stereo.setDepthAlign(COLOR_SOCKET)
            stereo.setOutputSize(req.width, req.height)
            depth_queue = stereo.depth.createOutputQueue(maxSize=QUEUE_SIZE, blocking=False)
        try:
            calibration = device.readCalibration()
        except RuntimeError:
            calibration = None
        facts: Dict[str, Any] = {'device_id': device.getDeviceId(), 'name': info.name}
        for key, getter in (('product_name', 'getProductName'),
                            ('device_name', 'getDeviceName'),
                            ('platform', 'getPlatformAsString')):
            try:
                facts[key] = str(getattr(device, getter)())
            except Exception:  # noqa: BLE001 - best effort facts
                pass
        try:
            facts['usb_speed'] = device.getUsbSpeed().name
        except Exception:  # noqa: BLE001
            pass
        try:
            facts['connected_cameras'] = [s.name for s in device.getConnectedCameras()]
        except Exception:  # noqa: BLE001
            pass
        return GraphHandles(pipeline, color_queue, depth_queue, calibration, control_queue,
                            device, facts)
    except Exception:
        device.close()
        raise


# -- pairing ------------------------------------------------------------------------------
class FramePairer:
    """Pair colour and depth frames, newest pair first (old frames are dropped).

    ``mode='timestamp'``: a colour frame pairs with the depth frame nearest in time, within
    ``tolerance_ns``. ``mode='sequence'``: with the depth frame of the same sequence number.
    Without depth, the newest colour frame is returned alone.
    """

    def __init__(self, mode: str, tolerance_ns: int, with_depth: bool,
                 capacity: int = PAIR_BUFFER) -> None:
        self.mode = mode
        self.tolerance_ns = tolerance_ns
        self.with_depth = with_depth
        self.capacity = capacity
        self._color: List[Tuple[int, int, Any]] = []
        self._depth: List[Tuple[int, int, Any]] = []
        self.dropped_color = 0
        self.dropped_depth = 0

    @staticmethod
    def _entry(msg: Any) -> Tuple[int, int, Any]:
        return int(msg.getSequenceNum()), _td_ns(msg.getTimestamp()), msg

    def add_color(self, msg: Any) -> None:
        """Queue a colour frame."""
        self._color.append(self._entry(msg))
        if len(self._color) > self.capacity:
            del self._color[0]
            self.dropped_color += 1

    def add_depth(self, msg: Any) -> None:
        """Queue a depth frame."""
        self._depth.append(self._entry(msg))
        if len(self._depth) > self.capacity:
            del self._depth[0]
            self.dropped_depth += 1

    def _match(self, seq: int, ts: int) -> Optional[int]:
        best, best_dt = None, None
        for j, (dseq, dts, _) in enumerate(self._depth):
            if self.mode == 'sequence':
                if dseq == seq:
                    return j
                continue
            dt = abs(dts - ts)
            if dt <= self.tolerance_ns and (best_dt is None or dt < best_dt):
                best, best_dt = j, dt
        return best

    def pop(self) -> Optional[Tuple[Any, Optional[Any]]]:
        """Return the newest (colour, depth) pair available, or None."""
        if not self._color:
            return None
        if not self.with_depth:
            self.dropped_color += len(self._color) - 1
            msg = self._color[-1][2]
            self._color.clear()
            return msg, None
        for i in range(len(self._color) - 1, -1, -1):
            seq, ts, msg = self._color[i]
            j = self._match(seq, ts)
            if j is not None:
                depth = self._depth[j][2]
                self.dropped_color += i
                self.dropped_depth += j
                del self._color[:i + 1]
                del self._depth[:j + 1]
                return msg, depth
        return None

    def clear(self) -> None:
        """Forget all waiting frames."""
        self._color.clear()
        self._depth.clear()


# -- frame conversion ---------------------------------------------------------------------
def color_to_rgb(msg: Any) -> np.ndarray:
    """Return an ``ImgFrame`` colour image as a contiguous ``HxWx3 uint8`` RGB array."""
    kind = msg.getType()
    if kind == dai.ImgFrame.Type.BGR888i:
        return np.ascontiguousarray(msg.getFrame()[..., ::-1])
    if kind == dai.ImgFrame.Type.RGB888i:
        return np.array(msg.getFrame(), dtype=np.uint8, copy=True)
    bgr = msg.getCvFrame()  # planar, NV12, YUV...: the SDK converts to BGR
    if bgr.ndim == 2:
        bgr = np.repeat(bgr[..., None], 3, axis=2)
    return np.ascontiguousarray(bgr[..., ::-1])


def depth_to_mm(msg: Any) -> np.ndarray:
    """Return a RAW16 depth ``ImgFrame`` as an ``HxW uint16`` array in millimetres."""
    if msg.getType() != dai.ImgFrame.Type.RAW16:
        raise DriverError('depth frame has type %s, expected RAW16' % msg.getType().name)
    return np.array(msg.getFrame(), dtype=np.uint16, copy=True)


# -- the driver ---------------------------------------------------------------------------
class OakDriver(Driver):
    """Luxonis OAK-D (and other RVC2/RVC4 stereo + colour devices) through depthai v3.

    :param options: node parameters (see :attr:`parameters`).
    :param graph_builder: builds the device graph; defaults to :func:`build_device_graph`.
        Tests pass a host-only replacement (the narrowest seam without hardware).
    """

    name = 'oakd'
    parameters = OAKD_PARAMETERS

    def __init__(self, options: Optional[Mapping[str, Any]] = None,
                 graph_builder: Optional[GraphBuilder] = None) -> None:
        """Validate options; nothing touches the device before open()."""
        super().__init__(options)
        defaults = {p.name: p.default for p in self.parameters}
        unknown = sorted(set(self.options) - set(defaults) - {'driver'})
        if unknown:
            _log.debug('oakd: ignoring options %s', ', '.join(unknown))
        merged = dict(defaults)
        merged.update({k: v for k, v in self.options.items() if k in defaults})
        self.width, self.height, self.fps = parse_profile(merged['color_profile'])
        preset = str(merged['depth_preset']).upper()
        if preset not in _PRESETS:
            raise InvalidOptionError('depth_preset %r is not one of %s'
                                     % (merged['depth_preset'], ', '.join(_PRESETS)))
        if merged['sync_mode'] not in ('timestamp', 'sequence'):
            raise InvalidOptionError("sync_mode %r is not 'timestamp' or 'sequence'"
                                     % (merged['sync_mode'],))
        self.device_id = str(merged['device_id'] or '')
        self.enable_depth = bool(merged['enable_depth'])
        self.depth_preset = preset
        self.sync_mode = str(merged['sync_mode'])
        self._values: Dict[str, Any] = {}
        for key in _RUNTIME:
            self._values[key] = self._check(key, merged[key])
        self._build = graph_builder or build_device_graph
        self._h: Optional[GraphHandles] = None
        self._props: Optional[CameraProperties] = None
        self._pairer: Optional[FramePairer] = None
        self._stopping = False
        self._ir_drivers: List[Any] = []
        self._warned_shape = False
        self._frames = 0

    # -- options ----------------------------------------------------------------------------
    def _spec(self, name: str) -> ParamSpec:
        for p in self.parameters:
            if p.name == name:
                return p
        raise InvalidOptionError('driver oakd has no option %r' % name)

    def _check(self, name: str, value: Any) -> Any:
        spec = self._spec(name)
        if isinstance(spec.default, bool):
            if not isinstance(value, (bool, np.bool_)):
                raise InvalidOptionError('%s must be a boolean, got %r' % (name, value))
            return bool(value)
        if isinstance(spec.default, int):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
                raise InvalidOptionError('%s must be an integer, got %r' % (name, value))
            value = int(value)
        elif isinstance(spec.default, float):
            if isinstance(value, bool) or not isinstance(value, (int, float, np.number)):
                raise InvalidOptionError('%s must be a number, got %r' % (name, value))
            value = float(value)
        if spec.min is not None and value < spec.min or spec.max is not None and \
                value > spec.max:
            raise InvalidOptionError('%s=%r is outside [%s, %s]'
                                     % (name, value, spec.min, spec.max))
        return value

    def set_option(self, name: str, value: Any) -> None:
        """Apply a runtime option now (or at open); raise InvalidOptionError with a reason."""
        if name not in _RUNTIME:
            if any(p.name == name for p in self.parameters):
                raise InvalidOptionError('%s is read-only: it needs a restart of the driver'
                                         % name)
            raise InvalidOptionError('driver oakd has no option %r' % name)
        value = self._check(name, value)
        with self._lock:
            if self._h is not None:
                self._apply(name, value)
            self._values[name] = value

    def runtime_options(self) -> Dict[str, Any]:
        """Runtime options this device supports, name -> current value."""
        with self._lock:
            out = dict(self._values)
            if self._h is not None:
                if self._h.control_queue is None:
                    for key in _RUNTIME[:5]:
                        out.pop(key, None)
                if not self._ir_supported('ir_laser_intensity'):
                    out.pop('ir_laser_intensity', None)
                if not self._ir_supported('ir_flood_intensity'):
                    out.pop('ir_flood_intensity', None)
            return out

    def _ir_supported(self, name: str) -> bool:
        dev = self._h.device if self._h is not None else None
        return dev is not None and bool(self._ir_drivers) and hasattr(
            dev, 'setIrLaserDotProjectorIntensity' if name == 'ir_laser_intensity'
            else 'setIrFloodLightIntensity')

    def _control(self, name: str, value: Any) -> Any:
        """Build the CameraControl message for one colour option."""
        ctrl = dai.CameraControl()
        v = dict(self._values)
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

    def _apply(self, name: str, value: Any) -> None:
        h = self._h
        assert h is not None
        if name.startswith('ir_'):
            if not self._ir_supported(name):
                raise InvalidOptionError(
                    '%s: device %s has no IR projector/flood light (OAK-D Pro models only)'
                    % (name, h.info.get('product_name') or h.info.get('device_id') or '?'))
            setter = (h.device.setIrLaserDotProjectorIntensity if name == 'ir_laser_intensity'
                      else h.device.setIrFloodLightIntensity)
            try:
                ok = setter(float(value))
            except RuntimeError as exc:
                raise InvalidOptionError('%s: device refused %r: %s' % (name, value, exc))
            if ok is False:
                raise InvalidOptionError('%s: device refused intensity %r' % (name, value))
            return
        if h.control_queue is None:
            raise InvalidOptionError('%s: this graph has no colour camera control input'
                                     % name)
        if name in ('exposure_us', 'iso') and self._values['auto_exposure']:
            return  # stored; takes effect when auto_exposure is switched off
        if name == 'white_balance_k' and self._values['auto_white_balance']:
            return
        try:
            # an InputQueue from createInputQueue(): non-blocking, overwrites the oldest
            h.control_queue.send(self._control(name, value))
        except (RuntimeError, dai.MessageQueue.QueueException) as exc:
            raise InvalidOptionError('%s: could not send camera control: %s' % (name, exc))

    def _apply_initial(self) -> None:
        """Send the non-default runtime options after the pipeline started."""
        h = self._h
        assert h is not None
        if h.control_queue is not None:
            if not self._values['auto_exposure']:
                self._apply('auto_exposure', False)
            if not self._values['auto_white_balance']:
                self._apply('auto_white_balance', False)
        for name in ('ir_laser_intensity', 'ir_flood_intensity'):
            if self._values[name] > 0.0:
                try:
                    self._apply(name, self._values[name])
                except InvalidOptionError as exc:
                    _log.warning('oakd: %s', exc)

    # -- open / read / close ----------------------------------------------------------------
    def _open(self) -> None:
        req = GraphRequest(self.device_id, self.width, self.height, self.fps,
                           self.enable_depth, self.depth_preset)
        h = self._build(req)
        if self.enable_depth and h.depth_queue is None:
            raise DriverError('enable_depth is true but the graph has no depth output')
        try:
            h.pipeline.start()
        except Exception as exc:
            self._shutdown(h)
            raise DriverError('could not start the depthai pipeline: %s' % exc) from exc
        self._h = h
        self._stopping = False
        try:
            self._ir_drivers = []
            if h.device is not None:
                try:
                    self._ir_drivers = list(h.device.getIrDrivers())
                except Exception:  # noqa: BLE001 - not all platforms report IR drivers
                    self._ir_drivers = []
            self._pairer = FramePairer(self.sync_mode, int(0.5e9 / self.fps),
                                       h.depth_queue is not None and self.enable_depth)
            self._props = self._make_properties(h)
            self._apply_initial()
        except BaseException:
            self._h = None
            self._shutdown(h)
            raise

    def _queues(self, h: GraphHandles) -> List[Any]:
        qs = [h.color_queue]
        if self.enable_depth and h.depth_queue is not None:
            qs.append(h.depth_queue)
        return qs

    def _lost(self, why: str) -> DeviceLostError:
        ident = self._h.info.get('device_id', '') if self._h is not None else ''
        return DeviceLostError('OAK device %s lost: %s' % (ident or '(host graph)', why))

    @staticmethod
    def _drain(h: GraphHandles, pairer: FramePairer) -> None:
        for msg in h.color_queue.tryGetAll():
            if msg is not None:
                pairer.add_color(msg)
        if pairer.with_depth:
            for msg in h.depth_queue.tryGetAll():
                if msg is not None:
                    pairer.add_depth(msg)

    def _read(self, timeout: float) -> Optional[FrameSet]:
        h, pairer = self._h, self._pairer
        if h is None or pairer is None:
            return None
        deadline = time.monotonic() + max(0.0, float(timeout))
        queues = self._queues(h)
        while True:
            if self._stopping:
                return None
            try:
                self._drain(h, pairer)
            except (dai.MessageQueue.QueueException, RuntimeError) as exc:
                if self._stopping:
                    return None
                raise self._lost('queue error: %s' % exc) from exc
            pair = pairer.pop()
            if pair is not None:
                return self._frameset(*pair)
            closed = [q.getName() or 'queue' for q in queues if q.isClosed()]
            if closed:
                if self._stopping:
                    return None
                raise self._lost('output queue closed (%s)' % ', '.join(closed))
            if not h.pipeline.isRunning():
                if self._stopping:
                    return None
                raise self._lost('pipeline stopped')
            if h.device is not None and h.device.isClosed():
                raise self._lost('device closed')
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            try:
                dai.MessageQueue.waitAny(queues, datetime.timedelta(seconds=min(remaining,
                                                                                0.5)))
            except (dai.MessageQueue.QueueException, RuntimeError) as exc:
                if self._stopping:
                    return None
                raise self._lost('queue error: %s' % exc) from exc

    def _frameset(self, cmsg: Any, dmsg: Optional[Any]) -> FrameSet:
        color = color_to_rgb(cmsg)
        depth = depth_to_mm(dmsg) if dmsg is not None else None
        aligned = depth
        if depth is not None and depth.shape != color.shape[:2]:
            aligned = None
            if not self._warned_shape:
                self._warned_shape = True
                _log.warning('oakd: depth %s does not match colour %s: not publishing it '
                             'as aligned', depth.shape, color.shape[:2])
        # mid-exposure time on the host steady clock, mapped to the system clock
        steady = _td_ns(cmsg.getTimestamp(dai.CameraExposureOffset.MIDDLE))
        self._frames += 1
        return FrameSet(color=color, depth=depth, aligned_depth=aligned,
                        stamp_ns=steady + steady_to_system_offset_ns(),
                        sequence=int(cmsg.getSequenceNum()),
                        timestamp_domain=TIMESTAMP_DOMAIN)

    @staticmethod
    def _shutdown(h: GraphHandles) -> None:
        """Stop the pipeline, join its threads (bounded) and close the device."""
        try:
            h.pipeline.stop()
        except Exception as exc:  # noqa: BLE001 - a lost device may fail to stop
            _log.debug('oakd: pipeline.stop: %s', exc)
        waiter = threading.Thread(target=_quiet_wait, args=(h.pipeline,), daemon=True,
                                  name='oakd-pipeline-wait')
        waiter.start()
        waiter.join(5.0)
        if h.device is not None:
            try:
                h.device.close()
            except Exception as exc:  # noqa: BLE001
                _log.debug('oakd: device.close: %s', exc)

    def _close(self) -> None:
        self._stopping = True
        h, self._h = self._h, None
        self._pairer = None   # a concurrent read keeps its own reference
        if h is not None:
            self._shutdown(h)

    # -- properties and commands -----------------------------------------------------------
    def _intrinsics(self, calib: Any, socket: Any, width: int,
                    height: int) -> Tuple[Intrinsics, Dict[str, Any]]:
        """Intrinsics of one socket for width x height output (CROP resize semantics)."""
        k = calib.getCameraIntrinsics(socket, width, height)  # keepAspectRatio=True: crop
        model, coeffs, note = ros_distortion(calib.getDistortionModel(socket),
                                             calib.getDistortionCoefficients(socket))
        intr = Intrinsics(width, height, float(k[0][0]), float(k[1][1]), float(k[0][2]),
                          float(k[1][2]), model, coeffs)
        return intr, ({'distortion_note': note} if note else {})

    def _make_properties(self, h: GraphHandles) -> CameraProperties:
        extra: Dict[str, Any] = {'sync_mode': self.sync_mode,
                                 'depth_preset': self.depth_preset if self.enable_depth
                                 else None,
                                 'link_origin': 'colour camera (CAM_A) optical centre'}
        source = 'device'
        color = None
        if h.calibration is not None:
            try:
                color, notes = self._intrinsics(h.calibration, COLOR_SOCKET, self.width,
                                                self.height)
                extra.update(notes)
            except RuntimeError as exc:
                extra['calibration_error'] = str(exc)
            try:
                extra['stereo_baseline_m'] = float(h.calibration.getBaselineDistance(
                    RIGHT_SOCKET, LEFT_SOCKET, unit=dai.LengthUnit.METER))
            except RuntimeError:
                pass
        if color is None:
            color = default_intrinsics(self.width, self.height, DEFAULT_HFOV_DEG)
            source = 'default'
        eeprom = _eeprom_facts(h.calibration)
        model = (h.info.get('product_name') or eeprom.get('product_name')
                 or h.info.get('device_name') or eeprom.get('board_name') or 'OAK')
        has_depth = self.enable_depth and h.depth_queue is not None
        return CameraProperties(
            color=color,
            depth=dataclasses.replace(color, distortion=list(color.distortion))
            if has_depth else None,
            depth_to_color=Extrinsics() if has_depth else None,
            color_to_link=(0.0, 0.0, 0.0),
            fps=self.fps,
            intrinsics_source=source,
            model=str(model),
            serial=str(h.info.get('device_id', '')),
            extra=extra)

    def properties(self) -> CameraProperties:
        """Intrinsics (colour = aligned depth), model and serial; valid after open()."""
        props = self._props
        if props is None:
            raise DriverError('driver oakd is not open')
        return props

    def commands(self) -> Dict[str, Tuple[str, Callable[[Mapping[str, Any]],
                                                        Dict[str, Any]]]]:
        """Driver commands for DoCommand: ``device_info`` and ``get_calibration``."""
        return {
            'device_info': ('device id, name, model, USB speed, IR drivers, EEPROM board '
                            'info and frame counters', self._cmd_device_info),
            'get_calibration': ("intrinsics of every calibrated socket; optional 'width', "
                                "'height' rescale them (default: calibrated size)",
                                self._cmd_get_calibration),
        }

    def _cmd_device_info(self, args: Mapping[str, Any]) -> Dict[str, Any]:
        with self._lock:
            h, pairer = self._h, self._pairer
            if h is None:
                return {'open': False, 'device_id': self.device_id}
            out: Dict[str, Any] = {'open': True}
            out.update(h.info)
            out['ir_drivers'] = [list(d) if isinstance(d, tuple) else str(d)
                                 for d in self._ir_drivers]
            out['eeprom'] = _eeprom_facts(h.calibration)
            out['color_profile'] = '%dx%dx%g' % (self.width, self.height, self.fps)
            out['frames'] = self._frames
            if pairer is not None:
                out['dropped_color'] = pairer.dropped_color
                out['dropped_depth'] = pairer.dropped_depth
            return out

    def _cmd_get_calibration(self, args: Mapping[str, Any]) -> Dict[str, Any]:
        with self._lock:
            h = self._h
            calib = h.calibration if h is not None else None
        if calib is None:
            return {'error': 'no calibration (driver not open or device has none)'}
        width = int(args.get('width', 0) or 0)
        height = int(args.get('height', 0) or 0)
        sockets: Dict[str, Any] = {}
        for socket, cam in sorted(calib.getEepromData().cameraData.items(),
                                  key=lambda kv: int(kv[0])):
            w, h_ = (width, height) if width > 0 and height > 0 else (cam.width, cam.height)
            try:
                intr, notes = self._intrinsics(calib, socket, w, h_)
            except RuntimeError as exc:
                sockets[socket.name] = {'error': str(exc)}
                continue
            entry = dict(vars(intr))
            entry['distortion'] = list(intr.distortion)
            entry['calibrated_size'] = [cam.width, cam.height]
            entry.update(notes)
            sockets[socket.name] = entry
        return {'sockets': sockets, 'eeprom': _eeprom_facts(calib)}


def _quiet_wait(pipeline: Any) -> None:
    try:
        pipeline.wait()
    except Exception as exc:  # noqa: BLE001
        _log.debug('oakd: pipeline.wait: %s', exc)


def _eeprom_facts(calib: Optional[Any]) -> Dict[str, Any]:
    """Board facts from the calibration EEPROM, empty when unavailable."""
    if calib is None:
        return {}
    try:
        e = calib.getEepromData()
    except RuntimeError:
        return {}
    return {'board_name': e.boardName, 'board_rev': e.boardRev,
            'product_name': e.productName, 'device_name': e.deviceName,
            'batch_name': e.batchName, 'eeprom_version': int(e.version),
            'calibrated_sockets': sorted(s.name for s in e.cameraData.keys())}
