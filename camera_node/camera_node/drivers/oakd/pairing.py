"""Pairing the OAK's colour and depth frames on the host. No SDK import."""

from __future__ import annotations

import datetime
from typing import Any, List, Optional, Tuple

#: frames kept on the host while waiting for their partner
PAIR_BUFFER = 8


def td_ns(td: datetime.timedelta) -> int:
    """Return a timedelta in integer nanoseconds (depthai timestamps are microseconds)."""
    return ((td.days * 86400 + td.seconds) * 1_000_000 + td.microseconds) * 1000


class FramePairer:
    """Pair colour and depth frames, newest pair first (old frames are dropped).

    ``mode='timestamp'``: a colour frame pairs with the depth frame nearest in time, within
    ``tolerance_ns``. ``mode='sequence'``: with the depth frame of the same sequence number.
    Without depth, the newest colour frame is returned alone. Frames are anything with
    ``getSequenceNum()`` and ``getTimestamp()`` (a timedelta), as depthai's ``ImgFrame``.
    """

    def __init__(self, mode: str, tolerance_ns: int, with_depth: bool,
                 capacity: int = PAIR_BUFFER) -> None:
        self.mode = mode
        self.tolerance_ns = tolerance_ns
        self.with_depth = with_depth
        self.capacity = capacity
        self._color: List[Tuple[int, int, Any]] = []
        self._depth: List[Tuple[int, int, Any]] = []
        self.dropped_color = 0
        self.dropped_depth = 0

    @staticmethod
    def _entry(msg: Any) -> Tuple[int, int, Any]:
        return int(msg.getSequenceNum()), td_ns(msg.getTimestamp()), msg

    def add_color(self, msg: Any) -> None:
        """Queue a colour frame."""
        self._color.append(self._entry(msg))
        if len(self._color) > self.capacity:
            del self._color[0]
            self.dropped_color += 1

    def add_depth(self, msg: Any) -> None:
        """Queue a depth frame."""
        self._depth.append(self._entry(msg))
        if len(self._depth) > self.capacity:
            del self._depth[0]
            self.dropped_depth += 1

    def _match(self, seq: int, ts: int) -> Optional[int]:
        best, best_dt = None, None
        for j, (dseq, dts, _) in enumerate(self._depth):
            if self.mode == 'sequence':
                if dseq == seq:
                    return j
                continue
            dt = abs(dts - ts)
            if dt <= self.tolerance_ns and (best_dt is None or dt < best_dt):
                best, best_dt = j, dt
        return best

    def pop(self) -> Optional[Tuple[Any, Optional[Any]]]:
        """Return the newest (colour, depth) pair available, or None."""
        if not self._color:
            return None
        if not self.with_depth:
            self.dropped_color += len(self._color) - 1
            msg = self._color[-1][2]
            self._color.clear()
            return msg, None
        for i in range(len(self._color) - 1, -1, -1):
            seq, ts, msg = self._color[i]
            j = self._match(seq, ts)
            if j is not None:
                depth = self._depth[j][2]
                self.dropped_color += i
                self.dropped_depth += j
                del self._color[:i + 1]
                del self._depth[:j + 1]
                return msg, depth
        return None
