"""The Viam camera API as ROS services: each callback parses, asks ViamCamera, replies.

Services (node-relative): ``get_image``, ``get_images``, ``get_point_cloud``,
``get_properties``, ``do_command``, ``get_geometries``, ``close``. Each reply carries
``success`` and a human-readable ``error``; no request can raise out of a callback.
"""

from __future__ import annotations

import time
import traceback
from typing import Any, Callable, Optional

from camera_node_interfaces.msg import Geometry, NamedImage
from camera_node_interfaces.srv import (Close, DoCommand, GetGeometries, GetImage, GetImages,
                                        GetPointCloud, GetProperties)

from ..core.errors import Unavailable
from ..core.frames import FrameNames
from ..viam.admission import Admission, Busy, FANOUT_BYTES_PER_S, SERVICE_QUEUE_DEPTH
from ..viam.camera import ViamCamera
from ..viam.commands import CommandTable
from ..viam.requests import RequestError
from .messages import image_message, stamp_msg
from .streams import STREAMS

_SHAPES = {'box': Geometry.BOX, 'sphere': Geometry.SPHERE, 'capsule': Geometry.CAPSULE}
#: FrameSet field -> its image stream row (encoding and frame of GetImage's Image)
_IMAGE_ROWS = {s.field: s for s in STREAMS if s.kind == 'image'}


def service_qos() -> Any:
    """Return the QoS of the camera's services: reliable, volatile, deep request queue.

    ROS's default keeps the last 10 requests and the last 10 answers of a service (over
    all its clients): with more callers than that, requests and answers were overwritten
    before they were taken or acknowledged, and lost without a word.
    """
    from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy
    return QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=SERVICE_QUEUE_DEPTH,
                      reliability=ReliabilityPolicy.RELIABLE,
                      durability=DurabilityPolicy.VOLATILE)


def _answer_bytes(response: Any) -> int:
    """Return the bulk bytes of an answer (encoded data and raw image)."""
    n = len(getattr(response, 'data', b'') or b'')
    image = getattr(response, 'image', None)
    if image is not None:
        n += len(image.data)
    for item in getattr(response, 'images', None) or ():
        n += len(item.data)
    return n


class ViamServices:
    """Serves one camera's Viam API on a node."""

    def __init__(self, node: Any, camera: ViamCamera, commands: CommandTable,
                 names: FrameNames, admission: Optional[Admission] = None) -> None:
        self.log = node.get_logger()
        self.node = node
        self.prefix = node.get_fully_qualified_name() + '/'
        self.camera = camera
        self.commands = commands
        self.names = names
        self.admission = admission if admission is not None else Admission()
        qos = service_qos()
        self.services = [node.create_service(t, n, self._guard(cb), qos_profile=qos)
                         for t, n, cb in (
            (GetImage, '~/get_image', self._get_image),
            (GetImages, '~/get_images', self._get_images),
            (GetPointCloud, '~/get_point_cloud', self._get_point_cloud),
            (GetProperties, '~/get_properties', self._get_properties),
            (DoCommand, '~/do_command', self._do_command),
            (GetGeometries, '~/get_geometries', self._get_geometries),
            (Close, '~/close', self._close),
        )]

    def _guard(self, callback: Callable[[Any, Any], None]) -> Callable[[Any, Any], Any]:
        """Wrap a callback so every failure becomes an error reply, never an exception.

        Every call but ``close`` passes :class:`Admission` first: over budget, the answer
        is ``busy: ... retry in N ms`` at once.
        """
        admit = callback != self._close
        name = callback.__name__.lstrip('_')
        clients = [1, 0.0]          # (count, when counted): the graph is asked once a second

        def fanout() -> int:
            now = time.monotonic()
            if now - clients[1] > 1.0:
                clients[1] = now
                try:
                    clients[0] = max(1, self.node.count_clients(self.prefix + name))
                except Exception:  # Humble's rclpy has no count_clients: count one
                    clients[0] = 1
            return clients[0]

        def handler(request: Any, response: Any) -> Any:
            t0 = time.monotonic()
            try:
                if admit:
                    self.admission.check()
                callback(request, response)
                response.success = True
                response.error = ''
            except Busy as exc:
                response.success = False
                response.error = str(exc)
                return response
            except (RequestError, Unavailable) as exc:
                response.success = False
                response.error = str(exc)
            except Exception as exc:
                self.log.error('service %s failed: %s\n%s' % (
                    callback.__name__, exc, traceback.format_exc()))
                response.success = False
                response.error = 'internal error: %s: %s' % (type(exc).__name__,
                                                             str(exc)[:200])
            if admit:
                sent = _answer_bytes(response) * fanout()
                self.admission.record(time.monotonic() - t0 + sent / FANOUT_BYTES_PER_S)
            return response
        return handler

    def _get_image(self, req: Any, res: Any) -> None:
        img = self.camera.get_image(req.mime_type, req.extra)
        row = _IMAGE_ROWS[img.stream]
        res.data, res.mime_type, res.source_name = img.data, img.mime_type, img.source_name
        # the raw pixels only when asked (extra.ros_image): a 1280x720 frame is 2.7 MB,
        # 50x a JPEG, and would dominate every round trip; the header (stamp and frame of
        # the image) always
        frame, stamp = getattr(self.names, row.frame), stamp_msg(img.stamp_ns)
        if img.pixels_wanted:
            res.image = image_message(img.array, row.encoding, frame, stamp)
        else:
            res.image.header.frame_id, res.image.header.stamp = frame, stamp

    def _get_images(self, req: Any, res: Any) -> None:
        answer = self.camera.get_images(req.filter_source_names, req.extra)
        res.images = [NamedImage(source_name=i.source_name, mime_type=i.mime_type, data=i.data)
                      for i in answer.images]
        res.captured_at = stamp_msg(answer.captured_at_ns)

    def _get_point_cloud(self, req: Any, res: Any) -> None:
        cloud = self.camera.get_point_cloud(req.extra)
        res.data, res.mime_type = cloud.data, cloud.mime_type
        res.captured_at = stamp_msg(cloud.captured_at_ns)

    def _get_properties(self, req: Any, res: Any) -> None:
        p = self.camera.get_properties(req.extra)
        res.supports_pcd = p.supports_pcd
        ip, intr = res.intrinsic_parameters, p.intrinsics
        ip.width_px, ip.height_px = int(intr.width), int(intr.height)
        ip.focal_x_px, ip.focal_y_px = float(intr.fx), float(intr.fy)
        ip.center_x_px, ip.center_y_px = float(intr.cx), float(intr.cy)
        res.distortion_parameters.model = p.distortion_model
        res.distortion_parameters.parameters = p.distortion
        res.intrinsics_are_default = p.intrinsics_are_default
        res.mime_types = p.mime_types
        res.has_frame_rate = p.frame_rate is not None
        res.frame_rate = float(p.frame_rate or 0.0)
        if p.depth_to_color_translation is not None:
            res.has_extrinsics = True
            tr, ro = res.depth_to_color.translation, res.depth_to_color.rotation
            tr.x, tr.y, tr.z = p.depth_to_color_translation
            ro.x, ro.y, ro.z, ro.w = p.depth_to_color_quaternion
            mm = res.extrinsic_translation_mm
            mm.x, mm.y, mm.z = (v * 1000.0 for v in p.depth_to_color_translation)
            res.extrinsic_axis_angle = list(p.depth_to_color_axis_angle)
        res.default_reference_frame = p.default_reference_frame

    def _do_command(self, req: Any, res: Any) -> None:
        res.result = self.commands.run(req.command)

    def _get_geometries(self, req: Any, res: Any) -> None:
        frame = self.names.color_optical
        for g in self.camera.get_geometries(req.extra):
            m = Geometry(label=g.label, shape=_SHAPES[g.shape], frame_id=frame)
            c = m.center
            c.x, c.y, c.z = g.center_mm
            c.o_x, c.o_y, c.o_z, c.theta = g.ov
            p = m.pose
            p.position.x, p.position.y, p.position.z = g.position_m
            p.orientation.x, p.orientation.y, p.orientation.z, p.orientation.w = g.quaternion
            m.dims_mm.x, m.dims_mm.y, m.dims_mm.z = g.dims_mm
            m.radius_mm = g.radius_mm
            m.length_mm = g.length_mm
            res.geometries.append(m)

    def _close(self, _req: Any, _res: Any) -> None:
        if self.camera.close():
            self.log.info('Close requested: releasing the device')
