"""Benchmark of issue 14: the pre-event buffer's cost and a 10 s save_clip at 1280x720.

``./dev exec python bench/record_bench.py [--seconds 10] [--json PATH]`` prints, each
beside its baseline from the same run (the machine is shared: read the ratios):

* buffer ``add`` per frame set (in process, 1280x720 colour + depth + aligned depth),
  against the frame period at 30 fps;
* the node's CPU and RSS at 30 fps with the buffer on (``--seconds``) against off;
* save_clip of ``--seconds`` s: wall time, file size, and the rate a separate subscriber
  process received colour and depth during the save against the seconds before it
  (goal: >= 99 %), with the node's CPU during the save;
* the load average before and after.

DDS stays on this machine (LOCALHOST, a ROS_DOMAIN_ID held by a lock, 201..232).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import psutil

from bench_common import BENCH_DOMAIN_LOCK, ROOT, stop_process
from camera_node import launch_logic
from camera_node.ros import runtime

W, H = 1280, 720


def buffer_add_cost(n: int = 300) -> dict:
    """Time PreEventBuffer.add on distinct 1280x720 frame sets (references, no copy)."""
    from camera_node.core.prebuffer import PreEventBuffer
    from camera_node.core.types import FrameSet
    sets = [FrameSet(color=np.full((H, W, 3), i % 255, np.uint8),
                     depth=np.full((H, W), i, np.uint16),
                     aligned_depth=np.full((H, W), i, np.uint16), stamp_ns=i * 33_333_333)
            for i in range(60)]
    buf = PreEventBuffer(seconds=10.0, budget_bytes=2_000_000_000)
    t0 = time.perf_counter()
    for i in range(n):
        fs = sets[i % 60]
        buf.add(FrameSet(fs.color, fs.depth, fs.aligned_depth, i * 33_333_333))
    per = (time.perf_counter() - t0) / n
    return {'add_us': per * 1e6, 'period_us': 1e6 / 30, 'share_of_period': per * 30}


def node_env(domain: int) -> dict:
    env = dict(os.environ, ROS_DOMAIN_ID=str(domain), ROS_AUTOMATIC_DISCOVERY_RANGE='LOCALHOST')
    env.update(launch_logic.fastdds_environment(os.path.join(ROOT, 'camera_node'), True))
    return env


def start_node(env: dict, ns: str, **params) -> subprocess.Popen:
    args = [sys.executable, '-m', 'camera_node', '--ros-args', '-r', '__ns:=/' + ns]
    for k, v in dict({'width': W, 'height': H, 'motion': True, 'fps': 30.0}, **params).items():
        args += ['-p', '%s:=%s' % (k, str(v).lower() if isinstance(v, bool) else v)]
    log = open(os.path.join(tempfile.gettempdir(), 'record_bench_%s.log' % ns), 'w+')
    proc = subprocess.Popen(args, env=env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.time() + 60
    while time.time() < deadline:
        log.flush()
        with open(log.name) as f:
            if 'publishing' in f.read():
                return proc
        time.sleep(0.2)
    proc.kill()
    raise RuntimeError('node did not start: see ' + log.name)


def cpu_rss(proc: subprocess.Popen, seconds: float) -> dict:
    p = psutil.Process(proc.pid)
    c0 = sum(p.cpu_times()[:2])
    t0 = time.monotonic()
    time.sleep(seconds)
    cpu = (sum(p.cpu_times()[:2]) - c0) / (time.monotonic() - t0)
    return {'cpu_percent_of_core': cpu * 100, 'rss_mb': p.memory_info().rss / 1e6}


def subscriber(ns: str, out: str, seconds: float) -> None:
    """Run in its own process: record the arrival time of every colour and depth image."""
    import rclpy
    from rclpy.qos import QoSProfile, ReliabilityPolicy
    from sensor_msgs.msg import Image
    runtime.tune_allocator()
    rclpy.init()
    node = rclpy.create_node('record_bench_sub')
    got = {'color': [], 'depth': []}
    qos = QoSProfile(depth=5, reliability=ReliabilityPolicy.RELIABLE)
    for key, topic in (('color', 'color/image_raw'), ('depth', 'depth/image_rect_raw')):
        node.create_subscription(Image, '/%s/camera/%s' % (ns, topic),
                                 lambda m, k=key: got[k].append(time.time()), qos)
    executor, _ = runtime.make_executor()
    executor.add_node(node)
    end = time.time() + seconds
    while time.time() < end:
        executor.spin_once(timeout_sec=0.1)
    with open(out, 'w') as f:
        json.dump(got, f)
    rclpy.try_shutdown()


def status(ns: str) -> dict:
    out = subprocess.run([sys.executable, os.path.abspath(__file__), '--call', ns, 'status'],
                         capture_output=True, text=True, timeout=60, env=os.environ.copy())
    return json.loads(out.stdout.strip().splitlines()[-1])


def call(ns: str, what: str, seconds: float) -> None:
    """Run in its own process: DoCommand status, or save_clip; print JSON."""
    import rclpy
    from camera_node_interfaces.srv import DoCommand, SaveClip
    rclpy.init()
    node = rclpy.create_node('record_bench_call')
    if what == 'status':
        cli = node.create_client(DoCommand, '/%s/camera/do_command' % ns)
        req = DoCommand.Request(command='{"command": "status"}')
    else:
        cli = node.create_client(SaveClip, '/%s/camera/save_clip' % ns)
        req = SaveClip.Request(before=seconds, name='bench_%d' % os.getpid())
    cli.wait_for_service(30)
    t0 = time.time()
    fut = cli.call_async(req)
    rclpy.spin_until_future_complete(node, fut, timeout_sec=300)
    t1 = time.time()
    res = fut.result()
    if what == 'status':
        print(json.dumps(dict(json.loads(res.result), t=t0)))
    else:
        print(json.dumps({'success': res.success, 'error': res.error, 'bytes': res.bytes,
                          'frame_sets': res.frame_sets, 'duration': res.duration,
                          'dropped': res.frame_sets_dropped, 'path': res.path,
                          't0': t0, 't1': t1, 'wall_s': t1 - t0}))
    rclpy.try_shutdown()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--seconds', type=float, default=10.0)
    ap.add_argument('--json', default='')
    ap.add_argument('--subscriber', nargs=3, metavar=('NS', 'OUT', 'SECONDS'))
    ap.add_argument('--call', nargs=2, metavar=('NS', 'WHAT'))
    args = ap.parse_args()
    if args.subscriber:
        subscriber(args.subscriber[0], args.subscriber[1], float(args.subscriber[2]))
        return 0
    if args.call:
        call(args.call[0], args.call[1], args.seconds)
        return 0
    domain, _lock = runtime.claim_domain(range(201, 233), BENCH_DOMAIN_LOCK)
    env = node_env(domain)
    os.environ.update(env)
    secs = args.seconds
    budget = int(secs * 30 * W * H * 7 / 1e6) + 256          # MB: colour + 2 depth images
    report = {'load_before': os.getloadavg(), 'nproc': os.cpu_count(), 'domain': domain}
    report['buffer_add'] = buffer_add_cost()
    clips = tempfile.mkdtemp(prefix='record_bench_')
    # node cost: buffer off, then on
    for label, params in (('off', {}), ('on', {'buffer_seconds': secs,
                                               'buffer_memory_mb': budget})):
        proc = start_node(env, 'rb_' + label, **params)
        try:
            time.sleep(secs + 2)
            report['node_buffer_' + label] = cpu_rss(proc, 8.0)
        finally:
            stop_process(proc, 20.0)
    # save_clip while a separate process subscribes
    proc = start_node(env, 'rb_save', buffer_seconds=secs, buffer_memory_mb=budget,
                      clip_directory=clips)
    sub_out = os.path.join(clips, 'sub.json')
    sub_seconds = secs + 60
    sub = subprocess.Popen([sys.executable, os.path.abspath(__file__), '--subscriber',
                            'rb_save', sub_out, str(sub_seconds)], env=env)
    try:
        time.sleep(secs + 1)
        first = status('rb_save')
        time.sleep(4.0)
        before = status('rb_save')
        p = psutil.Process(proc.pid)
        c0 = sum(p.cpu_times()[:2])
        save = subprocess.run([sys.executable, os.path.abspath(__file__), '--seconds',
                               str(secs), '--call', 'rb_save', 'save'],
                              capture_output=True, text=True, env=env, timeout=600)
        result = json.loads(save.stdout.strip().splitlines()[-1])
        after = status('rb_save')
        cpu_save = (sum(p.cpu_times()[:2]) - c0) / max(1e-3, after['t'] - before['t'])
        sub.wait(sub_seconds + 60)
    finally:
        stop_process(proc, 20.0)
        if sub.poll() is None:
            sub.kill()
    with open(sub_out) as f:
        arrivals = json.load(f)
    t0, t1 = result['t0'], result['t1']

    def rate(key: str, a: float, b: float) -> float:
        return sum(1 for t in arrivals[key] if a <= t < b) / (b - a)

    def captured(a: dict, b: dict) -> float:
        return (b['frames_captured'] - a['frames_captured']) / (b['t'] - a['t'])
    cap_base, cap_save = captured(first, before), captured(before, after)
    report['save_clip'] = dict(result, node_cpu_percent_during_save=cpu_save * 100,
                               capture_fps_before=cap_base, capture_fps_during_save=cap_save)
    for key in ('color', 'depth'):
        during, base = rate(key, t0, t1), rate(key, first['t'], before['t'])
        # delivered = received / captured in the same window; ratio: during vs before
        d_during, d_base = during / cap_save, base / cap_base
        report['delivered_' + key] = {'received_during_hz': during, 'received_before_hz': base,
                                      'delivered_during': d_during, 'delivered_before': d_base,
                                      'ratio': d_during / d_base if d_base else None}
    report['load_after'] = os.getloadavg()
    print(json.dumps(report, indent=1))
    b, s = report['buffer_add'], report['save_clip']
    print('\nbuffer add per 1280x720 frame set: %.1f us (%.3f %% of a 30 fps period)'
          % (b['add_us'], 100 * b['share_of_period']))
    off, on = report['node_buffer_off'], report['node_buffer_on']
    print('node at 30 fps, buffer on/off: CPU %.0f %% / %.0f %% of a core (ratio %.2f), '
          'RSS %.0f / %.0f MB' % (on['cpu_percent_of_core'], off['cpu_percent_of_core'],
                                  on['cpu_percent_of_core'] / off['cpu_percent_of_core'],
                                  on['rss_mb'], off['rss_mb']))
    dc, dd = report['delivered_color'], report['delivered_depth']
    print('save_clip %.0f s: %s, wall %.2f s, %.0f MB, %d frame sets; capture %.1f fps before, '
          '%.1f during; delivered (received/captured) during the save: colour %.3f, depth '
          '%.3f, before it: %.3f, %.3f; ratios %.3f, %.3f (goal >= 0.99); load %s -> %s'
          % (secs, 'ok' if s['success'] else s['error'], s['wall_s'], s['bytes'] / 1e6,
             s['frame_sets'], s['capture_fps_before'], s['capture_fps_during_save'],
             dc['delivered_during'], dd['delivered_during'], dc['delivered_before'],
             dd['delivered_before'], dc['ratio'] or 0, dd['ratio'] or 0,
             ' '.join('%.1f' % v for v in report['load_before']),
             ' '.join('%.1f' % v for v in report['load_after'])))
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(report, f, indent=1)
    subprocess.run(['rm', '-rf', clips])
    return 0


if __name__ == '__main__':
    sys.exit(main())
