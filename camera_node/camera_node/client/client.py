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

import json
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from rclpy.node import Node

from camera_node_interfaces.srv import (Close, DoCommand, GetGeometries, GetImage, GetImages,
                                        GetPointCloud, GetProperties)

from ..viam.codecs import MIME_PCD
from .transport import ServiceTransport
from .types import (extra_json, Geometry, geometry_of, Properties, properties_of,
                    ResponseMetadata, time_to_datetime, ViamLikeImage)

DEFAULT_TIMEOUT = 10.0


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
        self._transport = ServiceTransport(node, self.prefix)

    def service_name(self, method: str) -> str:
        """Return the full name of the service behind a method, e.g. ``get_image``."""
        return self._transport.service_name(method)

    @property
    def spins_itself(self) -> bool:
        """Return whether the client spins the node in its own background thread."""
        return self._transport.spins_itself

    def destroy(self) -> None:
        """Destroy the service clients and stop the client's own executor, if any.

        The node itself is left alive (it belongs to the caller). Idempotent.
        """
        self._transport.destroy()

    def __enter__(self) -> 'CameraClient':
        return self

    def __exit__(self, *exc: Any) -> None:
        self.destroy()

    # -- requests and answers -----------------------------------------------------------
    @staticmethod
    def _image_request(mime_type: str, extra: Optional[Mapping[str, Any]]) -> Any:
        return GetImage.Request(mime_type=mime_type or '', extra=extra_json(extra))

    @staticmethod
    def _image_answer(res: Any) -> ViamLikeImage:
        captured_at = time_to_datetime(res.image.header.stamp)[0] \
            if res.image.header.stamp.sec or res.image.header.stamp.nanosec else None
        img = ViamLikeImage(bytes(res.data), res.mime_type, res.source_name,
                            ros_image=res.image if res.image.data else None,
                            captured_at=captured_at)
        if res.image.width and res.image.height:
            img._size = (int(res.image.width), int(res.image.height))
        return img

    @staticmethod
    def _images_request(filter_source_names: Optional[Sequence[str]],
                        extra: Optional[Mapping[str, Any]]) -> Any:
        if isinstance(filter_source_names, str):
            raise TypeError('filter_source_names must be a list of names, not a string')
        return GetImages.Request(filter_source_names=list(filter_source_names or []),
                                 extra=extra_json(extra))

    @staticmethod
    def _images_answer(res: Any) -> Tuple[List[ViamLikeImage], ResponseMetadata]:
        captured_at, ns = time_to_datetime(res.captured_at)
        images = [ViamLikeImage(bytes(i.data), i.mime_type, i.source_name,
                                captured_at=captured_at) for i in res.images]
        return images, ResponseMetadata(captured_at, ns)

    @staticmethod
    def _cloud_request(extra: Optional[Mapping[str, Any]]) -> Any:
        return GetPointCloud.Request(mime_type=MIME_PCD, extra=extra_json(extra))

    @staticmethod
    def _cloud_answer(res: Any) -> Tuple[bytes, str, ResponseMetadata]:
        captured_at, ns = time_to_datetime(res.captured_at)
        return bytes(res.data), res.mime_type, ResponseMetadata(captured_at, ns)

    @staticmethod
    def _geometries_request(extra: Optional[Mapping[str, Any]]) -> Any:
        return GetGeometries.Request(extra=extra_json(extra))

    @staticmethod
    def _geometries_answer(res: Any) -> List[Geometry]:
        return [geometry_of(g) for g in res.geometries]

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

        ``extra={'source': 'depth'}`` picks the source (the colour one by default);
        ``extra={'ros_image': True}`` also brings the frame undecoded as ``ros_image``.
        """
        res = self._transport.call('get_image', self._image_request(mime_type, extra), timeout)
        return self._image_answer(res)

    def get_images(self, filter_source_names: Optional[Sequence[str]] = None,
                   extra: Optional[Mapping[str, Any]] = None,
                   timeout: float = DEFAULT_TIMEOUT
                   ) -> Tuple[List[ViamLikeImage], ResponseMetadata]:
        """Return the images of every source (or the named ones) of one frame set.

        ``extra={'mime_type': 'image/png'}`` changes the colour type.
        """
        res = self._transport.call(
            'get_images', self._images_request(filter_source_names, extra), timeout)
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
        res = self._transport.call('get_point_cloud', self._cloud_request(extra), timeout)
        return self._cloud_answer(res)

    def get_properties(self, timeout: float = DEFAULT_TIMEOUT) -> Properties:
        """Return the camera's properties."""
        return properties_of(self._transport.call('get_properties', GetProperties.Request(),
                                                  timeout))

    def do_command(self, command: Mapping[str, Any],
                   timeout: float = DEFAULT_TIMEOUT) -> Dict[str, Any]:
        """Send a JSON-like command (e.g. ``{'command': 'status'}``); return the answer."""
        res = self._transport.call('do_command', self._command_request(command), timeout)
        return self._command_answer(res)

    def get_geometries(self, extra: Optional[Mapping[str, Any]] = None,
                       timeout: float = DEFAULT_TIMEOUT) -> List[Geometry]:
        """Return the camera's geometries, poses in the camera's frame."""
        res = self._transport.call('get_geometries', self._geometries_request(extra), timeout)
        return self._geometries_answer(res)

    def close(self, timeout: float = DEFAULT_TIMEOUT) -> None:
        """Release the camera on the node (Viam Close); later calls are refused by the node.

        This does not destroy the client: call :meth:`destroy` for that.
        """
        self._transport.call('close', Close.Request(), timeout)

    # -- asyncio API --------------------------------------------------------------------
    async def get_image_async(self, mime_type: str = '',
                              extra: Optional[Mapping[str, Any]] = None,
                              timeout: float = DEFAULT_TIMEOUT) -> ViamLikeImage:
        """Return one image (async twin of :meth:`get_image`)."""
        res = await self._transport.call_async(
            'get_image', self._image_request(mime_type, extra), timeout)
        return self._image_answer(res)

    async def get_images_async(self, filter_source_names: Optional[Sequence[str]] = None,
                               extra: Optional[Mapping[str, Any]] = None,
                               timeout: float = DEFAULT_TIMEOUT
                               ) -> Tuple[List[ViamLikeImage], ResponseMetadata]:
        """Return images of one frame set (async twin of :meth:`get_images`)."""
        res = await self._transport.call_async(
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
        res = await self._transport.call_async('get_point_cloud', self._cloud_request(extra),
                                               timeout)
        return self._cloud_answer(res)

    async def get_properties_async(self, timeout: float = DEFAULT_TIMEOUT) -> Properties:
        """Return the camera's properties (async twin of :meth:`get_properties`)."""
        return properties_of(await self._transport.call_async(
            'get_properties', GetProperties.Request(), timeout))

    async def do_command_async(self, command: Mapping[str, Any],
                               timeout: float = DEFAULT_TIMEOUT) -> Dict[str, Any]:
        """Send a command (async twin of :meth:`do_command`)."""
        res = await self._transport.call_async('do_command', self._command_request(command),
                                               timeout)
        return self._command_answer(res)

    async def get_geometries_async(self, extra: Optional[Mapping[str, Any]] = None,
                                   timeout: float = DEFAULT_TIMEOUT) -> List[Geometry]:
        """Return the camera's geometries (async twin of :meth:`get_geometries`)."""
        res = await self._transport.call_async(
            'get_geometries', self._geometries_request(extra), timeout)
        return self._geometries_answer(res)

    async def close_async(self, timeout: float = DEFAULT_TIMEOUT) -> None:
        """Release the camera on the node (async twin of :meth:`close`)."""
        await self._transport.call_async('close', Close.Request(), timeout)
