"""The ``ros2`` command lines of README.md and docs/, and which tests run them.

A test that runs a documented command takes it through :func:`doc`, which checks that the
docs hold it exactly (so a changed doc line fails its test) and records it.
test_doc_commands.py checks that every documented command is recorded: run by a test, or
set aside with :func:`not_run` and the reason.
"""

import glob
import os
import re
import shlex

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
#: where the documented commands are
DOC_FILES = ['README.md'] + sorted(
    os.path.relpath(p, REPO) for p in glob.glob(os.path.join(REPO, 'docs', '**', '*.md'),
                                                recursive=True))
#: modules whose tests run documented commands (imported to fill the records)
TEST_MODULES = ('test_tools_camera', 'test_tools_hardware', 'test_tools_launch',
                'test_tools_multi')

#: command -> how it is exercised (test module) or why it is not run
RECORDED = {}


def _normalize(command):
    return ' '.join(command.split())


def _strip_comment(line):
    """Drop a trailing shell comment (`` # ...`` outside quotes)."""
    quote = None
    for i, c in enumerate(line):
        if quote:
            if c == quote:
                quote = None
        elif c in '\'"':
            quote = c
        elif c == '#' and (i == 0 or line[i - 1].isspace()):
            return line[:i].rstrip()
    return line.rstrip()


def _code_lines(text):
    """Yield the shell lines of fenced (```bash, ```) and indented code blocks."""
    fence = None
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith('```'):
            if fence is None:
                fence = stripped[3:].strip() or 'sh'
            else:
                fence = None
            continue
        if fence is not None:
            if fence in ('bash', 'sh', 'shell', 'console'):
                yield stripped
        elif line.startswith('    ') and stripped:
            yield stripped


def _commands_in(text):
    pending = ''
    for line in _code_lines(text):
        line = pending + _strip_comment(line)
        pending = ''
        if line.endswith('\\'):
            pending = line[:-1] + ' '
            continue
        if line.startswith('ros2 '):
            yield _normalize(line)
    # inline code spans that are whole commands: a path, an argument or an option in them
    for span in re.findall(r'`(ros2 [^`]+)`', text):
        if re.search(r'/|:=|\.yaml|--', span) and '...' not in span:
            yield _normalize(span)


def documented_commands():
    """Return {command: [doc files holding it]} of every documented ``ros2`` command."""
    out = {}
    for rel in DOC_FILES:
        with open(os.path.join(REPO, rel)) as f:
            for command in _commands_in(f.read()):
                out.setdefault(command, [])
                if rel not in out[command]:
                    out[command].append(rel)
    return out


def doc(command, by=None):
    """Return command (as documented) after checking the docs hold it; record who runs it."""
    command = _normalize(command)
    if command not in documented_commands():
        raise AssertionError('not in README.md or docs/ (changed?): %s' % command)
    RECORDED.setdefault(command, by or 'a test')
    return command


def not_run(command, reason):
    """Record a documented command that no test runs as written, and why."""
    RECORDED[doc(command)] = 'not run: ' + reason
    return command


def words(command, verb):
    """Split a documented command after ``ros2 VERB`` into its arguments."""
    args = shlex.split(command)
    assert args[:2] == ['ros2', verb], command
    return args[2:]
