"""The benchmark suite runs end to end in quick mode (no timing asserts: figures only)."""

import json
import os
import subprocess
import sys

BENCH_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))), 'bench')
sys.path.insert(0, BENCH_DIR)
import camera_bench as bench  # noqa: E402  (the suite lives outside the package)


def test_bench_quick_completes_with_every_goal(tmp_path):
    out = tmp_path / 'bench.json'
    env = dict(os.environ)
    res = subprocess.run([sys.executable, os.path.join(BENCH_DIR, 'camera_bench.py'),
                          '--quick', '--json', str(out)],
                         capture_output=True, text=True, env=env, timeout=240)
    assert res.returncode == 0, res.stdout + res.stderr
    for column in ('figure', 'value', 'baseline', 'ratio', 'goal', 'met?'):
        assert column in res.stdout
    assert 'goals met' in res.stdout
    doc = json.loads(out.read_text())
    assert set(bench.GOAL_KEYS) <= set(doc['goals'])
    for key in bench.GOAL_KEYS:
        assert doc['goals'][key]['goal'], key
    assert doc['machine']['nproc'] >= 1
    # correctness is not timing: the published bytes must match with and without checks
    assert doc['goals']['fill_bit_exact_check_fields_off']['value'] is True
    assert doc['goals']['fill_bit_exact_check_fields_on']['value'] is True


def test_table_formats_rows_without_figures():
    rows = [bench._row('x', 'a figure', None, 'ms', goal='<= 1')]
    text = bench.table(rows)
    assert 'a figure' in text and '<= 1' in text
