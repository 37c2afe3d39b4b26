"""Records that cannot lie, collide, leak or depend on the machine: each against the real lab."""

import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from doclab.capture.record import CaptureStore
from doclab.lab.daemons import MIRROR_PORT
from doclab.lab.processes import processes_mentioning
from doclab.page.parse import parse_page
from doclab.run.session import BlockFailed, DaemonDied, PageRun
from doclab.settings import Settings
from tests.conftest import ROOT
from tests.docker_env import running_lab

pytestmark = pytest.mark.docker


def capture(captures: Path, *args: str, env: dict[str, str] | None = None, prefix: tuple[str, ...] = ()) -> subprocess.Popen:
    """``python -m doclab capture`` in a child process, writing its records to ``captures``."""
    lab = running_lab()
    environment = {**os.environ, "DOCKER_HOST": lab.daemon("main").docker_host, "DOCLAB_CAPTURES_DIR": str(captures),
                   **(env or {})}
    return subprocess.Popen([*prefix, sys.executable, "-m", "doclab", "capture", *args], cwd=ROOT, env=environment,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def wait_until_open(process: subprocess.Popen, path: Path, seconds: float = 120) -> None:
    """Until ``process`` has ``path`` open (or fails the test, saying what it printed, if it ends or takes too long)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if any(os.readlink(fd) == str(path) for fd in Path(f"/proc/{process.pid}/fd").iterdir()):
                return
        except OSError:
            pass  # a file descriptor closed while it was read
        time.sleep(0.05)
    process.kill()
    pytest.fail(f"python -m doclab capture never waited for {path}: {process.communicate()[0]}")


def finished(process: subprocess.Popen, timeout: float = 600) -> str:
    output, _ = process.communicate(timeout=timeout)
    assert process.returncode == 0, output
    return output


def test_a_record_edited_by_hand_is_run_again_and_the_real_output_replaces_the_edit(tmp_path):
    captures = tmp_path / "captures"
    shutil.copytree(ROOT / "captures", captures)
    record = captures / "mini-project.json"
    record.write_text(record.read_text().replace("Successfully tagged", "Successfully taggd"))
    output = finished(capture(captures, "docs/mini-project.md"))
    assert "docs/mini-project.md: live" in output
    shown = CaptureStore(captures).load_intact("mini-project.md")
    assert all("Successfully taggd" not in c.output for c in shown.captures.values())
    assert any("Successfully tagged my-alpine-image:latest" in c.output for c in shown.captures.values())


def test_two_builds_on_one_captures_folder_run_a_changed_page_once(tmp_path):
    """A second ``mkdocs serve``, the tests, or a run ahead of an author's edit, on the same records: the page's lock
    makes the later one wait for the run and show its record."""
    captures = tmp_path / "captures"
    shutil.copytree(ROOT / "captures", captures)
    (captures / "learn" / "cheat-sheet.json").unlink()  # never recorded: both builds must make it
    reusing = {"DOCLAB_STRICT": ""}  # as an author's builds do (CI's strict runs reuse nothing, by design)
    with capture(captures, "docs/learn/cheat-sheet.md", env=reusing) as first, \
            capture(captures, "docs/learn/cheat-sheet.md", env=reusing) as second:
        said = finished(first) + finished(second)
    assert said.count("docs/learn/cheat-sheet.md: live") == 1 and said.count("docs/learn/cheat-sheet.md: cached") == 1, said
    assert said.count("1 page(s) run") == 1 and said.count("0 page(s) run") == 1, said


def test_the_builders_environment_and_names_leak_nowhere(tmp_path):
    project = tmp_path / "project"
    (project / "docs").mkdir(parents=True)
    (project / "docs" / "index.md").write_text(
        "# Privacy\n\n<!-- exec: id=env -->\n```bash\nenv | sort; hostname; pwd; echo \"$HOME\"; whoami; command -v python3\n"
        "for pid in $PPID $(ls /proc | grep -E '^[0-9]+$'); do tr '\\0' '\\n' < /proc/$pid/environ; done 2>/dev/null; true\n```\n\n"
        "<!-- output: env -->\n"
    )
    (project / "mkdocs.yml").write_text(
        f"site_name: privacy\nplugins: [search]\nhooks: [{ROOT / 'hooks' / 'captures.py'}]\n"
    )
    lab = running_lab()
    secret = "supersecret123"
    env = {**os.environ, "MY_TOKEN": secret, "DOCKER_HOST": lab.daemon("main").docker_host, "NO_MKDOCS_2_WARNING": "1"}
    built = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict"], cwd=project, env=env,
                           capture_output=True, text=True, timeout=300)
    assert built.returncode == 0, built.stdout + built.stderr
    record = (project / "captures" / "index.json").read_text()
    assert "HOME=~" in json.loads(record)["captures"]["env"]["output"]
    forbidden = {secret, socket.gethostname(), str(ROOT), sys.prefix, os.path.expanduser("~") + "/"} - {"", "/"}
    for path in [project / "captures" / "index.json", project / "site" / "index.html",
                 project / "site" / "search" / "search_index.json"]:
        text = path.read_text()
        leaked = [item for item in forbidden if item in text]
        assert not leaked, f"{path.name} shows {leaked}"


def test_ctrl_c_while_another_build_runs_the_page_ends_the_wait_at_once(tmp_path):
    captures = tmp_path / "captures"
    shutil.copytree(ROOT / "captures", captures)
    (captures / "learn" / "visual.json").unlink()
    store = CaptureStore(captures)
    with store.running("learn/visual.md", threading.Event()):  # another build's run, never ending
        waiting = capture(captures, "docs/learn/visual.md", env={"DOCLAB_STRICT": ""})
        # Ctrl-C once it waits for the page (its lock file open), not during its imports: a busy machine takes seconds.
        wait_until_open(waiting, store.lock_path("learn/visual.md"))
        started = time.monotonic()
        waiting.send_signal(signal.SIGINT)
        said = waiting.communicate(timeout=30)[0]
        assert time.monotonic() - started < 5, said
    # Ended by Ctrl-C either way: its own exit status, or (once, under a CPU hog) Python's exit by the signal after the
    # handler had said so.
    assert waiting.returncode in (130, -signal.SIGINT) and "nothing of them was recorded" in said, said
    assert not (captures / "learn" / "visual.json").exists()


def test_an_edit_under_serve_shows_its_output_first_then_the_whole_page_run_once(tmp_path):
    """The edited block's new output shows before the blocks after it have run again (they say so, and never show the
    previous run's output), then the whole page, from one run; an edit that fails shows why, from one run too."""
    project = tmp_path / "project"
    (project / "docs").mkdir(parents=True)
    (project / "snippets").mkdir()
    snippet = project / "snippets" / "say.sh"
    snippet.write_text("echo before the edit\n")
    (project / "docs" / "index.md").write_text(
        '# Edit\n\n<!-- exec: id=say -->\n```bash\n--8<-- "say.sh"\n```\n\n<!-- output: say -->\n\n'
        '<!-- exec: id=later -->\n```bash\nsleep 3; echo "later: $RANDOM$RANDOM"\n```\n\n<!-- output: later -->\n')
    (project / "mkdocs.yml").write_text(f"site_name: edit\nhooks: [{ROOT / 'hooks' / 'captures.py'}]\n"
                                        "markdown_extensions: [pymdownx.snippets: {base_path: [snippets]}]\n"
                                        "watch: [snippets]\n")
    lab = running_lab()
    port = _free_port()
    # As scripts/serve runs it: a failing example is shown on its page.
    env = {**os.environ, "DOCKER_HOST": lab.daemon("main").docker_host, "NO_MKDOCS_2_WARNING": "1", "DOCLAB_SERVING": "1"}
    env.pop("DOCLAB_STRICT", None)  # an author's serve reuses what it recorded
    log = tmp_path / "serve.log"
    page = f"http://127.0.0.1:{port}/"
    with log.open("w") as out, subprocess.Popen(
            [sys.executable, "-m", "mkdocs", "serve", "--dev-addr", f"127.0.0.1:{port}"], cwd=project, env=env,
            stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL) as serve:
        try:
            offset = _wait_for_text(log, "Serving on", 120)
            (before,) = re.findall(r"later: \d+", _fetch(page))
            snippet.write_text("echo after the edit\n")
            offset = _wait_for_text(log, "captures shown as far as the run after the edit has gone (say)", 60, offset)
            offset = _wait_for_text(log, "Reloading browsers", 60, offset)
            in_part = _fetch(page)
            assert "after the edit" in in_part and 'class="doclab-pending" data-capture="later"' in in_part, in_part
            assert not re.findall(r"later: \d+", in_part), "the previous run's output shown as this run's"
            offset = _wait_for_text(log, "Reloading browsers", 60, offset)
            whole = _fetch(page)
            # Each run of the failing block asks the lab's registry for a name of its own, which its log counts.
            marker = f"doclab-run-{secrets.token_hex(6)}"
            snippet.write_text(f"curl -s http://127.0.0.1:{MIRROR_PORT}/v2/{marker}/tags/list >/dev/null; echo about to fail; "
                               "exit 3\n")
            offset = _wait_for_text(log, "captures: index.md failed on the edit", 60, offset)
            _wait_for_text(log, "Reloading browsers", 60, offset)
            failed = _fetch(page)
        finally:
            serve.send_signal(signal.SIGINT)
            serve.wait(timeout=60)
    assert "after the edit" in whole and "doclab-pending" not in whole, whole
    (after,) = re.findall(r"later: \d+", whole)
    assert after != before
    said = log.read_text().split("Serving on", 1)[1]
    assert said.count("captures: ran index.md on the edit") == 1 and "captures: 1 live" not in said, said[-3000:]
    assert "This page did not build" in failed and "about to fail" in failed and "exit 3" in failed, failed
    runs = lab.registry_log.read_text().count(f"/v2/{marker}/tags/list HTTP")
    assert runs == 1, f"the failing page ran {runs} times: the page shows the failure of the run the edit started"


def _fetch(url: str) -> str:
    with urllib.request.urlopen(url, timeout=30) as response:
        return response.read().decode()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_for_text(log: Path, text: str, seconds: float, after: int = 0) -> int:
    """Wait until ``text`` is in the log past offset ``after``; the offset just past it."""
    deadline = time.monotonic() + seconds
    while (found := log.read_text().find(text, after)) < 0:
        assert time.monotonic() < deadline, f"mkdocs serve printed no {text!r} within {seconds:g} s:\n{log.read_text()[-3000:]}"
        time.sleep(0.05)
    return found + len(text)


def test_a_daemon_that_dies_mid_page_gives_one_error_and_leaves_nothing(tmp_path, lab_daemon):
    lab = running_lab()
    text = ('<!-- exec: timeout=120 -->\n```bash\ndocker run -d --name sleeper alpine:3.18 sleep 300\n```\n\n'
            '```bash\nsleep 3; docker ps\n```\n')
    page = parse_page(text, "dying.md", tmp_path)
    run = PageRun(page, Settings.from_env(), lab_daemon.docker_host, lab_daemon.netns)
    root = run.root
    run.run(page.blocks[0])
    pid = int((lab.dir / f"{lab_daemon.name}.pid").read_text())
    threading.Timer(1.0, os.kill, (pid, signal.SIGKILL)).start()
    with pytest.raises(DaemonDied) as died:
        run.run(page.blocks[1])
    message = str(died.value)
    assert f"bash block at dying.md:6 failed because the Docker daemon at {lab_daemon.docker_host} stopped answering" in message
    assert run.close() == []
    assert not root.exists()
    lab.stop_daemon(lab_daemon.name)
    data = lab.dir / "data" / lab_daemon.name
    assert processes_mentioning(str(lab.dir / "x" / lab_daemon.name)) == [], "a containerd-shim survived"
    assert not [pid for pid in processes_mentioning("sleep 300")], "the container's own process survived"
    assert not [m for m in Path("/proc/mounts").read_text().splitlines() if str(data) in m]
    assert not data.exists() and lab_daemon.netns not in subprocess.run(["ip", "netns"], capture_output=True, text=True).stdout


def test_a_base_image_the_lab_does_not_serve_says_which_it_serves(tmp_path, lab_daemon):
    text = '```dockerfile title="Dockerfile"\nFROM alpine:3.19\n```\n\n<!-- exec: timeout=120 -->\n```bash\ndocker build -q .\n```\n'
    page = parse_page(text, "unserved.md", tmp_path)
    with PageRun(page, Settings.from_env(), lab_daemon.docker_host, lab_daemon.netns) as run:
        run.run(page.blocks[0])
        with pytest.raises(BlockFailed) as failure:
            run.run(page.blocks[1])
    assert "the offline lab, whose registry serves only the images it seeded: alpine:3.18, registry:2" in str(failure.value)
