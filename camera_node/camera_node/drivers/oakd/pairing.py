"""Matching the OAK's colour frames with depth and the mono pair on the host. No SDK import."""

from __future__ import annotations

import datetime
from typing import Any, Dict, List, Optional, Sequence, Tuple

#: frames kept on the host while waiting for their partner
PAIR_BUFFER = 8

Entry = Tuple[int, int, Any]


def td_ns(td: datetime.timedelta) -> int:
    """Return a timedelta in integer nanoseconds (depthai timestamps are microseconds)."""
    return ((td.days * 86400 + td.seconds) * 1_000_000 + td.microseconds) * 1000


class FramePairer:
    """Match each colour frame with one frame of every other stream, newest match first.

    ``mode='timestamp'``: a colour frame matches the frame of each stream nearest in time,
    within ``tolerance_ns``. ``mode='sequence'``: the frame of the same sequence number.
    ``streams`` names the other streams (``depth``, ``infra1``, ``infra2``); without any,
    the newest colour frame is returned alone. Older frames are dropped and counted per
    stream in :attr:`dropped`. Frames are anything with ``getSequenceNum()`` and
    ``getTimestamp()`` (a timedelta), as depthai's ``ImgFrame``.
    """

    def __init__(self, mode: str, tolerance_ns: int, streams: Sequence[str],
                 capacity: int = PAIR_BUFFER) -> None:
        self.mode = mode
        self.tolerance_ns = tolerance_ns
        self.streams = tuple(streams)
        self.capacity = capacity
        self._queues: Dict[str, List[Entry]] = {s: [] for s in ('color',) + self.streams}
        self.dropped: Dict[str, int] = {s: 0 for s in self._queues}

    @staticmethod
    def _entry(msg: Any) -> Entry:
        return int(msg.getSequenceNum()), td_ns(msg.getTimestamp()), msg

    def add(self, stream: str, msg: Any) -> None:
        """Queue a frame of ``color`` or one of the other streams."""
        queue = self._queues[stream]
        queue.append(self._entry(msg))
        if len(queue) > self.capacity:
            del queue[0]
            self.dropped[stream] += 1

    def _match(self, stream: str, seq: int, ts: int) -> Optional[int]:
        best, best_dt = None, None
        for j, (other_seq, other_ts, _) in enumerate(self._queues[stream]):
            if self.mode == 'sequence':
                if other_seq == seq:
                    return j
                continue
            dt = abs(other_ts - ts)
            if dt <= self.tolerance_ns and (best_dt is None or dt < best_dt):
                best, best_dt = j, dt
        return best

    def pop(self) -> Optional[Tuple[Any, Dict[str, Any]]]:
        """Return the newest (colour, {stream: frame}) match available, or None."""
        colors = self._queues['color']
        if not colors:
            return None
        if not self.streams:
            self.dropped['color'] += len(colors) - 1
            msg = colors[-1][2]
            colors.clear()
            return msg, {}
        for i in range(len(colors) - 1, -1, -1):
            seq, ts, msg = colors[i]
            found = {s: self._match(s, seq, ts) for s in self.streams}
            if any(j is None for j in found.values()):
                continue
            self.dropped['color'] += i
            del colors[:i + 1]
            out = {}
            for stream, j in found.items():
                queue = self._queues[stream]
                out[stream] = queue[j][2]
                self.dropped[stream] += j
                del queue[:j + 1]
            return msg, out
        return None
