"""The camera's topics: one row of :data:`STREAMS` per topic, and the set publishing them.

A row names the topic, the CameraInfo topic beside it, the encoding, the frame, the
parameter that enables it, and the :class:`~camera_node.core.types.FrameSet` field it
publishes. ``kind`` picks the publisher (:data:`camera_node.ros.publishers.KINDS`):
``image`` (sensor_msgs/Image with a reused buffer), ``jpeg`` (CompressedImage of colour),
``compressed_depth`` (a depth image in compressed_depth_image_transport's format),
``cloud`` (PointCloud2 from aligned depth and colour) or ``metadata``
(camera_node_interfaces/Metadata: what the device said about that field's image). Every
stream is computed only while someone subscribes, and all streams of one frame set carry
its capture stamp. To add a topic, add a row. (IMU samples do not come in frame sets:
:mod:`camera_node.ros.imu` publishes them.)
"""

from __future__ import annotations

from dataclasses import dataclass
import threading
from typing import Any, Dict, List, Mapping, Optional

from ..core.calibration import Calibration, IntrinsicsResolver
from ..core.capture import name_os_thread
from ..core.frames import FrameNames, stereo_baseline_m
from ..core.types import CameraProperties, FrameSet
from .messages import camera_info, stamp_msg
from .publishers import KINDS


@dataclass(frozen=True)
class StreamSpec:
    """One topic of the camera.

    :param key: name in status and diagnostics.
    :param kind: ``image``, ``jpeg``, ``compressed_depth``, ``cloud`` or ``metadata``.
    :param topic: node-relative topic.
    :param info_topic: node-relative CameraInfo topic published beside it, or None.
    :param encoding: sensor_msgs/Image encoding (``image`` rows).
    :param frame: :class:`FrameNames` attribute of the frame the pixels are in.
    :param field: the FrameSet field published.
    :param info: whose CameraInfo: ``color``, ``depth``, ``infra1`` or ``infra2``.
    :param enable: boolean parameter that switches the topic on, or None (always).
    :param needs: the sensor the camera must have for the topic to exist (``depth``,
        ``infra1``...; a name of ``CameraProperties.sensors()``), or '' (always).
    """

    key: str
    kind: str
    topic: str
    info_topic: Optional[str]
    encoding: str
    frame: str
    field: str
    info: str
    enable: Optional[str] = None
    needs: str = ''


STREAMS = (
    StreamSpec('color', 'image', '~/color/image_raw', '~/color/camera_info', 'rgb8',
               'color_optical', 'color', 'color'),
    StreamSpec('compressed', 'jpeg', '~/color/image_raw/compressed', None, '',
               'color_optical', 'color', 'color', 'publish_compressed'),
    StreamSpec('depth', 'image', '~/depth/image_rect_raw', '~/depth/camera_info', '16UC1',
               'depth_optical', 'depth', 'depth', needs='depth'),
    StreamSpec('depth_compressed', 'compressed_depth', '~/depth/image_rect_raw/compressedDepth',
               None, '16UC1', 'depth_optical', 'depth', 'depth', 'publish_compressed_depth',
               needs='depth'),
    StreamSpec('aligned_depth', 'image', '~/aligned_depth_to_color/image_raw',
               '~/aligned_depth_to_color/camera_info', '16UC1', 'color_optical',
               'aligned_depth', 'color', 'publish_aligned_depth', needs='depth'),
    StreamSpec('aligned_depth_compressed', 'compressed_depth',
               '~/aligned_depth_to_color/image_raw/compressedDepth', None, '16UC1',
               'color_optical', 'aligned_depth', 'color', 'publish_compressed_depth',
               needs='depth'),
    StreamSpec('points', 'cloud', '~/depth/color/points', None, '', 'color_optical',
               'aligned_depth', 'color', 'publish_cloud', needs='depth'),
    StreamSpec('infra1', 'image', '~/infra1/image_rect_raw', '~/infra1/camera_info', 'mono8',
               'infra1_optical', 'infra1', 'infra1', needs='infra1'),
    StreamSpec('infra2', 'image', '~/infra2/image_rect_raw', '~/infra2/camera_info', 'mono8',
               'infra2_optical', 'infra2', 'infra2', needs='infra2'),
    StreamSpec('color_metadata', 'metadata', '~/color/metadata', None, '', 'color_optical',
               'color', 'color'),
    StreamSpec('depth_metadata', 'metadata', '~/depth/metadata', None, '', 'depth_optical',
               'depth', 'depth', needs='depth'),
    StreamSpec('infra1_metadata', 'metadata', '~/infra1/metadata', None, '',
               'infra1_optical', 'infra1', 'infra1', needs='infra1'),
    StreamSpec('infra2_metadata', 'metadata', '~/infra2/metadata', None, '',
               'infra2_optical', 'infra2', 'infra2', needs='infra2'),
)


class StreamSet:
    """Every topic of one camera: made on the first open, refreshed on calibration changes."""

    def __init__(self, node: Any, names: FrameNames, settings: Mapping[str, Any],
                 intrinsics: IntrinsicsResolver) -> None:
        self.node = node
        self.names = names
        self.settings = settings
        self.intrinsics = intrinsics
        self.streams: Dict[str, Any] = {}
        self.lock = threading.Lock()
        self.published_sets = 0
        self.publish_errors = 0
        self._props: Optional[CameraProperties] = None

    def setup(self, props: CameraProperties) -> None:
        """Create the topics the device has (once) and set every CameraInfo."""
        with self.lock:
            sensors = props.sensors()
            for spec in STREAMS:
                if spec.key in self.streams or (spec.needs and spec.needs not in sensors):
                    continue
                self.streams[spec.key] = KINDS[spec.kind](
                    self.node, spec, getattr(self.names, spec.frame), self.settings)
            self._props = props
            self._set_infos(props)

    def refresh(self) -> None:
        """Set the CameraInfos again (after the calibration changed)."""
        with self.lock:
            if self._props is not None:
                self._set_infos(self._props)

    def _set_infos(self, props: CameraProperties) -> None:
        color, _ = self.intrinsics.resolve(props)
        cals = {'color': color}
        for imager in ('depth', 'infra1', 'infra2'):
            intr = getattr(props, imager)
            if intr is not None:
                cals[imager] = Calibration.from_intrinsics(intr)
        baseline = stereo_baseline_m(props)
        if baseline is not None:   # the right imager's P carries the baseline (ROS stereo)
            cals['infra2'].p[3] = -cals['infra2'].p[0] * baseline
        for stream in self.streams.values():
            cal = cals.get(stream.spec.info)
            if cal is not None:
                stream.set_info(camera_info(cal), cal)

    def topics(self) -> List[str]:
        """Return the full names of every topic, images first."""
        images = sorted(s.pub.topic_name for s in self.streams.values()
                        if s.spec.kind == 'image')
        others = sorted((s for s in self.streams.values() if s.spec.kind != 'image'),
                        key=lambda s: s.spec.kind)
        return images + [s.pub.topic_name for s in others]

    def publish(self, fs: FrameSet) -> None:
        """Publish every wanted stream of one frame set with the same stamp.

        A failed publish (``publish()`` raises under back-pressure) is counted and logged
        now and then, never raised: the next frame set is published as usual.
        """
        with self.lock:
            stamp = stamp_msg(fs.stamp_ns)
            try:
                for stream in self.streams.values():
                    if stream.wanted():
                        stream.publish(fs, stamp)
            except Exception as exc:
                self.publish_errors += 1
                if self.publish_errors in (1, 10) or self.publish_errors % 1000 == 0:
                    self.node.get_logger().warning('publishing failed (%d times): %s'
                                                   % (self.publish_errors, exc))
                return
            self.published_sets += 1

    def rates(self) -> Dict[str, float]:
        """Return the measured publish rate of every stream, Hz."""
        return {key: s.rate.rate() for key, s in self.streams.items()}


class PublishThread:
    """Takes the newest frame set from the session and publishes it, until stopped."""

    def __init__(self, session: Any, streams: StreamSet, ok: Any) -> None:
        self._session = session
        self._streams = streams
        self._ok = ok
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name='camera_publish', daemon=True)
        self._thread.start()

    def _run(self) -> None:
        name_os_thread()
        slot = self._session.slot
        while not self._stop.is_set() and not slot.closed and self._ok():
            fs = slot.get(0.5)
            if fs is not None and not self._stop.is_set():
                self._streams.publish(fs)

    def stop(self, timeout: float = 5.0) -> None:
        """Stop publishing and wait for the thread."""
        self._stop.set()
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join(timeout)
