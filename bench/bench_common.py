"""What the benchmarks in bench/ share: DDS confinement, the profile copy, workers' plumbing.

DDS stays on this machine: every process a benchmark starts gets
``ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST`` and a ROS_DOMAIN_ID the run holds a lock on
(201..232; the tests use 20..199), and the Fast DDS profile is used in a copy whose UDP
transport is restricted to 127.0.0.1 (the same shared-memory settings as the shipped file).
"""

from __future__ import annotations

import json
import os
import platform
import re
import signal
import subprocess
import sys
import threading
from typing import Any, Dict, List, Optional, Tuple

import numpy as np

from camera_node import launch_logic
from camera_node.ros import runtime

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PROFILE_CANDIDATES = (os.path.join(ROOT, 'camera_node', 'config', 'fastdds_large_data.xml'),)
#: lock file of a ROS_DOMAIN_ID a bench run holds (201..232; tests use 20..199)
BENCH_DOMAIN_LOCK = '/tmp/camera_node_bench_domain_%d.lock'
#: environment variables a benchmark sets itself (inherited values are dropped)
OWN_ENV = ('FASTRTPS_DEFAULT_PROFILES_FILE', 'FASTDDS_DEFAULT_PROFILES_FILE',
           'MALLOC_MMAP_THRESHOLD_', 'MALLOC_TRIM_THRESHOLD_', 'MALLOC_TOP_PAD_',
           'FASTDDS_BUILTIN_TRANSPORTS', 'CAMERA_NODE_NO_MALLOC_TUNING', 'CAMERA_NODE_EXECUTOR')


def _pct(values: List[float], q: float) -> Optional[float]:
    """Return the q-th percentile (0-100) of values, None when empty."""
    if not values:
        return None
    return float(np.percentile(np.asarray(values, dtype=float), q))


def _result(obj: Dict[str, Any]) -> None:
    """Print a worker's result as the last stdout line."""
    print('RESULT ' + json.dumps(obj), flush=True)


def _stop_event() -> threading.Event:
    """Return an event set by SIGINT/SIGTERM (handlers installed in the main thread)."""
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    return stop


def _rclpy_init(tuned: bool) -> Tuple[Any, Any, str]:
    """Initialise rclpy without its signal handlers; return (rclpy, executor, name)."""
    if tuned:
        runtime.tune_allocator()
    import rclpy
    from rclpy.signals import SignalHandlerOptions
    rclpy.init(signal_handler_options=SignalHandlerOptions.NO)
    executor, name = runtime.make_executor(prefer=None if tuned else 'single')
    return rclpy, executor, name


def _cpu_seconds(pids: List[int]) -> float:
    """Return the CPU time (user + system) the processes have used so far, seconds."""
    import psutil
    total = 0.0
    for pid in pids:
        try:
            t = psutil.Process(pid).cpu_times()
            total += t.user + t.system
        except psutil.Error:
            pass
    return total


def w_node(spec: Dict[str, Any]) -> Dict[str, Any]:
    """Run camera nodes (several in one process if asked) until SIGINT, in a bench worker."""
    rclpy, executor, name = _rclpy_init(spec['tuned'])
    from rclpy.parameter import Parameter
    from camera_node.ros.node import make_camera_node
    stop = _stop_event()
    nodes = []
    try:
        for cam in spec['cameras']:
            overrides = [Parameter(k, value=v) for k, v in cam['params'].items()]
            node = make_camera_node('camera', namespace=cam['namespace'],
                                    parameter_overrides=overrides)
            nodes.append(node)
            executor.add_node(node)
        print('READY %s' % name, flush=True)
        if not stop.is_set():  # a signal before spin() took over its handlers
            while not stop.is_set() and rclpy.ok():
                executor.spin_once(timeout_sec=0.1)
        errors = sum(n.camera.streams.publish_errors for n in nodes)
        sets = sum(n.camera.streams.published_sets for n in nodes)
    finally:
        for node in nodes:
            node.shutdown()
            executor.remove_node(node)
            node.destroy_node()
        executor.shutdown()
        rclpy.try_shutdown()
    return {'executor': name, 'publish_errors': errors, 'published_sets': sets}


class Runner:
    """Start a script's workers with confined DDS and the transport settings asked for."""

    #: the script whose ``--worker NAME --spec JSON`` runs a worker
    script = os.path.abspath(__file__)

    def __init__(self, domain: int, profile: Optional[str], log_dir: str) -> None:
        self.domain = domain
        self.profile = profile
        self.log_dir = log_dir
        self.n = 0

    def env(self, tuned: bool, extra: Optional[Dict[str, str]] = None) -> Dict[str, str]:
        """Return a process's environment: local DDS, the profile only when tuned."""
        env = dict(os.environ)
        for k in OWN_ENV:
            env.pop(k, None)
        env['ROS_DOMAIN_ID'] = str(self.domain)
        env['ROS_AUTOMATIC_DISCOVERY_RANGE'] = 'LOCALHOST'
        if tuned and self.profile:
            # the name this distro's Fast DDS reads (Jazzy's Fast DDS 2 ignores FASTDDS_...)
            env[launch_logic.fastdds_profile_variable(env)] = self.profile
        env.update(extra or {})
        return env

    def log(self, name: str) -> Any:
        """Open the next numbered log file of this run."""
        self.n += 1
        return open(os.path.join(self.log_dir, '%02d_%s.log' % (self.n, name)), 'w')

    def start(self, name: str, spec: Dict[str, Any], tuned: bool = False,
              extra_env: Optional[Dict[str, str]] = None) -> subprocess.Popen:
        """Start a worker; its stdout is a pipe, stderr goes to a log file."""
        return subprocess.Popen(
            [sys.executable, self.script, '--worker', name, '--spec', json.dumps(spec)],
            stdout=subprocess.PIPE, stderr=self.log(name), text=True,
            env=self.env(tuned, extra_env))

    @staticmethod
    def wait_ready(proc: subprocess.Popen, timeout: float = 60.0) -> bool:
        """Wait for a long-running worker's READY line."""
        import time
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if line.startswith('READY'):
                return True
            if not line and proc.poll() is not None:
                return False
        return False

    @staticmethod
    def finish(proc: subprocess.Popen, timeout: float = 120.0, stop: bool = False) -> Dict:
        """Return a worker's RESULT (after SIGINT when stop); {} when it failed."""
        if stop and proc.poll() is None:
            proc.send_signal(signal.SIGINT)
        try:
            out, _ = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, _ = proc.communicate()
        for line in reversed((out or '').splitlines()):
            if line.startswith('RESULT '):
                return json.loads(line[7:])
        return {'error': 'worker exited with %s' % proc.returncode}

    def run(self, name: str, spec: Dict[str, Any], tuned: bool = False,
            extra_env: Optional[Dict[str, str]] = None, timeout: float = 300.0) -> Dict:
        """Run a worker to completion and return its result."""
        return self.finish(self.start(name, spec, tuned, extra_env), timeout)


def loopback_profile(src: str, dst_dir: str) -> str:
    """Copy the profile with its UDPv4 transports restricted to 127.0.0.1."""
    with open(src) as f:
        text = f.read()
    text = re.sub(r'(<type>UDPv4</type>)', r'\1<interfaceWhiteList><address>127.0.0.1'
                  r'</address></interfaceWhiteList>', text)
    dst = os.path.join(dst_dir, 'fastdds_large_data_loopback.xml')
    with open(dst, 'w') as f:
        f.write(text)
    return dst


def machine() -> Dict[str, Any]:
    """Return the facts of this machine and software versions."""
    from importlib import metadata
    cpu = ''
    try:
        with open('/proc/cpuinfo') as f:
            cpu = next((ln.split(':', 1)[1].strip() for ln in f if ln.startswith('model name')),
                       '')
    except OSError:
        pass
    versions = {}
    for dist in ('ros-rclpy', 'ros-fastdds', 'ros-rmw-fastrtps-cpp', 'numpy',
                 'opencv-python-headless', 'open3d', 'py-spy'):
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            versions[dist] = None
    return {'nproc': os.cpu_count(), 'cpu': cpu, 'python': platform.python_version(),
            'platform': platform.platform(), 'glibc': runtime.glibc_version(),
            'versions': versions}


def stop_process(proc: subprocess.Popen, timeout: float = 15.0) -> None:
    """SIGINT a process still running, wait for it; kill it after timeout."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def write_figures(script: str, argv: Optional[List[str]], path: str, started: str,
                  elapsed_s: float, note: str = 'compare within the run',
                  **fields: Any) -> Dict[str, Any]:
    """Write a run's figures as JSON (command, date, machine, elapsed, then fields)."""
    doc: Dict[str, Any] = {
        'command': ' '.join(['python bench/%s' % script] + list(argv or sys.argv[1:])),
        'date': started, 'machine': machine(), 'elapsed_s': elapsed_s}
    doc.update(fields)
    with open(path, 'w') as f:
        json.dump(doc, f, indent=1, default=str)
    print('\nfigures in %s (%.0f s; %s)' % (path, elapsed_s, note))
    return doc
