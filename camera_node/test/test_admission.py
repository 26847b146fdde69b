"""Admission under load (issue #10, F8): the budget, busy answers, and the client's retries.

The budget is tested with an injected clock. The client's handling of ``busy`` answers and
of unanswered requests is tested against a stand-in DoCommand/GetProperties server on
real DDS: the stand-in is the narrowest seam that can answer busy on demand or stay
silent; the real node's admission is exercised by ``./dev stress`` (test_stress_smoke).
"""

import json
import threading
import time

import pytest
import rclpy
from rclpy.executors import SingleThreadedExecutor

from camera_node.client import CameraClient, CameraError
from camera_node.client import transport
from camera_node.viam.admission import Admission, Busy, BUSY_PREFIX, retry_delay
from camera_node_interfaces.srv import DoCommand, GetProperties


class Clock:
    def __init__(self):
        self.t = 100.0

    def __call__(self):
        return self.t


def test_budget_refuses_once_spent_and_recovers_after_the_window():
    clock = Clock()
    a = Admission(max_share=0.5, window=1.0, clock=clock)
    a.check()
    a.record(0.3)
    a.check()
    a.record(0.3)                        # 0.6 s used in the last second: over 0.5
    with pytest.raises(Busy) as err:
        a.check()
    assert str(err.value).startswith(BUSY_PREFIX)
    assert 900 <= retry_delay(str(err.value)) * 1000 <= 1001
    clock.t += 1.01                      # both spans left the window
    a.check()
    f = a.figures()
    assert (f['requests_admitted'], f['requests_refused_busy']) == (3, 1)


def test_retry_delay_reads_the_hint():
    assert retry_delay('busy: x; retry in 250 ms') == 0.25
    assert retry_delay('busy: no hint', default=0.07) == 0.07


class StandIn:
    """A camera-shaped server: DoCommand answers busy `busy` times; GetProperties
    ignores the first `silent` requests (as DDS drops an answer to an undiscovered client)."""

    def __init__(self, ns, busy=0, silent=0):
        self.node = rclpy.create_node('camera', namespace=ns)
        self.busy = busy
        self.silent = silent
        self.calls = {'do_command': 0, 'get_properties': 0}
        self.node.create_service(DoCommand, '~/do_command', self._do)
        self._props = self.node.create_service(GetProperties, '~/get_properties', self._get)
        self.executor = SingleThreadedExecutor()
        self.executor.add_node(self.node)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._spin, daemon=True)
        self._thread.start()

    def _spin(self):
        while not self._stop.is_set():
            try:
                self.executor.spin_once(timeout_sec=0.05)
            except Exception:    # a callback that returned no answer (on purpose)
                pass

    def _do(self, req, res):
        self.calls['do_command'] += 1
        if self.calls['do_command'] <= self.busy:
            res.success = False
            res.error = BUSY_PREFIX + ' test; retry in 20 ms'
        else:
            res.success = True
            res.result = json.dumps({'calls': self.calls['do_command']})
        return res

    def _get(self, req, res):
        self.calls['get_properties'] += 1
        res.success = True
        return res

    def close(self):
        self._stop.set()
        self._thread.join(2)
        self.executor.remove_node(self.node)
        self.node.destroy_node()


@pytest.fixture
def client_node(rclpy_context):
    node = rclpy.create_node('admission_client')
    yield node
    node.destroy_node()


def test_client_retries_busy_answers_within_its_timeout(client_node):
    server = StandIn('busy_a', busy=3)
    client = CameraClient(client_node, name='camera', namespace='busy_a')
    try:
        assert client.do_command({'command': 'status'}, timeout=10.0) == {'calls': 4}
    finally:
        client.destroy()
        server.close()


def test_client_raises_busy_when_the_timeout_runs_out(client_node):
    server = StandIn('busy_b', busy=10 ** 6)
    client = CameraClient(client_node, name='camera', namespace='busy_b')
    try:
        with pytest.raises(CameraError) as err:
            client.do_command({'command': 'status'}, timeout=1.0)
        assert str(err.value).find(BUSY_PREFIX) >= 0
        assert server.calls['do_command'] > 3
    finally:
        client.destroy()
        server.close()


def test_unanswered_request_is_sent_again(client_node, monkeypatch):
    monkeypatch.setattr(transport, 'RESEND_AFTER_S', 0.3)
    server = StandIn('silent')
    drop = {'n': 1}
    real = server._get

    def first_lost(req, res):     # the first request gets no answer at all
        if drop['n']:
            drop['n'] -= 1
            return None
        return real(req, res)
    server._props.callback = first_lost
    client = CameraClient(client_node, name='camera', namespace='silent')
    try:
        t0 = time.monotonic()
        client.get_properties(timeout=10.0)       # without the resend: TimeoutError
        assert server.calls['get_properties'] >= 1 and drop['n'] == 0
        print('answered after %.2f s' % (time.monotonic() - t0))
    finally:
        client.destroy()
        server.close()


def test_hardware_reset_is_never_sent_twice():
    req = DoCommand.Request(command='{"command": "hardware_reset"}')
    assert not transport._repeatable('do_command', req)
    assert transport._repeatable('do_command', DoCommand.Request(command='{"command": "status"}'))
    assert transport._repeatable('get_image', None)


def test_the_service_adapter_answers_busy_over_budget(rclpy_context):
    """ViamServices over a real session and real DDS, with a budget of (almost) nothing."""
    from camera_node.core.frames import FrameNames
    from camera_node.ros.services import ViamServices
    from camera_node_interfaces.srv import Close, GetImage
    from test_viam_camera import Camera

    cam = Camera()
    cam.session.start()
    cam.session.frame_set()
    server = rclpy.create_node('camera', namespace='budget')
    services = ViamServices(server, cam.viam, cam.commands, FrameNames('cam'),
                            Admission(max_share=1e-9, window=60.0))
    caller = rclpy.create_node('budget_caller')
    executor = SingleThreadedExecutor()
    executor.add_node(server)
    executor.add_node(caller)

    def call(srv, name, req):
        client = caller.create_client(srv, '/budget/camera/' + name)
        deadline = time.monotonic() + 20
        while not client.service_is_ready() and time.monotonic() < deadline:
            executor.spin_once(timeout_sec=0.05)
        future = client.call_async(req)
        while not future.done() and time.monotonic() < deadline:
            executor.spin_once(timeout_sec=0.05)
        return future.result()
    try:
        first = call(GetImage, 'get_image', GetImage.Request(mime_type='image/png'))
        assert first.success, first.error                 # the budget was untouched
        second = call(GetImage, 'get_image', GetImage.Request(mime_type='image/png'))
        assert not second.success and second.error.startswith(BUSY_PREFIX)
        assert 'retry in' in second.error and len(second.data) == 0
        assert call(Close, 'close', Close.Request()).success     # close is always served
        f = services.admission.figures()
        assert (f['requests_admitted'], f['requests_refused_busy']) == (1, 1)
    finally:
        executor.remove_node(server)
        executor.remove_node(caller)
        caller.destroy_node()
        server.destroy_node()
        cam.session.close()
