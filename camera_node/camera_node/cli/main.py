"""``ros2 run camera_node camera_node``: one camera in one process."""

import sys

# (no typing import: this module runs before the signal handlers are installed)

#: where ``ros2 run`` puts the node unless ``-r __ns:=...`` says otherwise: /camera/camera,
#: as camera.launch.py and realsense-ros do (a remap wins over this default)
DEFAULT_NAMESPACE = 'camera'


def main(args: 'list[str] | None' = None) -> int:
    """Run one camera node until SIGINT/SIGTERM; exit 2 when it cannot start."""
    from ..core import stop as stop_flag   # the built-in signal only: before anything else
    stop = stop_flag.install()
    from ..ros import runtime
    from ..ros.node import make_camera_node
    if stop.is_set():
        return 0
    return runtime.run_nodes(
        lambda nodes: nodes.append(make_camera_node(namespace=DEFAULT_NAMESPACE)), args)


if __name__ == '__main__':
    sys.exit(main())
