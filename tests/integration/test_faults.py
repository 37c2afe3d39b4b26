"""Faults a build meets, each repeated for real: one clear error within seconds, nothing left, no record changed."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from doclab.capture.record import CaptureStore
from doclab.lab.control import Lab
from doclab.lab.folder import POOL_PREFIX
from doclab.lab.pool import PoolState
from doclab.lab.processes import lab_processes
from doclab.settings import Settings
from tests.conftest import ROOT, lab_command
from tests.docker_env import running_lab, unavailable


def page_folders_of(pid: int) -> list[Path]:
    """The page-run folders a process made and did not remove (their owner file names it)."""
    found = []
    for folder in Path("/tmp").glob("doclab-page-*"):
        owner = folder / "owner"
        if owner.is_file() and owner.read_text().strip() == str(pid):
            found.append(folder)
    return found


def lease_holders(lab: Lab) -> dict[str, int]:
    """Each pool daemon whose lease is locked, and the process that holds the lock (from /proc/locks)."""
    leases = {path.stat().st_ino: path.stem for path in lab.dir.glob(f"{POOL_PREFIX}*.lease")}
    holders = {}
    for line in Path("/proc/locks").read_text().splitlines():
        fields = line.split()
        if len(fields) > 5 and fields[1] == "FLOCK" and int(fields[5].rsplit(":", 1)[-1]) in leases:
            holders[leases[int(fields[5].rsplit(":", 1)[-1])]] = int(fields[4])
    return holders


def environment_of(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/environ").read_bytes().decode(errors="replace")
    except OSError:
        return ""


@pytest.mark.docker
def test_ctrl_c_stops_a_build_at_once_and_leaves_no_page_running_and_no_half_record(tmp_path):
    lab = running_lab()
    captures = tmp_path / "captures"
    env = {**os.environ, "DOCKER_HOST": lab.daemon("main").docker_host, "DOCLAB_CAPTURES_DIR": str(captures),
           "DOCLAB_STRICT": "", "NO_MKDOCS_2_WARNING": "1"}
    build = subprocess.Popen([sys.executable, "-m", "mkdocs", "build", "-d", str(tmp_path / "site")], cwd=ROOT, env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                             preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 60
    while not page_folders_of(build.pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert page_folders_of(build.pid), "no page started running"
    build.send_signal(signal.SIGINT)
    asked = time.monotonic()
    output, _ = build.communicate(timeout=60)
    stopped_in = time.monotonic() - asked
    assert build.returncode != 0
    assert stopped_in < 10, f"Ctrl-C took {stopped_in:.1f} s to stop the build:\n{output}"
    assert "captures: interrupted: the pages that were running were stopped, nothing of them was recorded" in output
    assert page_folders_of(build.pid) == []
    # The lab is shared with the tests running beside this one: only a lease held by this build's processes counts.
    held = {name: pid for name, pid in lease_holders(lab).items() if str(captures) in environment_of(pid)}
    assert held == {}, f"pool daemons still leased by the interrupted build's processes: {held}"
    recorded = sorted(path.relative_to(captures).as_posix() for path in captures.rglob("*.json")) if captures.exists() else []
    for path in recorded:  # the pages that finished before the interrupt: whole, with every capture
        page = path.removesuffix(".json") + ".md"
        record = CaptureStore(captures).load_intact(page)
        assert record.captures.keys() == CaptureStore(ROOT / "captures").load_intact(page).captures.keys()
    print(f"\nCtrl-C stopped the build in {stopped_in:.2f} s; {len(recorded)} page(s) had finished: {recorded}")


@pytest.fixture
def second_lab(tmp_path):
    """A lab of the test's own (its own folder and registry port), taken down afterwards."""
    main_lab = running_lab()
    if main_lab.missing():
        unavailable("a second lab cannot start: " + "; ".join(main_lab.missing()))
    env = {**os.environ, "DOCLAB_LAB_DIR": f"/tmp/doclab-fault-{tmp_path.name[-6:]}", "DOCLAB_JOBS": "1",
           "DOCLAB_REGISTRY_PORT": str(main_lab.settings.registry_port + 10)}
    yield env
    lab_command("down", env)


@pytest.mark.docker
def test_a_build_on_a_lab_whose_registry_died_fails_at_once_and_says_how_to_start_it(tmp_path, second_lab):
    up = lab_command("up", second_lab)
    assert up.returncode == 0, up.stdout + up.stderr
    lab = Lab(Settings.from_env(second_lab))
    os.kill(int((lab.dir / "registry.pid").read_text()), signal.SIGKILL)
    env = {**second_lab, "DOCKER_HOST": lab.daemon("main").docker_host, "DOCLAB_CAPTURES_DIR": str(tmp_path / "captures"),
           "NO_MKDOCS_2_WARNING": "1"}
    started = time.monotonic()
    built = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(tmp_path / "site")], cwd=ROOT,
                           env=env, capture_output=True, text=True, timeout=300)
    seconds = time.monotonic() - started
    assert built.returncode == 1
    assert seconds < 30, f"{seconds:.0f} s before the build said so"
    assert (f"the lab's registry on {lab.registry_url} does not answer (its log: {lab.registry_log}), so no page can pull "
            "its base image; start it again with python -m doclab.lab up") in built.stderr
    assert not (tmp_path / "captures").exists() or not list((tmp_path / "captures").rglob("*.json"))


@pytest.mark.docker
def test_lab_up_on_a_taken_registry_port_says_which_setting_moves_it_and_leaves_nothing(second_lab):
    with socket.socket() as holder:
        # As a server takes a port (connections a lab before it left in TIME_WAIT there do not stop it): still taken.
        holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        holder.bind(("127.0.0.1", int(second_lab["DOCLAB_REGISTRY_PORT"])))
        holder.listen()
        started = time.monotonic()
        up = lab_command("up", second_lab)
    assert up.returncode == 2 and time.monotonic() - started < 10
    assert (f"port {second_lab['DOCLAB_REGISTRY_PORT']}, where the lab's registry listens, is taken by python (pid "
            f"{os.getpid()}): choose another with DOCLAB_REGISTRY_PORT=N") in up.stderr, up.stderr
    folder = Path(second_lab["DOCLAB_LAB_DIR"])
    assert not folder.exists(), sorted(path.name for path in folder.iterdir())
    assert not [line for line in Path("/proc/mounts").read_text().splitlines() if str(folder) in line]
    assert lab_processes(folder) == []


def test_a_quote_error_on_a_page_with_front_matter_cites_the_files_own_line(tmp_path):
    project = tmp_path / "project"
    (project / "docs").mkdir(parents=True)
    (project / "docs" / "index.md").write_text(
        "---\ntitle: Front matter\ndescription: three lines above the heading\n---\n\n# Page\n\n"
        'The build prints <!-- quote: other.md#build "Successfully tagged" --> at the end.\n'
    )
    (project / "mkdocs.yml").write_text(f"site_name: lines\nhooks: [{ROOT / 'hooks' / 'captures.py'}]\n")
    built = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict"], cwd=project, capture_output=True, text=True,
                           env={**os.environ, "DOCLAB_RECORDED": "1", "NO_MKDOCS_2_WARNING": "1"}, timeout=120)
    assert built.returncode == 1
    assert "docs/index.md:8: the quote names 'other.md#build', which has no recorded capture" in built.stderr, built.stderr
    assert json.dumps(sorted(path.name for path in project.iterdir())) == '["docs", "mkdocs.yml"]'


@pytest.mark.docker
def test_lab_down_during_a_build_fails_the_build_with_one_reason_and_leaves_nothing(tmp_path, second_lab):
    up = lab_command("up", second_lab)
    assert up.returncode == 0, up.stdout + up.stderr
    lab = Lab(Settings.from_env(second_lab))
    env = {**second_lab, "DOCKER_HOST": lab.daemon("main").docker_host, "DOCLAB_CAPTURES_DIR": str(tmp_path / "captures"),
           "NO_MKDOCS_2_WARNING": "1", "DOCLAB_STRICT": ""}
    build = subprocess.Popen([sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(tmp_path / "site")], cwd=ROOT,
                             env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 60
    while not page_folders_of(build.pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    down = lab_command("down", second_lab)
    output, _ = build.communicate(timeout=300)
    assert down.returncode == 0, down.stdout + down.stderr
    assert build.returncode == 1, output
    assert f"the lab at {lab.dir} is down (taken down while this ran?); start it with python -m doclab.lab up" in output \
        or "stopped answering while it ran" in output, output
    assert not lab.dir.exists() and lab_processes(lab.dir) == []
    assert lab.folder.netns_prefix not in subprocess.run(["ip", "netns"], capture_output=True, text=True).stdout
    assert not [line for line in Path("/proc/mounts").read_text().splitlines() if str(lab.dir) in line]
    assert page_folders_of(build.pid) == []


def test_a_block_that_kills_its_shell_is_the_one_blamed(tmp_path):
    from doclab.page.parse import parse_page
    from doclab.run.session import BlockFailed, PageRun

    page = parse_page("```bash\necho one\n```\n\n```bash\nkill -9 $PPID\n```\n\n```bash\necho three\n```\n", "demo.md", tmp_path)
    with PageRun(page, Settings.from_env({}), address="unix:///nonexistent/doclab.sock") as run:
        run.run(page.blocks[0])
        try:
            run.run(page.blocks[1])
            time.sleep(0.2)  # the shell may print its sentinel before the signal lands
            run.run(page.blocks[2])
        except BlockFailed as failure:
            message = str(failure)
    assert message.startswith("bash block at demo.md:5 ") and ("ended the page's shell" in message or "ended its shell" in message)


@pytest.mark.docker
def test_a_pool_daemon_whose_storage_is_broken_is_not_handed_out_again(capfd):
    lab = running_lab()
    with lab.lease_daemon() as handle:
        overlay = lab.dir / "data" / handle.name / "overlay2" / "l"
        overlay.mkdir(parents=True, exist_ok=True)
        (overlay / "BROKENLINK").symlink_to("../gone-layer/diff")  # what a failed publish found
    said = capfd.readouterr().err
    assert (f"{handle.name} is started again before its next page: its storage is not empty after emptying "
            "(0 layer(s) left, 1 broken link(s)") in said, said
    # Another worker may lease it the moment it is given back: then it started anew, without the link.
    assert not (overlay / "BROKENLINK").is_symlink(), "a stopped daemon's data is removed; the next lease starts anew"
    assert lab.pool_state(handle.name) in (PoolState.STOPPED, PoolState.LEASED)
