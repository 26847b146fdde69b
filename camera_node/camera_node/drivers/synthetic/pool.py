"""Output images of the moving scene, drawn into again once nobody holds them.

With ``motion`` only the sphere changes from one frame to the next. Allocating three
fresh full-size images per frame and copying the whole static scene into them cost more
than casting the sphere (0.6 ms of ~2.5 ms at 1280x720, caches cold); a recycled set
needs only the box the sphere was drawn in restored.

A set is free when no view of it is alive anywhere: every view, and every view of a view,
holds a reference to the array that owns the memory (numpy's ``base``), so the owners'
reference counts are back to what they were when the set was made (the same test numpy's
``ndarray.resize`` makes before reallocating in place). Frames hold read-only views, so a
frame set kept by anyone (the pre-event buffer, a service reply being built, a test)
keeps its images as they were.
"""

from __future__ import annotations

import collections
import sys
from typing import Any, Deque, List, Optional, Sequence, Tuple

import numpy as np


class PooledSet:
    """One set of output arrays (owned by the pool) and what was last drawn into them."""

    __slots__ = ('arrays', 'drawn', 'free_refs')

    def __init__(self, arrays: List[np.ndarray]) -> None:
        self.arrays = arrays
        #: driver-defined record of what the arrays hold (None: nothing yet)
        self.drawn: Any = None
        self.free_refs: Tuple[int, ...] = ()

    def refs(self) -> Tuple[int, ...]:
        """Return the reference counts of the owned arrays (as compared with a free set)."""
        return tuple(sys.getrefcount(a) for a in self.arrays)

    def views(self) -> List[np.ndarray]:
        """Return read-only views of the arrays, to hand out in a frame set."""
        out = []
        for a in self.arrays:
            v = a.view()
            v.flags.writeable = False
            out.append(v)
        return out


class ImagePool:
    """Keeps the last ``keep`` sets of arrays of the given (shape, dtype); lends free ones."""

    def __init__(self, layout: Sequence[Tuple[Tuple[int, ...], Any]], keep: int = 4) -> None:
        self._layout = [(tuple(shape), np.dtype(dtype)) for shape, dtype in layout]
        self._sets: Deque[PooledSet] = collections.deque(maxlen=int(keep))
        self.made = 0

    def take(self) -> PooledSet:
        """Return a set nobody holds a view of (its ``drawn`` tells what it holds).

        When every kept set is in use, a new one is made and kept in place of the oldest,
        which the pool lets go (whoever holds it keeps it; memory is freed with it), so a
        consumer that holds frames for long (the pre-event buffer) costs new sets only.
        """
        for s in self._sets:
            if s.refs() == s.free_refs:
                return s
        s = PooledSet([np.empty(shape, dtype) for shape, dtype in self._layout])
        s.free_refs = s.refs()
        self.made += 1
        self._sets.append(s)
        return s

    def in_use(self) -> Optional[int]:
        """Return how many kept sets are lent out now (for tests and figures)."""
        return sum(1 for s in self._sets if s.refs() != s.free_refs)
