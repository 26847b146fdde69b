"""Publishing behaviour: work only for subscribers, and survive publish() failing."""

import json
import time

import pytest
from rclpy.executors import SingleThreadedExecutor
from rclpy.parameter import Parameter
from rclpy.qos import QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import Image, PointCloud2

from camera_node.ros.messages import stamp_msg
from camera_node.ros.node import CameraNode
from camera_node_interfaces.srv import DoCommand


def status(probe, proc):
    res = probe.call(DoCommand, proc.topic('do_command'),
                     DoCommand.Request(command='{"command": "status"}'))
    return json.loads(res.result)


def test_cloud_and_images_only_computed_for_subscribers(start_node, probe):
    p = start_node(namespace='lazy', params={'width': 64, 'height': 48, 'fps': 20.0})
    assert p.wait_output('publishing', 30), p.output()
    time.sleep(1.0)
    idle = status(probe, p)
    assert idle['frames_captured'] > 5
    assert all(rate == 0.0 for rate in idle['published_fps'].values()), idle
    sub = probe.node.create_subscription(PointCloud2, p.topic('depth/color/points'),
                                         lambda m: None, 5)
    try:
        probe.spin_until(lambda: status(probe, p)['published_fps']['points'] > 0, 10)
        busy = status(probe, p)
    finally:
        probe.node.destroy_subscription(sub)
    assert busy['published_fps']['points'] > 0
    assert busy['published_fps']['color'] == 0.0      # nobody listens to colour


@pytest.fixture
def inproc_node(rclpy_context):
    node = CameraNode('pubtest', namespace='/inproc', parameter_overrides=[
        Parameter('width', value=32), Parameter('height', value=24),
        Parameter('fps', value=50.0)])
    executor = SingleThreadedExecutor()
    executor.add_node(node)
    yield node, executor
    node.shutdown()
    executor.remove_node(node)
    node.destroy_node()


def test_publish_failures_are_counted_and_publishing_goes_on(inproc_node):
    # The narrowest seam: publish() raising as rclpy does under back-pressure
    # ("cannot publish data"); everything else is the real node.
    node, executor = inproc_node
    got = []
    qos = QoSProfile(depth=5, reliability=ReliabilityPolicy.RELIABLE)
    node.create_subscription(Image, '/inproc/pubtest/color/image_raw', got.append, qos)
    deadline = time.monotonic() + 15
    streams = node.camera.streams
    while 'color' not in streams.streams and time.monotonic() < deadline:
        executor.spin_once(timeout_sec=0.05)
    stream = streams.streams['color']
    real_publish = stream.pub.publish

    def failing(msg):
        raise RuntimeError('cannot publish data (simulated back-pressure)')

    stream.pub.publish = failing
    deadline = time.monotonic() + 15
    while streams.publish_errors < 3 and time.monotonic() < deadline:
        executor.spin_once(timeout_sec=0.05)
    assert streams.publish_errors >= 3
    assert node.camera.session.running
    stream.pub.publish = real_publish
    got.clear()
    deadline = time.monotonic() + 15
    while len(got) < 3 and time.monotonic() < deadline:
        executor.spin_once(timeout_sec=0.05)
    assert len(got) >= 3


def test_calibration_is_fitted_once_per_setup_not_per_cloud(inproc_node):
    node, executor = inproc_node
    deadline = time.monotonic() + 15
    cam = node.camera
    while cam.session.latest is None and time.monotonic() < deadline:
        executor.spin_once(timeout_sec=0.05)
    calls = []
    real = cam.intrinsics.resolve
    cam.intrinsics.resolve = lambda props: calls.append(props.color.width) or real(props)
    fs = cam.session.latest
    resolved = cam.intrinsics.color
    for _ in range(3):
        cam.streams.streams['points'].message(fs, fs.aligned_depth, stamp_msg(fs.stamp_ns))
        assert cam.intrinsics.color is resolved and resolved[1] == 'synthetic'
        assert cam.viam.get_properties().intrinsics == cam.session.props.color
    assert calls == []
    cam.streams.refresh()
    assert calls == [32]
