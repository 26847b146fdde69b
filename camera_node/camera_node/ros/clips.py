"""The pre-event buffer and clips on ROS: the ``save_clip`` service and DoCommand rows.

:class:`RosClips` owns the camera's :class:`~camera_node.core.prebuffer.PreEventBuffer`
(fed by the session in the capture thread), keeps its context (each stream's CameraInfo
and the static transforms) current, and saves clips with a
:class:`~camera_node.core.clips.ClipRecorder` writing :class:`~.clipwriter.BagWriter` bags
under ``clip_directory``.

``save_clip`` answers once the bag is written, which takes seconds, so it is served by a
small helper node (``<node>_clips``, same namespace) spun by its own executor thread: the
camera's executor keeps answering every other service and parameter meanwhile. The service
keeps the camera's name (``/<ns>/<node>/save_clip``). DoCommand ``save_clip`` starts a save
and answers at once (the camera's executor must not wait); ``clip_status`` reports it.
"""

from __future__ import annotations

import os
import threading
from typing import Any, Callable, Dict, List, Mapping

from camera_node_interfaces.srv import SaveClip
from rclpy.callback_groups import ReentrantCallbackGroup
from rclpy.executors import MultiThreadedExecutor
from rclpy.node import Node

from ..core.clips import ClipError, ClipRecorder, default_clip_name
from ..core.frames import FrameNames, Transform
from ..core.params import Handler
from ..core.prebuffer import PreEventBuffer
from ..core.session import CameraSession
from ..viam.commands import CommandTable
from ..viam.requests import RequestError
from .clipwriter import BagWriter, ClipStream, make_context
from .messages import stamp_msg
from .streams import StreamSet

#: how long the service waits for a save beyond its own seconds after the call
SERVICE_MARGIN_S = 120.0


def clip_directory(setting: str) -> str:
    """Return the folder clips go to: the parameter, else ``$ROS_HOME/camera_clips``."""
    if setting:
        return os.path.abspath(os.path.expanduser(setting))
    home = os.environ.get('ROS_HOME') or os.path.join(os.path.expanduser('~'), '.ros')
    return os.path.join(home, 'camera_clips')


class RosClips:
    """The camera's buffer, clips, ``save_clip`` service and clip commands.

    :param transforms: returns the camera's fixed transforms (what ``/tf_static`` carries).
    :param about: facts stored in every clip (camera name, driver).
    """

    def __init__(self, node: Any, settings: Mapping[str, Any], session: CameraSession,
                 streams: StreamSet, names: FrameNames,
                 transforms: Callable[[], List[Transform]], about: Dict[str, str]) -> None:
        self.node = node
        self.log = node.get_logger()
        self.settings = settings
        self.streams = streams
        self.transforms = transforms
        self.about = about
        self.buffer = PreEventBuffer(float(settings['buffer_seconds']),
                                     int(settings['buffer_memory_mb']) * 1_000_000)
        session.on_frame.append(self.buffer.add)
        self.recorder = ClipRecorder(self.buffer, self._make_sink,
                                     lambda: default_clip_name(names.camera_name), self.log)
        self._helper = None
        self._executor = None
        self._thread = None

    # -- parameters -----------------------------------------------------------------------
    def handlers(self) -> Dict[str, Handler]:
        """Return what changes of the buffer parameters do (resize the buffer at once)."""
        return {
            'buffer_seconds': Handler(apply=lambda v: self.buffer.configure(seconds=v)),
            'buffer_memory_mb': Handler(
                apply=lambda v: self.buffer.configure(budget_bytes=int(v) * 1_000_000)),
        }

    def update_context(self) -> None:
        """Record the current CameraInfo of each stream and the transforms for new frames."""
        with self.streams.lock:
            infos = {key: getattr(s, 'info', None) for key, s in self.streams.streams.items()}
            self.buffer.set_context(make_context(infos, self.transforms()))

    # -- saving ---------------------------------------------------------------------------
    def _plan(self) -> List[ClipStream]:
        out = []
        with self.streams.lock:
            for key, s in self.streams.streams.items():
                if s.spec.kind != 'image':
                    continue
                info = s.info_pub
                out.append(ClipStream(s.spec.field, key, s.pub.topic_name,
                                      info.topic_name if info is not None else None,
                                      s.spec.encoding, s.frame_id, s.pub.qos_profile,
                                      info.qos_profile if info is not None else None))
        return out

    def _make_sink(self, name: str) -> BagWriter:
        plan = self._plan()
        if not plan:
            raise ValueError('the camera has no image streams yet (never opened)')
        return BagWriter(clip_directory(self.settings['clip_directory']), name, plan,
                         self.settings['clip_compression'], self.about)

    def _share(self) -> float:
        return float(self.settings['clip_write_share'])

    def commands(self, table: CommandTable) -> None:
        """Add ``save_clip`` and ``clip_status`` to the camera's DoCommand table."""
        def save(cmd: Mapping[str, Any]) -> Dict[str, Any]:
            try:
                job = self.recorder.start(cmd.get('before', -1.0), cmd.get('after', 0.0),
                                          cmd.get('name', '') or '', self._share())
            except ClipError as exc:
                raise RequestError(str(exc)) from exc
            return {'path': job.path, 'state': 'writing',
                    'frame_sets_before': job.before_count, 'after': job.after_s,
                    'note': 'the bag is being written; clip_status reports when it is done '
                            '(the save_clip service answers once written)'}
        table.add('save_clip', 'Save the pre-event buffer as a rosbag2 MCAP bag: {"before": '
                  'S (default: all), "after": S (default 0), "name": "..."}; answers at once, '
                  'clip_status tells when it is written.', save)
        table.add('clip_status', 'Report the pre-event buffer and the clips being saved or '
                  'saved recently (path, frame sets, duration, messages per topic, bytes).',
                  lambda _cmd: self.recorder.status())

    # -- the service ----------------------------------------------------------------------
    def serve(self) -> None:
        """Create ``~/save_clip`` on a helper node spun by its own executor thread."""
        node = self.node
        name = node.resolve_service_name('~/save_clip')
        self._helper = Node(node.get_name() + '_clips', namespace=node.get_namespace(),
                            context=node.context, start_parameter_services=False,
                            enable_rosout=False)
        self._helper.create_service(SaveClip, name, self._save_clip,
                                    callback_group=ReentrantCallbackGroup())
        self._executor = MultiThreadedExecutor(num_threads=3, context=node.context)
        self._executor.add_node(self._helper)
        self._thread = threading.Thread(target=self._spin, name='camera_clip_service',
                                        daemon=True)
        self._thread.start()

    def _spin(self) -> None:
        try:
            self._executor.spin()
        except Exception as exc:  # context shut down under it
            self.log.debug('clip service executor stopped: %s' % exc)

    def _save_clip(self, req: Any, res: Any) -> Any:
        try:
            job = self.recorder.start(float(req.before), float(req.after), req.name,
                                      self._share())
            result = job.wait(float(req.after) + SERVICE_MARGIN_S)
        except ClipError as exc:
            res.success, res.error = False, str(exc)
            return res
        except Exception as exc:  # never raise into the executor
            res.success, res.error = False, 'internal error: %s: %s' % (type(exc).__name__, exc)
            return res
        res.path = result.get('path', '')
        res.file = result.get('file', '')
        if result.get('state') != 'done':
            res.success = False
            res.error = result.get('error') or ('still writing after %.0f s' % (
                float(req.after) + SERVICE_MARGIN_S))
            return res
        res.success, res.error = True, ''
        res.start = stamp_msg(int(result['start_ns']))
        res.duration = float(result['duration_s'])
        res.frame_sets = int(result['frame_sets'])
        res.frame_sets_dropped = int(result['frame_sets_dropped'])
        counts = result['message_counts']
        res.topics = list(counts)
        res.message_counts = [int(counts[t]) for t in counts]
        res.bytes = int(result['bytes'])
        return res

    def shutdown(self) -> None:
        """Stop the service's executor and helper node. Idempotent."""
        executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(timeout_sec=2.0)
        if self._thread is not None:
            self._thread.join(2.0)
            self._thread = None
        helper, self._helper = self._helper, None
        if helper is not None:
            helper.destroy_node()
