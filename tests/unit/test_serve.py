import json
import re

import pytest

from doclab.lab.control import Lab
from doclab.lab.engines import Engine
from doclab.tools.serve import NO_DAEMON_HOST, NoLiveDocker, Plan, choose, environment
from doclab.settings import Settings

NO_DAEMON = "no Docker daemon answers at the default socket: /var/run/docker.sock does not exist"


def test_recorded_wins_even_over_a_reachable_daemon():
    plan = choose(recorded=True, live=False, daemon_reason=None, lab_running=True, lab_missing=[])
    assert plan.source == "recorded"


def test_the_readers_own_daemon_is_used_as_it_is():
    assert choose(recorded=False, live=True, daemon_reason=None, lab_running=False, lab_missing=["root"]).source == "daemon"


def test_a_running_lab_is_used_and_left_up():
    plan = choose(recorded=False, live=False, daemon_reason=NO_DAEMON, lab_running=True, lab_missing=[])
    assert plan == Plan("running lab", f"{NO_DAEMON}; the lab is already up: outputs are captured live with it (it stays up)")


def test_with_no_daemon_the_lab_is_started_where_it_can_run():
    plan = choose(recorded=False, live=False, daemon_reason=NO_DAEMON, lab_running=False, lab_missing=[])
    assert plan.source == "lab" and plan.why.startswith(NO_DAEMON)


def test_where_the_lab_cannot_run_the_reasons_are_said_and_recorded_outputs_shown():
    missing = ["root: dockerd needs it", "dockerd: apt-get install docker.io"]
    plan = choose(recorded=False, live=False, daemon_reason=NO_DAEMON, lab_running=False, lab_missing=missing)
    assert plan.source == "recorded"
    assert "  - root: dockerd needs it\n  - dockerd: apt-get install docker.io\n" in plan.why


def test_publishing_refuses_recorded_outputs():
    with pytest.raises(NoLiveDocker, match="lab cannot run here:\n  - root"):
        choose(recorded=False, live=True, daemon_reason=NO_DAEMON, lab_running=False, lab_missing=["root"])


def test_each_plan_gives_the_command_its_docker(tmp_path):
    lab = Lab(Settings.from_env({"DOCLAB_LAB_DIR": str(tmp_path)}, project_root=tmp_path))
    base = {"PATH": "/usr/bin", "DOCKER_HOST": "tcp://mine:2375"}
    assert environment(Plan("daemon", ""), lab, base) == base
    engine = Engine("28.5-containerd", "containerd", "/engines/usr/sbin/dockerd", "/engines/usr/bin/docker")
    (tmp_path / "engine.json").write_text(json.dumps(engine.to_json()))
    on_lab = environment(Plan("lab", ""), lab, base)
    assert (on_lab["DOCKER_HOST"], on_lab["DOCLAB_DOCKER_CLI"]) == (f"unix://{tmp_path}/main.sock", engine.client)
    recorded = environment(Plan("recorded", ""), lab, base)
    assert (recorded["DOCLAB_RECORDED"], recorded["DOCKER_HOST"]) == ("1", NO_DAEMON_HOST)


HELD = "3 image(s) and 1 container(s)"


def test_an_authors_docker_full_of_their_things_gives_way_to_the_lab_where_it_can_run():
    plan = choose(recorded=False, live=False, daemon_reason=None, lab_running=False, lab_missing=[], daemon_held=HELD)
    assert plan.source == "lab" and plan.why.startswith(f"your Docker holds {HELD} of its own")
    running = choose(recorded=False, live=True, daemon_reason=None, lab_running=True, lab_missing=[], daemon_held=HELD)
    assert running.source == "running lab"


def test_without_the_lab_an_authors_full_docker_is_used_and_each_page_shows_its_last_clean_record():
    plan = choose(recorded=False, live=False, daemon_reason=None, lab_running=False, lab_missing=["root"], daemon_held=HELD)
    assert plan.source == "daemon" and "last clean record" in plan.why and "nothing of yours is removed" in plan.why


def test_publishing_refuses_an_authors_full_docker_when_the_lab_cannot_run():
    with pytest.raises(NoLiveDocker, match=f"your Docker holds {re.escape(HELD)}.*lab cannot run here:\n  - root"):
        choose(recorded=False, live=True, daemon_reason=None, lab_running=False, lab_missing=["root"], daemon_held=HELD)


def test_the_live_terminals_never_take_the_port_the_pages_are_served_on(monkeypatch):
    """The kernel may hand out a port just freed (a test's probe for a free one): mkdocs serve, binding after, failed."""
    from doclab.tools import live

    handed, closed = iter([8000, 8000, 41234]), []

    class Server:
        def __init__(self, address, handler):
            self.server_address = ("127.0.0.1", next(handed))

        def server_close(self):
            closed.append(self.server_address[1])

    monkeypatch.setattr(live, "ThreadingHTTPServer", Server)
    assert live.server_avoiding({8000}, None).server_address[1] == 41234
    assert closed == [8000, 8000]
