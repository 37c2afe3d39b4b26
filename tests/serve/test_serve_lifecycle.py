"""`scripts/serve` as a reader runs it: with no daemon it starts a lab of its own, serves live
outputs, and on Ctrl-C (SIGINT), SIGTERM or a closed terminal (SIGHUP) stops everything it
started; `--recorded` never touches Docker. Needs root, dockerd, docker-registry and Alpine's
minirootfs: without them a laptop skips (reason shown), and under CI=true that is a failure,
never a silent skip."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import pytest

from doclab.lab.network import bridge_name
from doclab.lab.processes import lab_processes
from doclab.tools.serve import NO_DAEMON_HOST

ROOT = Path(__file__).resolve().parents[2]
SHARED_ROOTFS = ROOT.parent / "shared" / "alpine" / "alpine-minirootfs-3.18.9-x86_64.tar.gz"
IN_CI = os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def _unavailable(message: str):
    if IN_CI:
        pytest.fail(f"{message} (CI=true: this is a failure, not a skip)", pytrace=False)
    pytest.skip(message)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_for(predicate, seconds: float, what: str, log: Path, process: subprocess.Popen):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return
        if process.poll() is not None:  # ended: nothing will come, and its log says why
            pytest.fail(f"{what}: scripts/serve ended (exit {process.returncode}); it printed:\n"
                        f"{log.read_text(errors='replace')[-3000:]}")
        time.sleep(0.3)
    pytest.fail(f"{what} within {seconds:g} s; scripts/serve printed:\n{log.read_text(errors='replace')[-3000:]}")


def _page(port: int, path: str) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/{path}", timeout=10) as response:
        return response.read().decode()


def _serving(port: int) -> bool:
    try:
        return "<html" in _page(port, "")
    except OSError:
        return False


def _start_serve(tmp_path: Path, env: dict[str, str], *options: str) -> tuple[subprocess.Popen, int, Path]:
    port = _free_port()
    log = tmp_path / "serve.log"
    # Its own captures folder: a live build must never rewrite the project's records from a test.
    shutil.copytree(ROOT / "captures", tmp_path / "captures")
    # A reader's serve: no DOCLAB_STRICT (CI sets it for the suite), and no daemon of the suite's.
    inherited = {key: value for key, value in os.environ.items() if key != "DOCLAB_STRICT"}
    env = {**inherited, "DOCKER_HOST": NO_DAEMON_HOST, "DOCLAB_CAPTURES_DIR": str(tmp_path / "captures"), **env}
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(ROOT / "scripts" / "serve"), *options, "--dev-addr", f"127.0.0.1:{port}"],
            cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )
    return process, port, log


def _stop(process: subprocess.Popen, sig: int, log: Path) -> int:
    process.send_signal(sig)
    try:
        return process.wait(timeout=90)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        pytest.fail(f"scripts/serve did not stop within 90 s of {sig.name}:\n{log.read_text(errors='replace')[-3000:]}")


def _never_left_running(process: subprocess.Popen, lab_dir: Path) -> None:
    """After a failed assertion too: serve stopped as a reader stops it (its mkdocs runs in a process
    group of its own, which a kill of serve's group would miss), and its lab taken down."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=90)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
    if lab_dir.exists():
        subprocess.run([sys.executable, "-m", "doclab.lab", "down"], cwd=ROOT, capture_output=True, timeout=120,
                       env={**os.environ, "DOCLAB_LAB_DIR": str(lab_dir)})


@pytest.fixture
def lab_prerequisites():
    if os.geteuid() != 0:
        _unavailable("the lab's dockerd needs root")
    for binary, package in (("dockerd", "docker.io"), ("docker-registry", "docker-registry")):
        if shutil.which(binary) is None:
            _unavailable(f"{binary} is missing: apt-get install {package}")
    rootfs = os.environ.get("DOCLAB_ALPINE_ROOTFS") or str(SHARED_ROOTFS)
    if not Path(rootfs).is_file():
        _unavailable(f"Alpine's minirootfs is not at {rootfs}: set DOCLAB_ALPINE_ROOTFS")
    return rootfs


@pytest.mark.docker
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP], ids=["ctrl-c", "sigterm", "terminal-closed"])
def test_with_no_daemon_serve_runs_its_own_lab_and_leaves_nothing_running(tmp_path, lab_prerequisites, sig):
    # Short: the lab's socket paths must fit in 108 bytes.
    lab_dir = Path(f"/tmp/doclab-st-{uuid.uuid4().hex[:6]}")
    # One page daemon ahead, not one a job: the records are current, no page runs, and each daemon costs a start.
    env = {"DOCLAB_LAB_DIR": str(lab_dir), "DOCLAB_REGISTRY_PORT": str(_free_port()), "DOCLAB_ALPINE_ROOTFS": lab_prerequisites,
           "DOCLAB_JOBS": "1"}
    process, port, log = _start_serve(tmp_path, env)
    try:
        _wait_for(lambda: _serving(port), 300, "the site was not served", log, process)
        assert "starting the lab for live outputs" in log.read_text()
        assert (lab_dir / "main.sock").exists()
        page = _page(port, "mini-project/")
        assert "Every output on this page was captured on" in page and "Recorded on" not in page, "with the lab up, outputs are live"
        returncode = _stop(process, sig, log)
    finally:
        _never_left_running(process, lab_dir)
    printed = log.read_text()
    assert returncode == 0, printed[-3000:]
    assert "lab down: nothing left running" in printed
    assert lab_processes(lab_dir) == []
    assert not lab_dir.exists()
    assert not Path(f"/sys/class/net/{bridge_name(lab_dir, 'main')}").exists()
    assert not _serving(port)


def test_recorded_serves_the_records_and_never_starts_a_lab(tmp_path):
    lab_dir = Path(f"/tmp/doclab-st-{uuid.uuid4().hex[:6]}")
    process, port, log = _start_serve(tmp_path, {"DOCLAB_LAB_DIR": str(lab_dir)}, "--recorded")
    try:
        _wait_for(lambda: _serving(port), 120, "the site was not served", log, process)
        assert "Recorded on" in _page(port, "mini-project/")
        assert _stop(process, signal.SIGINT, log) == 0
    finally:
        _never_left_running(process, lab_dir)
    assert "--recorded: recorded outputs, Docker is not contacted" in log.read_text()
    assert not lab_dir.exists()
