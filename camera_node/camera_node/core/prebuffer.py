"""The pre-event buffer: the last seconds of frame sets, kept in memory for a clip.

:class:`PreEventBuffer` is fed every frame set the capture thread delivers (the session's
``on_frame`` listeners). It keeps **references** to the frame sets (their arrays are never
written after delivery, so nothing is copied) for at most ``seconds`` of capture time and
at most ``budget_bytes`` of image memory, dropping the oldest first. Memory is counted per
distinct array buffer, so a driver that hands out the same array again (the synthetic
camera's static scene) is counted once.

It is generic over :class:`~camera_node.core.types.FrameSet`: every field holding a numpy
array is kept and counted, so an image field added to ``FrameSet`` is buffered with no
change here. Data that does not come in frame sets (IMU samples) goes in through
:meth:`PreEventBuffer.add_record` under a kind name, bounded by the same window and budget.

Each entry also holds the *context* current when it was captured (set by the owner with
:meth:`set_context`: for the ROS layer the CameraInfo of each stream and the static
transforms), a reference as well, so a clip is written with what was true for each frame.

Taps (:meth:`tap`) receive every frame set as it arrives, buffer on or off: a clip uses one
to collect the seconds after the call.
"""

from __future__ import annotations

import bisect
import collections
from dataclasses import dataclass
import threading
from typing import Any, Callable, Deque, Dict, List, Optional, Tuple

import numpy as np

from .types import FrameSet


@dataclass
class Entry:
    """One buffered item: a frame set (kind ``frames``) or a record of another kind."""

    stamp_ns: int
    kind: str
    item: Any
    context: Any
    keys: Tuple[int, ...]        # buffer addresses counted for this entry


def _arrays(item: Any) -> List[np.ndarray]:
    if isinstance(item, FrameSet):
        values = item.held()       # a JPEG colour image counts as its bytes (not decoded)
    elif isinstance(item, (tuple, list)):
        values = list(item)
    elif isinstance(item, dict):
        values = list(item.values())
    else:
        values = [item]
    return [v for v in values if isinstance(v, np.ndarray)]


def _address(a: np.ndarray) -> int:
    return int(a.__array_interface__['data'][0])


class PreEventBuffer:
    """The last ``seconds`` of frame sets (and records), within ``budget_bytes``.

    All methods are thread-safe; :meth:`add` is called from the capture thread and costs
    a lock, a deque append and a dictionary update per array.
    """

    def __init__(self, seconds: float = 0.0, budget_bytes: int = 0) -> None:
        self._lock = threading.Lock()
        self._entries: Deque[Entry] = collections.deque()
        self._stamps: Deque[int] = collections.deque()   # of frame entries, for lookups
        self._frames: Deque[Entry] = collections.deque()
        self._buffers: Dict[int, List[int]] = {}          # address -> [refs, nbytes]
        self._taps: List[Callable[[Entry], None]] = []
        self._context: Any = None
        self.seconds = float(seconds)
        self.budget_bytes = int(budget_bytes)
        self.nbytes = 0
        self.evicted_for_memory = 0

    # -- configuration ------------------------------------------------------------------
    @property
    def enabled(self) -> bool:
        """Whether frame sets are kept (seconds and budget both above zero)."""
        return self.seconds > 0 and self.budget_bytes > 0

    def configure(self, seconds: Optional[float] = None,
                  budget_bytes: Optional[int] = None) -> None:
        """Change the window or the budget; what no longer fits is dropped at once."""
        with self._lock:
            if seconds is not None:
                self.seconds = float(seconds)
            if budget_bytes is not None:
                self.budget_bytes = int(budget_bytes)
            if not self.enabled:
                self._clear()
            else:
                self._evict(self._newest())

    def set_context(self, context: Any) -> None:
        """Use context for the entries added from now on (CameraInfo, transforms...)."""
        self._context = context

    def _clear(self) -> None:
        self._entries.clear()
        self._frames.clear()
        self._stamps.clear()
        self._buffers.clear()
        self.nbytes = 0

    # -- feeding --------------------------------------------------------------------------
    def add(self, fs: FrameSet) -> None:
        """Keep a frame set (capture thread); taps see it whether buffering is on or not."""
        self._add(Entry(int(fs.stamp_ns), 'frames', fs, self._context, ()))

    def add_record(self, kind: str, stamp_ns: int, item: Any) -> None:
        """Keep a record that is not a frame set (say ``imu`` samples: arrays or a tuple).

        Records are bounded by the same window and budget as frame sets, delivered to taps
        like them, and returned by :meth:`window`; the clip writer needs a writer for the
        kind (see ``camera_node.ros.clipwriter``).
        """
        self._add(Entry(int(stamp_ns), kind, item, self._context, ()))

    def _add(self, entry: Entry) -> None:
        for tap in list(self._taps):
            tap(entry)
        if not self.enabled:
            return
        with self._lock:
            keys = []
            for a in _arrays(entry.item):
                key = _address(a)
                slot = self._buffers.get(key)
                if slot is None:
                    self._buffers[key] = [1, int(a.nbytes)]
                    self.nbytes += int(a.nbytes)
                else:
                    slot[0] += 1
                keys.append(key)
            entry.keys = tuple(keys)
            self._entries.append(entry)
            if entry.kind == 'frames':
                self._frames.append(entry)
                self._stamps.append(entry.stamp_ns)
            self._evict(entry.stamp_ns)

    def _evict(self, newest: Optional[int]) -> None:
        if newest is None:
            return
        horizon = newest - int(self.seconds * 1e9)
        while self._entries and (self._entries[0].stamp_ns < horizon
                                 or self.nbytes > self.budget_bytes):
            if self._entries[0].stamp_ns >= horizon:
                self.evicted_for_memory += 1
            self._drop(self._entries.popleft())

    def _drop(self, entry: Entry) -> None:
        if entry.kind == 'frames' and self._frames and self._frames[0] is entry:
            self._frames.popleft()
            self._stamps.popleft()
        for key in entry.keys:
            slot = self._buffers[key]
            slot[0] -= 1
            if slot[0] == 0:
                self.nbytes -= slot[1]
                del self._buffers[key]

    def _newest(self) -> Optional[int]:
        return self._entries[-1].stamp_ns if self._entries else None

    # -- taps -----------------------------------------------------------------------------
    def tap(self, callback: Callable[[Entry], None]) -> Callable[[], None]:
        """Call callback (in the capture thread) with every new entry; return an untap."""
        self._taps.append(callback)

        def untap() -> None:
            if callback in self._taps:
                self._taps.remove(callback)
        return untap

    # -- reading --------------------------------------------------------------------------
    def span(self) -> Optional[Tuple[int, int, int]]:
        """Return (oldest stamp, newest stamp, frame sets) of the buffered frame sets."""
        with self._lock:
            if not self._stamps:
                return None
            return self._stamps[0], self._stamps[-1], len(self._stamps)

    def window(self, start_ns: int, end_ns: int) -> List[Entry]:
        """Return the entries (every kind) with start_ns <= stamp <= end_ns, oldest first."""
        with self._lock:
            return [e for e in self._entries if start_ns <= e.stamp_ns <= end_ns]

    def nearest(self, stamp_ns: int) -> Tuple[Optional[FrameSet], str]:
        """Return the buffered frame set nearest stamp_ns, or (None, why not).

        A time more than one frame period outside the buffered span is refused.
        """
        with self._lock:
            n = len(self._stamps)
            if not self.enabled:
                return None, ('the pre-event buffer is off: set buffer_seconds (and '
                              'buffer_memory_mb) above 0 to keep frame sets')
            if n == 0:
                return None, 'the pre-event buffer holds no frame set yet'
            first, last = self._stamps[0], self._stamps[-1]
            slack = (last - first) // (n - 1) if n > 1 else 0
            if stamp_ns < first - slack or stamp_ns > last + slack:
                return None, ('time %.3f is outside the buffer, which holds %d frame sets '
                              'from %.3f to %.3f (%.2f s)'
                              % (stamp_ns / 1e9, n, first / 1e9, last / 1e9,
                                 (last - first) / 1e9))
            i = bisect.bisect_left(self._stamps, stamp_ns)
            candidates = [j for j in (i - 1, i) if 0 <= j < n]
            best = min(candidates, key=lambda j: abs(self._stamps[j] - stamp_ns))
            return self._frames[best].item, ''

    def figures(self) -> Dict[str, Any]:
        """Return what the buffer holds: seconds, frame sets, bytes, budget."""
        span = self.span()
        return {
            'enabled': self.enabled, 'seconds': self.seconds,
            'budget_mb': round(self.budget_bytes / 1e6, 1),
            'held_mb': round(self.nbytes / 1e6, 1),
            'frame_sets': span[2] if span else 0,
            'held_seconds': round((span[1] - span[0]) / 1e9, 3) if span else 0.0,
            'dropped_for_memory': self.evicted_for_memory,
        }
