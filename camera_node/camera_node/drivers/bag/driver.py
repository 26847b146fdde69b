"""The bag driver: a rosbag2 MCAP recording played as a camera.

Frame sets come out in recorded order, paced at the recorded capture times (``realtime``,
times ``rate``) or as fast as they are read, between ``start_offset`` and ``end_offset``.
At the end the stream ends (:class:`EndOfStream`) unless ``loop`` is on; an ended bag plays
again when ``loop`` is switched on or a ``seek`` puts it somewhere: the next :meth:`read`
delivers frames again. Intrinsics come from the recorded CameraInfo, the depth-to-colour
extrinsics from ``/tf_static``; a stream the bag lacks is reported, never made up.
"""

from __future__ import annotations

import collections
import os
import threading
import time
from typing import Any, Deque, Dict, List, Mapping, Optional, Tuple

from .convert import add_transforms, extrinsics_between, field_array, intrinsics_of, stamp_ns
from .pairing import Pairer, PRIMARY
from .params import PARAMETERS
from .source import all_messages, BagFiles, Decoders, find_streams, first_messages, \
    iter_records, open_bag, Stream, TF_STATIC
from ...core.errors import DeviceNotFoundError, EndOfStream, InvalidOptionError
from ...core.prebuffer import FRAME_FIELDS
from ...core.types import CameraProperties, default_intrinsics, FrameSet
from ..base import CommandHandler, Driver

#: a frame this late (ns) restarts the pacing clock instead of bursting to catch up
MAX_LATE_NS = 1_000_000_000


class BagDriver(Driver):
    """Plays the camera streams of a rosbag2 MCAP bag (see the module doc)."""

    name = 'bag'
    parameters = PARAMETERS

    def __init__(self, options: Any = None) -> None:
        """Take the options; nothing is opened before :meth:`open`."""
        super().__init__(options)
        self._cond = threading.Condition()
        self._bag: Optional[BagFiles] = None
        self._props: Optional[CameraProperties] = None
        self._streams: List[Stream] = []
        self._notes: List[str] = []

    # -- open -----------------------------------------------------------------------------
    def _open(self) -> None:
        bag = open_bag(self.options['source'])
        try:
            self._setup(bag)
        except BaseException:
            bag.close()
            raise
        self._bag = bag

    def _setup(self, bag: BagFiles) -> None:
        streams = find_streams(bag, self.options['topic_prefix'])
        notes = []
        for s in streams:
            if s.field not in FRAME_FIELDS:
                notes.append('%s (%s) is not a frame set field here: not played'
                             % (s.topic, s.field))
                s.present = False
            elif not s.present:
                notes.append('no %s images at %s: not played' % (s.field, s.topic))
        played = {s.field: s for s in streams if s.present}
        if PRIMARY not in played:
            raise DeviceNotFoundError('bag %s has no colour images at %s (image topics: %s)' % (
                bag.path, next(s.topic for s in streams if s.field == PRIMARY),
                ', '.join(sorted(t for t, ty in bag.topics.items()
                                 if ty.endswith('/Image'))) or 'none'))
        decoders = Decoders()
        first = first_messages(bag, decoders, [s.topic for s in played.values()]
                               + [s.info_topic for s in played.values() if s.info_present])
        intr, source = {}, 'recording'
        for f, s in played.items():
            if s.info_present and s.info_topic in first:
                intr[f] = intrinsics_of(first[s.info_topic])
            else:
                img = first[s.topic]
                intr[f] = default_intrinsics(int(img.width), int(img.height), 60.0)
                notes.append('no CameraInfo at %s: %s intrinsics are a 60 degree default'
                             % (s.info_topic, f))
                source = 'default' if f == PRIMARY else source
        tree: Dict[str, Any] = {}
        for msg in all_messages(bag, decoders, TF_STATIC):
            add_transforms(tree, msg)
        depth_field = 'depth' if 'depth' in played else None
        extr = None
        if depth_field:
            extr = extrinsics_between(tree, first[played['depth'].topic].header.frame_id,
                                      first[played[PRIMARY].topic].header.frame_id)
            if extr is None:
                notes.append('no /tf_static path from the depth to the colour frame: the '
                             'depth-to-colour extrinsics are unknown')
        depth_intr = intr.get('depth') or (intr[PRIMARY] if 'aligned_depth' in played
                                           else None)
        color_count = bag.counts.get(played[PRIMARY].topic, 0)
        span = (bag.end_ns - bag.start_ns) / 1e9
        fps = (color_count - 1) / span if span > 0 and color_count > 1 else 0.0
        with self._cond:
            self._streams, self._notes, self._decoders = streams, notes, decoders
            self._played = played
            self._props = CameraProperties(
                color=intr[PRIMARY], depth=depth_intr, depth_to_color=extr, fps=fps,
                intrinsics_source=source, model='rosbag2 recording',
                serial=os.path.basename(bag.path.rstrip('/')))
            self._tolerance = int(0.5e9 / fps) if fps > 0 else 20_000_000
            start = bag.start_ns + int(float(self.options['start_offset']) * 1e9)
            end = float(self.options['end_offset'])
            self._start_ns = start
            self._end_ns = bag.start_ns + int(end * 1e9) + 1 if end > 0 else None
            if start > bag.end_ns or (self._end_ns is not None and self._end_ns <= start):
                raise InvalidOptionError(
                    'start_offset %.3f s / end_offset %.3f s leave nothing to play: the bag '
                    'lasts %.3f s' % (float(self.options['start_offset']), end, span))
            self._delivered = 0
            self._loops = 0
            self._bag = bag
            self._restart(start)

    # -- playback state (under self._cond) ------------------------------------------------
    def _restart(self, log_ns: int) -> None:
        others = [f for f in self._played if f != PRIMARY]
        self._pairer = Pairer(others, self._tolerance)
        self._records = iter_records(self._bag, [s.topic for s in self._played.values()],
                                     log_ns, self._end_ns)
        self._ready: Deque[Tuple[int, Dict[str, Any], int]] = collections.deque()
        self._since_restart = 0
        self._last_log = log_ns
        self._exhausted = False
        self._ended = False
        self._anchor: Optional[Tuple[int, int]] = None
        self._last_stamp: Optional[int] = None
        self._position_ns = log_ns
        self._cond.notify_all()

    def _next_group(self) -> Optional[Tuple[int, Dict[str, Any], int]]:
        by_topic = {s.topic: f for f, s in self._played.items()}
        while not self._ready and not self._exhausted:
            try:
                schema, channel, message = next(self._records)
            except StopIteration:
                self._exhausted = True
                self._ready.extend((stamp, group, self._last_log)
                                   for stamp, group in self._pairer.flush())
                break
            self._last_log = message.log_time
            msg = self._decoders.decode(schema, channel, message.data)
            for stamp, group in self._pairer.push(by_topic[channel.topic], stamp_ns(msg), msg):
                self._ready.append((stamp, group, message.log_time))
        return self._ready[0] if self._ready else None

    def _read(self, timeout: float) -> Optional[FrameSet]:
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                if self._bag is None:
                    return None
                if self._ended and self.options['loop']:
                    self._restart(self._start_ns)          # loop switched on after the end
                group = None if self._ended else self._next_group()
                if group is None:
                    if not self._ended and self.options['loop'] and self._since_restart:
                        self._loops += 1
                        self._restart(self._start_ns)
                        continue
                    self._ended = True
                    raise EndOfStream('bag %s ended at %.3f s%s' % (
                        self._bag.path, (self._position_ns - self._bag.start_ns) / 1e9,
                        '' if self.options['loop'] else ' (loop is off)'))
                wait = self._due_in(group[0])
                if wait > 0:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        return None
                    self._cond.wait(min(wait, left))
                    continue
                return self._deliver(self._ready.popleft())

    def _due_in(self, stamp: int) -> float:
        """Seconds until the frame set stamped stamp is due (<= 0: now)."""
        now = time.monotonic_ns()
        if not self.options['realtime'] or self._anchor is None:
            return 0.0
        anchor_mono, anchor_stamp = self._anchor
        due = anchor_mono + int((stamp - anchor_stamp) / float(self.options['rate']))
        if now - due > MAX_LATE_NS or stamp < anchor_stamp:
            self._anchor = None       # far behind, or time went back: start the clock here
            return 0.0
        return (due - now) / 1e9

    def _deliver(self, ready: Tuple[int, Dict[str, Any], int]) -> FrameSet:
        stamp, group, log_ns = ready
        if self._anchor is None:
            self._anchor = (time.monotonic_ns(), stamp)
        arrays = {f: field_array(f, msg) for f, msg in group.items()}
        self._position_ns = log_ns
        self._last_stamp = stamp
        self._delivered += 1
        self._since_restart += 1
        return FrameSet(**arrays, stamp_ns=time.time_ns() if self.options['restamp']
                        else stamp)

    def _close(self) -> None:
        with self._cond:
            bag, self._bag = self._bag, None
            self._cond.notify_all()
        if bag is not None:
            bag.close()

    # -- what the camera asks -------------------------------------------------------------
    def properties(self) -> CameraProperties:
        """Intrinsics from the recorded CameraInfo, extrinsics from /tf_static."""
        if self._props is None:
            raise InvalidOptionError('bag driver is not open')
        return self._props

    def playback_time_ns(self) -> Optional[int]:
        """Return the recorded time being played (for /clock); None with restamp."""
        with self._cond:
            if self.options['restamp'] or self._last_stamp is None:
                return None
            if not self.options['realtime'] or self._ended or self._anchor is None:
                return self._last_stamp
            anchor_mono, anchor_stamp = self._anchor
            t = anchor_stamp + int((time.monotonic_ns() - anchor_mono)
                                   * float(self.options['rate']))
            if self._ready:
                t = min(t, self._ready[0][0])
            return max(t, self._last_stamp)

    def set_option(self, name: str, value: Any) -> None:
        """Take a new ``loop``, ``realtime`` or ``rate``: restart the pacing clock, wake reads."""
        with self._cond:
            if name in ('realtime', 'rate'):
                self._anchor = None
            self._cond.notify_all()

    def commands(self) -> Dict[str, Tuple[str, CommandHandler]]:
        """``bag_info`` and ``seek``."""
        return {
            'bag_info': ('Describe the bag: files, duration, topics, the streams played and '
                         'those missing, where playback stands.', self._cmd_info),
            'seek': ('Jump to {"offset": S} seconds into the bag (or {"time": T}, seconds '
                     'since the epoch on the recorded clock); also after the end.',
                     self._cmd_seek),
        }

    def _cmd_info(self, _args: Mapping[str, Any]) -> Dict[str, Any]:
        with self._cond:
            bag = self._bag
            if bag is None:
                raise InvalidOptionError('bag_info needs an open bag')
            return {
                'source': bag.path, 'files': bag.files,
                'start': bag.start_ns / 1e9, 'duration_s': (bag.end_ns - bag.start_ns) / 1e9,
                'topics': {t: {'type': ty, 'messages': bag.counts.get(t, 0)}
                           for t, ty in sorted(bag.topics.items())},
                'streams': {s.field: {'topic': s.topic, 'played': s.present,
                                      'camera_info': s.info_topic if s.info_present else ''}
                            for s in self._streams},
                'clip': bag.clip_about, 'notes': list(self._notes),
                'position_s': (self._position_ns - bag.start_ns) / 1e9,
                'frame_sets_delivered': self._delivered, 'loops': self._loops,
                'ended': self._ended, 'unpaired': dict(self._pairer.unpaired),
                'loop': bool(self.options['loop']), 'realtime': bool(self.options['realtime']),
                'rate': float(self.options['rate']),
            }

    def _cmd_seek(self, args: Mapping[str, Any]) -> Dict[str, Any]:
        with self._cond:
            bag = self._bag
            if bag is None:
                raise InvalidOptionError('seek needs an open bag')
            key = 'offset' if 'offset' in args else 'time' if 'time' in args else None
            value = args.get(key) if key else None
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise InvalidOptionError('seek needs {"offset": seconds into the bag} or '
                                         '{"time": seconds since the epoch}, got %r'
                                         % (dict(args),))
            target = bag.start_ns + int(value * 1e9) if key == 'offset' else int(value * 1e9)
            last = bag.end_ns if self._end_ns is None else self._end_ns - 1
            if not bag.start_ns <= target <= last:
                raise InvalidOptionError('%s %r is outside the bag: offsets 0 .. %.3f s, times '
                                         '%.3f .. %.3f' % (key, value,
                                                           (last - bag.start_ns) / 1e9,
                                                           bag.start_ns / 1e9, last / 1e9))
            self._restart(target)
            return {'offset': (target - bag.start_ns) / 1e9, 'time': target / 1e9}
