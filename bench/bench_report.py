"""The benchmark's goals, table, verdict and the recorded-run section of docs/performance.md.

Every figure is the median over the run's repeats of one scenario kind (``runs[kind]``);
ratios are taken between medians measured in the same run.
"""

from __future__ import annotations

import collections
import os
import statistics
from typing import Any, Dict, List, Optional, Tuple

#: streams measured (keys of the subscribers' records) and their labels
STREAM_LABELS = (('color', 'colour rgb8'), ('aligned_depth', 'aligned depth 16UC1'),
                 ('cloud', 'cloud XYZRGB'))
SUBS = ('tuned', 'plain')
#: the OS name of the node's capture thread (core.capture.name_os_thread)
CAPTURE = 'camera_capture'
#: every goal the run judges (rows may be unmeasured, the key is always there)
GOAL_KEYS = tuple(
    ['driver_cpu'] + ['node_cpu_%s' % s for s in SUBS]
    + ['latency_%s_%s_%s' % (q, k, s) for s in SUBS for q in ('p50', 'p99')
       for k, _ in STREAM_LABELS]
    + ['delivered_%s_tuned' % k for k, _ in STREAM_LABELS]
    + ['load_delivered_%s' % k for k, _ in STREAM_LABELS]
    + ['getimage_jpeg', 'fill_image', 'fill_bit_exact', 'cloud_vs_open3d', 'rss_growth'])
#: markers of the section --write-docs replaces
DOC_BEGIN = '<!-- camera_bench: recorded run (written by ./dev bench --write-docs) -->'
DOC_END = '<!-- camera_bench: end -->'
#: py-spy categories: (label, function names any of which puts a sample there), first wins
PROFILE_CATEGORIES = (
    ('rclpy publish (conversion, serialisation, DDS)', ('Publisher.publish',)),
    ('cloud fill', ('CloudBuffer.fill',)),
    ('image fills', ('ImageStream.message',)),
    ('JPEG encode', ('JpegStream.message',)),
    ('synthetic render', ('SyntheticDriver._render',)),
    ('capture pacing and hand-over', ('SyntheticDriver._read', 'LatestSlot.put',
                                      'LatestSlot.get', 'CameraSession._read_once')),
    ('executor (services, parameters, timers)', ('run_nodes', 'spin_once')),
)


def _row(key: str, figure: str, value: Any, unit: str, baseline: Any = None,
         baseline_of: str = '', ratio: Optional[float] = None, goal: str = '',
         met: Optional[bool] = None, note: str = '') -> Dict[str, Any]:
    return {'key': key, 'figure': figure, 'value': value, 'unit': unit, 'baseline': baseline,
            'baseline_of': baseline_of, 'ratio': ratio, 'goal': goal, 'met': met,
            'note': note}


def _get(run: Dict[str, Any], path: Tuple[str, ...]) -> Any:
    v: Any = run
    for p in path:
        v = v.get(p) if isinstance(v, dict) else None
    return v


def values(runs: Dict[str, List[Dict[str, Any]]], kind: str, *path: str) -> List[float]:
    """Every run's number at path (runs that failed or lack it left out)."""
    out = []
    for run in runs.get(kind, []):
        v = _get(run, path)
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            out.append(float(v))
    return out


def med(runs: Dict[str, List[Dict[str, Any]]], kind: str, *path: str) -> Optional[float]:
    """Median over the repeats of one figure (None when no run has it)."""
    vals = values(runs, kind, *path)
    return statistics.median(vals) if vals else None


def spread(runs: Dict[str, List[Dict[str, Any]]], kind: str, *path: str) -> str:
    """'a-b' over the repeats, or the one value (for notes)."""
    vals = values(runs, kind, *path)
    if len(vals) < 2:
        return _fmt(vals[0] if vals else None)
    return '%s-%s' % (_fmt(min(vals)), _fmt(max(vals)))


def _fmt_range(vals: List[float]) -> str:
    if not vals:
        return '-'
    return _fmt(vals[0]) if len(vals) == 1 else '%s-%s' % (_fmt(min(vals)), _fmt(max(vals)))


def _div(a: Optional[float], b: Optional[float]) -> Optional[float]:
    return a / b if a is not None and b else None


def _judge(ratio: Optional[float], limit: float, below: bool = True) -> Optional[bool]:
    if ratio is None:
        return None
    return ratio <= limit if below else ratio >= limit


def rows_of(doc: Dict[str, Any]) -> List[Dict[str, Any]]:
    """Turn the runs into table rows: every goal with its baseline and ratio, then info."""
    runs, cfg = doc['runs'], doc['config']
    size = '%dx%d' % tuple(cfg['size'])
    rows = []
    # the driver's cost inside the node: its capture thread (render, pacing, hand-over)
    capture = values(runs, 'node_tuned', 'pub_threads_pct', CAPTURE) + values(
        runs, 'node_plain', 'pub_threads_pct', CAPTURE)
    drv = statistics.median(capture) if capture else None
    alone = med(runs, 'driver', 'cpu_pct')
    rows.append(_row('driver_cpu', "synthetic driver, %s moving, 30 fps: the node's capture "
                     'thread' % size, drv, '% core', alone, 'its own process', None,
                     '<= 5', _judge(drv, 5.0),
                     'the node runs with both subscribers %s; alone in a process of its own '
                     '(capture thread reading at 30 fps) %s' % (
                         _fmt_range(capture), spread(runs, 'driver', 'cpu_pct'))))
    for sub in SUBS:
        node = med(runs, 'node_' + sub, 'pub_cpu_pct')
        floor = med(runs, 'floor_' + sub, 'pub_cpu_pct')
        owns = [r['pub_cpu_pct'] - r['pub_threads_pct'][CAPTURE]
                for r in runs.get('node_' + sub, [])
                if CAPTURE in (r.get('pub_threads_pct') or {})]
        own = statistics.median(owns) if owns else None
        rows.append(_row('node_cpu_%s' % sub, "node's own CPU = node process - its capture "
                         'thread, %s subscriber' % sub, own, '% core', floor,
                         'floor publisher', _div(own, floor), '<= 1.5',
                         _judge(_div(own, floor), 1.5),
                         'runs %s; node process %s%% (runs %s) = %sx the floor (runs %s)' % (
                             _fmt_range(owns), _fmt(node),
                             spread(runs, 'node_' + sub, 'pub_cpu_pct'),
                             _fmt(_div(node, floor)),
                             spread(runs, 'floor_' + sub, 'pub_cpu_pct'))))
    for sub in SUBS:
        for q, limit in (('p50', 1.3), ('p99', 2.0)):
            for key, label in STREAM_LABELS:
                n = med(runs, 'node_' + sub, 'streams', key, q + '_ms')
                f = med(runs, 'floor_' + sub, 'streams', key, q + '_ms')
                rows.append(_row('latency_%s_%s_%s' % (q, key, sub), 'latency %s %s, %s '
                                 'subscriber' % (q, label, sub), n, 'ms', f, 'floor',
                                 _div(n, f), '<= %.1f' % limit, _judge(_div(n, f), limit),
                                 'node runs %s; floor runs %s' % (
                                     spread(runs, 'node_' + sub, 'streams', key, q + '_ms'),
                                     spread(runs, 'floor_' + sub, 'streams', key,
                                            q + '_ms'))))
    for sub in SUBS:
        for key, label in STREAM_LABELS:
            n = med(runs, 'node_' + sub, 'streams', key, 'delivered_pct')
            f = med(runs, 'floor_' + sub, 'streams', key, 'delivered_pct')
            tuned = sub == 'tuned'
            rows.append(_row('delivered_%s_%s' % (key, sub), 'delivered %s, %s subscriber'
                             % (label, sub), n, '%', f, 'floor', _div(n, f),
                             '>= 99' if tuned else 'info',
                             (None if n is None else n >= 99.0) if tuned else None))
    for key, label in STREAM_LABELS:
        n = med(runs, 'node_load', 'streams', key, 'delivered_pct')
        f = med(runs, 'floor_load', 'streams', key, 'delivered_pct')
        rows.append(_row('load_delivered_%s' % key, 'under load (%d busy processes): '
                         'delivered %s' % (cfg['busy'], label), n, '%', f, 'floor',
                         _div(n, f), '>= 0.95', _judge(_div(n, f), 0.95, below=False),
                         'node CPU %s%%, floor %s%%; others used %s%% of a core' % (
                             _fmt(med(runs, 'node_load', 'pub_cpu_pct')),
                             _fmt(med(runs, 'floor_load', 'pub_cpu_pct')),
                             _fmt(med(runs, 'node_load', 'others_cpu_pct')))))
    rows += _getimage_rows(runs, size)
    rows += _micro_rows(runs, size)
    r = (runs.get('rss') or [{}])[-1]
    growth = r.get('growth_mb')
    rows.append(_row('rss_growth', 'node RSS growth over %s s (%s frame sets), real process'
                     % (_fmt(r.get('seconds')), _fmt(r.get('frame_sets'))), growth, 'MB',
                     r.get('rss_warm_mb'), 'RSS after warm-up', None, '<= 5',
                     _judge(growth, 5.0), r.get('error') or 'max %s MB, end %s MB' % (
                         _fmt(r.get('rss_max_mb')), _fmt(r.get('rss_end_mb')))))
    prof = (runs.get('profile') or [{}])[-1]
    for label, share in (prof.get('shares') or {}).items():
        cpu = prof.get('node_cpu_pct')
        rows.append(_row('profile_' + label.split(' (')[0].replace(' ', '_'),
                         'node CPU (py-spy): %s' % label, None if cpu is None else
                         cpu * share, '% core', note='%.0f%% of the busy samples' %
                         (100 * share)))
    return rows


def _getimage_rows(runs: Dict[str, List[Dict[str, Any]]], size: str) -> List[Dict[str, Any]]:
    rows = []
    for phase, what in (('streams', 'colour, aligned depth and cloud subscribed'),
                        ('idle', 'no stream subscribed'),
                        ('streams_raw', 'streams subscribed, raw pixels asked (ros_image)'),
                        ('streams_jpeg', 'the compressed topic subscribed too')):
        rt = med(runs, 'getimage', phase, 'rt_p50_ms')
        enc = med(runs, 'getimage', phase, 'encode_p50_ms')
        goal = phase == 'streams'
        errors = [r.get(phase, {}).get('error') for r in runs.get('getimage', [])]
        note = next((e for e in errors if e), '') or 'runs %s ms; reply %s bytes' % (
            spread(runs, 'getimage', phase, 'rt_p50_ms'),
            _fmt(med(runs, 'getimage', phase, 'jpeg_bytes')))
        floor = med(runs, 'getimage', 'floor', 'rt_p50_ms')
        if goal:
            note += ('; a bare service replying the same sizes (no encode): %s ms (node %sx '
                     'that), with the raw pixels in `image` too: %s ms' % (
                         _fmt(floor), _fmt(_div(rt, floor)),
                         _fmt(med(runs, 'getimage', 'floor_raw', 'rt_p50_ms'))))
        if phase == 'streams_jpeg':
            note += '; the JPEG the compressed topic encoded for that frame set is reused'
        rows.append(_row('getimage_jpeg' if goal else 'getimage_jpeg_' + phase,
                         'GetImage JPEG %s round trip, plain client, %s' % (size, what), rt,
                         'ms', enc, 'encode alone', _div(rt, enc), '<= 2' if goal else 'info',
                         _judge(_div(rt, enc), 2.0) if goal else None, note))
    return rows


def _micro_rows(runs: Dict[str, List[Dict[str, Any]]], size: str) -> List[Dict[str, Any]]:
    rows = []
    ours, cvb = med(runs, 'fill', 'ours_ms'), med(runs, 'fill', 'cv_bridge_ms')
    rows.append(_row('fill_image', 'fill %s rgb8 Image: reused buffer vs cv_bridge way '
                     '(new Image, data.frombytes(img.tobytes()))' % size, ours, 'ms', cvb,
                     'cv_bridge way', _div(ours, cvb), '<= 1.0', _judge(_div(ours, cvb), 1.0),
                     'msg.data = img.tobytes() on a reused Image: %s ms' % _fmt(
                         med(runs, 'fill', 'tobytes_ms'))))
    exact = [r.get('bit_exact') for k in ('fill', 'fill_check_fields') for r in runs.get(k, [])]
    ok = all(exact) if exact else None
    rows.append(_row('fill_bit_exact', 'published bytes == image bytes, '
                     'ROS_PYTHON_CHECK_FIELDS off and on', ok, '', goal='true', met=ok))
    c = (runs.get('cloud') or [{}])[-1]
    ours = med(runs, 'cloud', 'ours_ms')
    o3d = med(runs, 'cloud', 'open3d_ms')
    rows.append(_row('cloud_vs_open3d', 'cloud from depth + colour %s: ours vs Open3D '
                     'create_from_rgbd_image' % size, ours, 'ms', o3d,
                     'open3d %s' % c.get('open3d', '?'), _div(ours, o3d), '<= 0.2',
                     _judge(_div(ours, o3d), 0.2),
                     'same points: %s (max diff %s m)' % (c.get('open3d_same_points'), _fmt(
                         c.get('open3d_max_diff_m'))) if o3d else 'skipped: %s' % c.get(
                         'open3d', c.get('error', 'no figures'))))
    st = med(runs, 'cloud', 'structured_ms')
    rows.append(_row('cloud_vs_structured', 'cloud %s: ours vs numpy structured array '
                     '+ tobytes (as sensor_msgs_py create_cloud)' % size, ours, 'ms', st,
                     'numpy structured', _div(ours, st), 'info', None,
                     'same cloud: %s' % c.get('structured_same')))
    return rows


def _fmt(v: Any) -> str:
    if v is None:
        return '-'
    if isinstance(v, bool):
        return 'yes' if v else 'NO'
    if isinstance(v, float):
        if v != 0 and abs(v) < 0.01:
            return '%.2g' % v
        return '%.3g' % v if abs(v) < 100 else '%.0f' % v
    return str(v)


def _cells(r: Dict[str, Any]) -> Tuple[str, ...]:
    unit = (' ' + r['unit']) if r['unit'] and r['value'] is not None else ''
    met = '-' if r['met'] is None else ('yes' if r['met'] else 'NO')
    return (r['figure'], _fmt(r['value']) + unit, _fmt(r['baseline']), _fmt(r['ratio']),
            r['goal'], met)


HEAD = ('figure', 'value', 'baseline', 'ratio', 'goal', 'met?')


def table(rows: List[Dict[str, Any]]) -> str:
    """Format rows as a fixed-width text table with the notes below it."""
    body = [_cells(r) for r in rows]
    widths = [max(len(x[i]) for x in [HEAD] + body) for i in range(len(HEAD))]
    lines = ['  '.join(c.ljust(widths[i]) for i, c in enumerate(x)).rstrip()
             for x in [HEAD] + body]
    lines.insert(1, '  '.join('-' * w for w in widths))
    notes = ['  %s: %s' % (r['key'], r['note']) for r in rows if r['note']]
    return '\n'.join(lines + ['', 'notes:'] + notes)


def load_summary(doc: Dict[str, Any]) -> str:
    """Return what else ran on the machine during the windows."""
    others, loads = [], []
    for kind, results in doc['runs'].items():
        for r in results:
            if isinstance(r.get('others_cpu_pct'), (int, float)):
                others.append(r['others_cpu_pct'])
            if isinstance(r.get('load1'), (int, float)):
                loads.append(r['load1'])
    if not others:
        return 'load: -'
    return ('load: other processes used %s%% of a core (median; %s-%s) during the windows; '
            '1-min load average %s-%s (%d cores)' % (
                _fmt(statistics.median(others)), _fmt(min(others)), _fmt(max(others)),
                _fmt(min(loads)), _fmt(max(loads)), doc['machine']['nproc']))


def header(doc: Dict[str, Any]) -> str:
    """Return the run's facts: command, date, machine, load, repeats."""
    m, cfg = doc['machine'], doc['config']
    v = m['versions']
    return '\n'.join([
        'command: %s' % doc['command'],
        'date: %s, %.0f s' % (doc['date'], doc['elapsed_s']),
        'machine: %s cores, %s, %s, glibc %s, CPython %s; rclpy %s, Fast DDS %s, '
        'rmw_fastrtps %s, numpy %s, OpenCV %s, Open3D %s' % (
            m['nproc'], m['cpu'], m['platform'], m['glibc'], m['python'], v.get('ros-rclpy'),
            v.get('ros-fastdds'), v.get('ros-rmw-fastrtps-cpp'), v.get('numpy'),
            v.get('opencv-python-headless'), v.get('open3d')),
        load_summary(doc),
        'repeats: %d runs of every timed figure, medians; %dx%d at %g fps, windows of %g s '
        'after %g s of warm-up' % (cfg['repeat'], cfg['size'][0], cfg['size'][1], cfg['fps'],
                                   cfg['window'], cfg['warmup']),
        ''])


def exit_code(rows: List[Dict[str, Any]], quick: bool) -> int:
    """2 when a goal could not be measured (but a skipped baseline), 1 when one is missed."""
    goals = [r for r in rows if r['key'] in GOAL_KEYS]
    unmeasured = [r for r in goals if r['met'] is None and not r['note'].startswith('skipped')]
    if unmeasured:
        return 2
    if quick:
        return 0
    return 1 if any(r['met'] is False for r in goals) else 0


def verdict(rows: List[Dict[str, Any]], quick: bool, code: int, path: str,
            elapsed: float) -> str:
    """Return the closing line."""
    goals = [r for r in rows if r['key'] in GOAL_KEYS]
    met = sum(1 for r in goals if r['met'])
    missed = [r['key'] for r in goals if r['met'] is False]
    text = '\n%d of %d goals met%s; figures in %s (%.0f s)' % (
        met, len(goals), '' if not missed else ' (missed: %s)' % ', '.join(missed), path,
        elapsed)
    if quick:
        text += "\n--quick: sizes and windows are not the issue's, no goal is judged"
    if code == 2:
        text += '\nsome goals could not be measured: see the notes and the logs'
    return text


def detail(doc: Dict[str, Any]) -> str:
    """Return a markdown table of every scenario's medians (delivered, latency, CPU, load)."""
    runs = doc['runs']
    lines = ['| scenario | ' + ' | '.join(label for _, label in STREAM_LABELS)
             + " | publisher CPU | subscriber CPU | others' CPU | load avg |",
             '| --- ' * (len(STREAM_LABELS) + 5) + '|']
    for kind in ('floor_tuned', 'node_tuned', 'floor_plain', 'node_plain', 'floor_load',
                 'node_load'):
        if kind not in runs:
            continue
        cells = []
        for key, _ in STREAM_LABELS:
            cells.append('%s%%, %s / %s ms' % (
                _fmt(med(runs, kind, 'streams', key, 'delivered_pct')),
                _fmt(med(runs, kind, 'streams', key, 'p50_ms')),
                _fmt(med(runs, kind, 'streams', key, 'p99_ms'))))
        lines.append('| %s | %s | %s%% | %s%% | %s%% | %s |' % (
            kind.replace('_', ', '), ' | '.join(cells), _fmt(med(runs, kind, 'pub_cpu_pct')),
            _fmt(med(runs, kind, 'sub_cpu_pct')), _fmt(med(runs, kind, 'others_cpu_pct')),
            _fmt(med(runs, kind, 'load1'))))
    return '\n'.join(lines)


def markdown(doc: Dict[str, Any]) -> str:
    """Return the recorded-run section: facts, the goal table, per-scenario detail."""
    rows = doc['rows']
    facts = ['- %s' % line for line in header(doc).strip().split('\n')]
    goal_lines = ['| ' + ' | '.join(HEAD) + ' |', '| --- ' * len(HEAD) + '|']
    goal_lines += ['| ' + ' | '.join(c.replace('|', '/') for c in _cells(r)) + ' |'
                   for r in rows]
    notes = ['- `%s`: %s' % (r['key'], r['note']) for r in rows if r['note']]
    goals = [r for r in rows if r['key'] in GOAL_KEYS]
    summary = '%d of %d goals met' % (sum(1 for r in goals if r['met']), len(goals))
    return '\n'.join([DOC_BEGIN, '', *facts, '- result: ' + summary, '', *goal_lines, '',
                      'Per scenario (medians of the runs; delivered %, p50 / p99 latency):', '',
                      detail(doc), '', 'Notes:', '', *notes, '', DOC_END])


def write_docs(path: str, doc: Dict[str, Any]) -> None:
    """Replace the text between the markers in path with this run (append when absent)."""
    text = open(path).read() if os.path.exists(path) else ''
    block = markdown(doc)
    if DOC_BEGIN in text and DOC_END in text:
        head, rest = text.split(DOC_BEGIN, 1)
        text = head + block + rest.split(DOC_END, 1)[1]
    else:
        text = text.rstrip('\n') + '\n\n' + block + '\n'
    with open(path, 'w') as f:
        f.write(text)


def profile_shares(path: str) -> Dict[str, Any]:
    """Sort py-spy raw samples (``frame;frame;... count``) into PROFILE_CATEGORIES."""
    counts: Dict[str, int] = collections.Counter()
    total = 0
    with open(path) as f:
        for line in f:
            stack, _, n = line.rstrip('\n').rpartition(' ')
            if not stack or not n.isdigit():
                continue
            total += int(n)
            names = [fr.split(' (')[0] for fr in stack.split(';')]
            label = next((lab for lab, fns in PROFILE_CATEGORIES
                          if any(fn in names for fn in fns)), 'other')
            counts[label] += int(n)
    if not total:
        return {'error': 'py-spy recorded no sample'}
    return {'samples': total, 'shares': {k: v / total for k, v in counts.most_common()}}
