"""Process-level tuning for large messages: glibc allocator thresholds and the executor.

Both are meant to be called once by a process's ``main()``::

    from camera_node import runtime
    runtime.tune_allocator(node.get_logger())       # before the first large message
    executor, name = runtime.make_executor()
    node.get_logger().info('executor: %s' % name)

Why (measured, see docs/performance.md): every received or published multi-megabyte message
is a fresh allocation; with glibc's default thresholds each one is an ``mmap``/``munmap``
pair whose pages fault in again on every frame. Raising the thresholds keeps those blocks
in the heap and cuts latency 2-3x. ``rclpy.experimental.EventsExecutor`` (Jazzy and
newer) drains messages about 10x faster than ``SingleThreadedExecutor``; Humble lacks it.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import fcntl
import logging
import os
import re
import sys
from typing import Any, Callable, Dict, Iterable, List, Optional, Tuple

from ..core import stop as stop_flag

#: glibc mallopt parameter numbers (malloc.h)
M_TRIM_THRESHOLD = -1
M_TOP_PAD = -2
M_MMAP_THRESHOLD = -3

#: defaults: blocks below 32 MB come from the heap, and the heap is not trimmed below
#: 256 MB nor grown by less than 64 MB at a time
MMAP_THRESHOLD = 32 * 1024 * 1024
TRIM_THRESHOLD = 256 * 1024 * 1024
TOP_PAD = 64 * 1024 * 1024

#: set to anything non-empty to leave the allocator alone
NO_TUNING_ENV = 'CAMERA_NODE_NO_MALLOC_TUNING'
#: 'events' or 'single' to force an executor ('' or 'auto': the fastest that works)
EXECUTOR_ENV = 'CAMERA_NODE_EXECUTOR'

_log = logging.getLogger(__name__)


def _say(logger: Any, level: str, message: str) -> None:
    """Log message at level ('debug', 'info', 'warning') on an rclpy or stdlib logger."""
    target = logger if logger is not None else _log
    getattr(target, 'warning' if level == 'warning' else level)(message)


def _glibc() -> Optional[ctypes.CDLL]:
    """Return the process's C library when it is glibc with mallopt, else None."""
    try:
        libc = ctypes.CDLL(None)
    except OSError:  # pragma: no cover - no dynamic loader (static interpreter)
        return None
    if not hasattr(libc, 'gnu_get_libc_version') or not hasattr(libc, 'mallopt'):
        return None
    return libc


def glibc_version() -> str:
    """Return the glibc version string, or '' when the C library is not glibc."""
    libc = _glibc()
    if libc is None:
        return ''
    libc.gnu_get_libc_version.restype = ctypes.c_char_p
    return libc.gnu_get_libc_version().decode()


def allocator_settings(mmap_threshold: int = MMAP_THRESHOLD,
                       trim_threshold: int = TRIM_THRESHOLD,
                       top_pad: int = TOP_PAD) -> Dict[str, int]:
    """Return the glibc environment variables equivalent to :func:`tune_allocator`.

    Useful for processes that cannot call it (``env`` of a launch file, a subprocess).
    """
    return {'MALLOC_MMAP_THRESHOLD_': str(int(mmap_threshold)),
            'MALLOC_TRIM_THRESHOLD_': str(int(trim_threshold)),
            'MALLOC_TOP_PAD_': str(int(top_pad))}


def tune_allocator(logger: Any = None, mmap_threshold: int = MMAP_THRESHOLD,
                   trim_threshold: int = TRIM_THRESHOLD, top_pad: int = TOP_PAD) -> bool:
    """Raise glibc's malloc thresholds so per-frame buffers stop being mmap'ed and unmapped.

    Return True when every setting was applied. Where the C library is not glibc (musl,
    macOS) or ``CAMERA_NODE_NO_MALLOC_TUNING`` is set, do nothing and log at debug level.
    Settings given through ``MALLOC_*_`` environment variables are overridden.
    """
    if os.environ.get(NO_TUNING_ENV):
        _say(logger, 'debug', 'allocator tuning off (%s is set)' % NO_TUNING_ENV)
        return False
    libc = _glibc()
    if libc is None:
        _say(logger, 'debug', 'allocator tuning skipped: the C library is not glibc')
        return False
    libc.mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    libc.mallopt.restype = ctypes.c_int
    ok = True
    for param, value in ((M_MMAP_THRESHOLD, mmap_threshold), (M_TRIM_THRESHOLD, trim_threshold),
                         (M_TOP_PAD, top_pad)):
        if libc.mallopt(param, int(value)) != 1:
            ok = False
            _say(logger, 'warning', 'mallopt(%d, %d) was refused' % (param, int(value)))
    if ok:
        _say(logger, 'debug', 'glibc malloc tuned: mmap threshold %d MB, trim threshold %d MB, '
             'top pad %d MB' % (mmap_threshold >> 20, trim_threshold >> 20, top_pad >> 20))
    return ok


def _events_executor(context: Any) -> Any:
    """Return an EventsExecutor, or raise ImportError/RuntimeError when it cannot work."""
    from rclpy.experimental import EventsExecutor  # Jazzy and newer
    return EventsExecutor(context=context)


def make_executor(context: Any = None, logger: Any = None,
                  prefer: Optional[str] = None) -> Tuple[Any, str]:
    """Return ``(executor, name)``: the fastest executor this rclpy offers that works.

    ``rclpy.experimental.EventsExecutor`` where it exists and can be created, otherwise
    ``SingleThreadedExecutor`` (Humble). ``prefer`` (or ``CAMERA_NODE_EXECUTOR``) may
    force ``'single'`` or ``'events'``; ``name`` is the class name, for logging.
    """
    from rclpy.executors import SingleThreadedExecutor
    choice = (prefer if prefer is not None else os.environ.get(EXECUTOR_ENV, '')).lower()
    if choice not in ('', 'auto', 'events', 'single'):
        _say(logger, 'warning', 'unknown executor %r: using the default' % choice)
        choice = ''
    if choice != 'single':
        try:
            executor = _events_executor(context)
            return executor, type(executor).__name__
        except Exception as exc:  # ImportError on Humble; anything else: fall back
            level = 'warning' if choice == 'events' else 'debug'
            _say(logger, level, 'EventsExecutor unavailable (%s: %s): using '
                 'SingleThreadedExecutor' % (type(exc).__name__, exc))
    executor = SingleThreadedExecutor(context=context)
    return executor, type(executor).__name__


def claim_domain(candidates: Iterable[int], lock_path: str) -> Tuple[int, Any]:
    """Return ``(domain, lock)``: the first ROS_DOMAIN_ID of candidates nobody else holds.

    ``lock_path`` names the lock file of a domain (``%d`` for the number); the domain stays
    claimed while the returned file is open (an ``flock``, released when the process
    exits), so parallel test or bench runs on one machine never share a domain. Raise
    RuntimeError when every candidate is taken.
    """
    for domain in candidates:
        handle = open(lock_path % domain, 'w')
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            continue
        return domain, handle
    raise RuntimeError('no free ROS_DOMAIN_ID (every %s is locked)' % lock_path)


_RCL_LOCATION_RE = re.compile(r',? at /\S+:\d+')


def fatal(message: str) -> None:
    """Print one start-up failure line, as the rclpy logger would (works before init)."""
    try:
        from rclpy.logging import get_logger
        get_logger('camera_node').fatal(message)
    except Exception:  # pragma: no cover - logging unavailable
        print('[FATAL] [camera_node]: %s' % message, file=sys.stderr)


def rcl_error_text(exc: BaseException) -> str:
    """Return an rcl error without its C source locations (one readable line)."""
    text = ' '.join(str(exc).split())
    return _RCL_LOCATION_RE.sub('', text)


def params_file_problem(argv: List[str]) -> Optional[str]:
    """Return why a ``--params-file`` of argv cannot be read as YAML, or None.

    rcl would refuse it too, but in two lines ending in C source locations; this names the
    file and the line.
    """
    import yaml
    args = list(argv)
    for i, arg in enumerate(args[:-1]):
        if arg != '--params-file':
            continue
        path = args[i + 1]
        try:
            with open(path, 'rb') as f:
                text = f.read(16 * 1024 * 1024)
            yaml.safe_load(text)
        except OSError as exc:
            return 'params file %s cannot be read: %s' % (path, exc.strerror or exc)
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark
            where = ' at line %d' % (mark.line + 1) if mark else ''
            return 'params file %s is not valid YAML%s: %s' % (path, where, exc.problem)
        except yaml.YAMLError as exc:
            return 'params file %s is not valid YAML: %s' % (path, type(exc).__name__)
    return None


def run_nodes(make_nodes: Callable[[List[Any]], None], args: Optional[List[str]] = None) -> int:
    """Initialise rclpy, build nodes with make_nodes(list), spin them until a signal, clean up.

    SIGINT and SIGTERM are handled here from the very first line (rclpy's own handlers
    are not installed: with the EventsExecutor they leave spin blocked forever), so a
    signal at any moment ends in a clean shutdown and exit code 0. make_nodes may raise
    :class:`~camera_node.core.errors.DriverError` (a driver that cannot load, a start
    parameter that cannot be used): it is reported in one line and the exit code is 2, as
    are arguments rcl cannot parse (a params file with a YAML error, a bad ``-p``).
    """
    stop = stop_flag.install()
    import rclpy
    from ..core.errors import DriverError
    tune_allocator()
    argv = args if args is not None else sys.argv
    if stop.is_set():
        return 0
    problem = params_file_problem(argv)
    if problem:
        fatal('cannot start: %s' % problem)
        return 2
    try:
        try:
            from rclpy.signals import SignalHandlerOptions
            rclpy.init(args=argv, signal_handler_options=SignalHandlerOptions.NO)
        except (ImportError, TypeError):  # pragma: no cover - very old rclpy
            rclpy.init(args=argv)
    except Exception as exc:   # rclpy's RCLError: arguments rcl cannot parse
        fatal('cannot start: %s' % rcl_error_text(exc))
        return 2
    nodes: List[Any] = []
    executor = None
    log = logging.getLogger('camera_node')
    try:
        try:
            make_nodes(nodes)
        except DriverError as exc:
            fatal(str(exc))
            return 2
        except Exception as exc:
            # rcl refusing to create the node (e.g. ROS_SECURITY_ENABLE with a DDS built
            # without security): a start-up condition, not a bug of ours
            if type(exc).__name__ != 'RCLError':
                raise
            fatal('cannot start: %s' % rcl_error_text(exc))
            return 2
        executor, name = make_executor(logger=nodes[0].get_logger())
        nodes[0].get_logger().debug('executor: %s' % name)
        for node in nodes:
            executor.add_node(node)
        # spin in slices: a signal sets stop, and the loop ends within one slice
        while not stop.is_set() and rclpy.ok():
            executor.spin_once(timeout_sec=0.1)
    except KeyboardInterrupt:
        pass
    finally:
        for node in nodes:
            node.get_logger().info('shutting down: stopping capture, closing the device')
            try:
                getattr(node, 'shutdown', lambda: None)()
            except Exception as exc:  # keep shutting the others down
                log.error('shutdown of %s failed: %s' % (node.get_name(), exc))
            if executor is not None:
                executor.remove_node(node)
        if executor is not None:
            executor.shutdown()
        for node in nodes:
            node.destroy_node()
        rclpy.try_shutdown()
    return 0
