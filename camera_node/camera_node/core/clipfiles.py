"""Creating a new file or folder under the clip directory, and nowhere else.

:func:`create_under` is the only place clips touch the file system by name. It is written
to be replaced, at merge, by the package's one file-access policy (``core/files.py``,
issue #10): same contract, same checks.
"""

from __future__ import annotations

import os
from typing import BinaryIO, Union


def create_under(directory: str, name: str, folder: bool = False) -> Union[BinaryIO, str]:
    """Create ``directory/name`` as a new file (return it open for binary writing) or folder.

    * ``name`` is one path component: no separator, not ``.`` or ``..``, no NUL, at most
      255 bytes; anything else raises ValueError.
    * ``directory`` is created (with parents) if missing; it may itself be a symbolic link
      (a data disk mounted elsewhere), but the entry created under it never follows one:
      it is opened relative to a descriptor of ``directory`` with ``O_EXCL | O_NOFOLLOW``
      (a folder with ``mkdir``, which never follows), so a name that exists already, as
      anything, raises FileExistsError and nothing is overwritten.
    * files are created ``0644``, folders ``0755`` (less the umask).

    :returns: the open file object, or for ``folder=True`` the folder's path.
    """
    if (not isinstance(name, str) or not name or name in ('.', '..') or '/' in name
            or os.sep in name or (os.altsep and os.altsep in name) or '\0' in name
            or len(name.encode('utf-8', 'surrogateescape')) > 255):
        raise ValueError('%r is not a plain file name (no separators, not . or ..)' % (name,))
    os.makedirs(directory, exist_ok=True)
    dir_fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        if folder:
            os.mkdir(name, 0o755, dir_fd=dir_fd)
            return os.path.join(directory, name)
        flags = (os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
                 | getattr(os, 'O_BINARY', 0))
        fd = os.open(name, flags, 0o644, dir_fd=dir_fd)
    finally:
        os.close(dir_fd)
    return os.fdopen(fd, 'wb', buffering=1 << 20)
