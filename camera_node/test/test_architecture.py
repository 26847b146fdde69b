"""The layers of docs/architecture.md hold: who may import whom, no cycles, small modules.

Read from the source with ``ast`` (nothing is imported), so a violation is reported with the
module and the import that breaks the rule.
"""

import ast
import os

import pytest

PKG = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'camera_node')
#: layer -> the package layers it may import (besides itself)
ALLOWED = {
    'core': set(),
    'viam': {'core'},
    'drivers': {'core'},
    'ros': {'core', 'viam', 'drivers'},
    'client': {'viam'},
    'launch_logic': {'core', 'drivers'},
    'cli': {'core', 'viam', 'drivers', 'ros', 'client', 'launch_logic'},
    '__main__': {'cli'},
    '__init__': set(),
}
#: third-party modules a layer must not import
FORBIDDEN = {'core': ('rclpy',), 'viam': ('rclpy',), 'drivers': ('rclpy',),
             'launch_logic': ('rclpy', 'launch', 'launch_ros')}
MAX_LINES = 420


def _modules():
    for root, _dirs, files in os.walk(PKG):
        for name in files:
            if name.endswith('.py'):
                path = os.path.join(root, name)
                rel = os.path.relpath(path, PKG)[:-3].replace(os.sep, '.')
                yield rel[:-len('.__init__')] if rel.endswith('.__init__') else rel, path


def _imports(mod, path):
    """Yield (absolute module imported, line) for every import in a module."""
    tree = ast.parse(open(path).read(), path)
    is_pkg = path.endswith('__init__.py')
    parts = ['camera_node'] + mod.split('.')
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                yield a.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = parts if is_pkg else parts[:-1]
                base = base[:len(base) - node.level + 1]
                target = '.'.join(base + ([node.module] if node.module else []))
            else:
                target = node.module
            yield target, node.lineno
            for a in node.names:  # `from . import x` may name a submodule
                yield target + '.' + a.name, node.lineno


def _layer(dotted):
    parts = dotted.split('.')
    return parts[1] if parts[0] == 'camera_node' and len(parts) > 1 else None


GRAPH = {}
for _mod, _path in _modules():
    GRAPH['camera_node.' + _mod] = list(_imports(_mod, _path))


@pytest.mark.parametrize('module', sorted(GRAPH))
def test_layers_import_only_what_is_below_them(module):
    layer = _layer(module)
    if layer not in ALLOWED:
        pytest.fail('%s is in no known layer: add it to docs/architecture.md and ALLOWED'
                    % module)
    for target, line in GRAPH[module]:
        other = _layer(target)
        if target.split('.')[0] in FORBIDDEN.get(layer, ()):
            pytest.fail('%s:%d imports %s, which the %s layer must not use'
                        % (module, line, target, layer))
        if other is None or other == layer or other not in ALLOWED:
            continue
        assert other in ALLOWED[layer], '%s:%d imports %s: %s may not depend on %s' % (
            module, line, target, layer, other)


def test_no_import_cycles():
    names = set(GRAPH)
    edges = {m: {t for t, _ in GRAPH[m] if t in names and t != m} for m in names}
    state = {}

    def visit(m, stack):
        state[m] = 'open'
        for t in sorted(edges[m]):
            if state.get(t) == 'open':
                cycle = stack[stack.index(t):] + [t]
                pytest.fail('import cycle: ' + ' -> '.join(cycle))
            if t not in state:
                visit(t, stack + [t])
        state[m] = 'done'
    for m in sorted(names):
        if m not in state:
            visit(m, [m])


@pytest.mark.parametrize('module', sorted(GRAPH))
def test_modules_stay_small(module):
    path = os.path.join(PKG, *module.split('.')[1:]) + '.py'
    if not os.path.exists(path):
        path = os.path.join(PKG, *module.split('.')[1:], '__init__.py')
    n = sum(1 for _ in open(path))
    assert n <= MAX_LINES, '%s has %d lines; split it by concern (limit %d)' % (
        module, n, MAX_LINES)
