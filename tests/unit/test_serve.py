import pytest

from doclab.lab import Lab
from doclab.serve import NO_DAEMON_HOST, NoLiveDocker, Plan, choose, environment
from doclab.settings import Settings

NO_DAEMON = "no Docker daemon answers at the default socket: /var/run/docker.sock does not exist"


def test_recorded_wins_even_over_a_reachable_daemon():
    plan = choose(recorded=True, live=False, daemon_reason=None, lab_running=True, lab_missing=[])
    assert plan.source == "recorded"


def test_the_readers_own_daemon_is_used_as_it_is():
    assert choose(recorded=False, live=True, daemon_reason=None, lab_running=False, lab_missing=["root"]).source == "daemon"


def test_a_running_lab_is_used_and_left_up():
    plan = choose(recorded=False, live=False, daemon_reason=NO_DAEMON, lab_running=True, lab_missing=[])
    assert plan == Plan("running lab", "the lab is already up: outputs are captured live with it (it stays up)")


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
    assert environment(Plan("lab", ""), lab, base)["DOCKER_HOST"] == f"unix://{tmp_path}/main.sock"
    recorded = environment(Plan("recorded", ""), lab, base)
    assert (recorded["DOCLAB_RECORDED"], recorded["DOCKER_HOST"]) == ("1", NO_DAEMON_HOST)
