"""Several cameras in one process: ``ros2 run camera_node cameras CAMERAS_FILE``.

The cameras file is the one ``multi_camera.launch.py`` reads (see docs/launch.md): each
camera gets its own node, namespace and frame prefix, exactly as with the launch file,
but all of them share one process and one executor, which saves the per-process cost
(measured in docs/performance.md: 2 cameras 19.5 % of a core in one process against
19 % in two; 4 cameras 29.7 % against 34.2 %).
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any, Dict, List, Optional

import yaml

from .. import launch_logic


def _file_parameters(path: str, namespace: str, node_name: str) -> Dict[str, Any]:
    """Return the ros__parameters of a params file that apply to /namespace/node_name."""
    with open(path) as f:
        data = yaml.safe_load(f) or {}
    full = '/%s/%s' % (namespace.strip('/'), node_name) if namespace.strip('/') else \
        '/' + node_name
    out: Dict[str, Any] = {}
    for key in ('/**', node_name, full):
        section = data.get(key)
        if isinstance(section, dict):
            out.update(flatten(section.get('ros__parameters') or {}))
    return out


def flatten(params: Dict[str, Any], prefix: str = '') -> Dict[str, Any]:
    """Return nested parameter maps as dotted names, as ROS reads a params file.

    ``{spatial_filter: {enable: true}}`` is ``spatial_filter.enable``.
    """
    out: Dict[str, Any] = {}
    for key, value in params.items():
        name = prefix + str(key)
        if isinstance(value, dict):
            out.update(flatten(value, name + '.'))
        else:
            out[name] = value
    return out


def camera_parameters(spec: launch_logic.CameraSpec) -> Dict[str, Any]:
    """Return every parameter of one camera: its params file, then its own entries."""
    params = _file_parameters(spec.params_file, spec.namespace, spec.node_name) \
        if spec.params_file else {}
    params.update(spec.parameters)
    params['driver'] = spec.driver
    return params


def _share_dir() -> Optional[str]:
    try:
        from ament_index_python.packages import get_package_share_directory
        return get_package_share_directory('camera_node')
    except Exception:
        return None


def main(args: Optional[List[str]] = None) -> int:
    """Start every camera of a cameras file in this process."""
    from ..core import stop as stop_flag   # the built-in signal only: before anything else
    stop_flag.install()
    from rclpy.parameter import Parameter
    from rclpy.utilities import remove_ros_args

    from ..ros.node import make_camera_node
    from ..ros.runtime import run_nodes
    argv = list(args if args is not None else sys.argv)
    parser = argparse.ArgumentParser(
        prog='cameras', description='Run several cameras in one process.')
    share = _share_dir()
    default = launch_logic.multi_camera_file(share) if share else None
    parser.add_argument('cameras_file', nargs='?', default=default,
                        help='YAML list of cameras (default: config/multi_camera.yaml)')
    opts = parser.parse_args(remove_ros_args(argv)[1:])
    if not opts.cameras_file or not os.path.exists(opts.cameras_file):
        parser.error('cameras file not found: %r' % opts.cameras_file)
    try:
        specs = launch_logic.load_camera_list(opts.cameras_file, share)
    except ValueError as exc:
        parser.error(str(exc))

    def make(nodes: List[Any]) -> None:
        for spec in specs:
            overrides = [Parameter(k, value=v) for k, v in camera_parameters(spec).items()]
            nodes.append(make_camera_node(spec.node_name, namespace=spec.namespace,
                                          parameter_overrides=overrides))

    return run_nodes(make, argv)


if __name__ == '__main__':
    sys.exit(main())
