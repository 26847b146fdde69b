"""``extrinsics/<a>_to_<b>``: where each sensor is relative to each other, as messages.

One latched topic (reliable, transient local, depth 1, like ``/tf_static``) per pair of the
device's sensors, in realsense-ros' naming (``extrinsics/depth_to_color``,
``extrinsics/depth_to_infra1``, ... ``extrinsics/infra2_to_imu``), carrying
``camera_node_interfaces/Extrinsics`` (column-major rotation, as realsense-ros). The
values come from :func:`camera_node.core.frames.extrinsics_pairs`, the same place the
static TF is computed from, so the two always agree.
"""

from __future__ import annotations

from typing import Any, Dict

import numpy as np

from camera_node_interfaces.msg import Extrinsics as ExtrinsicsMsg

from ..core.frames import extrinsics_pairs, FrameNames
from ..core.types import CameraProperties
from .tf import TF_STATIC_QOS     # latched: a late subscriber still gets the values


class ExtrinsicsPublisher:
    """Publishes every pair's extrinsics after each open."""

    def __init__(self, node: Any, names: FrameNames) -> None:
        self.node = node
        self.names = names
        self.pubs: Dict[str, Any] = {}

    def send(self, props: CameraProperties) -> None:
        """Publish (creating topics for new pairs) the extrinsics of every sensor pair."""
        stamp = self.node.get_clock().now().to_msg()
        for a, b, ext in extrinsics_pairs(props):
            key = '%s_to_%s' % (a, b)
            pub = self.pubs.get(key)
            if pub is None:
                pub = self.pubs[key] = self.node.create_publisher(
                    ExtrinsicsMsg, '~/extrinsics/' + key, TF_STATIC_QOS)
            msg = ExtrinsicsMsg()
            msg.header.stamp = stamp
            msg.header.frame_id = self.names.optical(a)
            msg.child_frame_id = self.names.optical(b)
            msg.rotation = [float(v) for v in np.asarray(ext.rotation, float).T.reshape(-1)]
            msg.translation = [float(v) for v in np.asarray(ext.translation, float)]
            pub.publish(msg)
