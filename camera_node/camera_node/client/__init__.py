"""Python client of the camera node's Viam services, for other ROS nodes.

``from camera_node.client import CameraClient`` is the public entry; see
:mod:`camera_node.client.client` for how to use it.
"""

from .client import CameraClient, DEFAULT_TIMEOUT
from .transport import SERVICES
from .types import (CameraClientError, CameraError, DistortionParameters, ExtrinsicParameters,
                    Geometry, IntrinsicParameters, Properties, ResponseMetadata,
                    ViamLikeImage, ViamPose)

__all__ = [
    'CameraClient', 'CameraClientError', 'CameraError', 'DistortionParameters',
    'ExtrinsicParameters', 'Geometry', 'IntrinsicParameters', 'Properties',
    'ResponseMetadata', 'ViamLikeImage', 'ViamPose', 'SERVICES', 'DEFAULT_TIMEOUT',
]
