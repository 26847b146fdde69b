"""The device seam of the OAK driver: finding the device and building its pipeline graph.

:func:`build_device_graph` is the only part of the driver that needs hardware (depthai's
camera and stereo nodes cannot run host-only). It returns a :class:`GraphHandles`; tests
pass the driver another :data:`GraphBuilder` that returns a host-only pipeline sending
real ``ImgFrame`` messages. Everything downstream of the handles is production code.
"""

from __future__ import annotations

from dataclasses import dataclass, field
import logging
import re
import threading
from typing import Any, Callable, Dict, Optional, Tuple

import depthai as dai

from ...core.errors import DeviceNotFoundError

_log = logging.getLogger(__name__)

#: colour imager socket; depth is aligned to it on the device
COLOR_SOCKET = dai.CameraBoardSocket.CAM_A
#: stereo pair sockets (left, right) of OAK-D models
LEFT_SOCKET = dai.CameraBoardSocket.CAM_B
RIGHT_SOCKET = dai.CameraBoardSocket.CAM_C
#: size of the device output queues: small, non-blocking (old frames are dropped)
QUEUE_SIZE = 4
#: stereo input size of the mono cameras (the OV9282 sensors are 1280x800)
STEREO_INPUT_SIZE = (640, 400)
#: IMU output queue: batches of samples; large enough for a second of 400 Hz samples
IMU_QUEUE_SIZE = 50


@dataclass
class GraphRequest:
    """What the driver asks the graph builder for."""

    device_id: str
    width: int
    height: int
    fps: float
    enable_depth: bool = True
    depth_preset: str = 'DEFAULT'
    #: rectified left (infra1) and right (infra2) mono images
    infra: Tuple[bool, bool] = (False, False)
    #: IMU streams and rates in Hz: {'gyro': 400, 'accel': 200}; empty: no IMU
    imu: Dict[str, int] = field(default_factory=dict)


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
    :param left_queue: output queue of the rectified left mono ``ImgFrame`` (GRAY8/RAW8),
        or None; ``right_queue`` the same for the right one.
    :param imu_queue: output queue of ``IMUData`` (accelerometer and gyroscope packets),
        or None.
    """

    pipeline: Any
    color_queue: Any
    depth_queue: Optional[Any] = None
    calibration: Optional[Any] = None
    control_queue: Optional[Any] = None
    device: Optional[Any] = None
    info: Dict[str, Any] = field(default_factory=dict)
    left_queue: Optional[Any] = None
    right_queue: Optional[Any] = None
    imu_queue: Optional[Any] = None


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


def _device_facts(device: Any, info: Any) -> Dict[str, Any]:
    """Best-effort facts about an open device for ``device_info``."""
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
    return facts


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
        depth_queue = left_queue = right_queue = imu_queue = None
        if req.enable_depth or any(req.infra):
            preset = getattr(dai.node.StereoDepth.PresetMode, req.depth_preset)
            stereo = pipeline.create(dai.node.StereoDepth).build(
                True, preset, STEREO_INPUT_SIZE, req.fps)
            stereo.setLeftRightCheck(True)  # required for alignment
            stereo.setDepthAlign(COLOR_SOCKET)
            stereo.setOutputSize(req.width, req.height)
            if req.enable_depth:
                depth_queue = stereo.depth.createOutputQueue(maxSize=QUEUE_SIZE,
                                                             blocking=False)
            if req.infra[0]:
                left_queue = stereo.rectifiedLeft.createOutputQueue(maxSize=QUEUE_SIZE,
                                                                    blocking=False)
            if req.infra[1]:
                right_queue = stereo.rectifiedRight.createOutputQueue(maxSize=QUEUE_SIZE,
                                                                      blocking=False)
        if req.imu:
            imu = pipeline.create(dai.node.IMU)
            for kind, sensor in (('accel', dai.IMUSensor.ACCELEROMETER_RAW),
                                 ('gyro', dai.IMUSensor.GYROSCOPE_RAW)):
                if kind in req.imu:
                    imu.enableIMUSensor(sensor, int(req.imu[kind]))
            imu.setBatchReportThreshold(1)
            imu.setMaxBatchReports(10)
            imu_queue = imu.out.createOutputQueue(maxSize=IMU_QUEUE_SIZE, blocking=False)
        try:
            calibration = device.readCalibration()
        except RuntimeError:
            calibration = None
        return GraphHandles(pipeline, color_queue, depth_queue, calibration, control_queue,
                            device, _device_facts(device, info), left_queue, right_queue,
                            imu_queue)
    except Exception:
        device.close()
        raise


def shutdown(h: GraphHandles) -> None:
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


def _quiet_wait(pipeline: Any) -> None:
    try:
        pipeline.wait()
    except Exception as exc:  # noqa: BLE001
        _log.debug('oakd: pipeline.wait: %s', exc)
