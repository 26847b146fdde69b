"""depthai frames, calibration and timestamps to the core's types."""

from __future__ import annotations

import dataclasses
import time
from typing import Any, Dict, List, Optional, Sequence, Tuple

import depthai as dai
import numpy as np

from .graph import COLOR_SOCKET, GraphHandles, LEFT_SOCKET, RIGHT_SOCKET, STEREO_INPUT_SIZE
from .pairing import td_ns
from ...core.errors import DriverError
from ...core.types import (CameraProperties, default_intrinsics, Extrinsics, FrameMetadata,
                           ImuInfo, ImuSample, Intrinsics)

#: horizontal field of view assumed when the device has no colour calibration
DEFAULT_HFOV_DEG = 69.0


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


def mono_to_array(msg: Any) -> np.ndarray:
    """Return a mono ``ImgFrame`` (GRAY8/RAW8, or anything the SDK converts) as HxW uint8."""
    if msg.getType() in (dai.ImgFrame.Type.GRAY8, dai.ImgFrame.Type.RAW8):
        return np.array(msg.getFrame(), dtype=np.uint8, copy=True).reshape(
            msg.getHeight(), msg.getWidth())
    frame = msg.getCvFrame()
    if frame.ndim == 3:
        frame = frame.mean(axis=2)
    return np.ascontiguousarray(frame, dtype=np.uint8)


def frame_metadata(msg: Any, emitter_on: Optional[bool] = None) -> FrameMetadata:
    """Return what an ``ImgFrame`` says about itself: sequence, exposure, ISO."""
    md = FrameMetadata(frame_counter=int(msg.getSequenceNum()), emitter_on=emitter_on)
    try:
        md.exposure_us = td_ns(msg.getExposureTime()) / 1000.0
        md.gain = float(msg.getSensitivity())
    except (AttributeError, RuntimeError):
        pass
    return md


class ImuReader:
    """Turns ``IMUData`` messages into IMU samples, and counts the reports missing.

    Each packet holds the newest accelerometer and gyroscope report; a report already
    returned (not newer than the last of its kind) is skipped, and a jump in a kind's
    report sequence numbers counts the reports lost on the way in :attr:`gaps`.
    """

    def __init__(self) -> None:
        self._last: Dict[str, int] = {}
        self._sequence: Dict[str, int] = {}
        self.gaps = 0

    def samples(self, data: Any) -> List[ImuSample]:
        """Return the new samples of one message, oldest first, on the system clock."""
        offset = steady_to_system_offset_ns()
        out = []
        for packet in data.packets:
            for kind, report in (('accel', packet.acceleroMeter),
                                 ('gyro', packet.gyroscope)):
                steady = td_ns(report.getTimestamp())
                if steady == 0 or steady <= self._last.get(kind, -1):
                    continue        # not enabled, or already returned
                self._last[kind] = steady
                seq = int(report.sequence)
                previous = self._sequence.get(kind)
                if previous is not None and seq > previous + 1:
                    self.gaps += seq - previous - 1
                self._sequence[kind] = seq
                out.append(ImuSample(kind, steady + offset, float(report.x),
                                     float(report.y), float(report.z)))
        return out


def steady_to_system_offset_ns() -> int:
    """Return ``system - steady`` in ns, steady being depthai's ``dai.Clock`` (host steady).

    Frame timestamps from ``ImgFrame.getTimestamp()`` are on that steady clock (the device
    clock is synchronised to it by the SDK); adding this offset gives system time.
    """
    t0 = time.time_ns()
    steady = td_ns(dai.Clock.now())
    t1 = time.time_ns()
    return (t0 + t1) // 2 - steady


def stamp_ns(msg: Any) -> int:
    """Return the mid-exposure time of a colour frame on the system clock, in ns."""
    steady = td_ns(msg.getTimestamp(dai.CameraExposureOffset.MIDDLE))
    return steady + steady_to_system_offset_ns()


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


def socket_intrinsics(calib: Any, socket: Any, width: int,
                      height: int) -> Tuple[Intrinsics, Dict[str, Any]]:
    """Intrinsics of one socket for width x height output (CROP resize semantics).

    :returns: the intrinsics, and ``{'distortion_note': ...}`` when coefficients were
        dropped (else {}).
    """
    k = calib.getCameraIntrinsics(socket, width, height)  # keepAspectRatio=True: crop
    model, coeffs, note = ros_distortion(calib.getDistortionModel(socket),
                                         calib.getDistortionCoefficients(socket))
    intr = Intrinsics(width, height, float(k[0][0]), float(k[1][1]), float(k[0][2]),
                      float(k[1][2]), model, coeffs)
    return intr, ({'distortion_note': note} if note else {})


def eeprom_facts(calib: Optional[Any]) -> Dict[str, Any]:
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


def _matrix_m(m: Any) -> Tuple[np.ndarray, np.ndarray]:
    """Return (rotation, translation in metres) of a depthai 4x4 matrix in centimetres."""
    a = np.asarray(m, dtype=np.float64)
    return a[:3, :3], a[:3, 3] / 100.0


def stereo_geometry(calib: Any, notes: Dict[str, Any]) -> Tuple[
        Optional[Intrinsics], Dict[str, Extrinsics]]:
    """Return the rectified mono pair's intrinsics and colour -> left/right extrinsics.

    Rectified images share one camera matrix: the right camera's at the stereo input size
    (what StereoDepth rectifies to), no distortion. Each rectified imager is its camera
    turned by its rectification rotation: ``p_rect = R_rect (R p_color + t)``.
    """
    out: Dict[str, Extrinsics] = {}
    try:
        intr, _ = socket_intrinsics(calib, RIGHT_SOCKET, *STEREO_INPUT_SIZE)
        intr = dataclasses.replace(intr, distortion_model='plumb_bob', distortion=[0.0] * 5)
        for key, socket, rect in (
                ('infra1', LEFT_SOCKET, calib.getStereoLeftRectificationRotation),
                ('infra2', RIGHT_SOCKET, calib.getStereoRightRectificationRotation)):
            r, t = _matrix_m(calib.getCameraExtrinsics(COLOR_SOCKET, socket))
            try:
                r_rect = np.asarray(rect(), dtype=np.float64)
            except RuntimeError as exc:
                notes['rectification'] = 'not in the calibration (%s): identity assumed' \
                    % exc
                r_rect = np.eye(3)
            out[key] = Extrinsics(r_rect @ r, r_rect @ t)
    except RuntimeError as exc:
        notes['stereo_calibration_error'] = str(exc)
        return None, {}
    return intr, out


def imu_extrinsics(calib: Any, notes: Dict[str, Any]) -> Extrinsics:
    """Return colour optical -> IMU extrinsics (the inverse of the EEPROM's IMU -> colour)."""
    try:
        r, t = _matrix_m(calib.getImuToCameraExtrinsics(COLOR_SOCKET, True))
        if not np.allclose(r @ r.T, np.eye(3), atol=1e-3):
            raise RuntimeError('no IMU extrinsics in the EEPROM')
    except RuntimeError as exc:
        notes['imu_extrinsics'] = 'not in the calibration (%s): identity assumed' % exc
        return Extrinsics()
    notes['imu_extrinsics'] = 'calibration'
    return Extrinsics(r.T, -r.T @ t)


def make_properties(h: GraphHandles, width: int, height: int, fps: float,
                    with_depth: bool, infra: Tuple[bool, bool] = (False, False),
                    imu: Optional[Dict[str, int]] = None
                    ) -> Tuple[CameraProperties, Dict[str, Any]]:
    """Return the camera properties of an opened graph, and notes on its calibration.

    Depth is aligned to colour on the device: the depth imager has the colour intrinsics
    and identity extrinsics. Without a usable colour calibration the intrinsics are the
    default guess (``intrinsics_source='default'``) and the notes say why. The rectified
    mono pair and the IMU are placed from the calibration (:func:`stereo_geometry`,
    :func:`imu_extrinsics`).
    """
    notes: Dict[str, Any] = {}
    source = 'device'
    color = None
    if h.calibration is not None:
        try:
            color, dropped = socket_intrinsics(h.calibration, COLOR_SOCKET, width, height)
            notes.update(dropped)
        except RuntimeError as exc:
            notes['calibration_error'] = str(exc)
        try:
            notes['stereo_baseline_m'] = float(h.calibration.getBaselineDistance(
                RIGHT_SOCKET, LEFT_SOCKET, unit=dai.LengthUnit.METER))
        except RuntimeError:
            pass
    if color is None:
        color = default_intrinsics(width, height, DEFAULT_HFOV_DEG)
        source = 'default'
    eeprom = eeprom_facts(h.calibration)
    model = (h.info.get('product_name') or eeprom.get('product_name')
             or h.info.get('device_name') or eeprom.get('board_name') or 'OAK')
    mono, extrinsics = None, {}
    if any(infra):
        if h.calibration is None:
            raise DriverError('enable_infra1/2: the device has no stereo calibration')
        mono, extrinsics = stereo_geometry(h.calibration, notes)
        if mono is None:
            raise DriverError('enable_infra1/2: %s' % notes['stereo_calibration_error'])
    if imu:
        extrinsics['imu'] = imu_extrinsics(h.calibration, notes) \
            if h.calibration is not None else Extrinsics()
    props = CameraProperties(
        color=color,
        depth=dataclasses.replace(color, distortion=list(color.distortion))
        if with_depth else None,
        depth_to_color=Extrinsics() if with_depth else None,
        fps=fps,
        intrinsics_source=source,
        model=str(model),
        serial=str(h.info.get('device_id', '')),
        infra1=mono if infra[0] else None, infra2=mono if infra[1] else None,
        sensor_extrinsics=extrinsics,
        imu=ImuInfo(float(imu.get('gyro', 0)), float(imu.get('accel', 0)), 'OAK IMU')
        if imu else None)
    return props, notes
