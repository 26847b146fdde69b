"""Run the real ROS 2 user tools from tests: ``ros2 launch``, ``ros2`` verbs, tf2_ros.

The tools come from a ROS 2 distro, or on machines without one from
``../shared/ros-tooling`` built into ``.ros-tooling/`` (``./dev test`` then puts them on
the path). Where they are missing, :data:`needs_tools` skips the test with the reason.

Every process started here inherits the test run's DDS confinement (conftest sets
``ROS_DOMAIN_ID`` and ``ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST``), gets a Fast DDS
profile whose UDP is restricted to 127.0.0.1, and carries a tag in its environment, so
that it and everything it starts (the nodes of a launch) can be found and stopped even
when a test fails half-way. The ``ros2`` verbs run with ``--no-daemon``: no ROS 2 daemon
is started.
"""

import atexit
import glob
import importlib.util
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid

import pytest

#: modules and commands the real-tools tests need
_TOOL_MODULES = ('launch', 'launch_ros', 'ros2cli', 'ros2launch', 'ros2lifecycle', 'ros2param',
                 'ros2service', 'ros2topic', 'tf2_ros', 'sensor_msgs_py')


def _importable(module):
    # (not a folder that only looks like a namespace package, such as ../launch/)
    spec = importlib.util.find_spec(module)
    return spec is not None and spec.origin is not None


def _tools_missing():
    missing = [m for m in _TOOL_MODULES if not _importable(m)]
    if shutil.which('ros2') is None:
        missing.append('the ros2 command')
    if not missing:
        return None
    return ('the ROS 2 user tools are not installed here (missing: %s). On a robot, source '
            'the ROS 2 distro; on a machine without one, ./dev tools builds them from '
            '../shared/ros-tooling (./dev test then uses them)' % ', '.join(missing))


#: why the real-tools tests cannot run here, or None
TOOLS_MISSING = _tools_missing()
needs_tools = pytest.mark.skipif(TOOLS_MISSING is not None, reason=TOOLS_MISSING or '')

PKG = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TAG_VARIABLE = 'CAMERA_NODE_TEST_TAG'
_SESSION = tempfile.mkdtemp(prefix='camera_node_tools_test_')     # logs, the profile
atexit.register(shutil.rmtree, _SESSION, True)
_LOOPBACK_PROFILE = None


def loopback_profile():
    """Return the package's Fast DDS profile with its UDP transport kept on 127.0.0.1."""
    global _LOOPBACK_PROFILE
    if _LOOPBACK_PROFILE is None:
        with open(os.path.join(PKG, 'config', 'fastdds_large_data.xml')) as f:
            text = f.read()
        text, n = re.subn(r'(<type>UDPv4</type>)', r'\1<interfaceWhiteList><address>'
                          r'127.0.0.1</address></interfaceWhiteList>', text)
        assert n == 1, 'the profile has no UDPv4 transport to restrict'
        _LOOPBACK_PROFILE = os.path.join(_SESSION, 'fastdds_loopback.xml')
        with open(_LOOPBACK_PROFILE, 'w') as f:
            f.write(text)
    return _LOOPBACK_PROFILE


def tool_env(tag, extra=None):
    """Return the environment of a tool process: the test run's, tagged, loopback DDS."""
    env = dict(os.environ)
    for var in ('FASTRTPS_DEFAULT_PROFILES_FILE', 'FASTDDS_DEFAULT_PROFILES_FILE'):
        env.pop(var, None)
    env.update({
        TAG_VARIABLE: tag,
        'FASTDDS_DEFAULT_PROFILES_FILE': loopback_profile(),
        'RCUTILS_COLORIZED_OUTPUT': '0',        # plain text to match
        'PYTHONUNBUFFERED': '1',
        'DEPTHAI_PROTOCOL': 'usb',              # depthai must not search the network
        'DEPTHAI_TELEMETRY': '0',
    })
    env.update(extra or {})
    return env


#: prefix of a command that runs it with SIGINT at its default: started from a background
#: job, a child would inherit SIGINT ignored, and launch would not stop on Ctrl-C. (Not a
#: preexec_fn: that is unsafe in a process with threads, as rclpy's.)
_SIGINT_DEFAULT = [sys.executable, '-c', 'import os, signal, sys; '
                   'signal.signal(signal.SIGINT, signal.SIG_DFL); '
                   'os.execvp(sys.argv[1], sys.argv[1:])']


# -- finding and stopping tagged processes -------------------------------------------------
def tagged_pids(tag):
    """Return the ids of the live processes whose environment carries tag."""
    needle = ('%s=%s' % (TAG_VARIABLE, tag)).encode() + b'\0'
    pids = []
    for entry in os.listdir('/proc'):
        if not entry.isdigit():
            continue
        try:
            with open('/proc/%s/environ' % entry, 'rb') as f:
                if needle in f.read():
                    with open('/proc/%s/stat' % entry) as s:
                        if s.read().rsplit(')', 1)[1].split()[0] != 'Z':
                            pids.append(int(entry))
        except OSError:
            continue
    return pids


def command_of(pid):
    """Return the command line of a process as a list ([] if it is gone)."""
    try:
        with open('/proc/%d/cmdline' % pid, 'rb') as f:
            return [a.decode(errors='replace') for a in f.read().split(b'\0') if a]
    except OSError:
        return []


def _wait_gone(tag, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not tagged_pids(tag):
            return True
        time.sleep(0.1)
    return not tagged_pids(tag)


def _shm_in_use():
    used = set()
    for entry in os.listdir('/proc'):
        if not entry.isdigit():
            continue
        try:
            with open('/proc/%s/maps' % entry) as f:
                used.update(line.split()[-1] for line in f if '/dev/shm/' in line)
            for fd in os.listdir('/proc/%s/fd' % entry):
                try:
                    used.add(os.readlink('/proc/%s/fd/%s' % (entry, fd)))
                except OSError:
                    pass
        except OSError:
            continue
    return used


def remove_stale_shm(since):
    """Remove Fast DDS shared-memory files made after since that no process uses.

    Called only after processes of ours had to be killed: Fast DDS removes its files
    when a participant ends normally, not when it is killed.
    """
    used = _shm_in_use()
    for path in glob.glob('/dev/shm/fastdds_*'):
        try:
            if os.stat(path).st_mtime >= since and path not in used:
                os.unlink(path)
        except OSError:
            pass


def stop_tagged(tag, started, grace=10.0):
    """Stop what is left of tag: SIGTERM, then SIGKILL; return the pids that had to go."""
    left = tagged_pids(tag)
    if not left:
        return []
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in tagged_pids(tag):
            try:
                os.kill(pid, sig)
            except OSError:
                pass
        if _wait_gone(tag, grace):
            break
    remove_stale_shm(started)
    return left


# -- ros2 launch (or run) -------------------------------------------------------------------
class Launch:
    """``ros2 launch ARGS...`` in its own process, its output in a file.

    :param args: what follows ``ros2 launch`` (strings, as a shell passes them).
    :param env: extra environment variables.
    :param verb: ``run`` for ``ros2 run ARGS...``.
    :param cwd: the folder to run it in.
    """

    def __init__(self, *args, env=None, verb='launch', cwd=None):
        self.verb = verb
        self.args = list(args)
        self.tag = '%s-%s' % (verb, uuid.uuid4().hex[:12])
        self.log_path = os.path.join(_SESSION, self.tag + '.log')
        self._log = open(self.log_path, 'w')
        self.started = time.time()
        self.proc = subprocess.Popen(_SIGINT_DEFAULT + ['ros2', verb] + self.args,
                                     stdout=self._log, stderr=subprocess.STDOUT, cwd=cwd,
                                     env=tool_env(self.tag, env), start_new_session=True)
        self.killed = []

    def __repr__(self):
        return 'ros2 %s %s' % (self.verb, ' '.join(self.args))

    def output(self):
        """Everything the launch (and its nodes) printed so far."""
        with open(self.log_path, errors='replace') as f:
            return f.read()

    def launch_lines(self):
        """Lines printed by the launch process itself (not prefixed by a process name)."""
        return [line for line in self.output().splitlines()
                if not re.match(r'^\[[\w.-]+-\d+\] ', line)]

    def wait_for(self, pattern, timeout=60.0, count=1):
        """Wait until regex pattern matches count times in the output; return the matches."""
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while True:
            found = rx.findall(self.output())
            if len(found) >= count or time.monotonic() > deadline:
                return found if len(found) >= count else []
            if self.proc.poll() is not None:
                found = rx.findall(self.output())
                return found if len(found) >= count else []
            time.sleep(0.1)

    def wait_exit(self, timeout=60.0):
        """Wait for the launch process to end by itself; return its code (None: running)."""
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def pids(self):
        """Ids of the launch process and every process it started that is still alive."""
        return tagged_pids(self.tag)

    def node_pids(self):
        """Ids of the camera node processes this launch started that are still alive."""
        return [p for p in self.pids()
                if any(a.endswith('/camera_node/camera_node') for a in command_of(p)[:2])]

    def stop(self, timeout=30.0):
        """Press Ctrl-C, wait, stop whatever is left; return the exit code.

        SIGINT goes to the process group, as a terminal sends it. ``killed`` lists the
        processes that did not end by themselves within the timeout.
        """
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGINT)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                pass
        _wait_gone(self.tag, 10.0)
        self.killed = stop_tagged(self.tag, self.started)
        if self.proc.poll() is None:
            self.proc.wait(10)
        self._log.close()
        return self.proc.returncode


# -- ros2 verbs ----------------------------------------------------------------------------
def ros2(*args, timeout=60.0, stop_after=None, env=None, shell=False):
    """Run ``ros2 ARGS...`` and return the CompletedProcess (text output).

    :param stop_after: send SIGINT after this many seconds (for verbs that run until
        stopped, such as ``topic hz``) and return what was printed.
    :param shell: run args[0] as a shell command line (a documented pipeline).
    :raises subprocess.TimeoutExpired: after timeout (the process group is killed).
    """
    tag = 'ros2-%s' % uuid.uuid4().hex[:12]
    started = time.time()
    cmd = ['bash', '-c', args[0]] if shell else ['ros2'] + [str(a) for a in args]
    proc = subprocess.Popen(_SIGINT_DEFAULT + cmd, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=tool_env(tag, env),
                            start_new_session=True)
    try:
        if stop_after is not None:
            try:
                out, err = proc.communicate(timeout=stop_after)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGINT)
                out, err = proc.communicate(timeout=timeout)
        else:
            out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        stop_tagged(tag, started)
        remove_stale_shm(started)
        raise
    finally:
        stop_tagged(tag, started)
    return subprocess.CompletedProcess(cmd, proc.returncode, out, err)


def ros2_until(args, ok, timeout=90.0, attempt=30.0, shell=False):
    """Repeat ``ros2 ARGS`` until ok(result); return the last result.

    For idempotent verbs only: they are repeated while they do not see the node yet, and
    when one hangs. (The verbs that call a service wait for its answer without a timeout,
    and right after discovery a busy host can lose that answer: a ROS 2 service race.)
    """
    deadline = time.monotonic() + timeout
    while True:
        try:
            res = ros2(*args, timeout=max(5.0, min(attempt, deadline - time.monotonic())),
                       shell=shell)
        except subprocess.TimeoutExpired:
            if time.monotonic() > deadline:
                raise
            continue
        if ok(res) or time.monotonic() > deadline:
            return res
        time.sleep(0.5)


#: arguments for ros2 verbs that look nodes up: no daemon (discovery gets a second; the
#: callers repeat a verb that did not find the node yet)
NO_DAEMON = ('--no-daemon', '--spin-time', '1')


# -- the same through the test's own node (quicker than a ros2 verb) -----------------------
def get_parameters(probe, node, *names):
    """Return the values of parameters of node, asked from the test's probe node."""
    from rcl_interfaces.srv import GetParameters
    from rclpy.parameter import parameter_value_to_python
    res = probe.call(GetParameters, node + '/get_parameters',
                     GetParameters.Request(names=list(names)), timeout=60)
    assert res is not None, 'no answer from %s/get_parameters' % node
    return [parameter_value_to_python(v) for v in res.values]


def set_parameters(probe, node, **values):
    """Set parameters of node from the test's probe node; each must be accepted."""
    from rcl_interfaces.srv import SetParameters
    from rclpy.parameter import Parameter
    request = SetParameters.Request(parameters=[Parameter(k, value=v).to_parameter_msg()
                                                for k, v in values.items()])
    res = probe.call(SetParameters, node + '/set_parameters', request, timeout=60)
    assert res is not None and all(r.successful for r in res.results), res
