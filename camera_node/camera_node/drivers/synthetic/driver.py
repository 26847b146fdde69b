"""The synthetic camera: the scene of :mod:`.scene` seen by colour, depth and IR imagers.

The depth imager (= the left infrared imager, as on a RealSense) sits 15 mm to the left of
the colour imager, at the ``<name>_link`` origin; the right infrared imager is
``ir_baseline`` to its right; the IMU is at :data:`.trajectory.IMU_IN_COLOR`. By default
the camera is at rest and the static surfaces are rendered once (:class:`.scene.View`);
with ``motion`` each frame recasts only the sphere (:mod:`.sphere`) into recycled images
(:mod:`.pool`). A
camera at rest renders a frame just before it is due and hands it over at its stamp.
With ``trajectory`` it moves (:class:`.trajectory.Trajectory`) and every frame is rendered
from its pose at the frame's time. IMU samples come from a thread of the driver at their
own rates, stamped on the same time line as the frames: both are ``t`` seconds after
open, on the system clock.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from typing import Any, Dict, List, Mapping, Optional, Tuple

import numpy as np

from . import scene
from .noise import add_noise
from .params import PARAMETERS
from .pool import ImagePool
from .sphere import MovingSphere
from .trajectory import at_rest, IMU_IN_COLOR, State, Trajectory
from ...core.errors import InvalidOptionError
from ...core.filterparams import FilterSettings
from ...core.types import (CameraProperties, default_intrinsics, Extrinsics, FrameMetadata,
                           FrameSet, ImuInfo, ImuSample, Intrinsics)
from ..base import Driver

#: depth optical origin in the colour optical frame (depth is 15 mm to the left)
DEPTH_ORIGIN = np.array([-0.015, 0.0, 0.0])
#: what the synthetic sensors report in their metadata
COLOR_EXPOSURE_US, IR_EXPOSURE_US, IR_GAIN = 10000.0, 8500.0, 16.0


class SyntheticDriver(Driver):
    """A deterministic RGB-D (+ IR pair + IMU) camera that needs no hardware (the default)."""

    name = 'synthetic'
    parameters = PARAMETERS

    def __init__(self, options: Any = None) -> None:
        super().__init__(options)
        self._fps = float(self.options['fps'])
        self._motion = bool(self.options['motion'])
        self._stop = threading.Event()
        self._seq = 0
        self._next = 0.0
        self._props: Optional[CameraProperties] = None
        self._trajectory: Optional[Trajectory] = None
        self._imu_thread: Optional[threading.Thread] = None
        self._mono0 = 0.0
        self._epoch0 = 0
        self._last_t = 0.0
        self._lead = 0.0          # render this long before a frame is due (s)
        self._render_s = 0.0      # recent render time (s, moving average)

    # -- Driver hooks -------------------------------------------------------------------
    def _open(self) -> None:
        o = self.options
        intr = default_intrinsics(int(o['width']), int(o['height']), float(o['hfov_deg']))
        baseline = float(o['ir_baseline'])
        self._intr = intr
        self._ir2_origin = DEPTH_ORIGIN + np.array([baseline, 0.0, 0.0])
        self._infra = (bool(o['enable_infra1']), bool(o['enable_infra2']))
        self._trajectory = Trajectory(float(o['trajectory_period'])) if o['trajectory'] \
            else None
        self._color_view = scene.View(intr, np.zeros(3))
        self._depth_view = scene.View(intr, DEPTH_ORIGIN)
        self._ir2_view = scene.View(intr, self._ir2_origin) \
            if self._infra[1] and self._trajectory is None else None
        self._projector = scene.Projector(DEPTH_ORIGIN + np.array([baseline / 2, 0.0, 0.0]),
                                          intr.width, intr.height) \
            if any(self._infra) else None
        self._props = self._make_properties(intr, baseline)
        self._moving: Optional[Tuple[MovingSphere, MovingSphere]] = None
        self._pool = ImagePool([((intr.height, intr.width, 3), np.uint8),
                                ((intr.height, intr.width), np.uint16),
                                ((intr.height, intr.width), np.uint16)])
        self._static: Dict[bool, FrameSet] = {}
        self._stop.clear()
        self._seq = 0
        self._mono0 = time.monotonic()
        self._epoch0 = time.time_ns()
        self._next = self._mono0
        self._last_t = 0.0
        self._lead = self._render_s = 0.0
        if self._props.imu is not None:
            self._imu_thread = threading.Thread(target=self._imu_loop, name='synthetic_imu',
                                                daemon=True)
            self._imu_thread.start()

    def _make_properties(self, intr: Intrinsics, baseline: float) -> CameraProperties:
        o = self.options
        rates = (float(o['gyro_fps']) if o['enable_gyro'] else 0.0,
                 float(o['accel_fps']) if o['enable_accel'] else 0.0)
        extrinsics = {'infra1': Extrinsics(),
                      'infra2': Extrinsics(np.eye(3), np.array([-baseline, 0.0, 0.0])),
                      'imu': Extrinsics(np.eye(3), DEPTH_ORIGIN - IMU_IN_COLOR)}
        return CameraProperties(
            color=intr, depth=intr,
            depth_to_color=Extrinsics(np.eye(3), DEPTH_ORIGIN.copy()),
            fps=self._fps, intrinsics_source='synthetic', model='camera_node synthetic',
            serial='synthetic-0',
            infra1=intr if self._infra[0] else None, infra2=intr if self._infra[1] else None,
            sensor_extrinsics=extrinsics,
            imu=ImuInfo(rates[0], rates[1], 'synthetic') if any(rates) else None)

    def _emitter_on(self, seq: int) -> bool:
        if self.options['emitter_on_off']:
            return seq % 2 == 0
        return int(self.options['emitter_enabled']) == 1

    def _metadata(self, seq: int, emitter: bool) -> Dict[str, FrameMetadata]:
        ir = FrameMetadata(frame_counter=seq, exposure_us=IR_EXPOSURE_US, gain=IR_GAIN,
                           emitter_on=emitter)
        out = {'color': FrameMetadata(frame_counter=seq, exposure_us=COLOR_EXPOSURE_US,
                                      gain=1.0), 'depth': ir}
        for i, name in enumerate(('infra1', 'infra2')):
            if self._infra[i]:
                out[name] = ir
        return out

    def _render(self, seq: int, t: float = 0.0) -> FrameSet:
        """Render frame seq at t seconds after open (the pose of the trajectory at t)."""
        emitter = self._emitter_on(seq)
        if self._trajectory is not None:
            fs = self._render_moving(seq, self._trajectory.state(t), emitter)
        elif not self._motion and emitter in self._static:
            fs = self._static[emitter]
        else:
            fs = self._render_static(seq, emitter)
        return dataclasses.replace(fs, metadata=self._metadata(seq, emitter))

    def _render_static(self, seq: int, emitter: bool) -> FrameSet:
        center = scene.sphere_center(seq, self._fps, self._motion)
        if self._motion:     # per frame: the float32 sphere into recycled images
            out = self._pool.take()
            rgb, aligned, depth = out.arrays
            before = out.drawn or (None, None)
            if self._moving is None:
                self._moving = (MovingSphere(self._color_view), MovingSphere(self._depth_view))
            out.drawn = (self._moving[0].render(center, rgb, aligned, before[0]),
                         self._moving[1].render(center, None, depth, before[1]))
            rgb, aligned, depth = out.views()
        else:                # a scene at rest is cast once, in float64
            i = self._intr
            rgb = np.empty((i.height, i.width, 3), dtype=np.uint8)
            aligned = np.empty((i.height, i.width), dtype=np.uint16)
            depth = np.empty((i.height, i.width), dtype=np.uint16)
            self._color_view.render(center, rgb, aligned)
            self._depth_view.render(center, None, depth)
        ir = [None, None]
        for k, view in enumerate((self._depth_view, self._ir2_view)):
            if self._infra[k]:
                sid, pts = view.surfaces(center)
                dots = self._projector.light(pts, np.eye(3), np.zeros(3)) if emitter else None
                ir[k] = scene.shade_ir(sid, pts, center, dots)
        fs = _frozen(FrameSet(color=rgb, depth=depth, aligned_depth=aligned,
                              infra1=ir[0], infra2=ir[1]))
        if not self._motion:
            self._static[emitter] = fs
        return fs

    def _render_moving(self, seq: int, state: State, emitter: bool) -> FrameSet:
        center = scene.sphere_center(seq, self._fps, self._motion)
        r, origin = state.color_pose()
        t, sid, pts = scene.render_posed(self._intr, r, origin, center)
        rgb, aligned = scene.shade_color(sid, pts, center), scene.depth_mm(t, sid)
        t, sid, pts = scene.render_posed(self._intr, r, origin + r @ DEPTH_ORIGIN, center)
        depth = scene.depth_mm(t, sid)
        ir = [None, None]
        surfaces = [(sid, pts), None]
        if self._infra[1]:
            _, sid2, pts2 = scene.render_posed(self._intr, r, origin + r @ self._ir2_origin,
                                               center)
            surfaces[1] = (sid2, pts2)
        for k in (0, 1):
            if self._infra[k]:
                s, p = surfaces[k]
                dots = self._projector.light(p, r, origin) if emitter else None
                ir[k] = scene.shade_ir(s, p, center, dots)
        return _frozen(FrameSet(color=rgb, depth=depth, aligned_depth=aligned,
                                infra1=ir[0], infra2=ir[1]))

    def _read(self, timeout: float) -> Optional[FrameSet]:
        # A camera at rest (whose frames depend on the frame number only) renders a frame
        # just before it is due and hands it over at its stamp, like a camera whose readout
        # takes no time: the render is not part of the latency the node adds. A camera on
        # a trajectory renders the pose at the stamp once the stamp has come.
        lead = self._lead if self._trajectory is None else 0.0
        now = time.monotonic()
        due = self._next
        if due - lead - now > timeout:
            self._stop.wait(timeout)
            return None
        if due - lead > now and self._stop.wait(due - lead - now):
            return None
        # keep a fixed schedule; when a frame is late by more than a period, restart the
        # schedule from now instead of bursting to catch up (a camera never does that)
        period = 1.0 / self._fps
        now = time.monotonic()
        if now - due > period:
            due = now
        self._next = due + period
        seq = self._seq
        self._seq += 1
        t = due - self._mono0
        self._last_t = t
        started = time.monotonic()
        base = self._render(seq, t)
        fs = add_noise(FrameSet(color=base.color, depth=base.depth,
                                aligned_depth=base.aligned_depth, stamp_ns=self._stamp_ns(t),
                                infra1=base.infra1, infra2=base.infra2, metadata=base.metadata),
                       seq, self.options, self._props, align=not self._filters_realign())
        # lead: twice the recent render time plus 1 ms, at most half a period
        self._render_s = 0.8 * self._render_s + 0.2 * (time.monotonic() - started)
        self._lead = min(0.5 * period, 2.0 * self._render_s + 0.001)
        wait = due - time.monotonic()
        if wait > 0 and self._stop.wait(wait):
            return None
        return fs

    def _filters_realign(self) -> bool:
        """Whether the core depth filters will make the aligned depth from filtered depth."""
        return self._depth_filter is not None \
            and FilterSettings.from_options(self.options).active

    def _close(self) -> None:
        self._stop.set()
        thread, self._imu_thread = self._imu_thread, None
        if thread is not None and thread is not threading.current_thread():
            thread.join(5.0)

    # -- time line and IMU --------------------------------------------------------------
    def _stamp_ns(self, t: float) -> int:
        return self._epoch0 + int(round(t * 1e9))

    def truth(self, t: float) -> State:
        """Return the exact state of the IMU body t seconds after open."""
        return self._trajectory.state(t) if self._trajectory is not None else at_rest(t)

    def imu_streams(self) -> List[Tuple[str, float]]:
        """Return the (kind, rate in Hz) of each enabled IMU stream."""
        o = self.options
        return [(kind, float(o[kind + '_fps'])) for kind in ('gyro', 'accel')
                if o['enable_' + kind]]

    def imu_sample(self, kind: str, k: int, rng: Optional[np.random.Generator] = None
                   ) -> ImuSample:
        """Return the k-th sample of an IMU stream.

        It is the exact reading at k / rate seconds after open, plus the bias, plus noise
        drawn from rng (none without rng).
        """
        o = self.options
        rate = float(o[kind + '_fps'])
        t = k / rate
        state = self.truth(t)
        value = state.omega_body if kind == 'gyro' else state.specific_force_body()
        value = value + np.asarray(o[kind + '_bias'], dtype=np.float64)
        density = float(o[kind + '_noise_density'])
        if density > 0 and rng is not None:
            value = value + rng.normal(0.0, density * rate ** 0.5, 3)
        return ImuSample(kind, self._stamp_ns(t), float(value[0]), float(value[1]),
                         float(value[2]))

    def _imu_loop(self) -> None:
        """Emit every sample of every IMU stream at its time (late ones at once, none lost)."""
        streams = self.imu_streams()
        rngs = [np.random.default_rng([int(self.options['imu_seed']), i])
                for i in range(len(streams))]
        counts = [0] * len(streams)
        while not self._stop.is_set():
            i = min(range(len(streams)), key=lambda j: counts[j] / streams[j][1])
            kind, rate = streams[i]
            delay = self._mono0 + counts[i] / rate - time.monotonic()
            if delay > 0 and self._stop.wait(delay):
                return
            self.emit_imu(self.imu_sample(kind, counts[i], rngs[i]))
            counts[i] += 1

    # -- options, properties, commands -------------------------------------------------
    def properties(self) -> CameraProperties:
        """Intrinsics and extrinsics of the synthetic sensors."""
        if self._props is None:
            raise InvalidOptionError('synthetic driver is not open')
        self._props.fps = self._fps
        return self._props

    def set_option(self, name: str, value: Any) -> None:
        """Change fps, motion or the emitter while streaming."""
        if name == 'fps':
            self._fps = float(value)
            self._next = time.monotonic()
        elif name == 'motion':
            self._motion = bool(value)
            self._static = {}

    def commands(self):
        """Driver-specific DoCommand commands: scene, ground_truth."""
        def describe(_args: Mapping[str, Any]) -> Dict[str, Any]:
            return {
                'wall_z_m': scene.WALL_Z, 'floor_y_m': scene.FLOOR_Y,
                'box_min_m': scene.BOX_MIN.tolist(), 'box_max_m': scene.BOX_MAX.tolist(),
                'sphere_center_m': scene.sphere_center(self._seq, self._fps,
                                                       self._motion).tolist(),
                'sphere_radius_m': scene.SPHERE_RADIUS, 'window_m': list(scene.WINDOW),
                'frame': 'scene frame: the colour optical frame at rest',
            }
        return {'scene': ('Describe the synthetic scene (metres, scene frame).', describe),
                'ground_truth': ('The true pose, velocity and IMU readings at a time: '
                                 '{"stamp_ns": N} or {"t": seconds after open}; default '
                                 'the newest frame.', self._cmd_ground_truth)}

    def _cmd_ground_truth(self, args: Mapping[str, Any]) -> Dict[str, Any]:
        if 'stamp_ns' in args:
            t = (int(args['stamp_ns']) - self._epoch0) / 1e9
        else:
            t = float(args.get('t', self._last_t))
        s = self.truth(t)
        r, origin = s.color_pose()
        color = State(t, origin, r, s.velocity, s.acceleration, s.omega_body)
        return {
            't': t, 'stamp_ns': self._stamp_ns(t), 'moving': self._trajectory is not None,
            'frame': 'scene frame (the colour optical frame at rest): x right, y down, '
                     'z forward; gravity along +y',
            'gravity_mps2': [0.0, 9.80665, 0.0],
            'imu': {'position_m': s.position.tolist(), 'quaternion_xyzw': list(s.quaternion()),
                    'velocity_mps': s.velocity.tolist(),
                    'angular_velocity_body_radps': s.omega_body.tolist(),
                    'specific_force_body_mps2': s.specific_force_body().tolist()},
            'color_optical': {'position_m': origin.tolist(),
                              'quaternion_xyzw': list(color.quaternion())},
        }


def _frozen(fs: FrameSet) -> FrameSet:
    for a in fs.held():
        a.flags.writeable = False
    return fs
