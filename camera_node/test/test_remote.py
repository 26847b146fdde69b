"""A subscriber on another machine: the node and the subscriber in two network namespaces.

The namespaces are joined by a veth pair shaped to 100 Mbit/s (tbf), hold nothing else,
and DDS runs over UDP only, so every byte crosses that link (the machine's own interfaces
are not in them). The subscriber receives compressed colour and compressedDepth and the
raw depth of the same frame set, and decodes compressedDepth bit-exactly. Needs root (ip
netns); otherwise skipped with the reason. The namespaces and the pair are removed at the
end, also when the test fails (bench/remote_bench.py's ``Link``, which the benchmark uses).
"""

import json
import os
import subprocess
import sys
import textwrap

import pytest

BENCH_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))), 'bench')
sys.path.insert(0, BENCH_DIR)
import remote_bench  # noqa: E402  (the benchmark's namespace helper)

REASON = remote_bench.netns_unavailable()
pytestmark = pytest.mark.skipif(REASON is not None, reason=str(REASON))

SUBSCRIBER = textwrap.dedent("""
    import json, struct, sys, time
    import cv2, numpy as np, rclpy
    from rclpy.qos import QoSProfile, ReliabilityPolicy
    from sensor_msgs.msg import CompressedImage, Image
    rclpy.init()
    node = rclpy.create_node('remote_test_sub')
    base = '/remote_test/camera/'
    topics = {'jpeg': ('color/image_raw/compressed', CompressedImage),
              'cdepth': ('depth/image_rect_raw/compressedDepth', CompressedImage),
              'depth': ('depth/image_rect_raw', Image)}
    got = {}
    qos = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)
    for key, (topic, kind) in topics.items():
        node.create_subscription(kind, base + topic, lambda m, k=key: got.setdefault(
            m.header.stamp.sec * 10**9 + m.header.stamp.nanosec, {}).__setitem__(k, m), qos)
    deadline = time.monotonic() + 40
    complete = []
    while time.monotonic() < deadline and len(complete) < 10:
        rclpy.spin_once(node, timeout_sec=0.05)
        complete = [s for s, m in got.items() if len(m) == 3]
    exact = 0
    for s in complete:
        m = got[s]
        data = bytes(m['cdepth'].data)
        image = cv2.imdecode(np.frombuffer(data[12:], np.uint8), cv2.IMREAD_UNCHANGED)
        raw = np.frombuffer(bytes(m['depth'].data), np.uint16).reshape(
            m['depth'].height, m['depth'].width)
        exact += int(data[:12] == struct.pack('<iff', 0, 0.0, 0.0)
                     and np.array_equal(image, raw))
    print('RESULT ' + json.dumps({'sets': len(complete), 'exact': exact,
        'jpeg': bytes(got[complete[0]]['jpeg'].data[:2]).hex() if complete else '',
        'format': got[complete[0]]['cdepth'].format if complete else ''}))
""")


def test_subscriber_in_another_namespace_over_a_shaped_link():
    env = {k: v for k, v in os.environ.items() if k not in remote_bench._DDS_VARS}
    env['FASTDDS_BUILTIN_TRANSPORTS'] = 'UDPv4'      # no shared memory: the link only
    link = remote_bench.Link('100mbit', 'test')
    names = link.ns
    with link:
        node = subprocess.Popen(link.command(0, [
            sys.executable, '-m', 'camera_node', '--ros-args', '-r', '__ns:=/remote_test',
            '-r', '__node:=camera', '-p', 'width:=160', '-p', 'height:=120',
            '-p', 'depth_noise:=1.0', '-p', 'diagnostics_period:=0.0']),
            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, env=env)
        link.procs.append(node)
        sub = subprocess.run(link.command(1, [sys.executable, '-c', SUBSCRIBER]),
                             capture_output=True, text=True, env=env, timeout=90)
        line = [x for x in sub.stdout.splitlines() if x.startswith('RESULT ')]
        assert line, sub.stdout + sub.stderr
        result = json.loads(line[-1][7:])
        sent = link.stats(0)
    assert result['sets'] >= 10 and result['exact'] == result['sets'], result
    assert result['jpeg'] == 'ffd8' and result['format'] == '16UC1; compressedDepth png'
    # the bytes went over the veth pair (no shared memory between the namespaces)
    assert sent['bytes'] > 10 * 120 * 160 * 2, sent
    listed = subprocess.run(['ip', 'netns', 'list'], capture_output=True, text=True).stdout
    assert not any(n in listed for n in names)          # cleaned up
    assert node.poll() is not None
