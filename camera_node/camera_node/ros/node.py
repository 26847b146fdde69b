"""The camera node: a plain node (``lifecycle:=false``) or a managed one (``lifecycle:=true``).

Threads: the session's capture thread reads frame sets and leaves the newest in a
one-element slot; the publish thread takes it and publishes every stream with one stamp
(with ``publish_in_capture_thread:=true`` the capture thread publishes itself); the
executor thread only answers services and parameters, so they answer whatever the camera
does.

* ``lifecycle:=false`` (default): a plain ``rclpy.node.Node``. The camera starts at once
  and its capture thread keeps retrying a missing device. There are no lifecycle
  services: ``ros2 lifecycle`` does not list it and cannot stop it.
* ``lifecycle:=true``: a ``LifecycleNode`` waiting in *unconfigured*: configure opens the
  device (and fails if it is missing), activate starts capture and publishing, deactivate
  stops them, cleanup releases the device.

:func:`make_camera_node` reads ``lifecycle`` from the start parameters and builds the
right one; both compose the same :class:`~camera_node.ros.camera.RosCamera`.
"""

from __future__ import annotations

from typing import Any

from rclpy.lifecycle import LifecycleNode, LifecycleState, TransitionCallbackReturn
from rclpy.node import Node

from ..core.params import coerce, ParamSpec
from .camera import RosCamera
from .parameters import given_values, StartupError


class CameraNode(Node):
    """A camera on a plain node: capturing and publishing from construction on.

    Construct, then spin; call :meth:`shutdown` before destroying it.
    """

    def __init__(self, node_name: str = 'camera', **kwargs: Any) -> None:
        super().__init__(node_name, **kwargs)
        self.camera = RosCamera(self, lambda: 'unmanaged')
        self.camera.activate()

    def shutdown(self) -> None:
        """Stop every thread and release the device. Idempotent."""
        self.camera.shutdown()


class ManagedCameraNode(LifecycleNode):
    """A camera on a lifecycle node: configure opens, activate streams, deactivate pauses."""

    def __init__(self, node_name: str = 'camera', **kwargs: Any) -> None:
        super().__init__(node_name, **kwargs)
        self.camera = RosCamera(self, self.lifecycle_state)
        self.camera.session.idle_reason = 'lifecycle state: unconfigured'

    def lifecycle_state(self) -> str:
        """Return the lifecycle state's label (unconfigured, inactive, active...)."""
        try:
            return self._state_machine.current_state[1]
        except Exception:  # internal API differs between distros: say what the camera does
            return 'active' if self.camera.session.running else 'inactive'

    def on_configure(self, state: LifecycleState) -> TransitionCallbackReturn:
        """Open the device; fail if it cannot be opened."""
        error = self.camera.configure(open_now=True)
        if error:
            self.get_logger().error('configure failed: %s' % error)
            return TransitionCallbackReturn.FAILURE
        self.camera.session.idle_reason = 'lifecycle state: inactive'
        return TransitionCallbackReturn.SUCCESS

    def on_activate(self, state: LifecycleState) -> TransitionCallbackReturn:
        """Start the capture and publish threads."""
        self.camera.activate()
        return TransitionCallbackReturn.SUCCESS

    def on_deactivate(self, state: LifecycleState) -> TransitionCallbackReturn:
        """Stop capture and publishing; the device stays open."""
        self.camera.deactivate('lifecycle state: inactive')
        return TransitionCallbackReturn.SUCCESS

    def on_cleanup(self, state: LifecycleState) -> TransitionCallbackReturn:
        """Release the device."""
        self.camera.cleanup('lifecycle state: unconfigured')
        return TransitionCallbackReturn.SUCCESS

    def on_shutdown(self, state: LifecycleState) -> TransitionCallbackReturn:
        """Stop everything and release the device."""
        self.camera.shutdown()
        return TransitionCallbackReturn.SUCCESS

    def on_error(self, state: LifecycleState) -> TransitionCallbackReturn:
        """Release the device after an error in a transition."""
        self.camera.cleanup('lifecycle state: unconfigured (after an error)')
        return TransitionCallbackReturn.SUCCESS

    def shutdown(self) -> None:
        """Stop every thread and release the device. Idempotent."""
        self.camera.shutdown()


_LIFECYCLE = ParamSpec('lifecycle', False, '')


def wants_lifecycle(node_name: str, **kwargs: Any) -> bool:
    """Return the ``lifecycle`` start parameter a node of this name and arguments gets.

    rclpy resolves start parameters (command line, files, launch) per node only when a node
    exists, so a short-lived node without parameter services reads them.
    """
    probe = Node(node_name, start_parameter_services=False, enable_rosout=False,
                 **{k: v for k, v in kwargs.items()
                    if k in ('namespace', 'context', 'cli_args', 'use_global_arguments',
                             'parameter_overrides')})
    try:
        value = coerce(_LIFECYCLE, given_values(probe).get('lifecycle', False))
    finally:
        probe.destroy_node()
    if not isinstance(value, bool):
        raise StartupError('lifecycle must be a bool, got %r' % (value,))
    return value


def make_camera_node(node_name: str = 'camera', **kwargs: Any) -> Any:
    """Return a :class:`ManagedCameraNode` or a :class:`CameraNode`, as ``lifecycle`` says."""
    cls = ManagedCameraNode if wants_lifecycle(node_name, **kwargs) else CameraNode
    return cls(node_name, **kwargs)
