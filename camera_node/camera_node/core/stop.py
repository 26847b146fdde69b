"""The process's stop flag: SIGINT and SIGTERM set it, from an entry point's first line.

Entry points call :func:`install` before any other import (rclpy alone takes a quarter
second to load), so a signal at any moment of start-up ends the process quietly instead of
with a KeyboardInterrupt traceback; :func:`camera_node.ros.runtime.run_nodes` then stops
at once. This module imports nothing but ``signal`` and ``threading``.
"""

import signal
import threading

#: set by SIGINT/SIGTERM once :func:`install` ran
STOP = threading.Event()


def install() -> threading.Event:
    """Make SIGINT and SIGTERM set :data:`STOP` instead of raising or killing; return it."""
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: STOP.set())
    return STOP
