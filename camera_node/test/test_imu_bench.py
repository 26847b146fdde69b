"""The IMU benchmark runs end to end in quick mode (no timing asserts: figures only)."""

import json
import os
import subprocess
import sys

BENCH = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))), 'bench', 'imu_bench.py')


def test_imu_bench_quick_reports_delivery_latency_and_cpu(tmp_path):
    out = tmp_path / 'imu.json'
    res = subprocess.run([sys.executable, BENCH, '--quick', '--json', str(out)],
                         capture_output=True, text=True, timeout=240)
    assert res.returncode == 0, res.stdout + res.stderr
    assert 'IMU delivered to another process' in res.stdout
    doc = json.loads(out.read_text())
    figures = {r['figure']: r for r in doc['rows']}
    for figure in ('IMU latency p50 (receipt - stamp)', 'IMU latency p99',
                   'CPU the IMU path adds (difference)', 'node CPU, images only (baseline)'):
        assert figures[figure]['value'] is not None, figure
    imu_run = doc['raw']['imu'][0]
    assert imu_run['started'] and imu_run['imu']['received'] > 0
    # every sample received is on the 400 Hz grid and none twice: what the driver stamped
    assert imu_run['imu']['off_grid'] == 0 and imu_run['imu']['duplicates'] == 0
