"""The benchmark suite runs end to end in quick mode (no timing asserts: figures only)."""

import json
import os
import subprocess
import sys

BENCH_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))), 'bench')
sys.path.insert(0, BENCH_DIR)
import bench_report as report  # noqa: E402  (the suite lives outside the package)
import camera_bench as bench  # noqa: E402


def test_bench_quick_measures_every_goal_on_the_real_node(tmp_path):
    out, md = tmp_path / 'bench.json', tmp_path / 'perf.md'
    md.write_text('# Performance\n\nbefore\n\n%s\nold run\n%s\n\nafter\n'
                  % (report.DOC_BEGIN, report.DOC_END))
    res = subprocess.run([sys.executable, os.path.join(BENCH_DIR, 'camera_bench.py'),
                          '--quick', '--json', str(out), '--write-docs', str(md)],
                         capture_output=True, text=True, env=dict(os.environ), timeout=300)
    assert res.returncode == 0, res.stdout + res.stderr   # quick: no goal judged, none failed
    for column in report.HEAD:
        assert column in res.stdout
    assert 'goals met' in res.stdout and 'repeats: 1 runs' in res.stdout
    doc = json.loads(out.read_text())
    assert set(report.GOAL_KEYS) <= set(doc['goals'])
    for key in report.GOAL_KEYS:
        goal = doc['goals'][key]
        assert goal['goal'], key
        # measured: a value, or a baseline that is not installed said so
        assert goal['value'] is not None or goal['note'].startswith('skipped'), goal
    runs = doc['runs']
    # the node measured is the real process: its CPU and RSS come from it, and it exited 0
    for kind in ('node_tuned', 'node_plain', 'floor_tuned', 'floor_plain', 'node_load'):
        assert runs[kind][0]['pub_cpu_pct'] > 0, kind
        assert runs[kind][0]['pub_result'].get('exit_code') in (None, 0), runs[kind]
    assert runs['node_tuned'][0]['rss_mb']
    # the driver's cost is read from the node's own capture thread (named at the OS level)
    assert report.CAPTURE in runs['node_tuned'][0]['pub_threads_pct']
    assert 'camera_publish' in runs['node_tuned'][0]['pub_threads_pct']
    assert runs['node_load'][0]['busy_cpu_pct'] > 50       # the competing load ran
    assert doc['goals']['fill_bit_exact']['value'] is True
    text = md.read_text()
    assert text.startswith('# Performance\n\nbefore\n') and text.endswith('\n\nafter\n')
    assert 'old run' not in text and doc['command'] in text and '| figure |' in text


def _goal_rows(met):
    return [report._row(key, key, 1.0, 'ms', goal='<= 1', met=met)
            for key in report.GOAL_KEYS]


def test_exit_code_says_whether_every_goal_was_met():
    assert report.exit_code(_goal_rows(True), quick=False) == 0
    rows = _goal_rows(True)
    rows[3]['met'] = False
    assert report.exit_code(rows, quick=False) == 1
    assert report.exit_code(rows, quick=True) == 0          # quick judges no goal
    rows[4]['met'] = None                                   # not measured: a failure
    assert report.exit_code(rows, quick=True) == 2
    rows[4]['note'] = 'skipped: open3d not installed'       # an optional baseline absent
    assert report.exit_code(rows, quick=False) == 1


def test_figures_are_medians_of_the_repeats():
    runs = {'node_tuned': [{'pub_cpu_pct': v} for v in (30.0, 50.0, 31.0)],
            'floor_tuned': [{'pub_cpu_pct': 20.0}, {'error': 'failed'}]}
    assert report.med(runs, 'node_tuned', 'pub_cpu_pct') == 31.0
    assert report.med(runs, 'floor_tuned', 'pub_cpu_pct') == 20.0
    assert report.spread(runs, 'node_tuned', 'pub_cpu_pct') == '30-50'
    assert report.med(runs, 'driver', 'cpu_pct') is None


def test_stream_figures_count_the_frame_sets_of_the_window(tmp_path):
    path = tmp_path / 'sub.json'
    w0, period = 1_000_000_000_000, 33_333_333
    # 30 frame sets due in a 1 s window, one lost, 2 ms late each; one before the window
    stamps = [w0 + i * period for i in range(30) if i != 7] + [w0 - period]
    path.write_text(json.dumps({'color': [[s, s + 2_000_000] for s in stamps]}))
    fig = bench.stream_figures(str(path), w0, w0 + 1_000_000_000, 30.0)['color']
    assert fig['received'] == 29
    assert abs(fig['delivered_pct'] - 100.0 * 29 / 30) < 1e-9
    assert fig['p50_ms'] == fig['p99_ms'] == 2.0


def test_table_formats_rows_without_figures():
    rows = [report._row('x', 'a figure', None, 'ms', goal='<= 1')]
    text = report.table(rows)
    assert 'a figure' in text and '<= 1' in text
