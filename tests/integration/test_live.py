""""Do it": the lesson's live terminals as scripts/serve runs them, against the real lab: the four steps typed into a
real shell and checked against what is really there, requests from elsewhere refused, a hostile reader contained, and
nothing left when the tab closes."""

import json
import re
import secrets
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from doclab.lab.processes import processes_mentioning
from doclab.settings import Settings
from doclab.tools.live import LiveTerminals
from tests.docker_env import running_lab

pytestmark = pytest.mark.docker
SITE = "http://127.0.0.1:8000"


@pytest.fixture
def terminals():
    lab = running_lab()
    live = LiveTerminals(Settings.from_env(), lab, (SITE,)).start()
    yield live
    live.stop()


def ask(live, action, body=b"", origin=SITE, token=None, **query):
    words = "".join(f"&{key}={value}" for key, value in query.items())
    request = urllib.request.Request(f"{live.address}/{action}?token={token or live.token}{words}", data=body,
                                     method="POST", headers={"Origin": origin})
    try:
        with urllib.request.urlopen(request, timeout=120) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def typed(live, session, command, seconds=120):
    """Type ``command`` and Enter, then wait until the shell has run it (a mark it prints after it, never typed)."""
    shell = live.shells[session].shell
    mark = secrets.randbelow(10 ** 6)
    ask(live, "input", f"{command}\recho mark-$(({mark} + 1))\r".encode(), session=session)
    deadline = time.monotonic() + seconds
    while f"mark-{mark + 1}" not in shell.transcript():
        assert time.monotonic() < deadline, f"{command!r} did not end:\n{shell.transcript()[-3000:]}"
        time.sleep(0.05)


def test_requests_without_the_token_or_from_another_site_are_refused(terminals):
    assert ask(terminals, "open", token="guessed")[0] == 403
    assert ask(terminals, "open", origin="http://evil.example")[0] == 403
    assert ask(terminals, "open", origin="")[0] == 403
    assert terminals.shells == {}


def test_the_four_steps_typed_into_the_live_terminal_are_each_checked_against_what_is_there(terminals):
    status, opened = ask(terminals, "open")
    assert status == 200, opened
    session = opened["session"]
    root = terminals.shells[session].shell.root
    checks = {step: ask(terminals, "check", session=session, step=step)[1] for step in "1234"}
    assert not any(check["done"] for check in checks.values()), checks
    typed(terminals, session, "mkdir docker-architecture && cd docker-architecture && echo 'FROM alpine:latest' > Dockerfile")
    assert "should hold one line, FROM alpine:3.18" in ask(terminals, "check", session=session, step="1")[1]["says"]
    typed(terminals, session, "echo 'FROM alpine:3.18' > Dockerfile")
    typed(terminals, session, "IMAGE_NAME=my-alpine-image")
    typed(terminals, session, "docker build -t $IMAGE_NAME .")
    checks = {step: ask(terminals, "check", session=session, step=step)[1] for step in "1234"}
    assert all(check["done"] for check in checks.values()), checks
    screen = urllib.request.urlopen(urllib.request.Request(
        f"{terminals.address}/screen?token={terminals.token}&session={session}", headers={"Origin": SITE}), timeout=30)
    event = json.loads(screen.readline().decode().removeprefix("data: "))
    screen.close()
    assert event["alive"] and any("naming to docker.io/library/my-alpine-image" in line for line in event["lines"]), event
    assert any("mkdir docker-architecture" in line for line in event["lines"][:-24]), "what scrolled off stays to scroll back to"
    assert ask(terminals, "close", session=session) == (200, {})
    assert not root.exists() and processes_mentioning(str(root)) == []
    assert ask(terminals, "check", session=session, step="1")[0] == 404


def test_a_hostile_reader_reaches_nothing_of_the_machine_and_leaves_nothing(terminals):
    canary = Path("/root") / f"doclab-canary-{secrets.token_hex(4)}"
    canary.write_text(f"canary {secrets.token_hex(8)}\n")
    canary.chmod(0o600)
    written = f"doclab-written-{secrets.token_hex(4)}"
    try:
        session = ask(terminals, "open")[1]["session"]
        root = terminals.shells[session].shell.root
        fork_bomb = ("python3 -c 'import os, time\nn = 0\ntry:\n while n < 5000:\n  if os.fork() == 0: time.sleep(2); "
                     "os._exit(0)\n  n += 1\nexcept OSError: print(\"contained after %d processes\" % n)'")
        for attempt in (f"cat {canary}", "docker run --rm -v /:/host alpine:3.18 true",
                        "docker run --rm --privileged alpine:3.18 true", "docker run --rm --pid host alpine:3.18 true",
                        f"echo x > /usr/{written}", f"echo x > /root/{written}", fork_bomb):
            typed(terminals, session, attempt)
        shown = terminals.shells[session].shell.transcript()
        assert canary.read_text().split()[1] not in shown
        assert shown.count("authorization denied by plugin") == 3, shown[-3000:]
        assert not Path(f"/usr/{written}").exists() and not Path(f"/root/{written}").exists()
        assert "Read-only file system" in shown and re.search(r"contained after \d+ processes", shown), shown[-3000:]
        ask(terminals, "close", session=session)
        assert not root.exists() and processes_mentioning(str(root)) == []
    finally:
        canary.unlink()
