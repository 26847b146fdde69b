#!/usr/bin/env python3
"""camera_node stress suite (issue #10): fuzzing, load, signals, reconnects, soak.

Run it with ``./dev stress`` (the full run, by hand: about 30 minutes plus the soak) or
``./dev stress --smoke`` (about a minute: what CI runs through test/test_stress_smoke.py).
Every phase starts its own node process on a ROS domain of its own (201-230, claimed with
a lock file), with DDS confined to this machine, and stops it; every loop is bounded in
count and time. At the end each figure is printed against its goal; the exit code is 1
if any goal was missed.

Phases (``--only`` picks some):

* ``fuzz``: structure-aware cases for every Viam service (extra, MIME types, source names,
  DoCommand objects) and every parameter of the synthetic driver (through the ROS
  parameter services and through DoCommand ``set_parameters``); a case fails if it gets
  no answer within 5 s, an internal error, or a bad value accepted.
* ``load``: 50 and 200 concurrent clients (in separate processes) for a while, while
  another process measures the colour stream's rate; a request is lost if it has no
  answer (served or ``busy``) within its 10 s deadline.
* ``signals``: SIGINT/SIGTERM at random moments from 0 to 3 s after start (imports
  included): exit code 0, no traceback, exit within 2 s of the signal.
* ``reconnect``: a webcam node on a local MJPEG server (127.0.0.1) that is stopped and
  started again; RSS, threads and file descriptors before and after.
* ``soak``: the node under a subscriber and a few clients; RSS, threads and fds over time,
  and the stream rate at the start and the end.
"""

from __future__ import annotations

import argparse
import glob
import fcntl
import http.server
import json
import math
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
GOALS = []          # (figure, value text, goal text, met)


JUDGE_TIMING = [True]   # the smoke run (CI, a shared machine) prints rates and times only


def goal(name, value, goal_text, met, timing=False):
    """Record and print one figure against its goal.

    ``timing`` figures (rates, durations) are judged in the full run only: in the smoke run
    they are printed, since a busy CI machine would make them flaky.
    """
    if timing and not JUDGE_TIMING[0]:
        print('  %-58s %-22s goal %-16s %s'
              % (name, value, goal_text, '(printed, not judged in a smoke run)'))
        return
    GOALS.append((name, value, goal_text, met))
    print('  %-58s %-22s goal %-16s %s' % (name, value, goal_text, 'ok' if met else 'MISSED'),
          flush=True)


# -- domain and processes ------------------------------------------------------------------
_LOCK = None


def claim_domain():
    """Claim a ROS_DOMAIN_ID in 201..230 that no other run on this machine holds."""
    global _LOCK
    ids = list(range(201, 231))
    random.Random(os.getpid()).shuffle(ids)
    for domain in ids:
        held = False
        for other in glob.glob('/tmp/*domain_%d.lock' % domain):
            try:
                with open(other) as f:
                    fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    fcntl.flock(f, fcntl.LOCK_UN)
            except OSError:
                held = True
        if held:
            continue
        handle = open('/tmp/camera_node_stress_domain_%d.lock' % domain, 'w')
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            continue
        _LOCK = handle
        return domain
    raise SystemExit('no free ROS_DOMAIN_ID in 201..230')


class Node:
    """A camera node process; its output goes to a log file."""

    def __init__(self, name, params, env=None, pythonpath=None):
        self.ns = 'stress_%s_%d' % (name, random.randint(0, 1 << 20))
        args = [sys.executable, '-m', 'camera_node', '--ros-args', '-r', '__ns:=/' + self.ns,
                '-r', '__node:=camera']
        for k, v in params.items():
            args += ['-p', '%s:=%s' % (k, v)]
        full = dict(os.environ, **(env or {}))
        if pythonpath:
            full['PYTHONPATH'] = pythonpath + os.pathsep + full.get('PYTHONPATH', '')
        self.log_path = '/tmp/camera_stress_%d_%s.log' % (os.getpid(), self.ns)
        self.log = open(self.log_path, 'w+')
        self.t_start = time.monotonic()
        self.proc = subprocess.Popen(args, stdout=self.log, stderr=subprocess.STDOUT, env=full)

    def prefix(self):
        return '/%s/camera' % self.ns

    def output(self):
        if not self.log.closed:
            self.log.flush()
        with open(self.log_path, errors='replace') as f:
            return f.read()

    def wait_output(self, text, timeout=30.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in self.output():
                return True
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        return text in self.output()

    def alive(self):
        return self.proc.poll() is None

    def stop(self, sig=signal.SIGINT, timeout=15.0):
        """Signal, wait; return (exit code, seconds to exit); killed after timeout."""
        t0 = time.monotonic()
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        took = time.monotonic() - t0
        self.log.close()
        return self.proc.returncode, took

    def usage(self):
        """Return (RSS MB, threads, fds) of the node process."""
        pid = self.proc.pid
        rss = threads = 0
        with open('/proc/%d/status' % pid) as f:
            for line in f:
                if line.startswith('VmRSS:'):
                    rss = int(line.split()[1]) / 1024.0
                elif line.startswith('Threads:'):
                    threads = int(line.split()[1])
        return rss, threads, len(os.listdir('/proc/%d/fd' % pid))


# -- ROS helpers (imported after the domain is set) ----------------------------------------
def ros():
    import rclpy
    if not rclpy.ok():
        rclpy.init()
    return rclpy


class Caller:
    """Service clients on one node, called with a bounded wait, with in-flight pipelining."""

    def __init__(self, node, executor):
        self.node = node
        self.executor = executor
        self.clients = {}

    def client(self, srv, name):
        key = (srv, name)
        if key not in self.clients:
            from rclpy.qos import QoSProfile
            self.clients[key] = self.node.create_client(srv, name,
                                                        qos_profile=QoSProfile(depth=1000))
        return self.clients[key]

    def wait_ready(self, srv, name, timeout=30.0):
        c = self.client(srv, name)
        deadline = time.monotonic() + timeout
        while not c.service_is_ready() and time.monotonic() < deadline:
            self.executor.spin_once(timeout_sec=0.05)
        return c.service_is_ready()

    def call_many(self, items, timeout=5.0, inflight=4):
        """items: [(srv, name, request, tag)]; return [(tag, response or None, seconds)]."""
        out = []
        pending = []
        it = iter(items)
        exhausted = False
        while True:
            while not exhausted and len(pending) < inflight:
                try:
                    srv, name, req, tag = next(it)
                except StopIteration:
                    exhausted = True
                    break
                c = self.client(srv, name)
                pending.append((c.call_async(req), tag, time.monotonic(), c))
            if not pending:
                break
            self.executor.spin_once(timeout_sec=0.01)
            now = time.monotonic()
            keep = []
            for fut, tag, t0, c in pending:
                if fut.done():
                    out.append((tag, fut.result(), now - t0))
                elif now - t0 > timeout:
                    c.remove_pending_request(fut)
                    out.append((tag, None, now - t0))
                else:
                    keep.append((fut, tag, t0, c))
            pending = keep
        return out


# -- fuzz cases ----------------------------------------------------------------------------
MIMES = ['image/jpeg', 'image/png', 'image/vnd.viam.rgba', 'image/vnd.viam.dep',
         'image/jpeg+lazy', 'pointcloud/pcd', '', 'image/gif', 'IMAGE/PNG', 'image/',
         'x' * 300]


def rand_scalar(r):
    k = r.randrange(10)
    if k == 0:
        return r.randint(-10, 20)
    if k == 1:
        return r.choice([0, 1, -1, 2 ** 31, -2 ** 63, 10 ** 30])
    if k == 2:
        return r.uniform(-1e6, 1e6)
    if k == 3:
        return r.choice([0.5, 1e308, -1e-308, 16.0, 2.5])
    if k == 4:
        return r.choice([True, False, None])
    if k == 5:
        return ''.join(r.choice('abc xyz/\\"\'{}[]:,\n\t\u00e9\u4e2d\U0001F600')
                       for _ in range(r.randrange(0, 20)))
    if k == 6:
        return r.choice(['color', 'depth', 'ir', '', 'COLOR', 'image/png', 'status'])
    if k == 7:
        return 'w' * r.choice([100, 1000, 5000])
    if k == 8:
        return [rand_scalar(r) for _ in range(r.randrange(0, 4))]
    return {'k%d' % i: rand_scalar(r) for i in range(r.randrange(0, 3))}


def rand_json_text(r, keys):
    """Return (text, must_refuse): JSON-ish text from a small grammar plus mutations."""
    k = r.randrange(12)
    if k == 0:
        return '', False
    if k <= 5:
        obj = {key: rand_scalar(r) for key in r.sample(keys, r.randrange(0, len(keys) + 1))}
        if r.random() < 0.3:
            obj['unknown_%d' % r.randrange(5)] = rand_scalar(r)
        return json.dumps(obj), False
    if k == 6:
        d = r.choice([33, 100, 3000, 30000])
        return '[' * d + ']' * d, True
    if k == 7:
        return '{"a": %s}' % r.choice(['NaN', 'Infinity', '-Infinity', '1e999']), True
    if k == 8:
        good = json.dumps({key: rand_scalar(r) for key in keys})
        return good[:r.randrange(1, max(2, len(good)))], None   # truncated: maybe valid
    if k == 9:
        return r.choice(['[1, 2]', '"text"', '42', 'null', 'true', '{"a": 1} x']), True
    if k == 10:
        return json.dumps({'pad': 'p' * r.choice([17000, 70000])}), True
    return ''.join(chr(r.randrange(32, 0x2FFF)) for _ in range(r.randrange(1, 50))), None


def service_cases(r, n, sources_ok):
    from camera_node_interfaces.srv import (DoCommand, GetGeometries, GetImage, GetImages,
                                            GetPointCloud, GetProperties)
    cases = {}
    extra_keys = ['source', 'mime_type', 'decimation']
    cases['get_image'] = []
    for _ in range(n):
        extra, refuse = rand_json_text(r, extra_keys)
        cases['get_image'].append((GetImage, 'get_image', GetImage.Request(
            mime_type=r.choice(MIMES), extra=extra), refuse))
    cases['get_images'] = []
    for _ in range(n):
        extra, refuse = rand_json_text(r, extra_keys)
        names = [r.choice(sources_ok + ['ir', '', 'x' * 500, 'COLOR'])
                 for _ in range(r.choice([0, 0, 1, 2, 3, 50]))]
        cases['get_images'].append((GetImages, 'get_images', GetImages.Request(
            filter_source_names=names, extra=extra), refuse))
    for key, srv in (('get_point_cloud', GetPointCloud), ('get_properties', GetProperties),
                     ('get_geometries', GetGeometries)):
        cases[key] = []
        for _ in range(n):
            extra, refuse = rand_json_text(r, extra_keys)
            req = srv.Request()
            if hasattr(req, 'extra'):
                req.extra = extra
            else:
                refuse = False
            if hasattr(req, 'mime_type'):
                req.mime_type = r.choice(MIMES)
            cases[key].append((srv, key, req, refuse))
    try:        # save_clip (issue #14), where this version of the node has it
        from camera_node_interfaces.srv import SaveClip
    except ImportError:
        SaveClip = None
    if SaveClip is not None:
        cases['save_clip'] = []
        for _ in range(n):
            after = r.choice([0.0, 0.05, 0.2, -1.0, 301.0, 1e308, math.nan, math.inf])
            before = r.choice([-1.0, 0.0, 0.5, 1e308, math.nan, -math.inf])
            name = r.choice(['', 'clip_ok', '../x', '.hidden', 'a/b', 'x' * 300,
                             'c%d' % r.randrange(10 ** 6)])
            bad_after = not (after == after and 0.0 <= after <= 300.0)
            cases['save_clip'].append((SaveClip, 'save_clip', SaveClip.Request(
                before=before, after=after, name=name), True if bad_after else None))
    cases['do_command'] = []
    names = ['status', 'help', 'get_parameters', 'scene', 'set_parameters', 'nope', 5, None]
    for _ in range(n):
        k = r.randrange(4)
        if k == 0:
            text, refuse = rand_json_text(r, ['command', 'parameters'])
        else:
            obj = {'command': r.choice(names)}
            for key in r.sample(['parameters', 'frame', 'msec', 'x'], r.randrange(0, 3)):
                obj[key] = rand_scalar(r)
            if obj['command'] == 'set_parameters' and r.random() < 0.5:
                obj['parameters'] = {'jpeg_quality': rand_scalar(r)}
            text, refuse = json.dumps(obj), None
        cases['do_command'].append((DoCommand, 'do_command', DoCommand.Request(command=text),
                                    refuse))
    return cases


def camera_info_cases(r, n, w, h):
    """Return [(CameraInfo, should be stored)] around a valid calibration of w x h."""
    from sensor_msgs.msg import CameraInfo
    from camera_node.core.calibration import Calibration, CalibrationError, check_calibration
    bad_numbers = [math.nan, math.inf, -math.inf, 0.0, -1.0, 1e308, 5e-324]
    out = []
    for _ in range(n):
        k = [300.0, 0.0, w / 2, 0.0, 300.0, h / 2, 0.0, 0.0, 1.0]
        d = [0.0] * 5
        rr = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0]
        p = [300.0, 0.0, w / 2, 0.0, 0.0, 300.0, h / 2, 0.0, 0.0, 0.0, 1.0, 0.0]
        width, height, model = w, h, 'plumb_bob'
        short_k = False
        for _m in range(r.randrange(0, 3)):
            what = r.randrange(7)
            if what == 0:
                k[r.randrange(9)] = r.choice(bad_numbers + [r.uniform(-1e4, 1e4)])
            elif what == 1:
                d = [r.choice(bad_numbers + [0.1]) for _ in range(r.choice([0, 4, 5, 8, 14, 15,
                                                                            200]))]
            elif what == 2:
                p[r.randrange(12)] = r.choice(bad_numbers)
            elif what == 3:
                rr[r.randrange(9)] = r.choice(bad_numbers)
            elif what == 4:
                width, height = r.choice([(0, 0), (w * 2, h * 2), (w, h + 1), (2 ** 32 - 1, 1)])
            elif what == 5:
                model = r.choice(['', 'rational_polynomial', 'x' * 100, 'm\u00e9'])
            else:
                short_k = True
        if short_k:     # last, so the other mutations index a whole K
            k = k[:r.randrange(9)]
        info = CameraInfo(width=width, height=height, distortion_model=model)
        try:
            info.k = k if len(k) == 9 else k + [0.0] * (9 - len(k))
        except Exception:
            continue
        info.d, info.r, info.p = d, rr, p
        cal = Calibration(width, height, list(info.k), model or 'plumb_bob', list(d), list(rr),
                          list(p))
        try:
            check_calibration(cal)
            ok = (width, height) == (w, h)
        except CalibrationError:
            ok = False
        out.append((info, ok))
    return out


def param_values(r, spec):
    """Return a random value for a parameter (any type) from its spec's neighbourhood."""
    d = spec.default
    k = r.randrange(8)
    if k == 0:
        return d
    if isinstance(d, bool):
        pick = [True, False, 1, 'true', 0.0]
    elif isinstance(d, int):
        lo = int(spec.min) if spec.min is not None else -5
        hi = int(spec.max) if spec.max is not None else 100
        pick = [lo, hi, lo - 1, hi + 1, r.randint(lo - 10, hi + 10), 2 ** 62, -2 ** 63,
                float(r.randint(lo, hi)), 1.5, 'x', True]
    elif isinstance(d, float):
        lo = spec.min if spec.min is not None else -100.0
        hi = spec.max if spec.max is not None else 100.0
        pick = [lo, hi, r.uniform(lo, hi), lo - 1e-3, hi * 2 + 1, math.nan, math.inf,
                -math.inf, 1e308, int(r.uniform(lo, hi) or 1), 'x', False]
    elif isinstance(d, str):
        if spec.name == 'geometries':
            pick = [json.dumps([{'type': 'box', 'dims_mm': [1, 2, 3]}]),
                    json.dumps([{'type': r.choice(['sphere', 'capsule', 'cone']),
                                 'radius_mm': rand_scalar(r), 'length_mm': rand_scalar(r)}]),
                    '[' * 3000, 'a: &a [1]\nb: *a', rand_json_text(r, ['type', 'x'])[0],
                    '- {type: box, dims_mm: [1, 1, 1], label: %s}' % ('l' * r.randrange(90))]
        elif spec.name == 'camera_info_url':
            pick = ['', 'file:///dev/urandom', 'file:///etc/passwd', 'package://camera_node/'
                    '../../../etc/x.yaml', 'file:///nonexistent/x.yaml', 'http://x/y.yaml',
                    'package://nope/x.yaml', 'file://' + '/a' * 300 + '.yaml']
        else:
            pick = ['', 'camera', 'x' * 1000, '../etc', '0']
        pick += [5, 1.5, True]
    elif isinstance(d, (list, tuple)):
        pick = [[0.0] * 6, [1.0], [math.nan] * 6, [1.0] * 7, ['a'] * 6, [], 3.0]
    else:
        pick = [d]
    return r.choice(pick)


def expected_ok(spec, value, path='ros'):
    """Return whether the node should accept value for spec (None: the node decides).

    Through DoCommand a whole double is taken for an integer (JSON numbers are doubles).
    """
    from camera_node.core.params import coerce, validate
    if spec.read_only:
        return False
    if path == 'cmd' and isinstance(spec.default, int) and not isinstance(spec.default, bool) \
            and isinstance(value, float) and value.is_integer():
        value = int(value)
    v = coerce(spec, value)
    if validate(spec, v) is not None:
        return False
    if spec.name == 'geometries':
        from camera_node.viam.geometries import GeometryError, parse_geometries
        try:
            parse_geometries(v)
        except GeometryError:
            return False
    if spec.name == 'camera_info_url' and v:
        return None
    return True


def to_ros_param(name, value):
    from rcl_interfaces.msg import Parameter, ParameterType, ParameterValue
    pv = ParameterValue()
    if isinstance(value, bool):
        pv.type, pv.bool_value = ParameterType.PARAMETER_BOOL, value
    elif isinstance(value, int):
        if not -2 ** 63 <= value < 2 ** 63:
            return None
        pv.type, pv.integer_value = ParameterType.PARAMETER_INTEGER, value
    elif isinstance(value, float):
        pv.type, pv.double_value = ParameterType.PARAMETER_DOUBLE, value
    elif isinstance(value, str):
        pv.type, pv.string_value = ParameterType.PARAMETER_STRING, value
    elif isinstance(value, list) and all(isinstance(v, float) for v in value):
        pv.type, pv.double_array_value = ParameterType.PARAMETER_DOUBLE_ARRAY, value
    elif isinstance(value, list) and all(isinstance(v, str) for v in value):
        pv.type, pv.string_array_value = ParameterType.PARAMETER_STRING_ARRAY, value
    else:
        return None
    return Parameter(name=name, value=pv)


def phase_fuzz(args, r):
    print('fuzz: %d cases per service, %d per parameter' % (args.cases, args.cases), flush=True)
    rclpy = ros()
    from rclpy.executors import SingleThreadedExecutor
    from rcl_interfaces.srv import SetParameters
    from camera_node.drivers import parameter_specs
    from camera_node_interfaces.srv import DoCommand
    home = '/tmp/camera_stress_home_%d' % os.getpid()
    os.makedirs(home, exist_ok=True)
    node = Node('fuzz', {'width': 160, 'height': 120, 'fps': 15.0}, env={'ROS_HOME': home})
    ok_start = node.wait_output('publishing', 40)
    probe = rclpy.create_node('stress_fuzz_%d' % os.getpid())
    ex = SingleThreadedExecutor()
    ex.add_node(probe)
    caller = Caller(probe, ex)
    pre = node.prefix() + '/'
    counts = {'hang': 0, 'internal': 0, 'bad_accepted': 0, 'cases': 0, 'busy': 0}
    examples = []
    t0 = time.monotonic()
    try:
        if not ok_start:
            raise RuntimeError('node did not start: ' + node.output()[-2000:])
        caller.wait_ready(DoCommand, pre + 'do_command')
        per_service = service_cases(r, args.cases, ['color', 'depth'])
        for name, cases in per_service.items():
            caller.wait_ready(cases[0][0], pre + name)
            items = [(srv, pre + n, req, (i, refuse)) for i, (srv, n, req, refuse)
                     in enumerate(cases)]
            hang = internal = bad = busy = 0
            todo = items
            for _round in range(20):            # busy answers are asked again
                retry = []
                for tag, res, _dt in caller.call_many(todo, timeout=5.0):
                    if res is None:
                        hang += 1
                        examples.append('%s: no answer in 5 s' % name)
                        continue
                    if not res.success and res.error.startswith('busy:'):
                        busy += 1
                        retry.append(items[tag[0]])
                        continue
                    if not res.success and res.error.startswith('internal error'):
                        internal += 1
                        examples.append('%s: %s' % (name, res.error[:200]))
                    if res.success and tag[1] is True:
                        bad += 1
                        examples.append('%s: accepted case %d' % (name, tag[0]))
                if not retry:
                    break
                time.sleep(0.2)
                todo = retry
            counts['hang'] += hang
            counts['internal'] += internal
            counts['bad_accepted'] += bad
            counts['busy'] += busy
            counts['cases'] += len(cases)
            print('  %-16s %6d cases: %d hangs, %d internal errors, %d bad accepted '
                  '(%d busy answers asked again)' % (name, len(cases), hang, internal, bad, busy),
                  flush=True)
            if not node.alive():
                break
        # set_camera_info (sensor_msgs): finite, sized calibrations only are stored
        from sensor_msgs.srv import SetCameraInfo
        caller.wait_ready(SetCameraInfo, pre + 'set_camera_info')
        items = [(SetCameraInfo, pre + 'set_camera_info', SetCameraInfo.Request(camera_info=c),
                  (i, ok)) for i, (c, ok) in enumerate(camera_info_cases(r, args.cases, 160, 120))]
        hang = bad = stored = 0
        for tag, res, _dt in caller.call_many(items, timeout=5.0):
            if res is None:
                hang += 1
                examples.append('set_camera_info: no answer in 5 s')
                continue
            stored += res.success
            if res.success and not tag[1]:
                bad += 1
                examples.insert(0, 'set_camera_info: stored bad case %d' % tag[0])
        counts['hang'] += hang
        counts['bad_accepted'] += bad
        print('  %-16s %6d cases: %d hangs, %d bad accepted (%d stored)'
              % ('set_camera_info', len(items), hang, bad, stored), flush=True)
        # parameters: every parameter, through SetParameters and through DoCommand
        specs = [s for s in parameter_specs('synthetic')]
        per_param = {s.name: 0 for s in specs}
        p_bad = p_hang = p_cases = 0
        caller.wait_ready(SetParameters, pre + 'set_parameters')
        rounds = args.cases
        batch = []
        for i in range(rounds):
            for spec in specs:
                value = param_values(r, spec)
                batch.append((spec, value, r.random() < 0.5))
            if len(batch) < 200 and i < rounds - 1:
                continue
            via_ros = [(s, v) for s, v, ros_path in batch if ros_path]
            via_cmd = [(s, v) for s, v, ros_path in batch if not ros_path]
            items = []
            # one request per parameter and round-robin: many values of one name per
            # request would only keep the last
            for s, v in via_ros:
                p = to_ros_param(s.name, v)
                if p is not None:
                    items.append((SetParameters, pre + 'set_parameters',
                                  SetParameters.Request(parameters=[p]), ('ros', s, v)))
            for s, v in via_cmd:
                try:
                    text = json.dumps({'command': 'set_parameters', 'parameters': {s.name: v}},
                                      allow_nan=True)
                except (TypeError, ValueError):
                    continue
                items.append((DoCommand, pre + 'do_command', DoCommand.Request(command=text),
                              ('cmd', s, v)))
            batch = []
            for tag, res, _dt in caller.call_many(items, timeout=5.0, inflight=8):
                path, s, v = tag
                p_cases += 1
                per_param[s.name] += 1
                if res is None:
                    p_hang += 1
                    examples.append('param %s via %s: no answer' % (s.name, path))
                    continue
                if path == 'ros':
                    ok = res.results[0].successful
                else:
                    if not res.success:
                        if res.error.startswith('internal error'):
                            counts['internal'] += 1
                            examples.append('param %s: %s' % (s.name, res.error[:200]))
                        ok = False
                    else:
                        ok = json.loads(res.result)['results'][s.name]['successful']
                want = expected_ok(s, v, path)
                if ok and want is False:
                    p_bad += 1
                    examples.insert(0, 'param %s accepted %r via %s'
                                    % (s.name, str(v)[:60], path))
            if not node.alive():
                break
        counts['hang'] += p_hang
        counts['bad_accepted'] += p_bad
        print('  parameters: %d cases over %d parameters (fewest for one: %d): %d hangs, '
              '%d bad accepted' % (p_cases, len(specs), min(per_param.values()), p_hang, p_bad),
              flush=True)
        least = min(per_param.values())
        # close, last: answered every time, idempotent, and the node still answers status
        from camera_node_interfaces.srv import Close
        caller.wait_ready(Close, pre + 'close')
        items = [(Close, pre + 'close', Close.Request(), i) for i in range(args.cases)]
        closed = [res for _t, res, _dt in caller.call_many(items, timeout=5.0)]
        hang = sum(1 for res in closed if res is None)
        failed = sum(1 for res in closed if res is not None and not res.success)
        state = _status(caller, node.prefix()).get('state')
        counts['hang'] += hang
        counts['internal'] += failed
        print('  %-16s %6d cases: %d hangs, %d refused; state afterwards: %s'
              % ('close', len(items), hang, failed, state), flush=True)
    finally:
        ex.remove_node(probe)
        probe.destroy_node()
        alive = node.alive()
        code, _ = node.stop()
        out = node.output()
        import shutil
        shutil.rmtree(home, ignore_errors=True)
    tracebacks = out.count('Traceback')
    for e in examples[:8]:
        print('    e.g. ' + e)
    print('  fuzz took %.0f s' % (time.monotonic() - t0))
    goal('fuzz: node crashes', '0' if alive else '1 (exit %s)' % code, '0', alive)
    goal('fuzz: hangs over 5 s', counts['hang'], '0', counts['hang'] == 0)
    goal('fuzz: internal errors', counts['internal'], '0', counts['internal'] == 0)
    goal('fuzz: tracebacks in the node log', tracebacks, '0', tracebacks == 0)
    goal('fuzz: bad values accepted', counts['bad_accepted'], '0', counts['bad_accepted'] == 0)
    goal('fuzz: cases per service', args.cases, '>= %d' % args.min_cases,
         args.cases >= args.min_cases)
    goal('fuzz: cases per parameter (fewest)', least, '>= %d' % args.min_cases,
         least >= args.min_cases)


# -- load ----------------------------------------------------------------------------------
def worker_load(a):
    """A process of clients: each calls, waits, pauses, again; prints its counts as JSON."""
    rclpy = ros()
    from rclpy.executors import SingleThreadedExecutor
    from rclpy.qos import QoSProfile
    from camera_node_interfaces.srv import (DoCommand, GetImage, GetImages, GetPointCloud,
                                            GetProperties)
    node = rclpy.create_node('stress_load_%d' % os.getpid())
    ex = SingleThreadedExecutor()
    ex.add_node(node)
    mix = [(GetImage, 'get_image', lambda: GetImage.Request(mime_type='image/jpeg'))] * 5 + [
        (GetImages, 'get_images', GetImages.Request),
        (GetPointCloud, 'get_point_cloud', GetPointCloud.Request),
        (GetProperties, 'get_properties', GetProperties.Request),
        (DoCommand, 'do_command', lambda: DoCommand.Request(command='{"command": "status"}'))]
    r = random.Random(os.getpid())
    clients = []
    for i in range(a.n):
        srv, name, make = mix[i % len(mix)]
        c = node.create_client(srv, a.prefix + '/' + name,
                               qos_profile=QoSProfile(depth=a.client_depth))
        clients.append({'c': c, 'make': make, 'fut': None, 't0': 0.0, 'next': 0.0, 'calls': 0,
                        'old': [], 'sent': 0.0})
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not all(x['c'].service_is_ready() for x in clients):
        ex.spin_once(timeout_sec=0.05)
    print('READY', flush=True)
    start = time.monotonic()
    end = start + a.seconds
    sent = ok = busy = err = lost = lost_first = resent = 0
    lat = []
    while True:
        now = time.monotonic()
        active = False
        for x in clients:
            f = x['fut']
            if f is not None:
                active = True
                if not f.done():
                    f = next((g for g in x['old'] if g.done()), f)
                if f.done():
                    for g in x['old'] + [x['fut']]:
                        if g is not f:
                            x['c'].remove_pending_request(g)
                    x['old'] = []
                    res = f.result()
                    lat.append(now - x['t0'])
                    if res.success:
                        ok += 1
                    elif res.error.startswith('busy:'):
                        busy += 1
                    else:
                        err += 1
                    x['fut'] = None
                    x['next'] = now + r.uniform(0, a.pause)
                elif now - x['t0'] > a.deadline:
                    for g in [f] + x['old']:
                        x['c'].remove_pending_request(g)
                    lost += 1
                    lost_first += x['calls'] == 1
                    x['old'] = []
                    x['fut'] = None
                    x['next'] = now
                elif a.resend and now - x['sent'] > a.resend * 2 ** len(x['old']):
                    # as camera_node.client does: send again (backing off), first answer counts
                    x['old'].append(f)
                    x['fut'] = x['c'].call_async(x['make']())
                    x['sent'] = now
                    resent += 1
            elif now < end and now >= x['next']:
                x['fut'] = x['c'].call_async(x['make']())
                x['t0'] = x['sent'] = now
                x['calls'] += 1
                sent += 1
                active = True
        if now >= end and not active:
            break
        ex.spin_once(timeout_sec=0.02)
    lat.sort()
    print(json.dumps({'sent': sent, 'ok': ok, 'busy': busy, 'err': err, 'lost': lost,
                      'lost_first': lost_first, 'resent': resent,
                      'p50': lat[len(lat) // 2] if lat else 0,
                      'p99': lat[int(len(lat) * 0.99)] if lat else 0}), flush=True)


def worker_streams(a):
    """Count colour frames for a.seconds after READY on stdin; print the rate."""
    rclpy = ros()
    from rclpy.executors import SingleThreadedExecutor
    from rclpy.qos import qos_profile_sensor_data
    from sensor_msgs.msg import Image
    node = rclpy.create_node('stress_streams_%d' % os.getpid())
    ex = SingleThreadedExecutor()
    ex.add_node(node)
    count = [0]
    node.create_subscription(Image, a.prefix + '/color/image_raw',
                             lambda _m: count.__setitem__(0, count[0] + 1),
                             qos_profile_sensor_data)
    t_end = time.monotonic() + 30
    while count[0] < 3 and time.monotonic() < t_end:
        ex.spin_once(timeout_sec=0.1)
    print('READY', flush=True)
    sys.stdin.readline()
    count[0] = 0
    t0 = time.monotonic()
    while time.monotonic() - t0 < a.seconds:
        ex.spin_once(timeout_sec=0.05)
    print(json.dumps({'rate': count[0] / (time.monotonic() - t0)}), flush=True)


def _worker(kind, **kw):
    cmd = [sys.executable, os.path.abspath(__file__), '--worker', kind]
    for k, v in kw.items():
        cmd += ['--%s' % k.replace('_', '-'), str(v)]
    return subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)


def _wait_ready(p, timeout=90):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = p.stdout.readline()
        if not line or 'READY' in line:
            return bool(line)
    return False


def measure_streams(prefix, seconds):
    p = _worker('streams', prefix=prefix, seconds=seconds)
    _wait_ready(p)
    return p


def stream_rate(p):
    out, _ = p.communicate(timeout=120)
    try:
        return json.loads(out.strip().splitlines()[-1])['rate']
    except (ValueError, IndexError):
        return 0.0


def load_run(args, n_clients, seconds, pythonpath=None, label=''):
    fps = 30.0
    node = Node('load', {'width': 320, 'height': 240, 'fps': fps}, pythonpath=pythonpath)
    try:
        if not node.wait_output('publishing', 40):
            raise RuntimeError('node did not start: ' + node.output()[-2000:])
        base = measure_streams(node.prefix(), 4)
        base.stdin.write('go\n')
        base.stdin.flush()
        base_rate = stream_rate(base)
        procs = []
        per = max(1, -(-n_clients // max(1, args.load_procs)))
        left = n_clients
        while left > 0:
            k = min(per, left)
            procs.append(_worker('load', prefix=node.prefix(), n=k, seconds=seconds,
                                 deadline=10.0, pause=args.pause, resend=args.resend,
                                 client_depth=args.client_depth))
            left -= k
        for p in procs:
            _wait_ready(p)
        meter = measure_streams(node.prefix(), seconds)
        meter.stdin.write('go\n')
        meter.stdin.flush()
        for p in procs:
            p.stdin.write('go\n')
            p.stdin.flush()
        totals = {'sent': 0, 'ok': 0, 'busy': 0, 'err': 0, 'lost': 0, 'lost_first': 0,
                  'resent': 0, 'p99': 0.0}
        for p in procs:
            out, _ = p.communicate(timeout=seconds + 120)
            d = json.loads(out.strip().splitlines()[-1])
            for k in ('sent', 'ok', 'busy', 'err', 'lost', 'lost_first', 'resent'):
                totals[k] += d[k]
            totals['p99'] = max(totals['p99'], d['p99'])
        rate = stream_rate(meter)
        alive = node.alive()
    finally:
        node.stop()
    print('  %s%d clients, %d s: sent %d (%d sent again), served %d, busy %d, errors %d, '
          "lost %d (%d of them a client's first call); p99 %.2f s; colour %.1f fps under load "
          '(%.1f alone, %.0f configured)'
          % (label, n_clients, seconds, totals['sent'], totals['resent'], totals['ok'],
             totals['busy'], totals['err'], totals['lost'], totals['lost_first'],
             totals['p99'], rate, base_rate, fps), flush=True)
    return totals, rate / fps, alive


def phase_load(args, r):
    for n, want in ((args.clients[0], 0.95), (args.clients[1], 0.90)):
        if args.before_pythonpath:
            t, ratio, _ = load_run(args, n, args.load_seconds, args.before_pythonpath,
                                   'BEFORE (%s): ' % args.before_pythonpath)
            print('  before: %d of %d lost' % (t['lost'], t['sent']))
        t, ratio, alive = load_run(args, n, args.load_seconds)
        goal('load %d clients: requests lost' % n, '%d of %d' % (t['lost'], t['sent']), '0',
             t['lost'] == 0)
        goal('load %d clients: error answers (not busy)' % n, t['err'], '0', t['err'] == 0)
        goal('load %d clients: colour rate / configured' % n, '%.1f %%' % (100 * ratio),
             '>= %d %%' % (100 * want), ratio >= want, timing=True)
        goal('load %d clients: node alive' % n, alive, 'True', alive)


# -- signals -------------------------------------------------------------------------------
def phase_signals(args, r):
    bad = []
    early = 0
    worst = 0.0
    for i in range(args.signals):
        delay = r.choice([r.uniform(0.0, 0.5), r.uniform(0.0, 3.0)])
        sig = r.choice([signal.SIGINT, signal.SIGTERM])
        node = Node('sig', {'width': 64, 'height': 48})
        time.sleep(delay)
        code, took = node.stop(sig, timeout=10.0)
        out = node.output()
        worst = max(worst, took)
        if before_package(code, sig, out):
            early += 1
            continue
        if code != 0 or 'Traceback' in out or (took > 2.0 and JUDGE_TIMING[0]):
            bad.append('%s after %.2f s: exit %s in %.2f s%s' % (
                signal.Signals(sig).name, delay, code, took,
                ' with a traceback' if 'Traceback' in out else ''))
    for b in bad[:5]:
        print('    e.g. ' + b)
    print("  %d of %d signals arrived before the interpreter ran the package's first line "
          "(start-up of Python and of the venv's site hooks: killed by the signal, or "
          '"Fatal Python error: init_import_site"; see docs/reliability.md)'
          % (early, args.signals))
    goal('signals: runs with exit != 0, traceback or > 2 s', '%d of %d' % (len(bad), args.signals),
         '0', not bad)
    goal('signals: slowest exit after the signal', '%.2f s' % worst, '< 2 s', worst < 2.0,
         timing=True)


def before_package(code, sig, out):
    """Return whether a signal ended the process before the package's first line ran.

    Then Python's default action applied: killed by the signal with no output, or (SIGINT
    while the site hooks of the venv import) "Fatal Python error: init_import_site".
    """
    if 'init_import_site' in out and 'camera_node' not in out.split('init_import_site')[1]:
        return True
    return code == -sig and not out.strip()


# -- reconnect -----------------------------------------------------------------------------
class Mjpeg:
    """A multipart JPEG server on 127.0.0.1 that stops by itself after `lifetime` s."""

    def __init__(self, port, lifetime=600.0):
        import cv2
        import numpy as np
        ok, jpg = cv2.imencode('.jpg', np.full((48, 64, 3), (30, 60, 220), np.uint8))
        self.jpeg = jpg.tobytes()
        self.port = port
        self.lifetime = lifetime
        self.server = None
        self.stop_event = threading.Event()

    def start(self):
        outer = self
        self.stop_event.clear()

        class H(http.server.BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_GET(self):
                self.send_response(200)
                self.send_header('Content-Type', 'multipart/x-mixed-replace; boundary=f')
                self.end_headers()
                end = time.monotonic() + outer.lifetime
                while not outer.stop_event.is_set() and time.monotonic() < end:
                    try:
                        self.wfile.write(b'--f\r\nContent-Type: image/jpeg\r\nContent-Length: '
                                         b'%d\r\n\r\n' % len(outer.jpeg) + outer.jpeg + b'\r\n')
                    except OSError:
                        return
                    outer.stop_event.wait(0.033)

        http.server.ThreadingHTTPServer.allow_reuse_address = True
        self.server = http.server.ThreadingHTTPServer(('127.0.0.1', self.port), H)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.stop_event.set()
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None


def _status(caller, prefix):
    from camera_node_interfaces.srv import DoCommand
    res = caller.call_many([(DoCommand, prefix + '/do_command',
                             DoCommand.Request(command='{"command": "status"}'), 0)],
                           timeout=5.0)[0][1]
    if res is None or not res.success:
        return {}
    return json.loads(res.result)


def phase_reconnect(args, r):
    rclpy = ros()
    from rclpy.executors import SingleThreadedExecutor
    from camera_node_interfaces.srv import DoCommand
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    port = s.getsockname()[1]
    s.close()
    server = Mjpeg(port)
    server.start()
    node = Node('reconnect', {'driver': 'webcam', 'source': 'http://127.0.0.1:%d/s.mjpg' % port,
                              'open_timeout': 2.0, 'stream_read_timeout': 1.0,
                              'reconnect_max_backoff': 0.5})
    probe = rclpy.create_node('stress_reconnect_%d' % os.getpid())
    ex = SingleThreadedExecutor()
    ex.add_node(probe)
    caller = Caller(probe, ex)
    done = 0
    usage = []
    try:
        if not node.wait_output('publishing', 40):
            raise RuntimeError('webcam node did not start: ' + node.output()[-2000:])
        caller.wait_ready(DoCommand, node.prefix() + '/do_command')

        def wait_state(pred, timeout):
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                st = _status(caller, node.prefix())
                if pred(st):
                    return st
                time.sleep(0.1)
            return None
        for i in range(args.cycles):
            if i == min(3, args.cycles - 1):
                usage.append(node.usage())
            server.stop()
            if wait_state(lambda st: st.get('state') in ('reconnecting', 'searching', 'error'),
                          15) is None:
                print('    cycle %d: the loss was not noticed' % i)
                break
            server.start()
            if wait_state(lambda st: st.get('state') == 'streaming'
                          and st.get('reconnects', 0) >= i + 1, 20) is None:
                print('    cycle %d: did not stream again' % i)
                break
            done += 1
        time.sleep(1.0)
        usage.append(node.usage())
    finally:
        server.stop()
        ex.remove_node(probe)
        probe.destroy_node()
        code, _ = node.stop()
    goal('reconnect: cycles completed', done, '>= %d' % args.min_cycles, done >= args.min_cycles)
    if len(usage) == 2:
        (r0, t0, f0), (r1, t1, f1) = usage
        print('  after cycle 3: RSS %.1f MB, %d threads, %d fds; at the end: %.1f MB, %d, %d'
              % (r0, t0, f0, r1, t1, f1))
        goal('reconnect: thread growth', t1 - t0, '<= 0', t1 - t0 <= 0)
        goal('reconnect: fd growth', f1 - f0, '<= 0', f1 - f0 <= 0)
        goal('reconnect: RSS growth', '%.1f MB' % (r1 - r0), '<= 5 MB', r1 - r0 <= 5)
    goal('reconnect: clean exit', code, '0', code == 0)


# -- soak ----------------------------------------------------------------------------------
def phase_soak(args, r):
    seconds = args.soak_minutes * 60
    fps = 30.0
    node = Node('soak', {'width': 320, 'height': 240, 'fps': fps, 'motion': 'true'})
    samples = []
    try:
        if not node.wait_output('publishing', 40):
            raise RuntimeError('node did not start: ' + node.output()[-2000:])
        window = min(60, max(5, seconds // 6))
        clients = _worker('load', prefix=node.prefix(), n=5, seconds=seconds, deadline=10.0,
                          pause=0.5)
        _wait_ready(clients)
        clients.stdin.write('go\n')
        clients.stdin.flush()
        first = measure_streams(node.prefix(), window)
        first.stdin.write('go\n')
        first.stdin.flush()
        t0 = time.monotonic()
        warm = None
        while time.monotonic() - t0 < seconds:
            time.sleep(min(10, seconds / 12))
            u = node.usage()
            samples.append((time.monotonic() - t0,) + u)
            if warm is None and time.monotonic() - t0 >= min(120, seconds / 4):
                warm = u
            if not node.alive():
                break
        rate_first = stream_rate(first)
        last = measure_streams(node.prefix(), window)
        last.stdin.write('go\n')
        last.stdin.flush()
        rate_last = stream_rate(last)
        end = node.usage()
        out, _ = clients.communicate(timeout=seconds + 120)
        load = json.loads(out.strip().splitlines()[-1])
        alive = node.alive()
    finally:
        node.stop()
    warm = warm or samples[0][1:]
    for t, rss, th, fd in samples[::max(1, len(samples) // 8)]:
        print('    t=%5.0f s  RSS %.1f MB  threads %d  fds %d' % (t, rss, th, fd))
    print('  clients: %d sent, %d served, %d busy, %d lost' % (
        load['sent'], load['ok'], load['busy'], load['lost']))
    goal('soak %.0f min: RSS growth after warm-up' % args.soak_minutes,
         '%.1f MB' % (end[0] - warm[0]), '<= 5 MB', end[0] - warm[0] <= 5)
    goal('soak: thread growth', end[1] - warm[1], '<= 0', end[1] - warm[1] <= 0)
    goal('soak: fd growth', end[2] - warm[2], '<= 0', end[2] - warm[2] <= 0)
    ratio = rate_last / rate_first if rate_first else 0.0
    goal('soak: colour rate last / first window', '%.1f / %.1f fps' % (rate_last, rate_first),
         '>= 95 %', ratio >= 0.95, timing=True)
    goal('soak: requests lost', load['lost'], '0', load['lost'] == 0)
    goal('soak: node alive', alive, 'True', alive)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--smoke', action='store_true', help='short run (CI)')
    ap.add_argument('--only', default='fuzz,load,signals,reconnect,soak')
    ap.add_argument('--cases', type=int, default=None)
    ap.add_argument('--clients', default='50,200')
    ap.add_argument('--load-seconds', type=int, default=None)
    ap.add_argument('--load-procs', type=int, default=4)
    ap.add_argument('--signals', type=int, default=None)
    ap.add_argument('--cycles', type=int, default=None)
    ap.add_argument('--soak-minutes', type=float, default=None)
    ap.add_argument('--seed', type=int, default=None)
    ap.add_argument('--before-pythonpath', default='',
                    help='also run the load phase on the package found here (a baseline)')
    ap.add_argument('--worker', help=argparse.SUPPRESS)
    ap.add_argument('--prefix', help=argparse.SUPPRESS)
    ap.add_argument('--n', type=int, help=argparse.SUPPRESS)
    ap.add_argument('--seconds', type=float, help=argparse.SUPPRESS)
    ap.add_argument('--deadline', type=float, help=argparse.SUPPRESS)
    ap.add_argument('--pause', type=float, default=1.0,
                    help='load clients wait up to this long (uniform) between calls')
    ap.add_argument('--resend', type=float, default=2.0,
                    help='load clients send a request again after this long without an '
                    'answer, as camera_node.client does (0: never)')
    ap.add_argument('--client-depth', type=int, default=1000,
                    help="response queue of the load clients (CameraClient's: 1000; "
                    "ROS's default: 10)")
    args = ap.parse_args()
    if args.worker:
        {'load': worker_load, 'streams': worker_streams}[args.worker](args)
        return 0
    smoke = args.smoke
    JUDGE_TIMING[0] = not smoke
    args.min_cases = 50 if smoke else 10000
    args.min_cycles = 3 if smoke else 50
    args.cases = args.cases or (args.min_cases)
    args.load_seconds = args.load_seconds or (5 if smoke else 30)
    args.signals = args.signals or (4 if smoke else 60)
    args.cycles = args.cycles or (args.min_cycles)
    args.soak_minutes = args.soak_minutes or (0.5 if smoke else 30.0)
    args.clients = [int(x) for x in args.clients.split(',')]
    if smoke and args.clients == [50, 200]:
        args.clients = [10, 20]
    os.environ['ROS_DOMAIN_ID'] = str(claim_domain())
    os.environ['ROS_AUTOMATIC_DISCOVERY_RANGE'] = 'LOCALHOST'
    seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    r = random.Random(seed)
    print('camera_node stress suite: %s run, seed %d, ROS_DOMAIN_ID %s, %s, %d cores, load %s'
          % ('smoke' if smoke else 'full', seed, os.environ['ROS_DOMAIN_ID'],
             time.strftime('%Y-%m-%d %H:%M:%S %Z'), os.cpu_count(),
             ' '.join('%.2f' % x for x in os.getloadavg())), flush=True)
    phases = {'fuzz': phase_fuzz, 'load': phase_load, 'signals': phase_signals,
              'reconnect': phase_reconnect, 'soak': phase_soak}
    t0 = time.monotonic()
    for name in args.only.split(','):
        print('== %s' % name, flush=True)
        try:
            phases[name](args, r)
        except Exception as exc:  # a phase that cannot run is a missed goal, not a crash
            goal('%s: phase ran' % name, '%s: %s' % (type(exc).__name__, str(exc)[:300]),
                 'ran', False)
    missed = [g for g in GOALS if not g[3]]
    print('== summary (%.0f s): %d figures, %d goals missed'
          % (time.monotonic() - t0, len(GOALS), len(missed)))
    for name, value, goal_text, _ in missed:
        print('  MISSED %s: %s (goal %s)' % (name, value, goal_text))
    return 1 if missed else 0


if __name__ == '__main__':
    sys.exit(main())
