"""The site built with ``mkdocs build --strict`` (the hook, quote checks on) against an author's own Docker:
a real daemon doclab does not own, in a network namespace of its own, as an author's machine has it."""

import hashlib
import json
import os
import html
import re
import shutil
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import pytest

from doclab import daemon
from doclab.capture.record import CaptureStore
from tests.conftest import ROOT
from tests.docker_env import running_lab

pytestmark = pytest.mark.docker

#: A page's stamp and what its fold for maintainers says (why it is recorded, where the base image came from).
STAMP = re.compile(r'class="doclab-stamp" data-page="([^"]+)" data-state="(\w+)" data-base-digests="[^"]*">([^<]*)</small>(?:</p>)?\s*'
                   r'<details class="doclab-how-built"><summary>[^<]*</summary><p>([^<]*)</p>')


@contextmanager
def authors_docker(name: str):
    """A daemon that is not the lab's (no ownership label), reaching the lab registry as its mirror."""
    lab = running_lab()
    handle = lab.start_daemon(name, owned=False)
    try:
        with daemon.connected(base_url=handle.docker_host) as api:
            yield handle, api
    finally:
        lab.stop_daemon(name)


def inventory(api) -> dict:
    """Everything an author would miss: images with their tags, containers with their state, volumes, networks."""
    return {
        "images": {image.id: sorted(image.tags) for image in api.images.list(all=True)},
        "containers": {c.name: (c.image.id, c.status) for c in api.containers.list(all=True)},
        "volumes": sorted(volume.name for volume in api.volumes.list()),
        "networks": sorted(network.name for network in api.networks.list()),
        "build_cache": sorted(entry["ID"] for entry in api.df().get("BuildCache") or []),
    }


def build_in(netns: str, docker_host: str | None, captures: Path, site: Path, **env) -> subprocess.CompletedProcess:
    """``mkdocs build --strict`` from the daemon's network, as on the author's machine (their localhost)."""
    env = {**os.environ, "DOCKER_HOST": docker_host, "DOCLAB_CAPTURES_DIR": str(captures), "DOCLAB_STRICT": "",
           "NO_MKDOCS_2_WARNING": "1", **env}
    env = {name: value for name, value in env.items() if value is not None}
    return subprocess.run(
        ["nsenter", f"--net=/var/run/netns/{netns}", "--", sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(site)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600,
    )


def stamps(site: Path) -> dict[str, tuple[str, str]]:
    found = {}
    for page in site.rglob("index.html"):
        for path, state, text, details in STAMP.findall(page.read_text()):
            found[path] = (state, html.unescape(f"{text} {details}"))
    return found


def committed_records(captures: Path) -> dict[str, str]:
    return {path.relative_to(captures).as_posix(): path.read_text() for path in sorted(captures.rglob("*.json"))}


@contextmanager
def port_held(netns: str, port: int):
    """A process of the author's listening on ``port`` in the daemon's network."""
    holder = subprocess.Popen(
        ["ip", "netns", "exec", netns, sys.executable, "-c",
         f"import socket, time; s = socket.socket(); s.bind(('0.0.0.0', {port})); s.listen(); print('up', flush=True); time.sleep(600)"],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "up"
        yield holder
    finally:
        holder.kill()
        holder.wait()
        holder.stdout.close()


def test_a_docker_full_of_the_authors_things_builds_shows_the_last_clean_records_and_is_left_as_it_was(tmp_path):
    captures = tmp_path / "captures"
    shutil.copytree(ROOT / "captures", captures)
    with authors_docker("authors-full") as (handle, api):
        # Whoever ran the lesson once: its base, its tag, the registry image; a registry of theirs holds port 5000.
        api.images.pull("alpine", tag="3.18").tag("my-alpine-image", "latest")
        api.images.pull("registry", tag="2")
        api.containers.run("registry:2", name="authors-registry", detach=True, ports={"5000/tcp": 5000})
        api.containers.create("alpine:3.18", ["sleep", "600"], name="authors-stopped-container")
        before = inventory(api)
        for attempt in ("first", "second"):
            built = build_in(handle.netns, handle.docker_host, captures, tmp_path / f"site-{attempt}")
            assert built.returncode == 0, built.stdout + built.stderr
            assert inventory(api) == before, f"the {attempt} build changed the author's Docker"
            assert committed_records(captures) == committed_records(ROOT / "captures"), "a record was rewritten"
            shown = stamps(tmp_path / f"site-{attempt}")
            assert shown and {state for state, _ in shown.values()} == {"recorded"}, shown
            for page, (_, text) in shown.items():
                assert "held images of its own, where a first pull cannot be shown" in text, page
            log = built.stdout + built.stderr
            assert "mini-project.md: RECORDED output shown (its last clean run): your Docker" in log
            # Counted as the daemon counts them: the containerd store counts each name (the tag of alpine is one more).
            held = api.info()
            assert f"already holds {held['Images']} images, {held['Containers']} containers of its own" in log
    lesson = (tmp_path / "site-second" / "mini-project" / "index.html").read_text()
    assert "Pull complete" in lesson, "the lesson must still show the first pull a reader sees"


def test_publishing_refuses_a_docker_that_is_not_clean_and_names_what_it_holds(tmp_path):
    captures = tmp_path / "captures"
    shutil.copytree(ROOT / "captures", captures)
    with authors_docker("authors-strict") as (handle, api):
        api.images.pull("alpine", tag="3.18")
        env = {**os.environ, "DOCKER_HOST": handle.docker_host, "DOCLAB_CAPTURES_DIR": str(captures),
               "DOCLAB_STRICT": "1", "NO_MKDOCS_2_WARNING": "1"}
        built = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(tmp_path / "site")],
                               cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert built.returncode == 1
    assert re.search(r"need a live run \(DOCLAB_STRICT is set\) but your Docker \(unix://\S+\) already holds 1 image of its own",
                     built.stderr), built.stderr
    assert "sudo scripts/serve" in built.stderr
    assert json.loads((captures / "mini-project.json").read_text()) == json.loads((ROOT / "captures" / "mini-project.json").read_text())


TCP_TO_UNIX = """
import socket, sys, threading
def pump(a, b):
    try:
        while data := a.recv(65536):
            b.sendall(data)
    except OSError:
        pass
    try:
        b.shutdown(socket.SHUT_WR)  # half-close, as attach and BuildKit's session expect
    except OSError:
        pass
server = socket.create_server(("127.0.0.1", 2375))
print("up", flush=True)
while True:
    client, _ = server.accept()
    daemon = socket.socket(socket.AF_UNIX)
    daemon.connect(sys.argv[1])
    for a, b in ((client, daemon), (daemon, client)):
        threading.Thread(target=pump, args=(a, b), daemon=True).start()
"""


@contextmanager
def tcp_address(netns: str, docker_host: str):
    """The daemon also on tcp://127.0.0.1:2375 in its network, as ``dockerd -H tcp://…`` would serve it."""
    proxy = subprocess.Popen(["ip", "netns", "exec", netns, sys.executable, "-c", TCP_TO_UNIX,
                              docker_host.removeprefix("unix://")], stdout=subprocess.PIPE, text=True)
    try:
        assert proxy.stdout.readline().strip() == "up"
        yield "tcp://127.0.0.1:2375"
    finally:
        proxy.kill()
        proxy.wait()
        proxy.stdout.close()


def context_home(home: Path, docker_host: str) -> Path:
    """A home whose Docker CLI config selects a context ``authors`` naming ``docker_host`` (``docker context use``)."""
    meta = home / ".docker" / "contexts" / "meta" / hashlib.sha256(b"authors").hexdigest()
    meta.mkdir(parents=True)
    (meta / "meta.json").write_text(json.dumps({"Name": "authors", "Endpoints": {"docker": {"Host": docker_host}}}))
    (home / ".docker" / "config.json").write_text(json.dumps({"currentContext": "authors"}))
    return home


def capture_in(netns: str, docker_host: str | None, captures: Path, page: str, **env) -> subprocess.CompletedProcess:
    """``python -m doclab capture --force`` of one page from the daemon's network: run now, whatever its record."""
    env = {**os.environ, "DOCKER_HOST": docker_host, "DOCLAB_CAPTURES_DIR": str(captures), "DOCLAB_STRICT": "", **env}
    env = {name: value for name, value in env.items() if value is not None}
    return subprocess.run(
        ["nsenter", f"--net=/var/run/netns/{netns}", "--", sys.executable, "-m", "doclab", "capture", "--force", f"docs/{page}"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600,
    )


def empty(api) -> bool:
    return inventory(api) == {"images": {}, "containers": {}, "volumes": [], "networks": ["bridge", "host", "none"],
                              "build_cache": []}


def test_an_empty_docker_of_the_authors_on_its_socket_over_tcp_or_through_a_context_runs_the_pages_live_and_is_left_empty(
        tmp_path):
    """One author's daemon, reached three ways: the whole site over its Unix socket (port 5000 held by the author), the
    lesson forced to run again over tcp://, the site again and a page forced to run again through a docker context."""
    captures = tmp_path / "captures"
    shutil.copytree(ROOT / "captures", captures)
    with authors_docker("authors-empty") as (handle, api), port_held(handle.netns, 5000), \
            tcp_address(handle.netns, handle.docker_host) as tcp:
        first = build_in(handle.netns, handle.docker_host, captures, tmp_path / "site")
        assert first.returncode == 0, first.stdout + first.stderr
        assert empty(api), inventory(api)
        shown = stamps(tmp_path / "site")
        # The pages that publish port 5000 cannot run while the author's process holds it: their last clean record.
        publishing = {"architecture/registry.md", "architecture/troubleshooting.md", "learn/challenge.md"}
        assert {page for page, (state, _) in shown.items() if state == "recorded"} == publishing, shown
        assert all("a port this page publishes was taken" in shown[page][1] for page in publishing)
        assert "port 5000, which this page publishes, is taken on this machine by python" in first.stdout + first.stderr
        lesson = CaptureStore(captures).load_intact("mini-project.md")
        assert lesson.stamp["owned_daemon"] is False
        assert lesson.stamp["base_images"][0]["source"].startswith("pulled through the registry mirror")
        # The classic build after fresh=true pulls again: what this page made before it was removed, nothing else.
        assert "Pull complete" in lesson.captures["build-classic"].output

        over_tcp = capture_in(handle.netns, tcp, captures, "mini-project.md")
        assert over_tcp.returncode == 0 and "docs/mini-project.md: live" in over_tcp.stdout, over_tcp.stdout + over_tcp.stderr
        assert empty(api), inventory(api)
        assert "Pull complete" in CaptureStore(captures).load_intact("mini-project.md").captures["build-classic"].output

        home = context_home(tmp_path / "home", handle.docker_host)
        started = time.monotonic()
        again = build_in(handle.netns, None, captures, tmp_path / "site-again", HOME=str(home))
        assert again.returncode == 0, again.stdout + again.stderr
        # Through the context, the same daemon: every record it made is current, nothing runs.
        assert re.search(r"captures: 0 live, 6 cached, 3 recorded, 0 failed", again.stdout + again.stderr), again.stderr
        assert time.monotonic() - started < 60
        through_context = capture_in(handle.netns, None, captures, "architecture/trace.md", HOME=str(home))
        log = through_context.stdout + through_context.stderr
        assert through_context.returncode == 0 and "docs/architecture/trace.md: live" in log, log
        assert empty(api), inventory(api)
