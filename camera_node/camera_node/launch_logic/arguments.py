"""What the user typed on the ``ros2 launch`` command line, and names nobody takes.

``ros2 launch`` accepts any ``name:=value`` and launch files see only the arguments they
look for, so a typo (``widht:=1280``) would be ignored without a word. The launch files
check the arguments given on the command line, but only when ``ros2 launch`` was asked to
run them: included from another launch file, the command line belongs to that file.
"""

from __future__ import annotations

import os
import sys
from typing import Dict, Iterable, Mapping, Optional, Sequence

from .specs import did_you_mean

#: ``name:=value`` items ros2 launch adds itself (from --launch-prefix options)
_ROS2_LAUNCH_OWN = ('launch-prefix', 'launch-prefix-filter')


def launched_directly(launch_file: str, package: str,
                      process_argv: Optional[Sequence[str]] = None) -> bool:
    """Whether this process is ``ros2 launch PACKAGE FILE ...`` or ``ros2 launch PATH ...``.

    :param launch_file: the launch file's own path (its ``__file__``).
    :param package: the package it is installed in.
    :param process_argv: the command line (default ``sys.argv``).
    """
    argv = list(sys.argv if process_argv is None else process_argv)
    base = os.path.basename(launch_file)
    real = os.path.realpath(launch_file)
    words = argv[1:]
    for i, word in enumerate(words):
        if ':=' in word:                     # the launch arguments start here
            break
        if word == base and i > 0 and words[i - 1] == package:
            return True
        if os.path.basename(word) == base and os.path.realpath(word) == real:
            return True
    return False


def command_line(context_argv: Iterable[str], launch_file: str, package: str,
                 process_argv: Optional[Sequence[str]] = None) -> Optional[Dict[str, str]]:
    """Return the ``name:=value`` arguments given to this launch file, or None.

    None means the file was not the one ``ros2 launch`` was asked to run (so its command
    line is another file's). ``context_argv`` is the launch context's ``argv``, where
    ``ros2 launch`` puts them.
    """
    if not launched_directly(launch_file, package, process_argv):
        return None
    out: Dict[str, str] = {}
    for item in context_argv:
        name, sep, value = str(item).partition(':=')
        if sep and name not in _ROS2_LAUNCH_OWN:
            out[name] = value
    return out


def reject_unknown(given: Optional[Mapping[str, str]], known: Iterable[str],
                   launch_file: str, what_else: str, suggestions: Iterable[str] = ()) -> None:
    """Raise ValueError naming every given argument that is not in known.

    :param given: the command-line arguments (:func:`command_line`); None checks nothing.
    :param known: the names the launch file takes (arguments and pass-through names).
    :param launch_file: the file's name, for the message.
    :param what_else: what the name is not besides an argument, for the message.
    :param suggestions: further names to propose for a misspelt one.
    """
    if not given:
        return
    known = set(known)
    unknown = [name for name in given if name not in known]
    if not unknown:
        return
    candidates = known | set(suggestions)
    hint = ' (did you mean %s?)'
    items = ['%s:=%s%s' % (name, given[name], did_you_mean(name, candidates, hint))
             for name in unknown]
    raise ValueError(
        'unknown launch argument%s %s: %s has no such argument%s (ros2 launch camera_node '
        '%s --show-args lists them)' % (
            's' if len(unknown) > 1 else '', ', '.join(items), launch_file, what_else,
            launch_file))
