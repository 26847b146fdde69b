"""One camera on a ROS node: the parts composed, and the steps the node's life calls.

:class:`RosCamera` builds, on a node it is given, the camera's parameters, driver,
session, topics, static TF, markers, calibration, services and diagnostics, and wires
them: each part gets only what it needs. The node classes in :mod:`camera_node.ros.node`
call :meth:`configure`, :meth:`activate`, :meth:`deactivate`, :meth:`cleanup` and
:meth:`shutdown` from their life cycle; nothing here depends on which node class it is.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, List, Optional

from .. import drivers
from ..core.calibration import IntrinsicsResolver
from ..core.frames import FrameNames, static_transforms, Transform
from ..core.params import Handler, node_parameters, validate
from ..core.session import CameraSession, State
from ..core.types import CameraProperties
from ..viam.camera import GeometrySet, ViamCamera
from ..viam.commands import CommandTable
from ..viam.geometries import GeometryError, parse_geometries
from .calibration import CameraInfoManager
from .clips import RosClips
from .clock import ClockPublisher
from .diagnostics import Diagnostics
from .extrinsics import ExtrinsicsPublisher
from .imu import ImuPublisher
from .markers import GeometryMarkers
from .parameters import declare, given_values, RosParameters, StartupError, unknown_given
from .services import ViamServices
from .streams import PublishThread, StreamSet
from .tf import StaticTransformPublisher


def _driver_name(node: Any) -> str:
    """Return the driver the start parameters choose; StartupError if it is not known."""
    name = given_values(node).get('driver', drivers.DEFAULT_DRIVER)
    spec = node_parameters(drivers.known_drivers())[0]
    reason = validate(spec, name)
    if reason:
        raise StartupError(reason)
    return name


class RosCamera:
    """Everything one camera needs, attached to ``node``.

    :param lifecycle_state: returns the node's lifecycle state label (for diagnostics).
    :raises StartupError: a start parameter cannot be used (the message names each).
    :raises DriverUnavailableError: the driver's SDK cannot be imported here.
    """

    def __init__(self, node: Any, lifecycle_state: Callable[[], str]) -> None:
        self.node = node
        self.log = node.get_logger()
        name = _driver_name(node)
        self.store = declare(node, drivers.parameter_specs(name))
        unknown = unknown_given(node, self.store)
        if unknown:
            self.log.warning('ignoring unknown parameter(s) %s: driver %r and the node take: '
                             '%s' % (', '.join(unknown), name,
                                     ', '.join(sorted(self.store.specs))))
        self.settings = self.store.view
        self.driver = drivers.driver_class(name)(self.store)
        self.names = FrameNames(self.settings['camera_name'])
        self.session = CameraSession(self.names.camera_name, self.driver, self.settings,
                                     self.log)
        self.intrinsics = IntrinsicsResolver(self.log)
        self.geometries = GeometrySet()
        self.tf = StaticTransformPublisher(node)
        self.markers = GeometryMarkers(node, self.names.color_optical,
                                       self.names.camera_name + '_geometries')
        self.streams = StreamSet(node, self.names, self.settings, self.intrinsics)
        self.imu = ImuPublisher(node, self.names, self.settings, self.session.imu)
        self.extrinsics = ExtrinsicsPublisher(node, self.names)
        self.parameters = RosParameters(node, self.store)
        self.calibration = CameraInfoManager(node, self.settings, self.session,
                                             self.intrinsics, self._calibration_changed)
        self.clips = RosClips(node, self.settings, self.session, self.streams, self.names,
                              self.transforms, {'camera_name': self.names.camera_name,
                                                'driver': name})
        self.viam = ViamCamera(self.session, self.settings, self.intrinsics, self.names,
                               self.geometries, self.clips.buffer)
        self.commands = CommandTable(self.session, self.parameters, self.figures)
        self.clips.commands(self.commands)
        self.clips.serve()
        self.clock = (ClockPublisher(node, self.driver.playback_time_ns)
                      if self.settings.get('publish_clock') else None)
        self.services = ViamServices(node, self.viam, self.commands, self.names)
        self.diagnostics = Diagnostics(node, self.settings['diagnostics_period'],
                                       self.figures, lifecycle_state)
        self._publisher: Optional[PublishThread] = None
        self._announced = False
        self._load_geometries()
        self._register_handlers()
        self.session.on_open.append(self._on_open)

    # -- wiring ---------------------------------------------------------------------------
    def _load_geometries(self) -> None:
        try:
            self.geometries.items = parse_geometries(self.settings['geometries'])
        except GeometryError as exc:
            self.log.error('ignoring the geometries parameter: %s' % exc)
        self.markers.publish(self.geometries.items)

    def _register_handlers(self) -> None:
        applier = self.parameters.applier

        def use_geometries(items: List[Any]) -> None:
            self.geometries.items = items
            self.markers.publish(items)
            self.send_static_tf()
        applier.on_change('geometries', Handler(apply=use_geometries, check=parse_geometries),
                          self.geometries.items)
        applier.on_change('camera_info_url', self.calibration.handler(),
                          self.intrinsics.stored)
        applier.on_change('diagnostics_period',
                          Handler(apply=lambda v: self.diagnostics.start(float(v))))
        for name, handler in self.clips.handlers().items():
            applier.on_change(name, handler)
        applier.on_change('unite_imu_method', Handler(apply=self.imu.set_method))
        for name, handler in self.driver.option_handlers().items():
            applier.on_change(name, handler)

    def _calibration_changed(self) -> None:
        self.streams.refresh()
        self.clips.update_context()

    # -- device setup ---------------------------------------------------------------------
    def _on_open(self, props: CameraProperties) -> None:
        """Set up topics, CameraInfo, TF and extrinsics after each open (opening thread)."""
        self.streams.setup(props)
        self.imu.setup(props.imu)
        self.extrinsics.send(props)
        self.send_static_tf()
        if not self._announced:
            self._announced = True
            self._announce(props)

    def transforms(self) -> List[Transform]:
        """Return every fixed transform: the camera's frames, then one per geometry."""
        props = self.session.props
        out = [] if props is None else static_transforms(
            self.names, props, self.settings['parent_frame'], self.settings['mount_pose'])
        for i, g in enumerate(self.geometries.items):
            out.append(Transform(self.names.color_optical,
                                 g.frame_name(self.names.camera_name, i),
                                 g.position_m, g.quaternion))
        return out

    def send_static_tf(self) -> None:
        """Publish the fixed transforms (again: after open, geometry or mount changes)."""
        if self.session.props is not None:
            self.tf.send(self.transforms())
            self.clips.update_context()

    def _announce(self, props: CameraProperties) -> None:
        c = props.color
        depth = ('depth %dx%d' % (props.depth.width, props.depth.height)
                 if props.has_depth else 'no depth')
        source = self.intrinsics.color[1] if self.intrinsics.color else props.intrinsics_source
        self.log.info(
            'camera %r: driver %s (%s %s), colour %dx%d, %s, %.1f fps, intrinsics from %s; '
            'publishing %s; frames %s' % (
                self.names.camera_name, self.driver.name, props.model or '?',
                props.serial or '', c.width, c.height, depth, props.fps, source,
                ', '.join(self.streams.topics() + self.imu.topics()), self.names.link))

    # -- figures --------------------------------------------------------------------------
    def figures(self) -> Dict[str, Any]:
        """Return the camera's state, rates and counters: what status and diagnostics show."""
        f = self.session.figures()
        f['published_fps'] = self.streams.rates()
        f['frame_sets_published'] = self.streams.published_sets
        f['publish_errors'] = self.streams.publish_errors
        f['buffer'] = self.clips.buffer.figures()
        f.update(self.imu.figures())
        services = getattr(self, 'services', None)
        if services is not None:
            f.update(services.admission.figures())
        return f

    # -- life cycle -----------------------------------------------------------------------
    def configure(self, open_now: bool) -> Optional[str]:
        """Prepare to capture; with open_now open the device here (None, or why not)."""
        if not open_now:
            return None
        try:
            self.session.open()
        except Exception as exc:
            return 'cannot open camera: %s' % exc
        return None

    def activate(self) -> None:
        """Start capturing and publishing."""
        inline = bool(self.settings['publish_in_capture_thread'])
        self.session.start(deliver=self.streams.publish if inline else None)
        self.imu.start()
        if not inline:
            self._publisher = PublishThread(self.session, self.streams, self.node.context.ok)

    def _stop_publishing(self) -> None:
        self.imu.stop()
        if self._publisher is not None:
            self._publisher.stop()
            self._publisher = None

    def deactivate(self, reason: str) -> None:
        """Stop capturing and publishing; the device stays open."""
        self.session.stop(close_driver=False, reason=reason)
        self._stop_publishing()

    def cleanup(self, reason: str) -> None:
        """Stop and release the device."""
        self.session.stop(close_driver=True, reason=reason)
        self._stop_publishing()

    def shutdown(self) -> None:
        """Stop every thread and release the device. Idempotent."""
        if self.session.state is not State.CLOSED:
            self.session.close()
        self._stop_publishing()
        self.diagnostics.start(0.0)
        if self.clock is not None:
            self.clock.stop()
        self.clips.shutdown()
