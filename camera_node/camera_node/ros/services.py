"""The Viam camera API as ROS services of the camera node.

Services (node-relative): ``get_image``, ``get_images``, ``get_point_cloud``,
``get_properties``, ``do_command``, ``get_geometries``, ``close``. Each reply carries
``success`` and a human-readable ``error``; no request can raise out of a callback.
Frames come from the newest frame set the capture thread delivered, so colour and depth
in one answer always belong together and ``captured_at`` is their capture time.
"""

from __future__ import annotations

import json
import math
import time
import traceback
from typing import Any, Callable, Dict, List, Optional, Tuple

import numpy as np
from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy
from visualization_msgs.msg import MarkerArray

from camera_node_interfaces.msg import Geometry, NamedImage
from camera_node_interfaces.srv import (Close, DoCommand, GetGeometries, GetImage, GetImages,
                                        GetPointCloud, GetProperties)

from . import viam_formats as vf
from .diagnostics import figures
from .drivers.base import FrameSet
from .geometries import CameraGeometry, GeometryError, markers, parse_geometries
from .node import stamp_msg
from .orientation import matrix_to_axis_angle, rotation_matrix_to_quaternion

#: largest DoCommand request accepted, bytes of JSON text
MAX_COMMAND_BYTES = 64 * 1024
#: how long a request made right after start waits for the first frame set
FIRST_FRAME_WAIT_S = 2.0

LATCHED = QoSProfile(depth=1, history=HistoryPolicy.KEEP_LAST,
                     reliability=ReliabilityPolicy.RELIABLE,
                     durability=DurabilityPolicy.TRANSIENT_LOCAL)


class RequestError(Exception):
    """A request that cannot be served; the message goes to the reply's error field."""


def parse_extra(text: str) -> Dict[str, Any]:
    """Parse a request's ``extra`` JSON text: empty means {}, else it must be an object."""
    if not text or not text.strip():
        return {}
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise RequestError('extra is not valid JSON: %s' % exc) from exc
    if not isinstance(value, dict):
        raise RequestError('extra must be a JSON object, got %s' % type(value).__name__)
    return value


class ViamServices:
    """Creates the Viam services, geometry TF frames and markers on a CameraNode."""

    def __init__(self, node) -> None:
        self.node = node
        self.log = node.get_logger()
        self.geometries: List[CameraGeometry] = []
        self._commands: Dict[str, Tuple[str, Callable[[Dict[str, Any]], Dict[str, Any]]]] = {
            'status': ('Report state, measured rates, drops, reconnects and errors.',
                       self._cmd_status),
            'help': ('List the commands this camera answers.', self._cmd_help),
            'get_parameters': ('Return the current value of every camera parameter.',
                               self._cmd_get_parameters),
            'set_parameters': ('Set parameters: {"command": "set_parameters", "parameters": '
                               '{"jpeg_quality": 60}}; each is validated like a ROS '
                               'parameter change.', self._cmd_set_parameters),
        }
        try:
            self.geometries = parse_geometries(node.p['geometries'])
        except GeometryError as exc:
            self.log.error('ignoring the geometries parameter: %s' % exc)
        node.param_hooks['geometries'] = (self._check_geometries, self._apply_geometries)
        self._marker_pub = node.create_publisher(
            MarkerArray, '~/geometries', LATCHED)
        srv = [
            (GetImage, '~/get_image', self._get_image),
            (GetImages, '~/get_images', self._get_images),
            (GetPointCloud, '~/get_point_cloud', self._get_point_cloud),
            (GetProperties, '~/get_properties', self._get_properties),
            (DoCommand, '~/do_command', self._do_command),
            (GetGeometries, '~/get_geometries', self._get_geometries),
            (Close, '~/close', self._close),
        ]
        self.services = [node.create_service(t, n, self._guard(cb)) for t, n, cb in srv]
        self._publish_markers()

    # -- plumbing -----------------------------------------------------------------------
    def _guard(self, callback):
        """Wrap a callback so every failure becomes an error reply, never an exception."""
        def handler(request, response):
            try:
                callback(request, response)
                response.success = True
                response.error = ''
            except RequestError as exc:
                response.success = False
                response.error = str(exc)
            except Exception as exc:
                self.log.error('service %s failed: %s\n%s' % (
                    callback.__name__, exc, traceback.format_exc()))
                response.success = False
                response.error = 'internal error: %s: %s' % (type(exc).__name__, exc)
            return response
        return handler

    def _check_open(self) -> None:
        node = self.node
        if node.closed:
            raise RequestError('camera %r is closed (Close was called); restart the node, or '
                               'with lifecycle clean up and configure it again'
                               % node.camera_name)

    def _frame_set(self) -> FrameSet:
        node = self.node
        self._check_open()
        if not node.active:
            raise RequestError('camera %r is not active (lifecycle state: %s); configure and '
                               'activate it first' % (node.camera_name, node.lifecycle_state()))
        fs = node.capture.latest
        if fs is None and node.capture.state in ('starting', 'streaming', 'waiting'):
            # just started: give the first frame set a moment instead of failing at once
            deadline = time.monotonic() + FIRST_FRAME_WAIT_S
            while fs is None and time.monotonic() < deadline:
                time.sleep(0.02)
                fs = node.capture.latest
        if fs is None or node.props is None:
            cap = node.capture
            raise RequestError('no frame captured yet (camera state: %s%s)' % (
                cap.state, ': ' + cap.last_error if cap.last_error else ''))
        return fs

    def _sources(self) -> Dict[str, str]:
        """Return the source names this camera serves -> 'color' or 'depth'."""
        d = self.node.driver
        out = {d.color_source: vf.SOURCE_COLOR}
        if self.node.props is not None and self.node.props.has_depth:
            out[d.depth_source] = vf.SOURCE_DEPTH
        return out

    def _image_of(self, fs: FrameSet, kind: str) -> Tuple[str, np.ndarray]:
        """Return (node stream, image) of a source kind: depth is the aligned one if any."""
        if kind == vf.SOURCE_COLOR:
            return 'color', fs.color
        if fs.aligned_depth is not None:
            return 'aligned_depth', fs.aligned_depth
        if fs.depth is not None:
            return 'depth', fs.depth
        raise RequestError('the newest frame set has no depth image')

    def _encode(self, kind: str, image: np.ndarray, wanted: str) -> Tuple[bytes, str]:
        data, mime, _ = vf.encode_image(kind, image, wanted,
                                        jpeg_quality=int(self.node.p['jpeg_quality']),
                                        png_level=int(self.node.p['png_level']))
        return data, mime

    # -- GetImage -----------------------------------------------------------------------
    def _get_image(self, req, res) -> None:
        extra = parse_extra(req.extra)
        sources = self._sources()
        wanted = vf.normalize_mime(req.mime_type)
        source = extra.get('source')
        if source is not None:
            if source not in sources:
                raise RequestError('unknown source %r; this camera has: %s'
                                   % (source, ', '.join(sources)))
        elif wanted == vf.MIME_VIAM_DEP and vf.SOURCE_DEPTH in sources.values():
            source = self.node.driver.depth_source
        else:
            source = self.node.driver.color_source
        fs = self._frame_set()
        kind = sources[source]
        stream, image = self._image_of(fs, kind)
        res.data, res.mime_type = self._encode(kind, image, req.mime_type)
        res.source_name = source
        res.image = self.node.streams[stream].message(image, stamp_msg(fs.stamp_ns))

    # -- GetImages ----------------------------------------------------------------------
    def _get_images(self, req, res) -> None:
        extra = parse_extra(req.extra)
        sources = self._sources()
        names = list(req.filter_source_names) or list(sources)
        unknown = [n for n in names if n not in sources]
        if unknown:
            raise RequestError('unknown source name(s) %s; this camera has: %s'
                               % (', '.join(repr(n) for n in unknown), ', '.join(sources)))
        color_mime = extra.get('mime_type', '')
        if not isinstance(color_mime, str):
            raise RequestError('extra.mime_type must be a string')
        fs = self._frame_set()
        for name in dict.fromkeys(names):
            kind = sources[name]
            wanted = color_mime if kind == vf.SOURCE_COLOR else ''
            data, mime = self._encode(kind, self._image_of(fs, kind)[1], wanted)
            res.images.append(NamedImage(source_name=name, mime_type=mime, data=data))
        res.captured_at = stamp_msg(fs.stamp_ns)

    # -- GetPointCloud ------------------------------------------------------------------
    def _get_point_cloud(self, req, res) -> None:
        extra = parse_extra(req.extra)
        node = self.node
        fs = self._frame_set()
        if not node.props.has_depth or (fs.aligned_depth is None and fs.depth is None):
            raise RequestError('driver %r has no depth: this camera cannot make point clouds '
                               '(supports_pcd is false)' % node.driver.name)
        dec = extra.get('decimation', 1)
        if isinstance(dec, bool) or not isinstance(dec, int) or not 1 <= dec <= 16:
            raise RequestError('extra.decimation must be an integer in [1, 16], got %r' % dec)
        if fs.aligned_depth is not None:
            intr, depth, rgb = node.color_intrinsics(), fs.aligned_depth, fs.color
        else:
            intr, depth, rgb = node.props.depth, fs.depth, None
        res.data = vf.depth_to_pcd(depth, rgb, intr.fx, intr.fy, intr.cx, intr.cy, dec)
        res.mime_type = vf.MIME_PCD
        res.captured_at = stamp_msg(fs.stamp_ns)

    # -- GetProperties ------------------------------------------------------------------
    def _get_properties(self, req, res) -> None:
        parse_extra(req.extra)
        node = self.node
        props = node.props
        if node.closed or props is None:
            self._frame_set()  # raises with the reason
        intr = node.color_intrinsics()
        res.supports_pcd = props.has_depth
        ip = res.intrinsic_parameters
        ip.width_px, ip.height_px = int(intr.width), int(intr.height)
        ip.focal_x_px, ip.focal_y_px = float(intr.fx), float(intr.fy)
        ip.center_x_px, ip.center_y_px = float(intr.cx), float(intr.cy)
        try:
            model, values = vf.ros_distortion_to_viam(intr.distortion_model,
                                                      list(intr.distortion))
        except ValueError:
            model, values = intr.distortion_model, [float(v) for v in intr.distortion]
        res.distortion_parameters.model = model
        res.distortion_parameters.parameters = [float(v) for v in values]
        res.intrinsics_are_default = node.intrinsics_source() == 'default'
        mimes = list(vf.supported_mime_types(vf.SOURCE_COLOR))
        if props.has_depth:
            mimes += [m for m in vf.supported_mime_types(vf.SOURCE_DEPTH) if m not in mimes]
        res.mime_types = mimes
        rate = node.capture.rate.rate()
        res.has_frame_rate = rate > 0
        res.frame_rate = float(rate)
        if props.has_depth and props.depth_to_color is not None:
            r = np.asarray(props.depth_to_color.rotation, dtype=float)
            t = np.asarray(props.depth_to_color.translation, dtype=float)
            res.has_extrinsics = True
            tr = res.depth_to_color.translation
            tr.x, tr.y, tr.z = (float(v) for v in t)
            q = rotation_matrix_to_quaternion(r)
            ro = res.depth_to_color.rotation
            ro.x, ro.y, ro.z, ro.w = (float(v) for v in q)
            mm = res.extrinsic_translation_mm
            mm.x, mm.y, mm.z = (float(v) * 1000.0 for v in t)
            res.extrinsic_axis_angle = [float(v) for v in matrix_to_axis_angle(r)]
        res.default_reference_frame = node.frames['color_optical']

    # -- DoCommand ----------------------------------------------------------------------
    def commands(self) -> Dict[str, Tuple[str, Callable]]:
        """Return every command: the generic ones, then the driver's (which cannot shadow)."""
        out = dict(self._commands)
        for name, entry in self.node.driver.commands().items():
            out.setdefault(name, entry)
        return out

    def _do_command(self, req, res) -> None:
        text = req.command
        if len(text.encode('utf-8')) > MAX_COMMAND_BYTES:
            raise RequestError('command is %d bytes; the limit is %d'
                               % (len(text.encode('utf-8')), MAX_COMMAND_BYTES))
        try:
            cmd = json.loads(text) if text.strip() else None
        except ValueError as exc:
            raise RequestError('command is not valid JSON: %s' % exc) from exc
        if not isinstance(cmd, dict):
            raise RequestError('command must be a JSON object like {"command": "status"}, '
                               'got %s' % ('nothing' if cmd is None else type(cmd).__name__))
        name = cmd.get('command')
        table = self.commands()
        if not isinstance(name, str):
            raise RequestError('the object needs a "command" string; known commands: %s'
                               % ', '.join(sorted(table)))
        if name not in table:
            raise RequestError('unknown command %r; known commands: %s'
                               % (name, ', '.join(sorted(table))))
        if self.node.closed and name not in ('status', 'help'):
            self._frame_set()
        try:
            result = table[name][1](cmd)
        except RequestError:
            raise
        except (ValueError, TypeError, KeyError) as exc:
            raise RequestError('command %r failed: %s' % (name, exc)) from exc
        if not isinstance(result, dict):
            result = {'result': result}
        res.result = json.dumps(result, default=_json_default)

    def _cmd_help(self, _cmd) -> Dict[str, Any]:
        return {'commands': {n: d for n, (d, _) in sorted(self.commands().items())}}

    def _cmd_status(self, _cmd) -> Dict[str, Any]:
        f = figures(self.node)
        f['capture_fps'] = round(f['capture_fps'], 2)
        f['published_fps'] = {n: round(r, 2) for n, r in f['published_fps'].items()}
        return {'camera': self.node.camera_name, **f}

    def _cmd_get_parameters(self, _cmd) -> Dict[str, Any]:
        return {'parameters': dict(self.node.p)}

    def _cmd_set_parameters(self, cmd) -> Dict[str, Any]:
        from rclpy.parameter import Parameter
        values = cmd.get('parameters')
        if not isinstance(values, dict) or not values:
            raise RequestError('set_parameters needs "parameters": {name: value, ...}')
        unknown = [n for n in values if n not in self.node.p]
        if unknown:
            raise RequestError('unknown parameter(s): %s' % ', '.join(unknown))
        results = {}
        for name, value in values.items():
            current = self.node.p[name]
            if isinstance(current, float) and isinstance(value, int) \
                    and not isinstance(value, bool):
                value = float(value)  # DoCommand numbers travel as doubles
            if isinstance(current, int) and not isinstance(current, bool) \
                    and isinstance(value, float) and value.is_integer():
                value = int(value)
            try:
                r = self.node.set_parameters([Parameter(name, value=value)])[0]
                results[name] = {'successful': r.successful, 'reason': r.reason}
            except Exception as exc:  # read-only or type errors raise in rclpy
                results[name] = {'successful': False, 'reason': str(exc)}
        return {'results': results}

    # -- GetGeometries ------------------------------------------------------------------
    def _get_geometries(self, req, res) -> None:
        parse_extra(req.extra)
        self._check_open()
        frame = self.node.frames['color_optical']
        shapes = {'box': Geometry.BOX, 'sphere': Geometry.SPHERE, 'capsule': Geometry.CAPSULE}
        for g in self.geometries:
            m = Geometry(label=g.label, shape=shapes[g.shape], frame_id=frame)
            c = m.center
            c.x, c.y, c.z = g.center_mm
            c.o_x, c.o_y, c.o_z, c.theta = g.ov
            p = m.pose
            p.position.x, p.position.y, p.position.z = g.position_m
            q = g.quaternion
            p.orientation.x, p.orientation.y, p.orientation.z, p.orientation.w = q
            m.dims_mm.x, m.dims_mm.y, m.dims_mm.z = g.dims_mm
            m.radius_mm = g.radius_mm
            m.length_mm = g.length_mm
            res.geometries.append(m)

    def _check_geometries(self, value: str) -> Optional[str]:
        try:
            parse_geometries(value)
        except GeometryError as exc:
            return str(exc)
        return None

    def _apply_geometries(self, value: str) -> None:
        self.geometries = parse_geometries(value)
        self._publish_markers()
        self.node.republish_static_tf()

    def _publish_markers(self) -> None:
        self._marker_pub.publish(markers(self.geometries, self.node.frames['color_optical'],
                                         self.node.camera_name + '_geometries'))

    def static_transforms(self):
        """Return one static transform per geometry, under the colour optical frame."""
        from geometry_msgs.msg import TransformStamped
        out = []
        now = self.node.get_clock().now().to_msg()
        for i, g in enumerate(self.geometries):
            t = TransformStamped()
            t.header.stamp = now
            t.header.frame_id = self.node.frames['color_optical']
            t.child_frame_id = g.frame_name(self.node.camera_name, i)
            tr = t.transform.translation
            tr.x, tr.y, tr.z = g.position_m
            r = t.transform.rotation
            r.x, r.y, r.z, r.w = g.quaternion
            out.append(t)
        return out

    # -- Close --------------------------------------------------------------------------
    def _close(self, _req, _res) -> None:
        if self.node.closed:
            return
        self.log.info('Close requested: releasing the device')
        self.node.close_device()


def _json_default(value: Any) -> Any:
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        f = float(value)
        return f if math.isfinite(f) else None
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)
