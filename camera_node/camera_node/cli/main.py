"""``ros2 run camera_node camera_node``: one camera in one process."""

from __future__ import annotations

import sys
from typing import List, Optional

#: where ``ros2 run`` puts the node unless ``-r __ns:=...`` says otherwise: /camera/camera,
#: as camera.launch.py and realsense-ros do (a remap wins over this default)
DEFAULT_NAMESPACE = 'camera'


def main(args: Optional[List[str]] = None) -> int:
    """Run one camera node until SIGINT/SIGTERM; exit 2 when it cannot start."""
    from ..ros.node import make_camera_node
    from ..ros.runtime import run_nodes
    return run_nodes(lambda nodes: nodes.append(make_camera_node(namespace=DEFAULT_NAMESPACE)),
                     args)


if __name__ == '__main__':
    sys.exit(main())
