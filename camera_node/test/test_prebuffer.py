"""The pre-event buffer, clip jobs and the clip file rule, in process (no ROS).

The sink a job writes to is a list here (the seam where the ROS layer plugs in its MCAP
writer, tested over DDS in test_clips.py); everything else is the production code.
"""

import gc
import logging
import os
import threading
import tracemalloc

import numpy as np
import pytest

from camera_node.core.files import FileAccessError, make_new_folder, open_new_file
from camera_node.core.clips import check_clip_name, ClipError, ClipRecorder, MAX_RUNNING
from camera_node.core.prebuffer import PreEventBuffer
from camera_node.core.types import FrameSet

LOG = logging.getLogger('test_prebuffer')
PERIOD = 33_333_333
MB = 1_000_000


def frame(i, size=(100, 100), shared=None):
    """A frame set whose colour encodes i (or reuses shared's arrays)."""
    if shared is not None:
        return FrameSet(color=shared.color, depth=shared.depth, stamp_ns=i * PERIOD)
    color = np.full(size + (3,), i % 256, np.uint8)
    depth = np.full(size, i, np.uint16)
    return FrameSet(color=color, depth=depth, stamp_ns=i * PERIOD)


def test_keeps_the_last_seconds_only():
    buf = PreEventBuffer(seconds=1.0, budget_bytes=1000 * MB)
    for i in range(100):
        buf.add(frame(i))
    first, last, n = buf.span()
    assert last == 99 * PERIOD and last - first <= 1e9 and n == 31


def test_memory_stays_within_the_budget_measured():
    size = (500, 500)                        # 750 kB colour + 500 kB depth per frame set
    per_set = 500 * 500 * 5
    budget = 10 * MB
    buf = PreEventBuffer(seconds=600.0, budget_bytes=budget)
    gc.collect()
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        peak_held = 0
        for i in range(60):                  # 75 MB offered
            buf.add(frame(i, size))
            held = tracemalloc.get_traced_memory()[0] - base
            peak_held = max(peak_held, held)
            assert buf.nbytes <= budget
        gc.collect()
        held = tracemalloc.get_traced_memory()[0] - base
    finally:
        tracemalloc.stop()
    print('budget %.1f MB: buffer counts %.1f MB, measured %.1f MB held (peak %.1f MB)'
          % (budget / MB, buf.nbytes / MB, held / MB, peak_held / MB))
    assert buf.nbytes == (budget // per_set) * per_set
    # what is held is the frames kept plus the one being added, and a little bookkeeping
    assert held <= budget + 0.05 * MB
    assert peak_held <= budget + per_set + 0.1 * MB
    assert buf.figures()['dropped_for_memory'] > 0


def test_shared_arrays_are_counted_once():
    buf = PreEventBuffer(seconds=10.0, budget_bytes=100 * MB)
    base = frame(0)
    for i in range(50):
        buf.add(frame(i, shared=base))
    assert buf.nbytes == base.color.nbytes + base.depth.nbytes
    assert buf.span()[2] == 50


def test_nearest_frame_set_and_the_reasons_for_none():
    buf = PreEventBuffer(seconds=0.0, budget_bytes=100 * MB)
    assert 'buffer is off' in buf.nearest(0)[1]
    buf.configure(seconds=10.0)
    assert 'holds no frame set yet' in buf.nearest(0)[1]
    for i in range(10, 40):
        buf.add(frame(i))
    fs, _ = buf.nearest(20 * PERIOD + PERIOD // 3)
    assert fs.stamp_ns == 20 * PERIOD
    assert buf.nearest(10 * PERIOD - PERIOD // 2)[0].stamp_ns == 10 * PERIOD
    fs, why = buf.nearest(50 * PERIOD)
    assert fs is None and 'outside the buffer, which holds 30 frame sets' in why


def test_shrinking_or_switching_off_drops_at_once():
    buf = PreEventBuffer(seconds=10.0, budget_bytes=100 * MB)
    for i in range(90):
        buf.add(frame(i))
    buf.configure(seconds=1.0)
    assert buf.span()[2] == 31
    buf.configure(budget_bytes=int(2.5 * (100 * 100 * 5)))
    assert buf.span()[2] == 2
    buf.configure(seconds=0.0)
    assert buf.span() is None and buf.nbytes == 0


def test_records_of_other_kinds_share_the_window_and_the_taps():
    buf = PreEventBuffer(seconds=1.0, budget_bytes=100 * MB)
    tapped = []
    untap = buf.tap(tapped.append)
    for i in range(60):
        buf.add(frame(i, (4, 4)))
        buf.add_record('imu', i * PERIOD + 1, (np.zeros(3), np.ones(3)))
    untap()
    buf.add(frame(61, (4, 4)))
    assert len(tapped) == 120
    kept = buf.window(0, 10**12)
    assert all(61 * PERIOD - e.stamp_ns <= 1e9 for e in kept)     # one window for both
    kinds = [e.kind for e in kept]
    assert kinds.count('imu') == 29 and kinds.count('frames') == 30   # 31..59 (+61)


def test_taps_see_frames_while_the_buffer_is_off():
    buf = PreEventBuffer()
    seen = []
    buf.tap(seen.append)
    buf.add(frame(1))
    assert len(seen) == 1 and buf.span() is None


class ListSink:
    """A sink that keeps what it is given (optionally waiting on a gate for each entry)."""

    def __init__(self, name, gate=None, fail_at=None):
        self.path = '/clips/' + name
        self.entries = []
        self.gate = gate
        self.fail_at = fail_at
        self.aborted = False

    def write(self, entry):
        if self.gate is not None:
            self.gate.wait(5.0)
        if self.fail_at is not None and len(self.entries) == self.fail_at:
            raise OSError(28, 'No space left on device')
        self.entries.append(entry)

    def finish(self):
        return {'message_counts': {'x': len(self.entries)}}

    def abort(self):
        self.aborted = True


def recorder(buf, **sink_args):
    sinks = []

    def make(name):
        if any(s.path.endswith('/' + name) for s in sinks):
            raise FileExistsError('exists')
        sinks.append(ListSink(name, **sink_args))
        return sinks[-1]
    return ClipRecorder(buf, make, lambda: 'auto_%d' % len(sinks), LOG), sinks


def test_a_clip_holds_the_seconds_before_and_after_the_call():
    buf = PreEventBuffer(seconds=5.0, budget_bytes=100 * MB)
    for i in range(150):
        buf.add(frame(i, (4, 4)))
    rec, sinks = recorder(buf)
    job = rec.start(before_s=1.0, after_s=0.5, name='event')
    for i in range(150, 200):                          # the camera goes on
        buf.add(frame(i, (4, 4)))
    result = job.wait(10)
    stamps = [e.stamp_ns for e in sinks[0].entries]
    assert stamps == [i * PERIOD for i in range(119, 165)]   # 1 s before .. 0.5 s after
    assert result['state'] == 'done' and result['frame_sets'] == 46
    assert result['duration_s'] == pytest.approx(45 * PERIOD / 1e9)
    assert rec.status()['finished'][-1]['path'] == '/clips/event'


def test_after_only_works_with_the_buffer_off_and_nothing_before_is_refused():
    buf = PreEventBuffer()
    rec, sinks = recorder(buf)
    with pytest.raises(ClipError, match='pre-event buffer is off'):
        rec.start()
    job = rec.start(after_s=0.1)
    for i in range(10):
        buf.add(frame(i, (4, 4)))
    assert job.wait(10)['frame_sets'] == 4                 # 0, 1, 2, 3 (<= 0.1 s)


def test_a_writer_that_falls_behind_drops_after_frames_and_says_so():
    buf = PreEventBuffer(seconds=5.0, budget_bytes=int(3.5 * 400 * 400 * 5))
    buf.add(frame(0, (400, 400)))
    gate = threading.Event()
    rec, sinks = recorder(buf, gate=gate)
    job = rec.start(before_s=0.0, after_s=1.0)
    job.budget = 3 * 400 * 400 * 5                      # the job's queue limit
    for i in range(1, 40):
        buf.add(frame(i, (400, 400)))
    gate.set()
    result = job.wait(10)
    assert result['frame_sets_dropped'] > 0
    assert result['frame_sets'] + result['frame_sets_dropped'] == 31


def test_failures_are_reported_not_raised():
    buf = PreEventBuffer(seconds=5.0, budget_bytes=100 * MB)
    for i in range(20):
        buf.add(frame(i, (4, 4)))
    rec, sinks = recorder(buf, fail_at=5)
    result = rec.start().wait(10)
    assert result['state'] == 'failed' and 'No space left on device' in result['error']
    assert sinks[0].aborted


def test_requests_are_checked_and_saves_limited():
    buf = PreEventBuffer(seconds=5.0, budget_bytes=100 * MB)
    buf.add(frame(0, (4, 4)))
    gate = threading.Event()
    rec, _ = recorder(buf, gate=gate)
    for bad, match in ((dict(name='../etc'), 'clip name'), (dict(name='a/b'), 'clip name'),
                       (dict(after_s=-1.0), 'after must be within'),
                       (dict(before_s='all'), 'before must be a number')):
        with pytest.raises(ClipError, match=match):
            rec.start(**bad)
    jobs = [rec.start(name='c%d' % i) for i in range(MAX_RUNNING)]
    with pytest.raises(ClipError, match='being saved already'):
        rec.start(name='third')
    with pytest.raises(ClipError, match='cannot create clip'):
        gate.set()
        [j.wait(5) for j in jobs]
        rec.start(name='c0')


@pytest.mark.parametrize('name', ['', '.', '..', 'a/b', '../x', 'x\0y', 'a' * 300])
def test_clip_files_refuse_anything_but_a_plain_name(tmp_path, name):
    # clips create their files through the package's one file policy (core/files.py)
    with pytest.raises(ValueError):
        open_new_file(str(tmp_path), name)
    with pytest.raises(ValueError):
        make_new_folder(str(tmp_path), name)


def test_clip_files_never_overwrite_nor_follow_links(tmp_path):
    target = tmp_path / 'target'
    target.write_text('keep')
    os.symlink(target, tmp_path / 'link')
    for existing in ('link', 'target'):
        with pytest.raises(FileAccessError, match='already exists'):
            open_new_file(str(tmp_path), existing)
    assert target.read_text() == 'keep'
    folder = make_new_folder(str(tmp_path / 'new' / 'deep'), 'bag', parents=True)
    with open_new_file(folder, 'x.mcap') as f:
        f.write(b'1')
    assert (tmp_path / 'new' / 'deep' / 'bag' / 'x.mcap').read_bytes() == b'1'
    with pytest.raises(FileAccessError, match='already exists'):
        make_new_folder(str(tmp_path / 'new' / 'deep'), 'bag', parents=True)


def test_clip_names():
    assert check_clip_name('clip_camera_20260101-120000.123') is None
    for bad in ('.hidden', '-x', 'a..b', 'a b', 'x' * 101):
        assert check_clip_name(bad) is not None
