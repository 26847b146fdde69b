"""Every ``ros2`` command line of README.md and docs/ is run by a test (or says why not).

The tests that run them need the real ROS tools and skip without them; this check does
not, so a command added to the docs without a test fails on every machine.
"""

import importlib

import doc_commands


def test_every_documented_command_is_run_by_a_test():
    for name in doc_commands.TEST_MODULES:
        importlib.import_module(name)
    documented = doc_commands.documented_commands()
    missing = sorted(set(documented) - set(doc_commands.RECORDED))
    assert not missing, 'documented but run by no test:\n' + '\n'.join(
        '%s (%s)' % (c, ', '.join(documented[c])) for c in missing)
    not_run = {c: why for c, why in doc_commands.RECORDED.items() if why.startswith('not run')}
    assert len(not_run) <= 1, not_run           # only the RTSP camera at 10.0.0.5


def test_commands_are_found_in_code_blocks_and_inline():
    text = '\n'.join([
        '```bash',
        'ros2 launch a b.launch.py x:=1 \\',
        "    y:='[1, 2]'   # a comment",
        'ros2 topic hz /t  # rate',
        '```',
        '```python',
        'ros2 = 1',
        '```',
        'Inline: `ros2 service call /s t/srv/T "{}"`, prose: `ros2 launch`, `ros2 param set`.',
        '',
        '    ros2 run pkg exe --flag',
    ])
    assert list(doc_commands._commands_in(text)) == [
        "ros2 launch a b.launch.py x:=1 y:='[1, 2]'", 'ros2 topic hz /t',
        'ros2 run pkg exe --flag', 'ros2 service call /s t/srv/T "{}"']
