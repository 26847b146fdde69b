"""Unit tests of camera_node.runtime: glibc allocator tuning and the executor choice."""

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest
import rclpy
from rclpy.executors import SingleThreadedExecutor
from std_msgs.msg import String
from std_srvs.srv import Trigger

from camera_node.ros import runtime

GLIBC = bool(runtime.glibc_version())

# Allocates 8 MB with malloc before and after tune_allocator() and reports whether each
# block came from the brk heap ([heap] in /proc/self/maps) or from a separate mmap.
HEAP_PROBE = textwrap.dedent("""
    import ctypes, sys
    from camera_node.ros import runtime
    libc = ctypes.CDLL(None)
    libc.malloc.restype = ctypes.c_void_p
    libc.malloc.argtypes = [ctypes.c_size_t]

    def in_heap(addr):
        with open('/proc/self/maps') as f:
            for line in f:
                if line.rstrip().endswith('[heap]'):
                    lo, hi = (int(x, 16) for x in line.split()[0].split('-'))
                    if lo <= addr < hi:
                        return True
        return False

    before = in_heap(libc.malloc(8 << 20))
    ok = runtime.tune_allocator()
    after = in_heap(libc.malloc(8 << 20))
    print(before, ok, after)
""")


def _run_probe(env_extra=None):
    env = dict(os.environ)
    env.pop(runtime.NO_TUNING_ENV, None)
    for key in runtime.allocator_settings():
        env.pop(key, None)
    env.update(env_extra or {})
    res = subprocess.run([sys.executable, '-c', HEAP_PROBE], capture_output=True, text=True,
                         env=env, timeout=60)
    assert res.returncode == 0, res.stderr
    return res.stdout.split()[-3:]


@pytest.mark.skipif(not GLIBC, reason='glibc only')
def test_tune_allocator_moves_large_blocks_into_the_heap():
    before, ok, after = _run_probe()
    assert (before, ok, after) == ('False', 'True', 'True')


@pytest.mark.skipif(not GLIBC, reason='glibc only')
def test_tune_allocator_can_be_turned_off():
    before, ok, after = _run_probe({runtime.NO_TUNING_ENV: '1'})
    assert (before, ok, after) == ('False', 'False', 'False')


def test_tune_allocator_without_glibc_is_a_logged_no_op(monkeypatch):
    messages = []

    class Logger:
        def debug(self, msg):
            messages.append(msg)

    monkeypatch.setattr(runtime, '_glibc', lambda: None)
    monkeypatch.delenv(runtime.NO_TUNING_ENV, raising=False)
    assert runtime.tune_allocator(Logger()) is False
    assert messages and 'not glibc' in messages[0]


def test_allocator_settings_match_the_mallopt_values():
    env = runtime.allocator_settings()
    assert env == {'MALLOC_MMAP_THRESHOLD_': str(32 << 20),
                   'MALLOC_TRIM_THRESHOLD_': str(256 << 20),
                   'MALLOC_TOP_PAD_': str(64 << 20)}


@pytest.fixture
def ctx():
    context = rclpy.Context()
    rclpy.init(context=context)
    yield context
    rclpy.try_shutdown(context=context)


def _exercise(executor, context):
    """Spin a node with a subscription and a service on executor; return what arrived."""
    node = rclpy.create_node('runtime_probe_%d' % os.getpid(), context=context)
    got = []
    node.create_subscription(String, 'runtime_chatter', lambda m: got.append(m.data), 10)
    pub = node.create_publisher(String, 'runtime_chatter', 10)
    node.create_service(Trigger, 'runtime_trigger',
                        lambda req, res: setattr(res, 'success', True) or res)
    client = node.create_client(Trigger, 'runtime_trigger')
    executor.add_node(node)
    try:
        deadline = time.monotonic() + 10.0
        future = None
        while time.monotonic() < deadline and not (got and future is not None and future.done()):
            if pub.get_subscription_count() and not got:
                pub.publish(String(data='hello'))
            if future is None and client.service_is_ready():
                future = client.call_async(Trigger.Request())
            executor.spin_once(timeout_sec=0.05)
        return got, (future.result().success if future is not None and future.done() else None)
    finally:
        executor.remove_node(node)
        node.destroy_node()


def test_make_executor_prefers_events_executor_where_it_exists(ctx):
    executor, name = runtime.make_executor(context=ctx)
    try:
        import rclpy.experimental  # noqa: F401
        expected = 'EventsExecutor'
    except ImportError:  # Humble
        expected = 'SingleThreadedExecutor'
    assert name == expected == type(executor).__name__
    got, answered = _exercise(executor, ctx)
    assert got and got[0] == 'hello'
    assert answered is True
    executor.shutdown()


def test_make_executor_falls_back_when_events_executor_is_missing(ctx, monkeypatch):
    def missing(_context):
        raise ImportError('No module named rclpy.experimental')

    monkeypatch.setattr(runtime, '_events_executor', missing)
    executor, name = runtime.make_executor(context=ctx)
    assert name == 'SingleThreadedExecutor'
    assert isinstance(executor, SingleThreadedExecutor)
    got, answered = _exercise(executor, ctx)
    assert got and answered is True
    executor.shutdown()


def test_make_executor_can_be_forced(ctx, monkeypatch):
    monkeypatch.setenv(runtime.EXECUTOR_ENV, 'single')
    executor, name = runtime.make_executor(context=ctx)
    assert name == 'SingleThreadedExecutor'
    executor.shutdown()
    monkeypatch.delenv(runtime.EXECUTOR_ENV)
    executor, name = runtime.make_executor(context=ctx, prefer='single')
    assert name == 'SingleThreadedExecutor'
    executor.shutdown()


SPIN_SCRIPT = textwrap.dedent("""
    import sys
    from rclpy.node import Node
    from camera_node.ros import runtime

    def make(nodes):
        nodes.append(Node('runtime_sigint'))
        print('spinning', runtime.make_executor()[1], flush=True)
    code = runtime.run_nodes(make, [sys.argv[0]])
    print('stopped', code, flush=True)
""")


@pytest.mark.parametrize('sig', [signal.SIGINT, signal.SIGTERM])
def test_run_nodes_stops_on_signals_with_the_chosen_executor(sig):
    proc = subprocess.Popen([sys.executable, '-c', SPIN_SCRIPT], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        line = ''
        deadline = time.monotonic() + 30
        while 'spinning' not in line and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line and proc.poll() is not None:
                break
        assert 'spinning' in line, line
        time.sleep(0.5)
        proc.send_signal(sig)
        out, _ = proc.communicate(timeout=15)
        assert 'stopped 0' in out
        assert proc.returncode == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_claim_domain_skips_domains_held_elsewhere(tmp_path):
    pattern = str(tmp_path / 'domain_%d.lock')
    first, lock = runtime.claim_domain(range(5, 8), pattern)
    second, other = runtime.claim_domain(range(5, 8), pattern)
    assert (first, second) == (5, 6)
    with pytest.raises(RuntimeError):
        runtime.claim_domain([5, 6], pattern)
    lock.close()
    assert runtime.claim_domain([5, 6], pattern)[0] == 5
    other.close()
