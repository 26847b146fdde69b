"""The file-access policy: what the node may read, where it may write, what errors say.

Everything the node reads or writes because of a value a caller can set (a parameter, a
service request) goes through here; docs/security.md is the policy in prose.

Reading (:func:`read_small_file`): regular files only (no directories, devices, FIFOs or
sockets: the type is checked before the file is opened, and again on the open descriptor,
which is opened non-blocking), at most ``max_bytes``; a file that cannot be read is
refused with one message whatever the reason, so a caller learns no more than "not
usable". ``package://`` paths stay inside the package's share folder
(:func:`package_path`).

Writing (:func:`replace_file`, :func:`open_new_file`, :func:`make_new_folder`): one plain
name in one directory,
the directory opened once and every step taken relative to it; a new file is created
exclusively (``O_CREAT | O_EXCL | O_NOFOLLOW``, so a planted file or symbolic link makes
it fail rather than be followed); a replacement is written to such a new temporary file,
flushed and renamed over the target, never through a symbolic link.

Error texts (:class:`FileAccessError`) never hold file contents.
"""

from __future__ import annotations

import errno
import os
import re
import secrets
import stat
from typing import BinaryIO, Callable, Optional

#: largest file read for a caller-set path (a calibration file is about 1 KiB)
MAX_READ_BYTES = 64 * 1024
#: longest file name accepted for a new file (Linux NAME_MAX)
MAX_NAME_BYTES = 255

_NAME_RE = re.compile(r'^[A-Za-z0-9_][A-Za-z0-9_.\-]*$')


class FileAccessError(ValueError):
    """A path the policy refuses, or a file that cannot be used; the text is safe to show."""


def check_file_name(name: str) -> Optional[str]:
    """Return why name is not a plain file name for a new file, or None.

    A plain name is one path component of letters, digits, ``_``, ``-`` and ``.``, not
    starting with ``.`` or ``-``, at most :data:`MAX_NAME_BYTES` bytes: no ``/``, no ``..``,
    nothing hidden, nothing a shell or a URL would read differently.
    """
    if not isinstance(name, str) or not _NAME_RE.match(name):
        return ('must be a plain file name (letters, digits, _ - and ., not starting with . '
                'or -)')
    if len(name.encode()) > MAX_NAME_BYTES:
        return 'must be at most %d bytes long' % MAX_NAME_BYTES
    return None


def _unusable(what: str) -> FileAccessError:
    return FileAccessError('%s cannot be read (missing, not a regular file, not readable, '
                           'or over %d KiB)' % (what, MAX_READ_BYTES // 1024))


def read_small_file(path: str, what: str = 'the file',
                    max_bytes: int = MAX_READ_BYTES) -> bytes:
    """Return the bytes of a regular file of at most max_bytes.

    Never opens anything but a regular file, never blocks on a FIFO or a device, never
    reads more than max_bytes + 1 bytes.

    :param what: how the error names the file (the caller's words, e.g. the URL).
    :raises FileAccessError: with one message for every reason the file is unusable.
    """
    try:
        before = os.stat(path)
    except (OSError, ValueError):   # ValueError: an embedded NUL
        raise _unusable(what) from None
    if not stat.S_ISREG(before.st_mode) or before.st_size > max_bytes:
        raise _unusable(what)
    flags = os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | getattr(os, 'O_CLOEXEC', 0)
    try:
        fd = os.open(path, flags)
    except OSError:
        raise _unusable(what) from None
    try:
        st = os.fstat(fd)
        same = (st.st_dev, st.st_ino) == (before.st_dev, before.st_ino)
        if not stat.S_ISREG(st.st_mode) or not same:
            raise _unusable(what)     # swapped between stat and open
        chunks = []
        size = 0
        while size <= max_bytes:
            chunk = os.read(fd, max_bytes + 1 - size)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > max_bytes:
            raise _unusable(what)
        return b''.join(chunks)
    except OSError:
        raise _unusable(what) from None
    finally:
        os.close(fd)


def package_path(share: str, relative: str) -> str:
    """Return ``share/relative``, refusing any path that could leave the share folder.

    ``relative`` must be a non-empty relative path without ``..`` components. Symbolic
    links inside the share (``colcon build --symlink-install``) are followed as installed.

    :raises FileAccessError: naming the rule broken (never the share's contents).
    """
    parts = [p for p in relative.split('/') if p not in ('', '.')]
    if not parts:
        raise FileAccessError('package:// URL names no file inside the package')
    if '..' in parts or '\0' in relative:
        raise FileAccessError('package:// URL must stay inside the package ("..")')
    path = os.path.join(share, *parts)
    root = os.path.normpath(share)
    if os.path.commonpath([root, os.path.normpath(path)]) != root:
        raise FileAccessError('package:// URL must stay inside the package')
    return path


def _open_dir(directory: str) -> int:
    try:
        return os.open(directory, os.O_RDONLY | os.O_DIRECTORY | getattr(os, 'O_CLOEXEC', 0))
    except OSError as exc:
        raise FileAccessError('directory %s cannot be used: %s'
                              % (directory, os.strerror(exc.errno or errno.EIO))) from None


def _create(dir_fd: int, name: str, mode: int) -> int:
    flags = (os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
             | getattr(os, 'O_CLOEXEC', 0))
    return os.open(name, flags, mode, dir_fd=dir_fd)


def _parent(directory: str, parents: bool) -> int:
    if parents:
        try:
            os.makedirs(directory, exist_ok=True)
        except OSError as exc:
            raise FileAccessError('cannot create %s: %s' % (
                directory, os.strerror(exc.errno or errno.EIO))) from None
    return _open_dir(directory)


def open_new_file(directory: str, name: str, mode: int = 0o644,
                  parents: bool = False) -> BinaryIO:
    """Create ``name`` in ``directory`` and return it open for writing (binary, buffered).

    The file must not exist yet, under any type: an existing file, directory or symbolic
    link (even a dangling one) makes this fail rather than be opened or followed. The
    directory must exist unless ``parents`` (then it is created with its parents: for a
    folder the operator configured, never for a path a caller chose). ``directory`` itself
    may be a symbolic link (a data disk mounted elsewhere). A recorder writing clips under
    a configured folder uses this.

    :raises FileAccessError: a bad name, a missing directory, or a name already taken.
    """
    reason = check_file_name(name)
    if reason:
        raise FileAccessError('file name %s' % reason)
    dir_fd = _parent(directory, parents)
    try:
        fd = _create(dir_fd, name, mode)
    except FileExistsError:
        raise FileAccessError('%s already exists in %s' % (name, directory)) from None
    except OSError as exc:
        raise FileAccessError('cannot create %s in %s: %s' % (
            name, directory, os.strerror(exc.errno or errno.EIO))) from None
    finally:
        os.close(dir_fd)
    return os.fdopen(fd, 'wb', buffering=1 << 20)


def make_new_folder(directory: str, name: str, mode: int = 0o755,
                    parents: bool = False) -> str:
    """Create the folder ``directory/name`` (which must not exist yet); return its path.

    Same rules as :func:`open_new_file` (``mkdir`` never follows a link).

    :raises FileAccessError: a bad name, a missing directory, or a name already taken.
    """
    reason = check_file_name(name)
    if reason:
        raise FileAccessError('folder name %s' % reason)
    dir_fd = _parent(directory, parents)
    try:
        os.mkdir(name, mode, dir_fd=dir_fd)
    except FileExistsError:
        raise FileAccessError('%s already exists in %s' % (name, directory)) from None
    except OSError as exc:
        raise FileAccessError('cannot create %s in %s: %s' % (
            name, directory, os.strerror(exc.errno or errno.EIO))) from None
    finally:
        os.close(dir_fd)
    return os.path.join(directory, name)


def replace_file(directory: str, name: str, data: bytes,
                 may_replace: Optional[Callable[[bytes], Optional[str]]] = None,
                 mode: int = 0o644) -> str:
    """Write data as ``directory/name`` atomically; return the path written.

    The data goes to a new temporary file in the same directory (created exclusively,
    random name), is flushed to disk, and is renamed over ``name``. An existing ``name``
    must be a regular file (a symbolic link, directory or device there is refused, never
    followed); ``may_replace(old bytes)`` then returns why it must not be replaced, or
    None. Readers see the old file or the new one, never a part.

    :raises FileAccessError: with the reason (no file contents).
    """
    reason = check_file_name(name)
    if reason:
        raise FileAccessError('file name %s' % reason)
    dir_fd = _open_dir(directory)
    tmp = None
    try:
        try:
            old = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
        except FileNotFoundError:
            old = None
        if old is not None:
            if not stat.S_ISREG(old.st_mode):
                raise FileAccessError('%s in %s is not a regular file (a link, directory or '
                                      'device): not replaced' % (name, directory))
            if may_replace is not None:
                current = _read_at(dir_fd, name)
                why = may_replace(current)
                if why:
                    raise FileAccessError(why)
        for _ in range(8):
            candidate = '.%s.%s.tmp' % (name, secrets.token_hex(6))
            try:
                fd = _create(dir_fd, candidate, mode)
            except FileExistsError:
                continue
            tmp = candidate
            break
        else:
            raise FileAccessError('cannot create a temporary file in %s' % directory)
        with os.fdopen(fd, 'wb') as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
        tmp = None
        return os.path.join(directory, name)
    except OSError as exc:
        raise FileAccessError('cannot write %s in %s: %s' % (
            name, directory, os.strerror(exc.errno or errno.EIO))) from None
    finally:
        if tmp is not None:
            try:
                os.unlink(tmp, dir_fd=dir_fd)
            except OSError:
                pass
        os.close(dir_fd)


def _read_at(dir_fd: int, name: str) -> bytes:
    """Return a regular file's first MAX_READ_BYTES + 1 bytes (no link followed)."""
    flags = os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW | getattr(os, 'O_CLOEXEC', 0)
    fd = os.open(name, flags, dir_fd=dir_fd)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise FileAccessError('%s is not a regular file' % name)
        return os.read(fd, MAX_READ_BYTES + 1)
    finally:
        os.close(fd)


def ros_home() -> str:
    """Return ``$ROS_HOME``, else ``~/.ros`` (where ROS tools keep per-user state)."""
    home = os.environ.get('ROS_HOME')
    return home if home else os.path.join(os.path.expanduser('~'), '.ros')


def ensure_private_dir(path: str) -> str:
    """Create path (and parents) if missing, new folders mode 0700; return it.

    Only for the node's own fixed folders (``$ROS_HOME/camera_info``), never for a path
    a caller chose.
    """
    try:
        os.makedirs(path, mode=0o700, exist_ok=True)
    except OSError as exc:
        raise FileAccessError('cannot create %s: %s'
                              % (path, os.strerror(exc.errno or errno.EIO))) from None
    return path
