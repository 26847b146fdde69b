"""Depth filters through a node: topics, CameraInfo, the cloud and the services agree.

The node runs in its own process (synthetic camera) with decimation and hole filling on:
``depth/image_rect_raw`` and its CameraInfo get the decimated size and intrinsics, the
aligned depth and the cloud keep the colour size, GetImages and GetPointCloud get the
filtered depth, and runtime changes are validated by the parameter services.
"""

import numpy as np
from rcl_interfaces.msg import Parameter as ParameterMsg, ParameterType, ParameterValue
from rcl_interfaces.srv import SetParameters
from rclpy.qos import QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import CameraInfo, Image, PointCloud2

from camera_node.viam import codecs
from camera_node_interfaces.srv import GetImages, GetPointCloud

W, H = 160, 120


def collect_set(probe, proc, names, timeout=30.0):
    """Return {topic: message} of one stamp on every topic named (relative)."""
    got = {}
    qos = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)
    subs = []
    for rel, kind in names:
        def keep(msg, rel=rel):
            stamp = msg.header.stamp.sec * 10**9 + msg.header.stamp.nanosec
            got.setdefault(stamp, {})[rel] = msg
        subs.append(probe.node.create_subscription(kind, proc.topic(rel), keep, qos))

    def done():
        return next((m for m in got.values() if len(m) == len(names)), None)
    try:
        probe.spin_until(lambda: done() is not None, timeout)
    finally:
        for sub in subs:
            probe.node.destroy_subscription(sub)
    return done()


def set_params(probe, proc, **values):
    msgs = []
    for name, value in values.items():
        v = ParameterValue(type=ParameterType.PARAMETER_BOOL, bool_value=value) \
            if isinstance(value, bool) else \
            ParameterValue(type=ParameterType.PARAMETER_DOUBLE, double_value=value) \
            if isinstance(value, float) else \
            ParameterValue(type=ParameterType.PARAMETER_INTEGER, integer_value=value)
        msgs.append(ParameterMsg(name=name, value=v))
    res = probe.call(SetParameters, proc.topic('set_parameters'),
                     SetParameters.Request(parameters=msgs))
    return res.results


def test_filters_reach_topics_camera_info_cloud_and_services(start_node, probe):
    p = start_node(namespace='dfilt', params={
        'width': W, 'height': H, 'fps': 10.0,
        'decimation_filter.enable': True, 'decimation_filter.filter_magnitude': 2,
        'hole_filling_filter.enable': True})
    assert p.wait_output('publishing', 30), p.output()
    names = [('depth/image_rect_raw', Image), ('depth/camera_info', CameraInfo),
             ('aligned_depth_to_color/image_raw', Image),
             ('aligned_depth_to_color/camera_info', CameraInfo),
             ('depth/color/points', PointCloud2)]
    msgs = collect_set(probe, p, names)
    assert msgs is not None, p.output()
    depth, info = msgs['depth/image_rect_raw'], msgs['depth/camera_info']
    assert (depth.width, depth.height) == (W // 2, H // 2)
    assert (info.width, info.height) == (W // 2, H // 2)           # CameraInfo follows
    colour_info = msgs['aligned_depth_to_color/camera_info']
    f, c = colour_info.k[0], colour_info.k[2]                      # synthetic: depth = colour
    assert info.k[0] == f / 2 and info.k[2] == (c - 0.5) / 2 and info.p[0] == f / 2
    aligned = msgs['aligned_depth_to_color/image_raw']
    assert (aligned.width, aligned.height) == (W, H) == (colour_info.width, colour_info.height)
    pixels = np.frombuffer(bytes(aligned.data), np.uint16).reshape(H, W)
    raw = np.frombuffer(bytes(depth.data), np.uint16)
    assert raw.min() > 0                          # the window's hole is filled
    assert (pixels > 0).mean() > 0.97             # aligned from it: parallax gaps only
    cloud = msgs['depth/color/points']
    assert (cloud.width, cloud.height) == (W, H)

    # services get the same filtered depth
    res = probe.call(GetImages, p.topic('get_images'),
                     GetImages.Request(filter_source_names=['depth']))
    assert res.success
    served = codecs.decode_dep(bytes(res.images[0].data))
    assert served.shape == (H, W) and (served > 0).mean() > 0.97
    pcd = probe.call(GetPointCloud, p.topic('get_point_cloud'), GetPointCloud.Request())
    assert pcd.success
    header = bytes(pcd.data[:400]).split(b'DATA')[0].decode()
    points = int(header.split('POINTS ')[1].split()[0])
    assert points == int((served > 0).sum())      # the cloud is the filtered aligned depth

    # runtime: bad values refused with the reason, good ones take effect
    results = set_params(probe, p, **{'threshold_filter.enable': True,
                                      'threshold_filter.min_distance': 5.0})
    assert not results[0].successful or not results[1].successful
    assert any('must be below threshold_filter.max_distance' in r.reason for r in results)
    results = set_params(probe, p, **{'decimation_filter.enable': False,
                                      'threshold_filter.max_distance': 2.5})
    assert all(r.successful for r in results), [r.reason for r in results]
    results = set_params(probe, p, **{'threshold_filter.enable': True})
    assert results[0].successful
    probe.spin_until(lambda: False, 0.5)
    msgs = collect_set(probe, p, names[:2])
    depth, info = msgs['depth/image_rect_raw'], msgs['depth/camera_info']
    assert (depth.width, depth.height) == (W, H) == (info.width, info.height)
    assert np.frombuffer(bytes(depth.data), np.uint16).max() <= 2500
