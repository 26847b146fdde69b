"""The process's stop flag: SIGINT and SIGTERM set it, from an entry point's first line.

Entry points call :func:`install` first in ``main()``, before any other import (rclpy
alone takes a quarter second to load), so a signal at any moment of start-up ends the
process quietly instead of with a KeyboardInterrupt traceback;
:func:`camera_node.ros.runtime.run_nodes` then stops at once. This module imports nothing
but the built-in ``signal``, so the window before it is installed is as short as it can be.
"""

import signal


class Flag:
    """A flag a signal handler may set and a loop may poll (no lock needed for a bool)."""

    def __init__(self) -> None:
        self._set = False

    def set(self) -> None:
        """Raise the flag."""
        self._set = True

    def is_set(self) -> bool:
        """Return whether the flag was raised."""
        return self._set


#: set by SIGINT/SIGTERM once :func:`install` ran
STOP = Flag()


def install() -> Flag:
    """Make SIGINT and SIGTERM set :data:`STOP` instead of raising or killing; return it."""
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: STOP.set())
    return STOP
