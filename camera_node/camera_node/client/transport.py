"""How the camera client reaches the services: clients, spinning, deadlines and errors.

:class:`ServiceTransport` owns one rclpy service client per Viam call of one camera node,
in a reentrant callback group. It calls them from any thread other than the spinning one
(blocking, on a ``threading.Event``) or from asyncio code (an rclpy done callback
completes an asyncio future through ``loop.call_soon_threadsafe``), bounds every call by
its timeout, and turns ``success: false`` into :class:`CameraError`. A ``busy:`` answer
(the camera's admission limit, see docs/reliability.md) is retried after the delay it
names, and a request without an answer is sent again after :data:`RESEND_AFTER_S`, then
after twice as long each time, as long as the timeout allows; only then is it raised.
"""

from __future__ import annotations

import asyncio
import json
import sys
import threading
import time
from typing import Any, Dict, Optional, Tuple

from rclpy.callback_groups import ReentrantCallbackGroup
from rclpy.executors import (ExternalShutdownException, MultiThreadedExecutor,
                             ShutdownException, SingleThreadedExecutor)
from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy

from camera_node_interfaces.srv import (Close, DoCommand, GetGeometries, GetImage, GetImages,
                                        GetPointCloud, GetProperties)

from ..viam.admission import BUSY_PREFIX, retry_delay, SERVICE_QUEUE_DEPTH
from .types import CameraClientError, CameraError

#: method name -> (service type, node-relative service name)
SERVICES: Dict[str, Tuple[Any, str]] = {
    'get_image': (GetImage, 'get_image'),
    'get_images': (GetImages, 'get_images'),
    'get_point_cloud': (GetPointCloud, 'get_point_cloud'),
    'get_properties': (GetProperties, 'get_properties'),
    'do_command': (DoCommand, 'do_command'),
    'get_geometries': (GetGeometries, 'get_geometries'),
    'close': (Close, 'close'),
}
_READY_POLL_S = 0.02
#: a request without an answer after this long is sent again (the first answer counts):
#: DDS drops the answer to a client the service has not discovered yet (ROS 2 services
#: have no retransmission of their own). Every call may be repeated safely except a
#: DoCommand outside :data:`REPEATABLE_COMMANDS` (``hardware_reset``), which is sent once
RESEND_AFTER_S = 2.0
#: DoCommands whose repetition changes nothing (reads, absolute settings)
REPEATABLE_COMMANDS = ('status', 'help', 'get_parameters', 'set_parameters', 'source_info',
                       'scene', 'device_info', 'get_options', 'get_calibration', 'seek')


def _repeatable(method: str, request: Any) -> bool:
    if method != 'do_command':
        return True
    try:
        return json.loads(request.command).get('command') in REPEATABLE_COMMANDS
    except (ValueError, AttributeError):
        return False


#: answers kept for this client: many calls may be outstanding at once (asyncio)
_QOS = QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=SERVICE_QUEUE_DEPTH,
                  reliability=ReliabilityPolicy.RELIABLE, durability=DurabilityPolicy.VOLATILE)


class ServiceTransport:
    """The service clients of one camera node, and how calls wait for their answers.

    If ``node.executor`` is None, the node is added to the transport's own
    ``SingleThreadedExecutor``, spun in a background daemon thread until :meth:`destroy`.

    :param node: the rclpy node the service clients are created on.
    :param prefix: the camera node's full name, e.g. ``/camera/camera``.
    """

    def __init__(self, node: Node, prefix: str) -> None:
        self.node = node
        self.prefix = prefix
        self._group = ReentrantCallbackGroup()
        self._clients: Dict[str, Any] = {}
        for method, (srv_type, _name) in SERVICES.items():
            self._clients[method] = node.create_client(
                srv_type, self.service_name(method), callback_group=self._group,
                qos_profile=_QOS)
        self._destroyed = False
        self._own_executor: Optional[SingleThreadedExecutor] = None
        self._spin_thread: Optional[threading.Thread] = None
        self._stop = threading.Event()
        if node.executor is None:
            self._own_executor = SingleThreadedExecutor(context=node.context)
            self._own_executor.add_node(node)
            self._spin_thread = threading.Thread(
                target=self._spin, name='camera_client_spin', daemon=True)
            self._spin_thread.start()

    # -- life cycle ---------------------------------------------------------------------
    def service_name(self, method: str) -> str:
        """Return the full name of the service behind a method, e.g. ``get_image``."""
        return '%s/%s' % (self.prefix, SERVICES[method][1])

    @property
    def spins_itself(self) -> bool:
        """Return whether the client spins the node in its own background thread."""
        return self._own_executor is not None

    def _spin(self) -> None:
        executor = self._own_executor
        while not self._stop.is_set():
            try:
                executor.spin_once(timeout_sec=0.1)
            except (ExternalShutdownException, ShutdownException):
                break
            except Exception as exc:  # a user callback failed: report it, keep spinning
                if not self.node.context.ok():
                    break
                print('camera client: a callback raised %s: %s' % (type(exc).__name__, exc),
                      file=sys.stderr)

    def destroy(self) -> None:
        """Destroy the service clients and stop the client's own executor, if any.

        The node itself is left alive (it belongs to the caller). Idempotent.
        """
        if self._destroyed:
            return
        self._destroyed = True
        if self._own_executor is not None:
            self._stop.set()
            self._own_executor.wake()
            if self._spin_thread is not threading.current_thread():
                self._spin_thread.join(5.0)
            if self.node.executor is self._own_executor:
                self.node.executor = None  # removes it and lets the node join another one
            self._own_executor.remove_node(self.node)
            self._own_executor.shutdown(timeout_sec=1.0)
        for client in self._clients.values():
            try:
                self.node.destroy_client(client)
            except Exception:  # the node may already be destroyed
                pass
        self._clients.clear()

    # -- calling ------------------------------------------------------------------------
    def _client(self, method: str) -> Any:
        if self._destroyed:
            raise CameraClientError('CameraClient of %s was destroyed' % self.prefix)
        return self._clients[method]

    def _check_not_spinning_thread(self, method: str) -> None:
        """Raise if waiting here would block the only thread that can deliver the answer."""
        if self._spin_thread is not None:
            if threading.current_thread() is self._spin_thread:
                raise CameraClientError(
                    "CameraClient.%s() was called from a callback run by the client's own "
                    'spin thread: it would wait forever for an answer only that thread can '
                    'deliver. Use %s_async(), or call from another thread.' % (method, method))
            return
        executor = self.node.executor
        if executor is None or isinstance(executor, MultiThreadedExecutor):
            return
        frame = sys._getframe(1)
        while frame is not None:
            if frame.f_locals.get('self') is executor:
                raise CameraClientError(
                    "CameraClient.%s() was called from inside a callback of the node's "
                    'single-threaded executor (%s): it would wait forever for an answer '
                    'only that executor can deliver. Call it from another thread, use a '
                    'MultiThreadedExecutor, or use %s_async() from asyncio code in another '
                    'thread.' % (method, type(executor).__name__, method))
            frame = frame.f_back

    def _timeout_error(self, method: str, timeout: float, ready: bool) -> TimeoutError:
        name = self.service_name(method)
        if not ready:
            return TimeoutError(
                'camera service %s is not available after %.3g s: is a camera node running '
                'as %s?' % (name, timeout, self.prefix))
        hint = ''
        if not self.spins_itself:
            hint = ' (is the executor of node %r spinning?)' % self.node.get_name()
        return TimeoutError('camera service %s did not answer within %.3g s%s'
                            % (name, timeout, hint))

    def _finish(self, method: str, res: Any) -> Any:
        if not res.success:
            raise CameraError(self.service_name(method), res.error)
        return res

    @staticmethod
    def _busy_wait(res: Any, remaining: float) -> Optional[float]:
        """Return how long to wait before retrying a busy answer, or None to give up."""
        if res.success or not res.error.startswith(BUSY_PREFIX):
            return None
        wait = min(max(0.01, retry_delay(res.error)), 1.0)
        return wait if wait < remaining else None

    def call(self, method: str, request: Any, timeout: float) -> Any:
        """Call a service and wait for its answer in this thread (busy answers retried)."""
        client = self._client(method)
        self._check_not_spinning_thread(method)
        deadline = time.monotonic() + float(timeout)
        while not client.service_is_ready():
            if time.monotonic() >= deadline:
                raise self._timeout_error(method, timeout, False)
            time.sleep(_READY_POLL_S)
        while True:
            res = self._call_once(method, client, request, timeout, deadline)
            wait = self._busy_wait(res, deadline - time.monotonic())
            if wait is None:
                return self._finish(method, res)
            time.sleep(wait)

    def _call_once(self, method: str, client: Any, request: Any, timeout: float,
                   deadline: float) -> Any:
        """Send, and again without an answer (after RESEND_AFTER_S, then doubling); first wins."""
        done = threading.Event()
        futures = []
        every = RESEND_AFTER_S if _repeatable(method, request) else float(timeout)
        try:
            while True:
                future = client.call_async(request)
                futures.append(future)
                future.add_done_callback(lambda _f: done.set())
                remaining = deadline - time.monotonic()
                if done.wait(max(0.0, min(remaining, every))):
                    break
                if time.monotonic() >= deadline:
                    raise self._timeout_error(method, timeout, True)
                every *= 2      # back off: resends must not add to an overload
            answered = next(f for f in futures if f.done())
            if answered.exception() is not None:
                raise answered.exception()
            return answered.result()
        finally:
            for f in futures:
                if not f.done():
                    client.remove_pending_request(f)
                    f.cancel()

    async def call_async(self, method: str, request: Any, timeout: float) -> Any:
        """Call a service from asyncio code; the rclpy executor delivers the answer."""
        client = self._client(method)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + float(timeout)
        while not client.service_is_ready():
            if loop.time() >= deadline:
                raise self._timeout_error(method, timeout, False)
            await asyncio.sleep(_READY_POLL_S)
        while True:
            res = await self._call_once_async(method, client, request, timeout, deadline)
            wait = self._busy_wait(res, deadline - loop.time())
            if wait is None:
                return self._finish(method, res)
            await asyncio.sleep(wait)

    async def _call_once_async(self, method: str, client: Any, request: Any, timeout: float,
                               deadline: float) -> Any:
        loop = asyncio.get_running_loop()
        aio_future: asyncio.Future = loop.create_future()

        def settle(ros_future: Any) -> None:
            if aio_future.done():
                return
            if ros_future.cancelled():
                aio_future.cancel()
            elif ros_future.exception() is not None:
                aio_future.set_exception(ros_future.exception())
            else:
                aio_future.set_result(ros_future.result())

        def on_done(ros_future: Any) -> None:
            try:
                loop.call_soon_threadsafe(settle, ros_future)
            except RuntimeError:  # the asyncio loop is closed: nobody waits any more
                pass

        futures = []
        every = RESEND_AFTER_S if _repeatable(method, request) else float(timeout)
        try:
            while True:
                future = client.call_async(request)
                futures.append(future)
                future.add_done_callback(on_done)
                remaining = deadline - loop.time()
                try:
                    return await asyncio.wait_for(asyncio.shield(aio_future),
                                                  max(0.0, min(remaining, every)))
                except asyncio.TimeoutError:
                    if loop.time() >= deadline:
                        raise self._timeout_error(method, timeout, True) from None
                    every *= 2  # back off: resends must not add to an overload
        finally:
            if not aio_future.done():
                aio_future.cancel()
            for f in futures:
                if not f.done():
                    client.remove_pending_request(f)
                    f.cancel()
