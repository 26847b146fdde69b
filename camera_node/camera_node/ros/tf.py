"""The static transform publisher of a camera, shaped like tf2_ros's StaticTransformBroadcaster.

It owns one ``/tf_static`` publisher (reliable, transient local, depth 1, as tf2_ros uses
it) and sends the camera's whole set of fixed transforms each time it changes, so a late
subscriber such as rviz gets all of them.
"""

from __future__ import annotations

from typing import Any, Iterable

from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy

from ..core.frames import Transform
from .messages import transform_messages

try:  # a real distro has tf2_msgs; ./dev setup builds a stand-in where it is missing
    from tf2_msgs.msg import TFMessage
except ImportError:  # pragma: no cover - reported when the node starts
    TFMessage = None

#: QoS of /tf_static as tf2_ros uses it: reliable, transient local, depth 1
TF_STATIC_QOS = QoSProfile(depth=1, history=HistoryPolicy.KEEP_LAST,
                           reliability=ReliabilityPolicy.RELIABLE,
                           durability=DurabilityPolicy.TRANSIENT_LOCAL)


class StaticTransformPublisher:
    """Publishes a camera's fixed transforms on ``/tf_static``."""

    def __init__(self, node: Any) -> None:
        self._node = node
        self._pub = None
        if TFMessage is None:
            node.get_logger().warning('tf2_msgs is not available: no static TF published')
        else:
            self._pub = node.create_publisher(TFMessage, '/tf_static', TF_STATIC_QOS)

    def send(self, transforms: Iterable[Transform]) -> None:
        """Publish the whole set of fixed transforms, stamped now."""
        if self._pub is None:
            return
        stamp = self._node.get_clock().now().to_msg()
        self._pub.publish(TFMessage(transforms=transform_messages(transforms, stamp)))
