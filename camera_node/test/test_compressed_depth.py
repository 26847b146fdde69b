"""compressedDepth topics in compressed_depth_image_transport's wire format, bit-exact.

The decoder here is written from the format's description (image_transport_plugins'
compressed_depth_image_transport: ``format`` = ``<encoding>; compressedDepth <png|rvl>``;
``data`` = a 12-byte ConfigHeader (int32 compression format, 0 = INV_DEPTH, and two
float32 depth quantisation parameters, unused for 16-bit depth) followed by a 16-bit PNG,
or by uint32 width, uint32 height and an RVL stream), not from the node's encoder.
"""

import struct
import time

import cv2
import numpy as np
import pytest
from rcl_interfaces.msg import Parameter as ParameterMsg, ParameterType, ParameterValue
from rcl_interfaces.srv import SetParameters
from rclpy.qos import QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import CompressedImage, Image

from camera_node.core.types import FrameSet
from camera_node.ros.publishers import compressed_depth


def rvl_decode(data, count):
    """Decode an RVL stream of count pixels (Wilson 2017, as the C++ codec stores it)."""
    words = struct.unpack('<%dI' % (len(data) // 4), data)
    nibbles = [(w >> shift) & 0xF for w in words for shift in range(28, -1, -4)]
    pos = 0

    def number():
        nonlocal pos
        value, shift = 0, 0
        while True:
            nib = nibbles[pos]
            pos += 1
            value |= (nib & 7) << shift
            shift += 3
            if not nib & 8:
                return value

    out, previous = [], 0
    while len(out) < count:
        out.extend([0] * number())
        for _ in range(number()):
            coded = number()
            previous += (coded >> 1) ^ -(coded & 1)
            out.append(previous)
    assert len(out) == count
    return np.array(out, dtype=np.uint16)


def decode(fmt, data):
    """Return the 16UC1 image of a compressedDepth message's format and data."""
    encoding, _, rest = fmt.partition(';')
    assert encoding == '16UC1'
    words = rest.split()
    assert words[0] == 'compressedDepth' and words[1] in ('png', 'rvl'), fmt
    kind, quant_a, quant_b = struct.unpack('<iff', data[:12])
    assert kind == 0 and quant_a == 0.0 and quant_b == 0.0     # INV_DEPTH, unused params
    body = data[12:]
    if words[1] == 'png':
        assert body[:8] == b'\x89PNG\r\n\x1a\n'
        image = cv2.imdecode(np.frombuffer(body, np.uint8), cv2.IMREAD_UNCHANGED)
        assert image.dtype == np.uint16 and image.ndim == 2
        return image
    cols, rows = struct.unpack('<II', body[:8])
    return rvl_decode(body[8:], cols * rows).reshape(rows, cols)


def samples():
    rng = np.random.default_rng(3)
    noisy = rng.integers(200, 9000, (24, 32)).astype(np.uint16)
    noisy[rng.random(noisy.shape) < 0.3] = 0
    ramp = np.tile(np.arange(1000, 1032, dtype=np.uint16), (24, 1))
    edge = np.zeros((4, 5), np.uint16)
    edge[0, 0] = 65535
    edge[3, 4] = 1
    return [noisy, ramp, edge, np.zeros((3, 3), np.uint16), np.full((1, 1), 7, np.uint16),
            np.full((2, 2), 65535, np.uint16)]


@pytest.mark.parametrize('fmt', ['png', 'rvl'])
def test_payload_decodes_bit_exactly(fmt):
    for image in samples():
        fs = FrameSet(color=np.zeros(image.shape + (3,), np.uint8), depth=image)
        data = compressed_depth(fs, 'depth', fmt, 1)
        np.testing.assert_array_equal(decode('16UC1; compressedDepth ' + fmt, data), image)
    if fmt == 'png':     # the PNG is kept for GetImage's depth PNG at the same level
        assert ('png', 'depth', 1) in fs.encoded


def wait_pairs(probe, topics, count, timeout=30.0):
    """Subscribe to raw and compressed topics; return {stamp: {topic: msg}} complete ones."""
    got = {}
    qos = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)
    subs = []
    for topic, kind in topics:
        def keep(msg, topic=topic):
            stamp = msg.header.stamp.sec * 10**9 + msg.header.stamp.nanosec
            got.setdefault(stamp, {})[topic] = msg
        subs.append(probe.node.create_subscription(kind, topic, keep, qos))

    def complete():
        return [s for s, m in got.items() if len(m) == len(topics)]
    try:
        probe.spin_until(lambda: len(complete()) >= count, timeout)
    finally:
        for sub in subs:
            probe.node.destroy_subscription(sub)
    return {s: got[s] for s in complete()}


def set_param(probe, proc, name, value):
    req = SetParameters.Request(parameters=[ParameterMsg(name=name, value=ParameterValue(
        type=ParameterType.PARAMETER_STRING, string_value=value))])
    res = probe.call(SetParameters, proc.topic('set_parameters'), req)
    return res.results[0]


def test_node_publishes_compressed_depth_bit_exact(start_node, probe):
    p = start_node(namespace='cdepth', params={
        'width': 160, 'height': 120, 'fps': 10.0, 'depth_noise': 2.0, 'depth_holes': 0.05,
        'compressed_depth_format': 'rvl'})
    assert p.wait_output('publishing', 30), p.output()
    assert '/cdepth/camera/depth/image_rect_raw/compressedDepth' in p.output()
    pairs = [(p.topic('depth/image_rect_raw'), Image),
             (p.topic('depth/image_rect_raw/compressedDepth'), CompressedImage),
             (p.topic('aligned_depth_to_color/image_raw'), Image),
             (p.topic('aligned_depth_to_color/image_raw/compressedDepth'), CompressedImage)]
    for fmt in ('rvl', 'png'):
        if fmt == 'png':
            assert set_param(probe, p, 'compressed_depth_format', 'png').successful
            time.sleep(0.5)
        sets = wait_pairs(probe, pairs, 3)
        assert len(sets) >= 3, p.output()
        for stamp, msgs in sets.items():
            for raw_topic, comp_topic in ((pairs[0][0], pairs[1][0]), (pairs[2][0], pairs[3][0])):
                raw, comp = msgs[raw_topic], msgs[comp_topic]
                if comp.format != '16UC1; compressedDepth ' + fmt:
                    continue                      # sent just before the change took effect
                assert comp.header.frame_id == raw.header.frame_id
                want = np.frombuffer(bytes(raw.data), np.uint16).reshape(raw.height, raw.width)
                np.testing.assert_array_equal(decode(comp.format, bytes(comp.data)), want)
        formats = {m[pairs[1][0]].format for m in sets.values()}
        assert '16UC1; compressedDepth %s' % fmt in formats
    refused = set_param(probe, p, 'compressed_depth_format', 'jpeg')
    assert not refused.successful and 'must be one of png, rvl' in refused.reason
