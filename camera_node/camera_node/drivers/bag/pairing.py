"""Grouping recorded image messages into frame sets, one per colour image.

A clip of this package stamps every stream of a frame set alike, so its messages group by
equal stamps, and a frame set is complete as soon as its last stream arrived. Recordings
of other drivers (realsense-ros) stamp colour and depth from different sensors: there each
colour image takes, of each other stream, the image nearest in time within ``tolerance``
(half a colour frame period), chosen once the next colour image has been read, so every
image recorded up to then was a candidate.
"""

from __future__ import annotations

import collections
from typing import Any, Deque, Dict, List, Optional, Sequence, Tuple

#: the field that drives frame sets
PRIMARY = 'color'
#: recent images kept per other stream while pairing
DEPTH_OF_HISTORY = 16

Group = Tuple[int, Dict[str, Any]]      # (colour stamp, field -> payload)


class Pairer:
    """Turns (field, stamp, payload) in log order into frame set groups.

    :param others: the fields besides colour that the bag holds.
    :param tolerance_ns: the largest stamp difference paired when stamps are not equal.
    """

    def __init__(self, others: Sequence[str], tolerance_ns: int) -> None:
        self.others = tuple(others)
        self.tolerance_ns = int(tolerance_ns)
        self._recent: Dict[str, Deque[Tuple[int, Any]]] = {
            f: collections.deque(maxlen=DEPTH_OF_HISTORY) for f in self.others}
        self._pending: Optional[Tuple[int, Any, Dict[str, Any]]] = None
        self.unpaired: Dict[str, int] = {f: 0 for f in self.others}

    def push(self, field: str, stamp: int, payload: Any) -> List[Group]:
        """Take one image; return the frame set groups that are complete now."""
        out: List[Group] = []
        if field == PRIMARY:
            if self._pending is not None:
                out.append(self._close())
            exact = {f: p for f in self.others for s, p in self._recent[f] if s == stamp}
            self._pending = (stamp, payload, exact)
        elif field in self._recent:
            self._recent[field].append((stamp, payload))
            if self._pending is not None and stamp == self._pending[0]:
                self._pending[2][field] = payload
        if self._pending is not None and len(self._pending[2]) == len(self.others):
            out.append(self._close())
        return out

    def flush(self) -> List[Group]:
        """Return the last group (at the end of the recording)."""
        return [self._close()] if self._pending is not None else []

    def _close(self) -> Group:
        stamp, color, found = self._pending
        self._pending = None
        group = {PRIMARY: color}
        for f in self.others:
            if f in found:
                group[f] = found[f]
                continue
            best = min(self._recent[f], key=lambda sp: abs(sp[0] - stamp), default=None)
            if best is not None and abs(best[0] - stamp) <= self.tolerance_ns:
                group[f] = best[1]
            else:
                self.unpaired[f] += 1
        return stamp, group
