"""rviz markers of the camera's geometries (visualization_msgs/MarkerArray)."""

from __future__ import annotations

from typing import Any, Sequence

from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy
from visualization_msgs.msg import Marker, MarkerArray

from ..core.orientation import rotate_vector
from ..viam.geometries import CameraGeometry


def markers(geos: Sequence[CameraGeometry], frame_id: str, ns: str,
            stamp: Any = None) -> MarkerArray:
    """Build a visualization_msgs/MarkerArray that rviz draws for the geometries."""
    out = MarkerArray()
    clear = Marker()
    clear.action = Marker.DELETEALL
    clear.ns = ns
    clear.header.frame_id = frame_id
    out.markers.append(clear)
    mid = 0
    for geo in geos:
        q = geo.quaternion
        parts = []
        if geo.shape == 'box':
            parts.append((Marker.CUBE, (0.0, 0.0, 0.0), tuple(d / 1000 for d in geo.dims_mm)))
        elif geo.shape == 'sphere':
            d = 2 * geo.radius_mm / 1000
            parts.append((Marker.SPHERE, (0.0, 0.0, 0.0), (d, d, d)))
        else:
            d = 2 * geo.radius_mm / 1000
            body = (geo.length_mm - 2 * geo.radius_mm) / 1000
            parts.append((Marker.CYLINDER, (0.0, 0.0, 0.0), (d, d, max(body, 1e-4))))
            for s in (-1, 1):
                parts.append((Marker.SPHERE, (0.0, 0.0, s * body / 2), (d, d, d)))
        for kind, offset, scale in parts:
            m = Marker()
            m.header.frame_id = frame_id
            if stamp is not None:
                m.header.stamp = stamp
            m.ns = ns
            m.id = mid
            mid += 1
            m.type = kind
            m.action = Marker.ADD
            # the part's offset is along the geometry's local axes
            off = rotate_vector(q, offset)
            p = geo.position_m
            m.pose.position.x, m.pose.position.y, m.pose.position.z = (
                p[0] + off[0], p[1] + off[1], p[2] + off[2])
            m.pose.orientation.x, m.pose.orientation.y, m.pose.orientation.z, \
                m.pose.orientation.w = q
            m.scale.x, m.scale.y, m.scale.z = scale
            m.color.r, m.color.g, m.color.b, m.color.a = 0.2, 0.6, 1.0, 0.5
            m.text = geo.label
            out.markers.append(m)
    return out


class GeometryMarkers:
    """The latched ``~/geometries`` MarkerArray of a camera (transient local, depth 1)."""

    def __init__(self, node: Any, frame_id: str, namespace: str) -> None:
        qos = QoSProfile(depth=1, history=HistoryPolicy.KEEP_LAST,
                         reliability=ReliabilityPolicy.RELIABLE,
                         durability=DurabilityPolicy.TRANSIENT_LOCAL)
        self.pub = node.create_publisher(MarkerArray, '~/geometries', qos)
        self.frame_id = frame_id
        self.namespace = namespace

    def publish(self, geos: Sequence[CameraGeometry]) -> None:
        """Publish the markers of geos (replacing the previous ones)."""
        self.pub.publish(markers(geos, self.frame_id, self.namespace))
