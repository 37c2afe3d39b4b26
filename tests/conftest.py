import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.docker_env import fresh_daemon

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class BuildResult:
    returncode: int
    output: str
    seconds: float
    site: Path

    def page(self, name: str) -> str:
        return (self.site / name / "index.html").read_text()


def build_site(site: Path, env: dict[str, str], config: Path = ROOT / "mkdocs.yml") -> BuildResult:
    """``mkdocs build --strict`` in a child process, as an author or CI runs it."""
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(config), "-d", str(site)],
        cwd=config.parent, env={**os.environ, "NO_MKDOCS_2_WARNING": "1", **env},
        capture_output=True, text=True, timeout=600,
    )
    return BuildResult(done.returncode, done.stdout + done.stderr, time.monotonic() - started, site)


def lab_command(action: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    """``python -m doclab.lab ACTION`` in a child process, as an author runs it."""
    return subprocess.run([sys.executable, "-m", "doclab.lab", action], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)


@pytest.fixture
def lab_daemon(request):
    """A fresh lab daemon (empty image store, the lab registry as mirror) for this test only."""
    with fresh_daemon(request.node.name) as handle:
        yield handle
