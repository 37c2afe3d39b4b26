"""The lab itself: up, a pull through its registry, down — and nothing of it left behind."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from doclab import daemon
from doclab.lab import Lab, lab_processes
from doclab.settings import Settings
from tests.conftest import ROOT
from tests.docker_env import running_lab, unavailable


def lab_command(action: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "doclab.lab", action], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)


@pytest.mark.docker
def test_lab_up_serves_alpine_through_its_mirror_and_down_leaves_nothing(tmp_path):
    main_lab = running_lab()
    if main_lab.missing():
        unavailable("a second lab cannot start: " + "; ".join(main_lab.missing()))
    lab_dir = Path("/tmp") / f"doclab-test-{tmp_path.name[-6:]}"
    env = {**os.environ, "DOCLAB_LAB_DIR": str(lab_dir),
           "DOCLAB_REGISTRY_PORT": str(main_lab.settings.registry_port + 1)}
    started = time.monotonic()
    up = lab_command("up", env)
    up_seconds = time.monotonic() - started
    assert up.returncode == 0, up.stdout + up.stderr
    assert f"export DOCKER_HOST=unix://{lab_dir}/main.sock" in up.stdout
    lab = Lab(Settings.from_env(env))
    try:
        assert lab_command("status", env).returncode == 0
        api = daemon.connect(base_url=f"unix://{lab_dir}/main.sock")
        assert daemon.OWNED_LABEL in api.info()["Labels"]
        assert api.images.list() == [], "a fresh lab daemon must start with an empty image store"
        image = api.images.pull("alpine", tag="3.18")
        served = requests.head(f"{lab.registry_url}/v2/library/alpine/manifests/3.18", timeout=10,
                               headers={"Accept": "application/vnd.docker.distribution.manifest.v2+json"})
        assert image.attrs["RepoDigests"] == [f"alpine@{served.headers['Docker-Content-Digest']}"]
        assert api.containers.run("alpine:3.18", ["cat", "/etc/alpine-release"], remove=True) == b"3.18.9\n"
        api.close()
        # An interrupted run: a page daemon killed with its shims, mounts and namespace, and no socket left.
        interrupted = lab.start_daemon("build-interrupted")
        with daemon.connected(base_url=interrupted.docker_host) as page_api:
            page_api.containers.run("registry:2", detach=True, ports={"5000/tcp": 5000})
        os.kill(int((lab_dir / "build-interrupted.pid").read_text()), 9)
        (lab_dir / "build-interrupted.sock").unlink()
    finally:
        down = lab_command("down", env)
    assert down.returncode == 0, down.stdout + down.stderr
    assert "no process left" in down.stdout
    assert lab_processes(lab_dir) == []
    assert not lab_dir.exists()
    assert not [line for line in Path("/proc/mounts").read_text().splitlines() if str(lab_dir) in line]
    assert lab.netns_prefix not in subprocess.run(["ip", "netns"], capture_output=True, text=True).stdout
    print(f"\nlab up {up_seconds:.2f} s")


def test_lab_up_names_what_is_missing(tmp_path):
    env = {"PATH": "/nonexistent", "DOCLAB_LAB_DIR": str(tmp_path / "lab"), "DOCLAB_ALPINE_ROOTFS": ""}
    result = lab_command("up", env)
    assert result.returncode == 2
    for needed in ("dockerd: apt-get install docker.io", "docker-registry: apt-get install docker-registry",
                   "DOCLAB_ALPINE_ROOTFS: set it to the path of alpine-minirootfs-3.18.9-x86_64.tar.gz"):
        assert needed in result.stderr
