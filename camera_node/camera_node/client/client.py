"""Python client of the camera node's Viam services, for other ROS nodes.

:class:`CameraClient` mirrors Viam's ``Camera.from_robot(robot, name)``: construct it on
any rclpy node with the camera's name and namespace, then call the Viam camera methods::

    client = CameraClient(node, name='camera', namespace='camera')
    image = client.get_image('image/png')             # ViamLikeImage
    images, meta = client.get_images()                # colour + depth of one frame set
    pcd, mime = client.get_point_cloud()              # binary PCD, 'pointcloud/pcd'
    client.destroy()

Spinning
--------
Service answers arrive through an rclpy executor. If ``node.executor`` is None when the
client is made, the client adds the node to its own ``SingleThreadedExecutor`` and spins
it in a background daemon thread until :meth:`CameraClient.destroy` (the node's other
callbacks then run in that thread too). Otherwise the node's executor is used, and the
caller must keep it spinning.

Blocking methods wait on a ``threading.Event`` and can be called from any thread other than
the one spinning. Called from inside a callback of the node's single-threaded executor
(or of the client's own thread) they would wait forever, so they raise
:class:`CameraClientError` instead. From a ``MultiThreadedExecutor`` callback they work:
the service clients live in their own reentrant callback group.

Async
-----
Every method has an ``async`` twin with the suffix ``_async`` (``get_image_async``...)
with the same arguments, for asyncio code running in a thread that is not the spinning
one. The rclpy future's done callback completes an asyncio future through
``loop.call_soon_threadsafe``; ``asyncio.wait_for`` bounds the wait.

Errors
------
``TimeoutError`` (naming the service) when the camera does not answer within ``timeout``
seconds, whether it is absent or slow; :class:`CameraError` (with the node's ``error``
text) when it answers ``success: false``.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime, timezone
import io
import json
import sys
import threading
import time
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np
from rclpy.callback_groups import ReentrantCallbackGroup
from rclpy.executors import (ExternalShutdownException, MultiThreadedExecutor,
                             ShutdownException, SingleThreadedExecutor)
from rclpy.node import Node

from camera_node_interfaces.msg import Geometry as GeometryMsg
from camera_node_interfaces.srv import (Close, DoCommand, GetGeometries, GetImage, GetImages,
                                        GetPointCloud, GetProperties)

from . import viam_formats as vf

__all__ = [
    'CameraClient', 'CameraClientError', 'CameraError', 'Distortion', 'Extrinsics',
    'Geometry', 'Intrinsics', 'Properties', 'ResponseMetadata', 'ViamLikeImage', 'ViamPose',
    'SERVICES', 'DEFAULT_TIMEOUT',
]

DEFAULT_TIMEOUT = 10.0
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


class CameraError(RuntimeError):
    """The camera answered with ``success: false``; ``error`` holds its explanation."""

    def __init__(self, service: str, error: str) -> None:
        super().__init__('%s failed: %s' % (service, error or '(no error text)'))
        self.service = service
        self.error = error


class CameraClientError(RuntimeError):
    """The client cannot make the call (destroyed, or it would deadlock its executor)."""


# --------------------------------------------------------------------------- images

class ViamLikeImage:
    """An encoded image, like viam-sdk's ``ViamImage`` (and ``NamedImage``).

    ``data`` holds the bytes in ``mime_type``'s layout; decoding happens on demand.
    ``ros_image`` is the undecoded sensor_msgs/Image when the answer carried one
    (GetImage), and ``captured_at`` the capture time when known.
    """

    def __init__(self, data: bytes, mime_type: str, source_name: str = '',
                 ros_image: Any = None, captured_at: Optional[datetime] = None) -> None:
        self.data = bytes(data)
        self.mime_type = mime_type
        self.source_name = source_name
        self.ros_image = ros_image
        self.captured_at = captured_at
        self._size: Optional[Tuple[int, int]] = None

    @property
    def name(self) -> str:
        """Return ``source_name`` (what viam-sdk's ``NamedImage`` calls ``name``)."""
        return self.source_name

    def _mime(self) -> str:
        return vf.normalize_mime(self.mime_type)

    def _dims(self) -> Tuple[int, int]:
        if self._size is None:
            mime = self._mime()
            if mime == vf.MIME_VIAM_DEP:
                self._size = vf.read_dep_header(self.data)
            elif mime == vf.MIME_VIAM_RGBA:
                self._size = vf.read_rgba_header(self.data)
            elif mime in (vf.MIME_JPEG, vf.MIME_PNG):
                from PIL import Image as PILImage
                with PILImage.open(io.BytesIO(self.data)) as im:  # reads the header only
                    self._size = (int(im.width), int(im.height))
            else:
                raise ValueError('cannot tell the size of a %r image' % self.mime_type)
        return self._size

    @property
    def width(self) -> int:
        """Return the width in pixels (read from the header, not a full decode)."""
        return self._dims()[0]

    @property
    def height(self) -> int:
        """Return the height in pixels (read from the header, not a full decode)."""
        return self._dims()[1]

    def bytes_to_depth_array(self) -> np.ndarray:
        """Decode ``image/vnd.viam.dep`` to an ``HxW`` uint16 array of millimetres.

        Index it as ``depth[y][x]`` (or ``depth[y, x]``); 0 means no depth. Other MIME
        types raise ``ValueError``: use :meth:`to_numpy` for a 16-bit depth PNG.
        """
        if self._mime() != vf.MIME_VIAM_DEP:
            raise ValueError('bytes_to_depth_array needs an %s image, this one is %r%s' % (
                vf.MIME_VIAM_DEP, self.mime_type,
                ' (use to_numpy())' if self._mime() == vf.MIME_PNG else ''))
        return vf.decode_dep(self.data)

    def to_numpy(self) -> np.ndarray:
        """Decode to ``HxWx3`` uint8 RGB (colour) or ``HxW`` uint16 millimetres (depth).

        Viam RGBA and RGBA PNGs lose their alpha channel; 8-bit grey PNGs and JPEGs give
        ``HxW`` uint8.
        """
        mime = self._mime()
        if mime == vf.MIME_VIAM_DEP:
            return vf.decode_dep(self.data)
        if mime == vf.MIME_VIAM_RGBA:
            return np.ascontiguousarray(vf.decode_rgba(self.data)[..., :3])
        if mime == vf.MIME_JPEG:
            return vf.decode_jpeg(self.data)
        if mime == vf.MIME_PNG:
            arr = vf.decode_png(self.data)
            if arr.ndim == 3 and arr.shape[2] == 4:
                arr = np.ascontiguousarray(arr[..., :3])
            return arr
        raise ValueError('cannot decode a %r image' % self.mime_type)

    def to_pil(self) -> Any:
        """Return a ``PIL.Image.Image``: mode ``RGB`` for colour, ``I;16`` for depth."""
        from PIL import Image as PILImage
        return PILImage.fromarray(self.to_numpy())  # uint16 HxW gives mode I;16

    def __repr__(self) -> str:
        return 'ViamLikeImage(source_name=%r, mime_type=%r, %d bytes)' % (
            self.source_name, self.mime_type, len(self.data))


@dataclass
class ResponseMetadata:
    """Metadata of a GetImages/GetPointCloud answer (viam-sdk's ``ResponseMetadata``)."""

    captured_at: datetime
    """Capture time of the frame set, timezone-aware UTC."""
    stamp_ns: int
    """The same instant, nanoseconds since the epoch (the ROS stamp)."""


# --------------------------------------------------------------------------- properties

@dataclass
class Intrinsics:
    """Pinhole intrinsics (Viam ``IntrinsicParameters``)."""

    width_px: int
    height_px: int
    focal_x_px: float
    focal_y_px: float
    center_x_px: float
    center_y_px: float


@dataclass
class Distortion:
    """Lens distortion (Viam ``DistortionParameters``; Viam coefficient order)."""

    model: str
    parameters: List[float] = field(default_factory=list)


@dataclass
class Extrinsics:
    """Depth-to-colour extrinsics: ``p_color = R * p_depth + t``, in both forms."""

    translation_m: Tuple[float, float, float]
    rotation_xyzw: Tuple[float, float, float, float]
    translation_mm: Tuple[float, float, float]
    axis_angle: Tuple[float, float, float, float]
    """Viam/RDK form ``(rx, ry, rz, theta_radians)``."""


@dataclass
class Properties:
    """Answer of GetProperties (Viam ``Camera.Properties``)."""

    supports_pcd: bool
    intrinsic_parameters: Intrinsics
    distortion_parameters: Distortion
    mime_types: List[str]
    frame_rate: Optional[float]
    """Measured frame-set rate in Hz; None until the node has measured one."""
    extrinsics: Optional[Extrinsics]
    """Depth-to-colour extrinsics; None when the camera has no depth."""
    default_reference_frame: str
    intrinsics_are_default: bool
    """True when the intrinsics are assumed, not read from a device or calibration."""


# --------------------------------------------------------------------------- geometries

@dataclass
class ViamPose:
    """A Viam pose: millimetres, orientation vector and theta in degrees."""

    x: float
    y: float
    z: float
    o_x: float
    o_y: float
    o_z: float
    theta: float


@dataclass
class Geometry:
    """One geometry of the camera, its pose in the camera's frame (``frame_id``)."""

    label: str
    shape: str
    """``'box'``, ``'sphere'``, ``'capsule'`` (or ``'unknown(N)'``)."""
    center: ViamPose
    position_m: Tuple[float, float, float]
    orientation_xyzw: Tuple[float, float, float, float]
    frame_id: str
    dims_mm: Optional[Tuple[float, float, float]] = None
    """Box: full edge lengths; None for other shapes."""
    radius_mm: Optional[float] = None
    """Sphere and capsule; None for boxes."""
    length_mm: Optional[float] = None
    """Capsule: tip-to-tip length along local +Z; None for other shapes."""


_SHAPES = {GeometryMsg.BOX: 'box', GeometryMsg.SPHERE: 'sphere',
           GeometryMsg.CAPSULE: 'capsule'}


# --------------------------------------------------------------------------- conversions

def time_to_datetime(stamp: Any) -> Tuple[datetime, int]:
    """Return ``(aware UTC datetime, nanoseconds)`` of a builtin_interfaces/Time."""
    ns = int(stamp.sec) * 1_000_000_000 + int(stamp.nanosec)
    return datetime.fromtimestamp(ns / 1e9, tz=timezone.utc), ns


def _extra_json(extra: Optional[Mapping[str, Any]]) -> str:
    if extra is None:
        return ''
    if not isinstance(extra, Mapping):
        raise TypeError('extra must be a dict (or None), got %s' % type(extra).__name__)
    return json.dumps(dict(extra))


def _properties(res: Any) -> Properties:
    ip = res.intrinsic_parameters
    extr = None
    if res.has_extrinsics:
        t, r, mm = res.depth_to_color.translation, res.depth_to_color.rotation, \
            res.extrinsic_translation_mm
        extr = Extrinsics((t.x, t.y, t.z), (r.x, r.y, r.z, r.w), (mm.x, mm.y, mm.z),
                          tuple(float(v) for v in res.extrinsic_axis_angle))
    return Properties(
        supports_pcd=bool(res.supports_pcd),
        intrinsic_parameters=Intrinsics(int(ip.width_px), int(ip.height_px), ip.focal_x_px,
                                        ip.focal_y_px, ip.center_x_px, ip.center_y_px),
        distortion_parameters=Distortion(res.distortion_parameters.model,
                                         [float(v) for v in
                                          res.distortion_parameters.parameters]),
        mime_types=list(res.mime_types),
        frame_rate=float(res.frame_rate) if res.has_frame_rate else None,
        extrinsics=extr,
        default_reference_frame=res.default_reference_frame,
        intrinsics_are_default=bool(res.intrinsics_are_default))


def _geometry(msg: Any) -> Geometry:
    c = msg.center
    p = msg.pose
    shape = _SHAPES.get(msg.shape, 'unknown(%d)' % msg.shape)
    return Geometry(
        label=msg.label, shape=shape,
        center=ViamPose(c.x, c.y, c.z, c.o_x, c.o_y, c.o_z, c.theta),
        position_m=(p.position.x, p.position.y, p.position.z),
        orientation_xyzw=(p.orientation.x, p.orientation.y, p.orientation.z,
                          p.orientation.w),
        frame_id=msg.frame_id,
        dims_mm=(msg.dims_mm.x, msg.dims_mm.y, msg.dims_mm.z) if shape == 'box' else None,
        radius_mm=msg.radius_mm if shape in ('sphere', 'capsule') else None,
        length_mm=msg.length_mm if shape == 'capsule' else None)


# --------------------------------------------------------------------------- the client

class CameraClient:
    """Client of one camera node's Viam services (see the module docstring).

    :param node: the rclpy node the service clients are created on.
    :param name: the camera node's name.
    :param namespace: the camera node's namespace (``''`` for the root namespace).
    """

    def __init__(self, node: Node, name: str = 'camera', namespace: str = 'camera') -> None:
        self.node = node
        ns = namespace.strip('/')
        self.prefix = '/%s/%s' % (ns, name.strip('/')) if ns else '/' + name.strip('/')
        self._group = ReentrantCallbackGroup()
        self._clients: Dict[str, Any] = {}
        for method, (srv_type, srv_name) in SERVICES.items():
            self._clients[method] = node.create_client(
                srv_type, self.service_name(method), callback_group=self._group)
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

    def __enter__(self) -> 'CameraClient':
        return self

    def __exit__(self, *exc: Any) -> None:
        self.destroy()

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

    def _call(self, method: str, request: Any, timeout: float) -> Any:
        """Call a service and wait for its answer in this thread."""
        client = self._client(method)
        self._check_not_spinning_thread(method)
        deadline = time.monotonic() + float(timeout)
        while not client.service_is_ready():
            if time.monotonic() >= deadline:
                raise self._timeout_error(method, timeout, False)
            time.sleep(_READY_POLL_S)
        done = threading.Event()
        future = client.call_async(request)
        future.add_done_callback(lambda _f: done.set())
        if not done.wait(max(0.0, deadline - time.monotonic())):
            client.remove_pending_request(future)
            future.cancel()
            raise self._timeout_error(method, timeout, True)
        if future.exception() is not None:
            raise future.exception()
        return self._finish(method, future.result())

    async def _call_async(self, method: str, request: Any, timeout: float) -> Any:
        """Call a service from asyncio code; the rclpy executor delivers the answer."""
        client = self._client(method)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + float(timeout)
        while not client.service_is_ready():
            if loop.time() >= deadline:
                raise self._timeout_error(method, timeout, False)
            await asyncio.sleep(_READY_POLL_S)
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

        future = client.call_async(request)
        future.add_done_callback(on_done)
        try:
            res = await asyncio.wait_for(aio_future, max(0.0, deadline - loop.time()))
        except asyncio.TimeoutError:
            client.remove_pending_request(future)
            future.cancel()
            raise self._timeout_error(method, timeout, True) from None
        except asyncio.CancelledError:
            client.remove_pending_request(future)
            future.cancel()
            raise
        return self._finish(method, res)

    # -- requests and answers -----------------------------------------------------------
    @staticmethod
    def _image_request(mime_type: str, extra: Optional[Mapping[str, Any]]) -> Any:
        return GetImage.Request(mime_type=mime_type or '', extra=_extra_json(extra))

    @staticmethod
    def _image_answer(res: Any) -> ViamLikeImage:
        captured_at = time_to_datetime(res.image.header.stamp)[0] \
            if res.image.header.stamp.sec or res.image.header.stamp.nanosec else None
        img = ViamLikeImage(bytes(res.data), res.mime_type, res.source_name,
                            ros_image=res.image, captured_at=captured_at)
        if res.image.width and res.image.height:
            img._size = (int(res.image.width), int(res.image.height))
        return img

    @staticmethod
    def _images_request(filter_source_names: Optional[Sequence[str]],
                        extra: Optional[Mapping[str, Any]]) -> Any:
        if isinstance(filter_source_names, str):
            raise TypeError('filter_source_names must be a list of names, not a string')
        return GetImages.Request(filter_source_names=list(filter_source_names or []),
                                 extra=_extra_json(extra))

    @staticmethod
    def _images_answer(res: Any) -> Tuple[List[ViamLikeImage], ResponseMetadata]:
        captured_at, ns = time_to_datetime(res.captured_at)
        images = [ViamLikeImage(bytes(i.data), i.mime_type, i.source_name,
                                captured_at=captured_at) for i in res.images]
        return images, ResponseMetadata(captured_at, ns)

    @staticmethod
    def _cloud_request(extra: Optional[Mapping[str, Any]]) -> Any:
        return GetPointCloud.Request(mime_type=vf.MIME_PCD, extra=_extra_json(extra))

    @staticmethod
    def _cloud_answer(res: Any) -> Tuple[bytes, str, ResponseMetadata]:
        captured_at, ns = time_to_datetime(res.captured_at)
        return bytes(res.data), res.mime_type, ResponseMetadata(captured_at, ns)

    @staticmethod
    def _geometries_request(extra: Optional[Mapping[str, Any]]) -> Any:
        return GetGeometries.Request(extra=_extra_json(extra))

    @staticmethod
    def _geometries_answer(res: Any) -> List[Geometry]:
        return [_geometry(g) for g in res.geometries]

    @staticmethod
    def _command_request(command: Mapping[str, Any]) -> Any:
        if not isinstance(command, Mapping):
            raise TypeError('command must be a dict, got %s' % type(command).__name__)
        return DoCommand.Request(command=json.dumps(dict(command)))

    @staticmethod
    def _command_answer(res: Any) -> Dict[str, Any]:
        if not res.result.strip():
            return {}
        value = json.loads(res.result)
        return value if isinstance(value, dict) else {'result': value}

    # -- blocking API -------------------------------------------------------------------
    def get_image(self, mime_type: str = '', extra: Optional[Mapping[str, Any]] = None,
                  timeout: float = DEFAULT_TIMEOUT) -> ViamLikeImage:
        """Return one image; ``mime_type`` is a wish, the answer's ``mime_type`` is the truth.

        ``extra={'source': 'depth'}`` picks the source (the colour one by default).
        """
        res = self._call('get_image', self._image_request(mime_type, extra), timeout)
        return self._image_answer(res)

    def get_images(self, filter_source_names: Optional[Sequence[str]] = None,
                   extra: Optional[Mapping[str, Any]] = None,
                   timeout: float = DEFAULT_TIMEOUT
                   ) -> Tuple[List[ViamLikeImage], ResponseMetadata]:
        """Return the images of every source (or the named ones) of one frame set.

        ``extra={'mime_type': 'image/png'}`` changes the colour type.
        """
        res = self._call('get_images', self._images_request(filter_source_names, extra),
                         timeout)
        return self._images_answer(res)

    def get_point_cloud(self, extra: Optional[Mapping[str, Any]] = None,
                        timeout: float = DEFAULT_TIMEOUT) -> Tuple[bytes, str]:
        """Return ``(pcd_bytes, mime_type)``: binary PCD in metres, ``pointcloud/pcd``."""
        data, mime, _ = self.get_point_cloud_with_metadata(extra, timeout)
        return data, mime

    def get_point_cloud_with_metadata(self, extra: Optional[Mapping[str, Any]] = None,
                                      timeout: float = DEFAULT_TIMEOUT
                                      ) -> Tuple[bytes, str, ResponseMetadata]:
        """Return ``(pcd_bytes, mime_type, metadata)``; ``metadata.captured_at`` is set."""
        res = self._call('get_point_cloud', self._cloud_request(extra), timeout)
        return self._cloud_answer(res)

    def get_properties(self, timeout: float = DEFAULT_TIMEOUT) -> Properties:
        """Return the camera's properties."""
        return _properties(self._call('get_properties', GetProperties.Request(), timeout))

    def do_command(self, command: Mapping[str, Any],
                   timeout: float = DEFAULT_TIMEOUT) -> Dict[str, Any]:
        """Send a JSON-like command (e.g. ``{'command': 'status'}``); return the answer."""
        res = self._call('do_command', self._command_request(command), timeout)
        return self._command_answer(res)

    def get_geometries(self, extra: Optional[Mapping[str, Any]] = None,
                       timeout: float = DEFAULT_TIMEOUT) -> List[Geometry]:
        """Return the camera's geometries, poses in the camera's frame."""
        res = self._call('get_geometries', self._geometries_request(extra), timeout)
        return self._geometries_answer(res)

    def close(self, timeout: float = DEFAULT_TIMEOUT) -> None:
        """Release the camera on the node (Viam Close); later calls are refused by the node.

        This does not destroy the client: call :meth:`destroy` for that.
        """
        self._call('close', Close.Request(), timeout)

    # -- asyncio API --------------------------------------------------------------------
    async def get_image_async(self, mime_type: str = '',
                              extra: Optional[Mapping[str, Any]] = None,
                              timeout: float = DEFAULT_TIMEOUT) -> ViamLikeImage:
        """Return one image (async twin of :meth:`get_image`)."""
        res = await self._call_async('get_image', self._image_request(mime_type, extra),
                                     timeout)
        return self._image_answer(res)

    async def get_images_async(self, filter_source_names: Optional[Sequence[str]] = None,
                               extra: Optional[Mapping[str, Any]] = None,
                               timeout: float = DEFAULT_TIMEOUT
                               ) -> Tuple[List[ViamLikeImage], ResponseMetadata]:
        """Return images of one frame set (async twin of :meth:`get_images`)."""
        res = await self._call_async(
            'get_images', self._images_request(filter_source_names, extra), timeout)
        return self._images_answer(res)

    async def get_point_cloud_async(self, extra: Optional[Mapping[str, Any]] = None,
                                    timeout: float = DEFAULT_TIMEOUT) -> Tuple[bytes, str]:
        """Return ``(pcd_bytes, mime_type)`` (async twin of :meth:`get_point_cloud`)."""
        data, mime, _ = await self.get_point_cloud_with_metadata_async(extra, timeout)
        return data, mime

    async def get_point_cloud_with_metadata_async(
            self, extra: Optional[Mapping[str, Any]] = None,
            timeout: float = DEFAULT_TIMEOUT) -> Tuple[bytes, str, ResponseMetadata]:
        """Return ``(pcd_bytes, mime_type, metadata)`` (async twin)."""
        res = await self._call_async('get_point_cloud', self._cloud_request(extra), timeout)
        return self._cloud_answer(res)

    async def get_properties_async(self, timeout: float = DEFAULT_TIMEOUT) -> Properties:
        """Return the camera's properties (async twin of :meth:`get_properties`)."""
        return _properties(await self._call_async('get_properties', GetProperties.Request(),
                                                  timeout))

    async def do_command_async(self, command: Mapping[str, Any],
                               timeout: float = DEFAULT_TIMEOUT) -> Dict[str, Any]:
        """Send a command (async twin of :meth:`do_command`)."""
        res = await self._call_async('do_command', self._command_request(command), timeout)
        return self._command_answer(res)

    async def get_geometries_async(self, extra: Optional[Mapping[str, Any]] = None,
                                   timeout: float = DEFAULT_TIMEOUT) -> List[Geometry]:
        """Return the camera's geometries (async twin of :meth:`get_geometries`)."""
        res = await self._call_async('get_geometries', self._geometries_request(extra), timeout)
        return self._geometries_answer(res)

    async def close_async(self, timeout: float = DEFAULT_TIMEOUT) -> None:
        """Release the camera on the node (async twin of :meth:`close`)."""
        await self._call_async('close', Close.Request(), timeout)
