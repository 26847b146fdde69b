"""The JPEG passthrough benchmark runs end to end in quick mode (figures, no timing asserts)."""

import json
import os
import subprocess
import sys

BENCH = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))), 'bench', 'jpeg_bench.py')


def test_jpeg_bench_quick_reports_cpu_and_byte_identity(tmp_path):
    out = tmp_path / 'jpeg.json'
    res = subprocess.run([sys.executable, BENCH, '--quick', '--json', str(out)],
                         capture_output=True, text=True, timeout=240)
    assert res.returncode == 0, res.stdout + res.stderr
    assert 'CPU saved by passthrough' in res.stdout
    doc = json.loads(out.read_text())
    med = doc['medians']
    for name in ('passthrough', 'reencode', 'passthrough_raw'):
        assert med[name]['node_cpu_pct'] is not None and med[name]['fps'] > 0, name
    # what went out: the server's own bytes with passthrough, new encodings without
    assert med['passthrough']['identical_pct'] == 100.0
    assert med['passthrough_raw']['identical_pct'] == 100.0
    assert med['reencode']['identical_pct'] == 0.0
    raw = doc['raw']['passthrough_raw'][0]['streams']['raw']
    assert raw['received'] > 0                      # decoded for the raw subscriber
