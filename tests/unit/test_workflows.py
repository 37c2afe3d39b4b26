"""The GitHub workflows pass actionlint and zizmor (pedantic, offline), both pinned in requirements.txt."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
BIN = Path(sys.executable).parent
#: A workflow with the faults the real ones must not have: an unpinned action, default
#: permissions, a checkout that keeps its token, an expression expanded into a shell script.
FLAWED = """\
on: [push, pull_request_target]
jobs:
  show:
    runs-on: ubuntu-24.04
    steps:
      - uses: actions/checkout@v5
      - run: echo "${{ github.event.pull_request.title }}"
      - run: echo ${{ matrix.missing }}
"""


def actionlint(*paths: Path) -> subprocess.CompletedProcess:
    return subprocess.run([BIN / "actionlint", "-no-color", *map(str, paths)], capture_output=True, text=True, cwd=ROOT)


def zizmor(*paths: Path) -> subprocess.CompletedProcess:
    command = [BIN / "zizmor", "--offline", "--no-progress", "--persona=pedantic", "--color=never", *map(str, paths)]
    return subprocess.run(command, capture_output=True, text=True, cwd=ROOT)


def test_there_is_a_workflow_to_lint():
    assert [path.name for path in WORKFLOWS] == ["publish.yml"]


@pytest.mark.parametrize("lint", [actionlint, zizmor])
def test_the_workflows_have_no_finding(lint):
    result = lint(*WORKFLOWS)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("lint", [actionlint, zizmor])
def test_each_linter_reports_a_flawed_workflow(lint, tmp_path):
    flawed = tmp_path / ".github" / "workflows" / "flawed.yml"
    flawed.parent.mkdir(parents=True)
    flawed.write_text(FLAWED)
    result = lint(flawed)
    assert result.returncode != 0 and "flawed.yml" in result.stdout + result.stderr
