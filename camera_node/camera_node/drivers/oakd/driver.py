"""The OAK driver: opens a graph, reads and pairs its queues, serves options and commands."""

from __future__ import annotations

import datetime
import logging
import threading
import time
from typing import Any, Dict, List, Mapping, Optional, Tuple

import depthai as dai

from . import options as opts
from .convert import (color_to_rgb, depth_to_mm, eeprom_facts, frame_metadata, ImuReader,
                      make_properties, mono_to_array, socket_intrinsics, stamp_ns)
from .graph import build_device_graph, GraphBuilder, GraphHandles, GraphRequest, shutdown
from .pairing import FramePairer
from .params import PARAMETERS, parse_profile
from ...core.errors import DeviceLostError, DriverError, InvalidOptionError
from ...core.types import CameraProperties, FrameSet
from ..base import CommandHandler, Driver

_log = logging.getLogger(__name__)


class OakDriver(Driver):
    """Luxonis OAK-D (and other RVC2/RVC4 stereo + colour devices) through depthai v3.

    :param options: the camera's parameters (see :data:`.params.PARAMETERS`).
    :param graph_builder: builds the device graph; defaults to
        :func:`.graph.build_device_graph`. Tests pass a host-only replacement (the
        narrowest seam without hardware).
    """

    name = 'oakd'
    parameters = PARAMETERS

    def __init__(self, options: Any = None,
                 graph_builder: Optional[GraphBuilder] = None) -> None:
        """Take the options; nothing touches the device before open()."""
        super().__init__(options)
        self.width, self.height, self.fps = parse_profile(self.options['color_profile'])
        self.device_id = str(self.options['device_id'] or '')
        self.enable_depth = bool(self.options['enable_depth'])
        self.depth_preset = str(self.options['depth_preset'])
        self.sync_mode = str(self.options['sync_mode'])
        self.infra = (bool(self.options['enable_infra1']), bool(self.options['enable_infra2']))
        self.imu = {kind: int(self.options[kind + '_fps']) for kind in ('gyro', 'accel')
                    if self.options['enable_' + kind]}
        self._imu_thread: Optional[threading.Thread] = None
        self._imu_reader = ImuReader()
        self.imu_errors = 0
        self._build = graph_builder or build_device_graph
        self._h: Optional[GraphHandles] = None
        self._props: Optional[CameraProperties] = None
        self._notes: Dict[str, Any] = {}
        self._pairer: Optional[FramePairer] = None
        self._stopping = False
        self._ir_drivers: List[Any] = []
        self._warned_shape = False
        self._frames = 0

    # -- options ----------------------------------------------------------------------------
    def check_option(self, name: str, value: Any) -> None:
        """Refuse options the open device has nothing for (IR on non-Pro models...).

        Before open every value is accepted: it is applied at open.
        """
        if name not in opts.RUNTIME:
            if any(p.name == name for p in self.parameters):
                raise InvalidOptionError('%s is read-only: it needs a restart of the driver'
                                         % name)
            raise InvalidOptionError('driver oakd has no option %r' % name)
        with self._lock:
            if self._h is not None:
                opts.check(self._h, self._ir_drivers, name)

    def set_option(self, name: str, value: Any) -> None:
        """Send a checked runtime option to the open device (before open: at open)."""
        with self._lock:
            if self._h is not None:
                opts.send(self._h, self.options, name, value)

    # -- open / read / close ----------------------------------------------------------------
    def _open(self) -> None:
        if not hasattr(dai.node.StereoDepth.PresetMode, self.depth_preset):
            raise InvalidOptionError('depth_preset %s is not in depthai %s'
                                     % (self.depth_preset, dai.__version__))
        req = GraphRequest(self.device_id, self.width, self.height, self.fps,
                           self.enable_depth, self.depth_preset, self.infra, dict(self.imu))
        h = self._build(req)
        for wanted, queue, what in ((self.enable_depth, h.depth_queue, 'depth'),
                                    (self.infra[0], h.left_queue, 'left mono'),
                                    (self.infra[1], h.right_queue, 'right mono'),
                                    (bool(self.imu), h.imu_queue, 'IMU')):
            if wanted and queue is None:
                shutdown(h)
                raise DriverError('%s asked for but the graph has no %s output'
                                  % (what, what))
        try:
            h.pipeline.start()
        except Exception as exc:
            shutdown(h)
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
                                       [s for s, q in self._others(h)])
            self._props, self._notes = make_properties(
                h, self.width, self.height, self.fps,
                self.enable_depth and h.depth_queue is not None, self.infra, self.imu)
            opts.apply_initial(h, self.options, self._ir_drivers)
            if h.imu_queue is not None:
                self._imu_thread = threading.Thread(target=self._imu_loop, args=(h,),
                                                    name='oakd_imu', daemon=True)
                self._imu_thread.start()
        except BaseException:
            self._h = None
            shutdown(h)
            raise

    def _others(self, h: GraphHandles) -> List[Tuple[str, Any]]:
        """Return (stream, queue) of every image stream matched with colour."""
        streams = (('depth', h.depth_queue, self.enable_depth),
                   ('infra1', h.left_queue, self.infra[0]),
                   ('infra2', h.right_queue, self.infra[1]))
        return [(s, q) for s, q, on in streams if on and q is not None]

    def _queues(self, h: GraphHandles) -> List[Any]:
        return [h.color_queue] + [q for _, q in self._others(h)]

    def _lost(self, why: str) -> DeviceLostError:
        ident = self._h.info.get('device_id', '') if self._h is not None else ''
        return DeviceLostError('OAK device %s lost: %s' % (ident or '(host graph)', why))

    def _drain(self, h: GraphHandles, pairer: FramePairer) -> None:
        for stream, queue in [('color', h.color_queue)] + self._others(h):
            for msg in queue.tryGetAll():
                if msg is not None:
                    pairer.add(stream, msg)

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

    def _frameset(self, cmsg: Any, others: Dict[str, Any]) -> FrameSet:
        color = color_to_rgb(cmsg)
        dmsg = others.get('depth')
        depth = depth_to_mm(dmsg) if dmsg is not None else None
        aligned = depth
        if depth is not None and depth.shape != color.shape[:2]:
            aligned = None
            if not self._warned_shape:
                self._warned_shape = True
                _log.warning('oakd: depth %s does not match colour %s: not publishing it '
                             'as aligned', depth.shape, color.shape[:2])
        self._frames += 1
        emitter = self._emitter_on()
        metadata = {'color': frame_metadata(cmsg)}
        mono = {}
        for stream, msg in others.items():
            metadata[stream] = frame_metadata(msg, emitter)
            if stream != 'depth':
                mono[stream] = mono_to_array(msg)
        return FrameSet(color=color, depth=depth, aligned_depth=aligned,
                        stamp_ns=stamp_ns(cmsg), infra1=mono.get('infra1'),
                        infra2=mono.get('infra2'), metadata=metadata)

    def _emitter_on(self) -> Optional[bool]:
        """Whether the dot projector is lit: Pro models only (others have none: None)."""
        if not self._ir_drivers:
            return None
        return float(self.options['ir_laser_intensity']) > 0.0

    def _imu_loop(self, h: GraphHandles) -> None:
        """Hand every IMU sample of the device's queue on, as it comes (own thread)."""
        reader = self._imu_reader = ImuReader()
        while not self._stopping:
            try:
                data = h.imu_queue.get(datetime.timedelta(seconds=0.2))
            except (dai.MessageQueue.QueueException, RuntimeError):
                return          # closed: the pipeline stopped (close, or the device lost)
            if data is None:
                continue
            try:
                for sample in reader.samples(data):
                    self.emit_imu(sample)
            except Exception as exc:  # a malformed packet must not end the IMU stream
                self.imu_errors += 1
                if self.imu_errors in (1, 100):
                    _log.warning('oakd: IMU packet not handled: %s', exc)

    def _close(self) -> None:
        self._stopping = True
        h, self._h = self._h, None
        self._pairer = None   # a concurrent read keeps its own reference
        if h is not None:
            shutdown(h)
        thread, self._imu_thread = self._imu_thread, None
        if thread is not None and thread is not threading.current_thread():
            thread.join(2.0)

    # -- properties and commands -----------------------------------------------------------
    def properties(self) -> CameraProperties:
        """Intrinsics (colour = aligned depth), model and serial; valid after open()."""
        props = self._props
        if props is None:
            raise DriverError('driver oakd is not open')
        return props

    def commands(self) -> Dict[str, Tuple[str, CommandHandler]]:
        """Driver commands for DoCommand: ``device_info`` and ``get_calibration``."""
        return {
            'device_info': ('device id, name, model, USB speed, IR drivers, EEPROM board '
                            'info, calibration notes, the runtime options this device '
                            'takes and frame counters', self._cmd_device_info),
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
            out['eeprom'] = eeprom_facts(h.calibration)
            out.update(self._notes)
            out['color_profile'] = '%dx%dx%g' % (self.width, self.height, self.fps)
            out['sync_mode'] = self.sync_mode
            out['depth_preset'] = self.depth_preset if self.enable_depth else None
            out['runtime_options'] = opts.supported(h, self._ir_drivers)
            out['frames'] = self._frames
            if pairer is not None:
                out.update(('dropped_%s' % s, n) for s, n in pairer.dropped.items())
            out['imu_errors'] = self.imu_errors
            out['imu_sequence_gaps'] = self._imu_reader.gaps
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
                intr, notes = socket_intrinsics(calib, socket, w, h_)
            except RuntimeError as exc:
                sockets[socket.name] = {'error': str(exc)}
                continue
            entry = dict(vars(intr))
            entry['distortion'] = list(intr.distortion)
            entry['calibrated_size'] = [cam.width, cam.height]
            entry.update(notes)
            sockets[socket.name] = entry
        return {'sockets': sockets, 'eeprom': eeprom_facts(calib)}
