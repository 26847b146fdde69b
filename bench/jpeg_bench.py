"""JPEG passthrough (issue 13): the CPU a camera node saves by not decoding and re-encoding.

``./dev exec python bench/jpeg_bench.py [--quick] [--seconds S] [--repeat N]
[--size 1280x720] [--quality 80] [--json PATH]``

A local MJPEG-over-HTTP server (127.0.0.1, a thread of this process) sends 30 distinct
JPEG frames of the synthetic scene (its sphere swinging) in a loop at 30 fps: an MJPEG
camera. A camera node (``driver: webcam``, ``source`` = the stream) publishes them; a
subscriber process takes ``color/image_raw/compressed`` (a remote viewer, a recorder of
compressed images). Scenarios, interleaved when repeated:

* ``passthrough``: ``jpeg_passthrough: true`` (the default): the frames go out as they came;
* ``reencode``: ``jpeg_passthrough: false``: every frame is decoded by OpenCV/FFmpeg and
  encoded again at ``jpeg_quality`` (what a driver without passthrough does);
* ``passthrough_raw``: passthrough, and the subscriber also takes ``color/image_raw``, so
  the node decodes (once per frame, only for that).

Figures: the node process's CPU (share of one core) over the window, the compressed rate,
and the share of compressed messages byte-identical to a frame the server sent. DDS stays
on this machine (LOCALHOST, the shipped profile, a ROS_DOMAIN_ID this run holds a lock on).
The machine is shared: compare the scenarios of one run.
"""

from __future__ import annotations

import argparse
import http.server
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import zlib
from typing import Any, Dict, List, Optional

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_common as cb  # noqa: E402
import remote_bench as rb  # noqa: E402  (the subscriber worker)
from camera_node.ros import runtime  # noqa: E402

NS = 'jpeg_bench'
SCENARIOS = {
    'passthrough': (True, (('color', 'color/image_raw/compressed', 'compressed'),)),
    'reencode': (False, (('color', 'color/image_raw/compressed', 'compressed'),)),
    'passthrough_raw': (True, (('color', 'color/image_raw/compressed', 'compressed'),
                               ('raw', 'color/image_raw', 'image'))),
}


def frames(width: int, height: int, quality: int, count: int = 30) -> List[bytes]:
    """JPEGs of the synthetic scene, the sphere moving from one to the next."""
    import cv2
    from camera_node.drivers.synthetic.driver import SyntheticDriver
    drv = SyntheticDriver({'width': width, 'height': height, 'motion': True, 'fps': 240.0})
    out = []
    with drv:
        while len(out) < count:
            fs = drv.read(1.0)
            if fs is not None:
                bgr = cv2.cvtColor(fs.color, cv2.COLOR_RGB2BGR)
                out.append(cv2.imencode('.jpg', bgr, [cv2.IMWRITE_JPEG_QUALITY, quality])[1]
                           .tobytes())
    return out


class Server:
    """multipart/x-mixed-replace JPEG stream on 127.0.0.1, stopped by :meth:`stop`."""

    def __init__(self, jpegs: List[bytes], fps: float, lifetime: float) -> None:
        self.jpegs, self.period, self.lifetime = jpegs, 1.0 / fps, lifetime
        self._stop = threading.Event()
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                self.send_response(200)
                self.send_header('Content-Type', 'multipart/x-mixed-replace; boundary=f')
                self.end_headers()
                end, k, due = time.monotonic() + server.lifetime, 0, time.monotonic()
                while not server._stop.is_set() and time.monotonic() < end:
                    jpg = server.jpegs[k % len(server.jpegs)]
                    try:
                        self.wfile.write(b'--f\r\nContent-Type: image/jpeg\r\nContent-Length:'
                                         b' %d\r\n\r\n' % len(jpg) + jpg + b'\r\n')
                        self.wfile.flush()
                    except OSError:
                        return
                    k += 1
                    due += server.period
                    server._stop.wait(max(0.0, due - time.monotonic()))
        self.httpd = http.server.ThreadingHTTPServer(('127.0.0.1', 0), Handler)
        self.httpd.daemon_threads = True
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        """The stream's URL."""
        return 'http://127.0.0.1:%d/stream.mjpg' % self.httpd.server_address[1]

    def stop(self) -> None:
        """Stop sending and close the server."""
        self._stop.set()
        self.httpd.shutdown()
        self.httpd.server_close()


def run(name: str, url: str, env: Dict[str, str], cfg: Dict[str, Any], log_dir: str,
        crcs: set) -> Dict[str, Any]:
    """Run one scenario: the node on the stream and the subscriber; return the figures."""
    passthrough, topics = SCENARIOS[name]
    log_path = os.path.join(log_dir, '%s_node.log' % name)
    log = open(log_path, 'w')
    node = subprocess.Popen([
        sys.executable, '-m', 'camera_node', '--ros-args', '-r', '__ns:=/' + NS, '-r',
        '__node:=camera', '-p', 'driver:=webcam', '-p', 'source:=' + url, '-p', 'fps:=30.0',
        '-p', 'jpeg_passthrough:=%s' % ('true' if passthrough else 'false'), '-p',
        'jpeg_quality:=%d' % cfg['quality'], '-p', 'diagnostics_period:=0.0'],
        stdout=log, stderr=log, env=env)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and node.poll() is None:
            with open(log_path) as f:
                if 'publishing' in f.read():
                    break
            time.sleep(0.2)
        spec = {'topics': topics, 'node_pid': node.pid, 'warmup': cfg['warmup'],
                'window': cfg['window'], 'start_timeout': 30.0, 'namespace': NS, 'crc': True}
        sub = subprocess.Popen([sys.executable, os.path.abspath(rb.__file__), '--worker', 'sub',
                                '--spec', json.dumps(spec)], stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL, text=True, env=env)
        out = cb.Runner.finish(sub, cfg['window'] + 120)
        got = set(out.get('crc', {}).get('color', []))
        out['identical_pct'] = 100.0 * len(got & crcs) / len(got) if got else None
        return out
    finally:
        cb.stop_process(node)


def main(argv: Optional[List[str]] = None) -> int:
    """Run the passthrough benchmark."""
    ap = argparse.ArgumentParser(prog='bench/jpeg_bench.py', description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--quick', action='store_true', help='640x480, short windows')
    ap.add_argument('--seconds', type=float, default=15.0)
    ap.add_argument('--repeat', type=int, default=1)
    ap.add_argument('--size', default='1280x720')
    ap.add_argument('--quality', type=int, default=80)
    ap.add_argument('--json', default='jpeg_bench.json')
    args = ap.parse_args(argv)
    w, h = (640, 480) if args.quick else tuple(int(v) for v in args.size.split('x'))
    cfg = {'window': 3.0 if args.quick else args.seconds, 'warmup': 1.0 if args.quick
           else 3.0, 'quality': args.quality, 'size': '%dx%d' % (w, h)}
    jpegs = frames(w, h, args.quality)
    crcs = {zlib.crc32(j) for j in jpegs}
    runs = max(1, args.repeat)
    server = Server(jpegs, 30.0, lifetime=runs * len(SCENARIOS) * (cfg['window'] + 60))
    domain, lock = runtime.claim_domain(range(201, 233), cb.BENCH_DOMAIN_LOCK)
    started, t0 = time.strftime('%Y-%m-%d %H:%M:%S %z'), time.monotonic()
    results: Dict[str, List[Dict[str, Any]]] = {k: [] for k in SCENARIOS}
    try:
        with tempfile.TemporaryDirectory(prefix='camera_node_jpeg_bench_') as tmp:
            bench = rb.Bench(domain, tmp, tmp, {'noise': 0.0})
            env = bench.env('local')
            for i in range(runs):
                for name in SCENARIOS:
                    print('[jpeg bench %4.0f s] run %d: %s' % (time.monotonic() - t0, i + 1,
                                                               name), file=sys.stderr)
                    results[name].append(run(name, server.url, env, cfg,
                                             os.environ.get('CAMERA_NODE_BENCH_LOGS') or tmp,
                                             crcs))
    finally:
        server.stop()
        lock.close()
    med = {}
    head = ('scenario', 'node CPU %', 'compressed fps', 'identical %', 'KB/msg')
    print('%-16s  %-12s  %-14s  %-14s  %s' % head)
    for name, rs in results.items():
        ok = [r for r in rs if 'streams' in r]

        def m(f):
            vals = [f(r) for r in ok if f(r) is not None]
            return statistics.median(vals) if vals else None
        med[name] = {'node_cpu_pct': m(lambda r: r.get('node_cpu_pct')),
                     'fps': m(lambda r: r['streams']['color']['fps']),
                     'identical_pct': m(lambda r: r.get('identical_pct')),
                     'kb': m(lambda r: (r['streams']['color']['bytes'] or 0) / 1e3)}
        print('%-16s  %-12s  %-14s  %-14s  %s' % tuple(
            [name] + [rb._f(med[name][k]) for k in ('node_cpu_pct', 'fps', 'identical_pct',
                                                    'kb')]))
    a, b = med['passthrough']['node_cpu_pct'], med['reencode']['node_cpu_pct']
    saved = None if a is None or b is None else b - a
    print('\nCPU saved by passthrough: %s %% of a core (%s x less)' % (
        rb._f(saved), rb._f(b / a if a and b else None, '%.2f')))
    cb.write_figures('jpeg_bench.py', argv, args.json, started, time.monotonic() - t0,
                     config=cfg, medians=med, cpu_saved_pct=saved, raw=results)
    return 0


if __name__ == '__main__':
    sys.exit(main())
