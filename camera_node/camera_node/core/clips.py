"""Saving clips: the seconds before a call (from the pre-event buffer) and after it.

:class:`ClipRecorder` starts a :class:`ClipJob` per request. A job takes, at the call, the
buffered entries of the last ``before`` seconds (references: nothing is copied) and taps
the buffer for the ``after`` seconds that follow; its own thread hands every entry, oldest
first, to a *sink* that writes the file (the format is the sink's business: the ROS layer
writes rosbag2 MCAP) and drops its reference once written, so a save holds at most the
frames not written yet. Capture and publishing never wait for it.

Times are capture stamps: "before the call" is measured back from the newest buffered frame
set, so a clip of a replayed recording covers recorded time, not wall time.
"""

from __future__ import annotations

import collections
import datetime
import queue
import re
import threading
import time
from typing import Any, Callable, Deque, Dict, List, Optional, Protocol

from .prebuffer import _arrays, Entry, PreEventBuffer

#: longest ``after`` a clip may ask for, seconds
MAX_AFTER_S = 300.0
#: saves that may run at once (each may hold up to the buffer's budget)
MAX_RUNNING = 2
#: how many finished saves ``status`` reports
KEEP_RESULTS = 10
_NAME_RE = re.compile(r'^[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}$')


class ClipError(ValueError):
    """A clip that cannot be saved (bad request, nothing to save); says why."""


class ClipSink(Protocol):
    """Where a job's entries go (a file being written)."""

    path: str

    def write(self, entry: Entry) -> None:
        """Write one entry (frame set or record)."""

    def finish(self) -> Dict[str, Any]:
        """Close the file; return figures for the reply (counts, bytes...)."""

    def abort(self) -> None:
        """Close what is open after a failure (the partial file stays, named in the error)."""


def check_clip_name(name: str) -> Optional[str]:
    """Return why name cannot name a clip, or None: 1-100 of letters, digits, ``_ . -``.

    It may not start with ``.`` or ``-`` and is never a path: no separators, no ``..``.
    """
    if not isinstance(name, str) or not _NAME_RE.match(name) or '..' in name:
        return ('clip name must be 1-100 letters, digits, _ . or - (not starting with . or '
                '-, no .. and no path separators), got %r'
                % (name[:60] + '...' if isinstance(name, str) and len(name) > 60 else name,))
    return None


class ClipJob:
    """One save: a snapshot of the buffer, the tapped seconds after, a writer thread."""

    def __init__(self, buffer: PreEventBuffer, sink: ClipSink, before_s: float,
                 after_s: float, log: Any, share: float = 1.0,
                 on_done: Optional[Callable[[Dict[str, Any]], None]] = None) -> None:
        self.on_done = on_done
        self.sink = sink
        self.share = min(1.0, max(0.05, float(share)))
        self.path = sink.path
        self.log = log
        self.after_s = after_s
        self.result: Dict[str, Any] = {'path': sink.path, 'state': 'writing'}
        self.done = threading.Event()
        self._queue: 'queue.Queue[Optional[Entry]]' = queue.Queue()
        self._queued_bytes = 0
        self._lock = threading.Lock()
        self.dropped = 0
        self._end_ns: Optional[int] = None
        self._cutoff: Optional[int] = None
        self._closed = False
        self._ready = False                       # window known: taps are sorted from now
        self._early: List[Entry] = []
        self.budget = max(buffer.budget_bytes, 64 << 20)
        self.deadline = time.monotonic() + 2.0 * after_s + 5.0
        # tap first, then snapshot: nothing arriving in between is missed (or doubled)
        self._untap = buffer.tap(self._tapped) if after_s > 0 else (lambda: None)
        span = buffer.span()
        self._before: Deque[Entry] = collections.deque()
        if span is not None:
            newest = span[1]
            start = span[0] if before_s < 0 else newest - int(before_s * 1e9)
            self._before = collections.deque(buffer.window(start, newest))
        self.before_count = sum(1 for e in self._before if e.kind == 'frames')
        with self._lock:
            if span is not None:
                self._cutoff = span[1]
                self._end_ns = span[1] + int(after_s * 1e9)
            self._ready = True
            early, self._early = self._early, []
            for entry in early:
                self._accept(entry)
        self.thread = threading.Thread(target=self._run, name='camera_clip', daemon=True)

    # -- the capture side -----------------------------------------------------------------
    def _tapped(self, entry: Entry) -> None:
        with self._lock:
            if not self._ready:
                self._early.append(entry)
            else:
                self._accept(entry)

    def _accept(self, entry: Entry) -> None:
        """Queue a tapped entry that belongs to the after part (called under the lock)."""
        if self._closed:
            return
        if self._cutoff is not None and entry.stamp_ns <= self._cutoff:
            return                                  # already in the snapshot
        if self._end_ns is None:                    # buffer was empty: start at first
            self._cutoff = entry.stamp_ns - 1
            self._end_ns = entry.stamp_ns + int(self.after_s * 1e9)
        if entry.stamp_ns > self._end_ns:
            self._closed = True
            self._queue.put(None)
            return
        size = sum(int(a.nbytes) for a in _arrays(entry.item))
        if self._queued_bytes + size > self.budget:
            self.dropped += 1                       # the writer is too far behind
            return
        self._queued_bytes += size
        self._queue.put(entry)

    def _close_tap(self) -> None:
        with self._lock:
            if not self._closed:
                self._closed = True
                self._queue.put(None)
        self._untap()

    # -- the writer thread ----------------------------------------------------------------
    def _run(self) -> None:
        frames = 0
        first = last = None
        try:
            while self._before:
                entry = self._before.popleft()     # let go of each one once written
                self._write(entry)
                if entry.kind == 'frames':
                    frames += 1
                    first = entry.stamp_ns if first is None else first
                    last = entry.stamp_ns
            if self.after_s > 0:
                while True:
                    wait = self.deadline - time.monotonic()
                    try:
                        entry = self._queue.get(timeout=max(0.0, wait))
                    except queue.Empty:
                        self.result['after_incomplete'] = True
                        self._close_tap()
                        break
                    if entry is None:
                        break
                    with self._lock:
                        self._queued_bytes -= sum(int(a.nbytes) for a in _arrays(entry.item))
                    self._write(entry)
                    if entry.kind == 'frames':
                        frames += 1
                        first = entry.stamp_ns if first is None else first
                        last = entry.stamp_ns
            self._close_tap()
            figures = self.sink.finish()
            self.result.update(figures)
            self.result.update(
                state='done', frame_sets=frames, frame_sets_dropped=self.dropped,
                start_ns=first or 0, end_ns=last or 0,
                duration_s=(last - first) / 1e9 if first is not None else 0.0)
            if frames == 0:
                self.result.update(state='failed', error='no frame set was captured in the '
                                   'clip window')
        except Exception as exc:  # disk full, permission...: reported, never raised
            self._close_tap()
            try:
                self.sink.abort()
            except Exception:
                pass
            self.result.update(state='failed', error='writing %s failed: %s: %s'
                               % (self.path, type(exc).__name__, exc))
            self.log.error(self.result['error'])
        finally:
            self._before.clear()
            if self.on_done is not None:  # before done is set: a waiter sees it recorded
                try:
                    self.on_done(dict(self.result))
                except Exception as exc:
                    self.log.error('recording the clip result failed: %s' % exc)
            self.done.set()

    def _write(self, entry: Entry) -> None:
        """Write one entry, then rest so writing takes at most ``share`` of the time.

        Resting also releases the GIL, so capture and publishing keep their pace while
        a long clip is written (``clip_write_share``).
        """
        t0 = time.perf_counter()
        self.sink.write(entry)
        time.sleep((time.perf_counter() - t0) * (1.0 / self.share - 1.0))

    def wait(self, timeout: Optional[float] = None) -> Dict[str, Any]:
        """Wait for the file to be written; return the result (``state`` done or failed)."""
        self.done.wait(timeout)
        return dict(self.result)


class ClipRecorder:
    """Starts saves over one buffer, at most :data:`MAX_RUNNING` at once.

    :param make_sink: ``name -> ClipSink`` creating the file (raises on a name in use).
    :param default_name: returns the name used when a request gives none.
    """

    def __init__(self, buffer: PreEventBuffer, make_sink: Callable[[str], ClipSink],
                 default_name: Callable[[], str], log: Any) -> None:
        self.buffer = buffer
        self.make_sink = make_sink
        self.default_name = default_name
        self.log = log
        self._lock = threading.Lock()
        self._running: List[ClipJob] = []
        self.finished: Deque[Dict[str, Any]] = collections.deque(maxlen=KEEP_RESULTS)

    def start(self, before_s: float = -1.0, after_s: float = 0.0,
              name: str = '', share: float = 1.0) -> ClipJob:
        """Start saving; raise :class:`ClipError` with the reason when it cannot."""
        for what, value in (('before', before_s), ('after', after_s)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) \
                    or value != value:
                raise ClipError('%s must be a number of seconds, got %r' % (what, value))
        if not 0.0 <= after_s <= MAX_AFTER_S:
            raise ClipError('after must be within [0, %g] seconds, got %g'
                            % (MAX_AFTER_S, after_s))
        name = name or self.default_name()
        reason = check_clip_name(name)
        if reason:
            raise ClipError(reason)
        if after_s == 0 and self.buffer.span() is None:
            raise ClipError('nothing to save: %s; ask for seconds after the call ("after") '
                            'to record what comes next' % (
                                'the pre-event buffer is off (set buffer_seconds above 0)'
                                if not self.buffer.enabled else
                                'the pre-event buffer holds no frame set yet'))
        with self._lock:
            self._running = [j for j in self._running if not j.done.is_set()]
            if len(self._running) >= MAX_RUNNING:
                raise ClipError('%d clips are being saved already (%s); try again when one '
                                'has finished' % (len(self._running), ', '.join(
                                    j.path for j in self._running)))
            try:
                sink = self.make_sink(name)
            except (OSError, ValueError) as exc:
                raise ClipError('cannot create clip %r: %s' % (name, exc)) from exc
            job = ClipJob(self.buffer, sink, float(before_s), float(after_s), self.log, share,
                          on_done=self._keep_result)
            self._running.append(job)
        job.thread.start()
        return job

    def _keep_result(self, result: Dict[str, Any]) -> None:
        self.finished.append(result)
        if result.get('state') == 'done':
            self.log.info('saved clip %s: %d frame sets, %.2f s' % (
                result['path'], result.get('frame_sets', 0), result.get('duration_s', 0.0)))

    def status(self) -> Dict[str, Any]:
        """Return the saves running and the last finished ones, newest last."""
        with self._lock:
            running = [dict(j.result) for j in self._running if not j.done.is_set()]
        return {'running': running, 'finished': list(self.finished),
                'buffer': self.buffer.figures()}


def default_clip_name(camera_name: str) -> str:
    """Return ``clip_<camera>_<UTC date-time, ms>``: ``clip_camera_20260101-120000.123``."""
    now = datetime.datetime.now(datetime.timezone.utc)
    return 'clip_%s_%s.%03d' % (camera_name, now.strftime('%Y%m%d-%H%M%S'),
                                now.microsecond // 1000)
