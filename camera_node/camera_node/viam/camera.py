"""The Viam camera API over a camera session: what each call answers, without ROS.

:class:`ViamCamera` is what the ROS services (and in-process tests) call. Its answers are
plain data; frames come from the session's newest frame set, so colour and depth in one
answer belong together and carry their capture time. Refusals raise
:class:`~camera_node.viam.requests.RequestError` (a bad request) or
:class:`~camera_node.core.errors.Unavailable` (closed, inactive, no frame yet).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, List, Mapping, Optional, Tuple

import numpy as np

from ..core.calibration import IntrinsicsResolver
from ..core.errors import Unavailable
from ..core.frames import FrameNames
from ..core.orientation import matrix_to_axis_angle, rotation_matrix_to_quaternion
from ..core.prebuffer import PreEventBuffer
from ..core.session import CameraSession, State
from ..core.types import FrameSet, Intrinsics
from . import codecs, encoded
from .distortion import ros_distortion_to_viam
from .geometries import CameraGeometry
from .pcd import depth_to_pcd
from .requests import parse_extra, parse_time, RequestError, short


@dataclass
class EncodedImage:
    """One image of an answer: the bytes, their type, and the frame they came from.

    ``stream`` is the frame set field the pixels came from (``color``, ``aligned_depth``,
    ``depth``, ``infra1`` or ``infra2``) and ``array`` those pixels, so a ROS answer can
    carry them as an Image when ``pixels_wanted`` (the request asked for them).
    """

    source_name: str
    mime_type: str
    data: bytes
    stream: str
    array: np.ndarray
    stamp_ns: int
    pixels_wanted: bool = False


@dataclass
class Images:
    """Answer of GetImages: the images of one frame set and its capture time."""

    images: List[EncodedImage]
    captured_at_ns: int


@dataclass
class PointCloud:
    """Answer of GetPointCloud."""

    data: bytes
    mime_type: str
    captured_at_ns: int


@dataclass
class Properties:
    """Answer of GetProperties (about the colour imager)."""

    supports_pcd: bool
    intrinsics: Intrinsics
    distortion_model: str
    distortion: List[float]
    intrinsics_are_default: bool
    mime_types: List[str]
    frame_rate: Optional[float]
    depth_to_color_translation: Optional[Tuple[float, float, float]]
    depth_to_color_quaternion: Optional[Tuple[float, float, float, float]]
    depth_to_color_axis_angle: Optional[Tuple[float, float, float, float]]
    default_reference_frame: str


#: sensor -> the source kind of the codec registry
_KINDS = {'color': codecs.SOURCE_COLOR, 'depth': codecs.SOURCE_DEPTH,
          'infra1': codecs.SOURCE_INFRARED, 'infra2': codecs.SOURCE_INFRARED}


class GeometrySet:
    """The camera's current geometries (replaced whole when the parameter changes)."""

    def __init__(self) -> None:
        self.items: List[CameraGeometry] = []


class ViamCamera:
    """The Viam camera calls over one session.

    :param session: the camera session (frames, properties, state).
    :param settings: live mapping with ``jpeg_quality`` and ``png_level``.
    :param intrinsics: the colour imager's intrinsics resolver.
    :param frames: the camera's frame names.
    :param geometries: the camera's geometries.
    :param buffer: the pre-event buffer that time-indexed requests (``extra.at``) read.
    """

    def __init__(self, session: CameraSession, settings: Mapping[str, Any],
                 intrinsics: IntrinsicsResolver, frames: FrameNames,
                 geometries: GeometrySet, buffer: Optional[PreEventBuffer] = None) -> None:
        self.session = session
        self.buffer = buffer
        self.settings = settings
        self.intrinsics = intrinsics
        self.frames = frames
        self.geometry_set = geometries

    # -- sources --------------------------------------------------------------------------
    def sources(self) -> Dict[str, str]:
        """Return the source names this camera serves -> their sensor.

        Sensors: ``color``, ``depth``, ``infra1``, ``infra2`` (the infrared pair is
        ``ir_left``/``ir_right`` unless the driver names them otherwise).
        """
        d = self.session.driver
        props = self.session.props
        sensors = props.sensors() if props is not None else ('color',)
        names = {'color': d.viam_color_name, 'depth': d.viam_depth_name,
                 'infra1': d.viam_infra1_name, 'infra2': d.viam_infra2_name}
        return {name: s for s, name in names.items() if s in sensors}

    @staticmethod
    def _pixels(fs: FrameSet, sensor: str) -> Tuple[str, np.ndarray]:
        """Return (frame set field, image) of a sensor: depth is the aligned one if any."""
        if sensor == 'depth':
            if fs.aligned_depth is not None:
                return 'aligned_depth', fs.aligned_depth
            if fs.depth is not None:
                return 'depth', fs.depth
            raise RequestError('the newest frame set has no depth image')
        image = getattr(fs, sensor)
        if image is None:
            raise RequestError('the newest frame set has no %s image' % sensor)
        return sensor, image

    def _encode(self, name: str, sensor: str, fs: FrameSet, wanted: str) -> EncodedImage:
        """Encode one image; a colour JPEG or depth PNG the topics made for fs is reused."""
        stream, array = self._pixels(fs, sensor)
        quality, level = int(self.settings['jpeg_quality']), int(self.settings['png_level'])
        mime, _ = codecs.choose_mime(_KINDS[sensor], wanted)
        if sensor == 'color' and mime == codecs.MIME_JPEG:
            data = encoded.color_jpeg(fs, quality)
        elif sensor == 'depth' and mime == codecs.MIME_PNG:
            data = encoded.png(fs, stream, level)
        else:
            data = codecs.CODECS[mime].encode(array, quality, level)
        return EncodedImage(name, mime, data, stream, array, fs.stamp_ns)

    def _frame_set(self, options: Mapping[str, Any]) -> FrameSet:
        """Return the newest frame set, or with ``extra.at`` the buffered one nearest it."""
        if 'at' not in options:
            return self.session.frame_set()
        at = parse_time(options['at'])
        reason = self.session.unavailable_reason()
        if reason:
            raise Unavailable(reason)
        if self.buffer is None:
            raise RequestError('extra.at needs the pre-event buffer, which this camera has not')
        fs, why = self.buffer.nearest(at)
        if fs is None:
            raise RequestError('extra.at: ' + why)
        return fs

    def _color_intrinsics(self) -> Tuple[Intrinsics, str]:
        resolved = self.intrinsics.color
        if resolved is None:
            raise Unavailable('the camera was never opened')
        return resolved[0].intrinsics(), resolved[1]

    # -- the calls ------------------------------------------------------------------------
    def get_image(self, mime_type: str = '', extra: str = '') -> EncodedImage:
        """Return one image: the source ``extra.source`` names, else depth for a depth type.

        ``extra.at`` (a time: see :func:`~camera_node.viam.requests.parse_time`) asks for
        the buffered frame set nearest that time instead of the newest; ``extra.ros_image``
        (true/false, default false) asks for the undecoded pixels beside the bytes.
        """
        options = parse_extra(extra)
        pixels = options.get('ros_image', False)
        if not isinstance(pixels, bool):
            raise RequestError('extra.ros_image must be true or false, got %s' % short(pixels))
        fs = self._frame_set(options)
        sources = self.sources()
        source = options.get('source')
        if source is not None:
            if not isinstance(source, str) or source not in sources:
                raise RequestError('unknown source %s; this camera has: %s'
                                   % (short(source), ', '.join(sources)))
        elif (codecs.normalize_mime(mime_type) == codecs.MIME_VIAM_DEP
              and 'depth' in sources.values()):
            source = self.session.driver.viam_depth_name
        else:
            source = self.session.driver.viam_color_name
        img = self._encode(source, sources[source], fs, mime_type)
        img.pixels_wanted = pixels
        return img

    def get_images(self, filter_source_names: Any = (), extra: str = '') -> Images:
        """Return the images of the named sources (all when empty) from one frame set.

        ``extra.mime_type`` asks for a colour type; depth and infrared come in their
        default types (``.dep``, lossless PNG). ``extra.at`` asks for the buffered frame set
        nearest that time; the answer's ``captured_at_ns`` is that frame set's capture time.
        """
        options = parse_extra(extra)
        fs = self._frame_set(options)
        sources = self.sources()
        names = list(filter_source_names) or list(sources)
        unknown = [n for n in names if n not in sources]
        if unknown:
            raise RequestError('unknown source name(s) %s; this camera has: %s'
                               % (', '.join(short(n) for n in unknown[:5]),
                                  ', '.join(sources)))
        color_mime = options.get('mime_type', '')
        if not isinstance(color_mime, str):
            raise RequestError('extra.mime_type must be a string')
        images = []
        for name in dict.fromkeys(names):
            sensor = sources[name]
            images.append(self._encode(name, sensor, fs,
                                       color_mime if sensor == 'color' else ''))
        return Images(images, fs.stamp_ns)

    def get_point_cloud(self, extra: str = '') -> PointCloud:
        """Return the newest frame set as PCD (metres, colour optical frame when aligned)."""
        options = parse_extra(extra)
        fs = self._frame_set(options)
        props = self.session.properties()
        if not props.has_depth or (fs.aligned_depth is None and fs.depth is None):
            raise RequestError('driver %r has no depth: this camera cannot make point clouds '
                               '(supports_pcd is false)' % self.session.driver.name)
        dec = options.get('decimation', 1)
        if isinstance(dec, bool) or not isinstance(dec, int) or not 1 <= dec <= 16:
            raise RequestError('extra.decimation must be an integer in [1, 16], got %s'
                               % short(dec))
        if fs.aligned_depth is not None:
            intr, depth, rgb = self._color_intrinsics()[0], fs.aligned_depth, fs.color
        else:
            intr, depth, rgb = fs.depth_intrinsics or props.depth, fs.depth, None
        try:
            data = depth_to_pcd(depth, rgb, intr, dec)
        except ValueError as exc:
            raise RequestError('cannot make the point cloud: %s' % exc) from exc
        return PointCloud(data, codecs.MIME_PCD, fs.stamp_ns)

    def get_properties(self, extra: str = '') -> Properties:
        """Return the colour imager's intrinsics, distortion, types, rate and extrinsics."""
        parse_extra(extra)
        props = self.session.properties()
        intr, source = self._color_intrinsics()
        try:
            model, values = ros_distortion_to_viam(intr.distortion_model,
                                                   list(intr.distortion))
        except ValueError:
            model, values = intr.distortion_model, [float(v) for v in intr.distortion]
        mimes = list(codecs.supported_mime_types(codecs.SOURCE_COLOR))
        if props.has_depth:
            mimes += [m for m in codecs.supported_mime_types(codecs.SOURCE_DEPTH)
                      if m not in mimes]
        rate = self.session.rate.rate()
        t = q = aa = None
        if props.has_depth and props.depth_to_color is not None:
            r = np.asarray(props.depth_to_color.rotation, dtype=float)
            t = tuple(float(v) for v in np.asarray(props.depth_to_color.translation, float))
            q = tuple(float(v) for v in rotation_matrix_to_quaternion(r))
            aa = tuple(float(v) for v in matrix_to_axis_angle(r))
        return Properties(props.has_depth, intr, model, [float(v) for v in values],
                          source == 'default', mimes, rate if rate > 0 else None, t, q, aa,
                          self.frames.color_optical)

    def get_geometries(self, extra: str = '') -> List[CameraGeometry]:
        """Return the camera's geometries (poses in the colour optical frame)."""
        parse_extra(extra)
        if self.session.state is State.CLOSED:
            raise Unavailable(self.session.unavailable_reason())
        return list(self.geometry_set.items)

    def close(self) -> bool:
        """Release the device (further calls are refused); False if it was closed already."""
        if self.session.state is State.CLOSED:
            return False
        self.session.close()
        return True
