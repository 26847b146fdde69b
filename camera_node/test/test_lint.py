"""Lint in the ament style: flake8 (99 columns, single quotes), pep257, package.xml checks.

ament_flake8, ament_pep257 and ament_xmllint are not installable without a ROS distro, so
these tests run the same checkers with ament's settings directly.
"""

import glob
import os
import subprocess
import sys
import xml.dom.minidom

import pytest

PKG = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REPO = os.path.dirname(PKG)
PY_PATHS = [os.path.join(PKG, 'camera_node'), os.path.join(PKG, 'test'),
            os.path.join(PKG, 'launch'), os.path.join(PKG, 'setup.py')]
# ament_pep257's default ignore list
PEP257_IGNORE = 'D100,D101,D102,D103,D104,D105,D106,D107,D203,D212,D404'


def _run(args):
    return subprocess.run([sys.executable, '-m'] + args, capture_output=True, text=True,
                          cwd=PKG)


@pytest.mark.linter
def test_flake8():
    paths = [p for p in PY_PATHS if os.path.exists(p)]
    res = _run(['flake8', '--max-line-length=99', '--inline-quotes=single',
                '--extend-ignore=W503,W504'] + paths)
    assert res.returncode == 0, 'flake8 found problems:\n' + res.stdout + res.stderr


@pytest.mark.linter
def test_pep257():
    paths = [os.path.join(PKG, 'camera_node'), os.path.join(PKG, 'launch'),
             os.path.join(PKG, 'test', 'ros_tools.py'),
             os.path.join(PKG, 'test', 'doc_commands.py')]
    res = _run(['pydocstyle', '--add-ignore=' + PEP257_IGNORE,
                '--match=(?!test_).*\\.py'] + paths)
    assert res.returncode == 0, 'pep257 found problems:\n' + res.stdout + res.stderr


@pytest.mark.linter
@pytest.mark.parametrize('path', sorted(
    glob.glob(os.path.join(REPO, '*', 'package.xml'))
    + glob.glob(os.path.join(REPO, 'compat', '*', 'package.xml'))))
def test_package_xml(path):
    """Well-formed XML, package format 3, and accepted by catkin_pkg (as colcon reads it)."""
    from catkin_pkg.package import parse_package
    doc = xml.dom.minidom.parse(path)
    assert doc.documentElement.getAttribute('format') == '3'
    pkg = parse_package(path)
    pkg.validate()
    assert pkg.name == os.path.basename(os.path.dirname(path))


@pytest.mark.linter
def test_launch_and_config_files_parse():
    import yaml
    for path in glob.glob(os.path.join(PKG, 'config', '*.yaml')):
        with open(path) as f:
            data = yaml.safe_load(f)
        assert '/**' in data, '%s must be keyed with /**: so a renamed node keeps it' % path
        assert 'ros__parameters' in data['/**'], path
    for path in glob.glob(os.path.join(PKG, 'config', '*.xml')):
        xml.dom.minidom.parse(path)
