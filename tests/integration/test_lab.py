"""The lab itself: up, a pull through its registry, down — and nothing of it left behind."""

import fcntl
import os
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests

from doclab import daemon
from doclab.lab.control import Lab
from doclab.lab.folder import LabError
from doclab.lab.processes import lab_processes, running
from doclab.settings import Settings
from tests.conftest import ROOT, lab_command
from tests.docker_env import running_lab, unavailable


@pytest.mark.docker
def test_lab_up_serves_alpine_through_its_mirror_and_down_leaves_nothing(tmp_path):
    main_lab = running_lab()
    if main_lab.missing():
        unavailable("a second lab cannot start: " + "; ".join(main_lab.missing()))
    lab_dir = Path("/tmp") / f"doclab-test-{tmp_path.name[-6:]}"
    env = {**os.environ, "DOCLAB_LAB_DIR": str(lab_dir), "DOCLAB_JOBS": "1",
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
        # Two builds at once grow the pool beyond DOCLAB_JOBS=1; prune stops the idle daemon beyond it.
        with lab.lease_daemon() as first, lab.lease_daemon() as second:
            assert {first.name, second.name} == {"pool-0", "pool-1"}
        pruned = lab_command("prune", env)
        assert "pool-1 (idle, beyond DOCLAB_JOBS=1)" in pruned.stdout, pruned.stdout + pruned.stderr
        assert lab.daemon_up("pool-0") and not lab.daemon_up("pool-1")
        status = lab_command("status", env).stdout
        assert "daemon pool-1: down (stopped by lab prune: idle, beyond DOCLAB_JOBS=1; started again when next leased)" in status
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
    assert lab.folder.netns_prefix not in subprocess.run(["ip", "netns"], capture_output=True, text=True).stdout
    # In every hierarchy (on v1 runc makes a container's group in each, the hybrid layout's unified one too).
    hierarchies = [Path("/sys/fs/cgroup"), *(path for path in Path("/sys/fs/cgroup").iterdir() if path.is_dir())]
    groups = [path for hierarchy in hierarchies for path in hierarchy.glob(lab.folder.netns_prefix + "*")]
    assert groups == [], "the page daemons' cgroups outlive the lab"
    print(f"\nlab up {up_seconds:.2f} s")


def test_lab_up_names_what_is_missing(tmp_path):
    env = {"PATH": "/nonexistent", "DOCLAB_LAB_DIR": str(tmp_path / "lab"), "DOCLAB_ALPINE_ROOTFS": ""}
    result = lab_command("up", env)
    assert result.returncode == 2
    for needed in ("dockerd: apt-get install docker.io", "docker-registry: apt-get install docker-registry",
                   "DOCLAB_ALPINE_ROOTFS: set it to the path of alpine-minirootfs-3.18.9-x86_64.tar.gz"):
        assert needed in result.stderr


@pytest.mark.docker
def test_a_pooled_page_daemon_is_given_back_empty_and_kept_running():
    lab = running_lab()
    with lab.lease_daemon() as leased:
        assert lab.pool_state(leased.name) == "leased"
        pid = (lab.dir / f"{leased.name}.pid").read_text()
        with daemon.connected(base_url=leased.docker_host) as api:
            assert api.containers.list(all=True) == [] and api.images.list(all=True) == []
            api.images.pull("alpine", tag="3.18")
            api.containers.run("alpine:3.18", ["sleep", "600"], detach=True, name="left-running")
            api.volumes.create("left-volume")
    assert lab.pool_state(leased.name) == "clean"
    assert (lab.dir / f"{leased.name}.pid").read_text() == pid, "a clean daemon is reused, not started again"
    with daemon.connected(base_url=leased.docker_host) as api:
        assert api.containers.list(all=True) == [] and api.images.list(all=True) == []
        assert api.volumes.list() == []
        assert sorted(network.name for network in api.networks.list()) == ["bridge", "host", "none"]
    # A page that stops midway (a failed block, Ctrl-C) may leave a pull cut short where no API call reaches: its daemon
    # is stopped, and the next lease starts it anew.
    with pytest.raises(RuntimeError), lab.lease_daemon() as failed:
        raise RuntimeError("a block exited with an undeclared code")
    assert lab.pool_state(failed.name) == "stopped"
    assert "its last page stopped midway" in (lab.dir / f"{failed.name}.lease").read_text()


LEASE_THEN_DIE = """
import os, signal, subprocess
from doclab.lab.control import Lab
from doclab.settings import Settings
with Lab(Settings.from_env()).lease_daemon() as leased:
    subprocess.Popen(["ip", "netns", "exec", leased.netns, "sleep", "600"], start_new_session=True,
                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    print(leased.name, flush=True)
    os.kill(os.getpid(), signal.SIGKILL)
"""


@pytest.mark.docker
def test_a_lease_whose_process_was_killed_is_pruned_with_what_it_left_running():
    lab = running_lab()
    killed = subprocess.run([sys.executable, "-c", LEASE_THEN_DIE], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert killed.returncode == -9, killed.stderr
    name = killed.stdout.strip()
    assert lab.pool_state(name) == "abandoned" and name in lab.orphans()
    netns = lab.daemon(name).netns
    left = subprocess.run(["ip", "netns", "pids", netns], capture_output=True, text=True).stdout.split()
    assert left, "the killed build's process should still run in the daemon's namespace"
    assert name in lab.prune()
    assert not lab.daemon_up(name) and name not in lab.orphans()
    assert not [pid for pid in left if running(int(pid))], "prune must end what ran in the namespace"


@pytest.mark.docker
@pytest.mark.parametrize("change", ["namespace", "firewall", "network"])
def test_a_page_that_changes_what_emptying_cannot_undo_gets_its_daemon_started_again(change, capfd):
    lab = running_lab()
    with lab.lease_daemon() as leased:
        if change == "namespace":  # what a page's root shell could do, and every later page would inherit
            subprocess.run(["ip", "netns", "exec", leased.netns, "sh", "-c",
                            "echo 7 > /proc/sys/net/ipv4/ip_default_ttl && ip link set lo down"], check=True)
        elif change == "firewall":
            subprocess.run(["ip", "netns", "exec", leased.netns, "iptables", "-A", "INPUT", "-p", "tcp", "--dport",
                            "5999", "-j", "DROP"], check=True)
        else:  # Docker hands out subnets in turn: the next page's network would get another one
            with daemon.connected(base_url=leased.docker_host) as api:
                api.networks.create("page-network")
    assert not lab.daemon_up(leased.name) and lab.pool_state(leased.name) == "stopped"
    reason = "a page created networks" if change == "network" else "a page changed its network namespace"
    assert f"{leased.name} is started again before its next page: {reason}" in capfd.readouterr().err


@pytest.mark.docker
def test_a_page_that_reads_the_event_history_gets_a_daemon_that_has_seen_nothing():
    lab = running_lab()
    with lab.lease_daemon() as earlier, daemon.connected(base_url=earlier.docker_host) as api:
        api.images.pull("alpine", tag="3.18")  # an earlier page's events
    with _the_same_lease(lab, earlier.name) as lease, daemon.connected(base_url=earlier.docker_host) as api:
        assert _history(api), "emptied, the daemon still remembers the earlier page's events"
        lease.seek(0)
        lease.truncate()
        lease.write("to be started again\n")  # what lease_daemon(restarted=True) writes
        lease.flush()
        assert lab.pool.ready(earlier.name, lease)
    with daemon.connected(base_url=earlier.docker_host) as api:
        assert _history(api) == []


def _history(api) -> list[dict]:
    events = api.events(since=0, until=int(time.time()) + 1, decode=True)
    return [event for event in events if event.get("Type") in ("container", "image")]


@contextmanager
def _the_same_lease(lab: Lab, name: str):
    """The lease of daemon ``name`` itself (lease_daemon takes the first free one), waiting while a page uses it."""
    with (lab.dir / f"{name}.lease").open("a+") as lease:
        deadline = time.monotonic() + 120
        while True:
            try:
                fcntl.flock(lease, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                assert time.monotonic() < deadline, f"{name} stayed leased for two minutes"
                time.sleep(0.1)
        yield lease
        lease.seek(0)
        lease.truncate()
        lease.write("clean\n")


@pytest.mark.docker
def test_two_labs_whose_folders_share_a_prefix_live_side_by_side_and_down_ends_only_its_own(tmp_path):
    main_lab = running_lab()
    if main_lab.missing():
        unavailable("two more labs cannot start: " + "; ".join(main_lab.missing()))
    first_dir = Path("/tmp") / f"doclab-pfx-{tmp_path.name[-6:]}"
    second_dir = Path(f"{first_dir}-2")
    envs = [{**os.environ, "DOCLAB_LAB_DIR": str(folder), "DOCLAB_JOBS": "1",
             "DOCLAB_REGISTRY_PORT": str(main_lab.settings.registry_port + 2 + index)}
            for index, folder in enumerate((first_dir, second_dir))]
    first, second = (Lab(Settings.from_env(env)) for env in envs)
    try:
        for env in envs:
            up = lab_command("up", env)
            assert up.returncode == 0, up.stdout + up.stderr
        # An author's things beside and inside the first lab's folder: a file put there after up, and a tail of its log.
        (first_dir / "notes.txt").write_text("mine\n")
        tail = subprocess.Popen(["tail", "-f", str(first_dir / "main.log")], stdout=subprocess.DEVNULL)
        second_processes = lab_processes(second_dir)
        assert second_processes
        down = lab_command("down", envs[0])
        assert down.returncode == 0 and "no process left" in down.stdout, down.stdout + down.stderr
        assert all(running(pid) for pid in second_processes), "lab down ended another lab's processes"
        assert second.daemon_up("main") and second.daemon_up("pool-0") and second.registry_up()
        assert running(tail.pid), "lab down ended a process that was not the lab's"
        assert sorted(path.name for path in first_dir.iterdir()) == ["notes.txt"]
        assert not first.registry_up() and lab_processes(first_dir) == []
        tail.kill()
        tail.wait()
    finally:
        for env in envs:
            lab_command("down", env)
    assert not second_dir.exists()
    assert (first_dir / "notes.txt").read_text() == "mine\n"
    (first_dir / "notes.txt").unlink()
    first_dir.rmdir()


def test_lab_up_refuses_a_folder_that_holds_what_it_did_not_make(tmp_path):
    folder = tmp_path / "my-folder"
    folder.mkdir()
    (folder / "thesis.tex").write_text("mine\n")
    lab = Lab(Settings.from_env({"DOCLAB_LAB_DIR": str(folder)}))
    with pytest.raises(LabError, match=r"DOCLAB_LAB_DIR=.*my-folder holds files the lab did not make \(thesis.tex\); "
                                       r"the lab keeps a folder of its own and removes it on down"):
        lab.folder.claim()
    assert lab.down() == []
    assert sorted(path.name for path in folder.iterdir()) == ["thesis.tex"]


def test_lab_up_on_a_read_only_folder_says_so(tmp_path):
    if os.geteuid() == 0:
        folder = Path("/proc/doclab-lab")  # root writes anywhere but here
    else:
        folder = tmp_path / "read-only" / "lab"
        folder.parent.mkdir()
        folder.parent.chmod(0o555)
    with pytest.raises(LabError, match=r"DOCLAB_LAB_DIR=.*: cannot use it as the lab's folder .*point DOCLAB_LAB_DIR at a writable folder"):
        Lab(Settings.from_env({"DOCLAB_LAB_DIR": str(folder)})).folder.claim()
