"""Shared test fixtures: DDS confined to this machine, node processes, a probe node.

Every test run takes its own ROS_DOMAIN_ID (held by a lock file so parallel runs on one
machine never share a domain) and ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST, set before
rclpy is imported anywhere, so the node processes and the in-test probe see each other
and nothing outside this machine.
"""

import os
import random
import signal
import subprocess
import sys
import time

import pytest
# Import rclpy first: the wheels' bootstrapper may re-execute the interpreter on this first
# import, and the domain lock below must be taken by the process that stays.
import rclpy  # noqa: F401

from camera_node.ros import runtime

_LOCK_HANDLE = None


def _claim_domain() -> int:
    global _LOCK_HANDLE
    ids = list(range(20, 200))
    random.Random(os.getpid()).shuffle(ids)
    domain, _LOCK_HANDLE = runtime.claim_domain(ids, '/tmp/camera_node_test_domain_%d.lock')
    return domain


def confine_dds(environ, domain):
    """Put DDS of the processes that environ reaches on this machine, in domain.

    ROS_AUTOMATIC_DISCOVERY_RANGE exists from Iron on; Humble (``colcon test`` on a
    Humble robot) knows only ROS_LOCALHOST_ONLY, which newer distros deprecate.
    """
    environ['ROS_DOMAIN_ID'] = str(domain)
    environ['ROS_AUTOMATIC_DISCOVERY_RANGE'] = 'LOCALHOST'
    if environ.get('ROS_DISTRO', '').strip().lower() == 'humble':
        environ['ROS_LOCALHOST_ONLY'] = '1'


if 'CAMERA_NODE_TEST_DOMAIN' not in os.environ:
    os.environ['CAMERA_NODE_TEST_DOMAIN'] = str(_claim_domain())
confine_dds(os.environ, os.environ['CAMERA_NODE_TEST_DOMAIN'])
os.environ.setdefault('DEPTHAI_TELEMETRY', '0')
os.environ.setdefault('DEPTHAI_LEVEL', 'error')


class NodeProcess:
    """A camera node running in its own process, stopped with SIGINT (or a given signal).

    namespace None: no ``__ns`` remap (the executable's own default namespace).
    """

    def __init__(self, namespace='test', name='camera', params=None, extra_args=(),
                 env=None):
        from camera_node.cli.main import DEFAULT_NAMESPACE
        self.namespace = (DEFAULT_NAMESPACE if namespace is None else namespace).strip('/')
        self.name = name
        args = [sys.executable, '-m', 'camera_node', '--ros-args', '-r', '__node:=' + name]
        if namespace is not None:
            args += ['-r', '__ns:=/' + self.namespace]
        for key, value in (params or {}).items():
            args += ['-p', '%s:=%s' % (key, _ros_arg(value))]
        args += list(extra_args)
        full_env = dict(os.environ)
        full_env.update(env or {})
        self.log_path = '/tmp/camera_node_test_%d_%s_%s.log' % (
            os.getpid(), self.namespace, time.monotonic_ns())
        self._log = open(self.log_path, 'w+')
        self.proc = subprocess.Popen(args, stdout=self._log, stderr=subprocess.STDOUT,
                                     env=full_env)
        self.returncode = None

    def topic(self, relative):
        """Full name of a node-relative topic."""
        return '/%s/%s/%s' % (self.namespace, self.name, relative)

    def output(self):
        """Everything the process printed so far."""
        if not self._log.closed:
            self._log.flush()
        with open(self.log_path) as f:
            return f.read()

    def wait_output(self, text, timeout=20.0):
        """Wait until text appears in the output; return whether it did."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in self.output():
                return True
            if self.proc.poll() is not None:
                return text in self.output()
            time.sleep(0.05)
        return False

    def stop(self, sig=signal.SIGINT, timeout=15.0):
        """Send sig, wait, and return the exit code (kill after timeout)."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.returncode = self.proc.returncode
        self._log.close()
        return self.returncode


def _ros_arg(value):
    if isinstance(value, bool):
        return 'true' if value else 'false'
    if isinstance(value, (list, tuple)):
        return '[' + ','.join(_ros_arg(v) for v in value) + ']'
    if isinstance(value, str) and any(c in value for c in "[]{}:,#'"):
        quoted = value.replace("'", "''")
        return "'%s'" % quoted                  # a YAML string, not a structure
    return str(value)


@pytest.fixture
def start_node():
    """Start camera node processes; all are stopped at the end of the test."""
    procs = []

    def start(**kwargs):
        p = NodeProcess(**kwargs)
        procs.append(p)
        return p

    yield start
    for p in procs:
        p.stop()


@pytest.fixture(scope='module')
def rclpy_context():
    """Initialise rclpy once per test module."""
    rclpy.init()
    yield rclpy
    rclpy.try_shutdown()


@pytest.fixture(scope='module')
def probe(rclpy_context):
    """A plain node in the test process, with helpers to wait for messages."""
    from rclpy.executors import SingleThreadedExecutor
    from rclpy.node import Node
    node = Node('probe_%d' % random.randint(0, 1 << 30))
    executor = SingleThreadedExecutor()
    executor.add_node(node)
    node.executor_for_test = executor
    yield Probe(node, executor)
    executor.remove_node(node)
    node.destroy_node()


class Probe:
    """Subscribe, spin and call services from the test process."""

    def __init__(self, node, executor):
        self.node = node
        self.executor = executor
        self._clients = {}

    def spin_until(self, predicate, timeout):
        """Spin until predicate() is true or timeout seconds pass; return predicate()."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return True
            self.executor.spin_once(timeout_sec=0.05)
        return predicate()

    def collect(self, msg_type, topic, count=1, timeout=20.0, qos=None):
        """Subscribe to topic and return the first count messages (fewer on timeout)."""
        from rclpy.qos import qos_profile_sensor_data
        got = []
        sub = self.node.create_subscription(msg_type, topic, got.append,
                                            qos if qos is not None else qos_profile_sensor_data)
        try:
            self.spin_until(lambda: len(got) >= count, timeout)
        finally:
            self.node.destroy_subscription(sub)
        return got

    def call(self, srv_type, name, request, timeout=20.0, resend_after=2.0):
        """Call a service and return its response (None on timeout).

        A request without an answer is sent again every resend_after seconds, as
        camera_node.client does: DDS drops the answer to a client the service has not
        discovered yet (issue #10, finding 8: a get_image unanswered on a busy machine).
        """
        key = (srv_type, name)
        client = self._clients.get(key)
        if client is None:
            client = self._clients[key] = self.node.create_client(srv_type, name)
        if not self.spin_until(client.service_is_ready, timeout):
            return None
        deadline = time.monotonic() + timeout
        futures = []
        while time.monotonic() < deadline:
            futures.append(client.call_async(request))
            wait = min(resend_after, deadline - time.monotonic())
            if self.spin_until(lambda: any(f.done() for f in futures), wait):
                break
        done = [f for f in futures if f.done()]
        for f in futures:
            if not f.done():
                client.remove_pending_request(f)
        return done[0].result() if done else None
