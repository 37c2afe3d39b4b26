import base64
import json
import tempfile
from pathlib import Path

import pytest

from doclab.lab.authz import decide, refusal

PAGE_FOLDER = str(Path(tempfile.gettempdir()).resolve() / "doclab-page-abc123" / "home" / "demo")


def create(**host) -> dict:
    return {"Image": "alpine:3.18", "HostConfig": host}


@pytest.mark.parametrize(("body", "refused_because"), [
    (create(Binds=["/:/host"]), "-v /:… mounts the machine's /"),
    (create(Binds=["/tmp:/hosttmp"]), "-v /tmp:… mounts the machine's /tmp"),
    (create(Binds=[f"{PAGE_FOLDER}/../../../../etc:/e"]), "mounts the machine's"),
    (create(Mounts=[{"Type": "bind", "Source": "/root", "Target": "/r"}]), "--mount type=bind,source=/root"),
    (create(Mounts=[{"Type": "volume", "Source": "v", "Target": "/v",
                     "VolumeOptions": {"DriverConfig": {"Options": {"type": "none", "device": "/", "o": "bind"}}}}]),
     "a volume backed by a host path"),
    (create(Privileged=True), "--privileged"),
    (create(PidMode="host"), "pid=host"),
    (create(IpcMode="host"), "ipc=host"),
    (create(UTSMode="host"), "uts=host"),
    (create(UsernsMode="host"), "userns=host"),
    (create(CapAdd=["SYS_PTRACE"]), "--cap-add SYS_PTRACE"),
    (create(CapAdd=["CAP_SYS_ADMIN", "NET_BIND_SERVICE"]), "--cap-add SYS_ADMIN"),
    (create(Devices=[{"PathOnHost": "/dev/vda", "PathInContainer": "/dev/vda", "CgroupPermissions": "rwm"}]), "--device"),
    (create(SecurityOpt=["seccomp=unconfined"]), "--security-opt seccomp=unconfined"),
    (create(SecurityOpt=["apparmor=unconfined"]), "--security-opt apparmor=unconfined"),
    (create(SecurityOpt=["systempaths=unconfined"]), "--security-opt systempaths=unconfined"),
    (create(MaskedPaths=[]), "masked or read-only paths"),
    (create(CgroupParent="/"), "--cgroup-parent"),
])
def test_what_would_reach_the_machine_is_refused_with_its_reason(body, refused_because):
    assert refused_because in refusal("POST", "/v1.41/containers/create", body)


@pytest.mark.parametrize("body", [
    create(),
    create(Binds=[f"{PAGE_FOLDER}:/src", "named-volume:/data"], PortBindings={"5000/tcp": [{"HostPort": "5000"}]}),
    create(CapAdd=["NET_BIND_SERVICE"], SecurityOpt=["no-new-privileges"], NetworkMode="host", RestartPolicy={"Name": "always"}),
    create(Mounts=[{"Type": "volume", "Source": "data", "Target": "/data"}, {"Type": "tmpfs", "Target": "/t"}]),
])
def test_what_a_reader_runs_is_allowed(body):
    assert refusal("POST", "/v1.41/containers/create", body) is None


@pytest.mark.parametrize(("method", "uri", "body", "allowed"), [
    ("POST", "/v1.41/volumes/create", {"Name": "data"}, True),
    ("POST", "/v1.41/volumes/create", {"Name": "h", "DriverOpts": {"type": "none", "device": "/", "o": "bind"}}, False),
    ("POST", "/v1.41/containers/abc/exec", {"Cmd": ["sh"], "Privileged": True}, False),
    ("POST", "/v1.41/containers/abc/exec", {"Cmd": ["sh"]}, True),
    ("POST", "/v1.41/plugins/pull?remote=vieux/sshfs", [], False),
    ("POST", "/v1.41/build?t=my-alpine-image", None, True),
    ("GET", "/v1.41/containers/json", None, True),
    ("DELETE", "/v1.41/images/alpine:3.18", None, True),
])
def test_other_requests(method, uri, body, allowed):
    assert (refusal(method, uri, body) is None) is allowed


def test_a_create_whose_settings_cannot_be_read_is_refused():
    # The daemon leaves out bodies over 1 MB or not JSON: padding a request must not get it through unchecked.
    answer = decide({"RequestMethod": "POST", "RequestUri": "/v1.41/containers/create"})
    assert answer == {"Allow": False, "Msg": "doclab's lab refuses this: the request's settings were not readable "
                                             "(too large, or not JSON), so they cannot be checked"}


def test_the_plugin_protocol_answer_carries_the_reason():
    body = base64.b64encode(json.dumps(create(Privileged=True)).encode()).decode()
    answer = decide({"RequestMethod": "POST", "RequestUri": "/v1.41/containers/create", "RequestBody": body})
    assert answer["Allow"] is False and answer["Msg"].startswith("doclab's lab refuses this: --privileged")
    plain = base64.b64encode(json.dumps(create()).encode()).decode()
    assert decide({"RequestMethod": "POST", "RequestUri": "/v1.41/containers/create", "RequestBody": plain}) == {"Allow": True}


#: The routes that got past a parser reading requests otherwise than Docker does (issue 29), each refused now.
@pytest.mark.parametrize(("method", "uri", "body", "refused_because"), [
    ("POST", "/v1.41/containers/create", {"Image": "alpine", "hostconfig": {"binds": ["/:/h"]}}, "-v /:… mounts"),
    ("POST", "/v1.41/containers/create", {"Image": "alpine", "HOSTCONFIG": {"Privileged": True}}, "--privileged"),
    ("POST", "/v1.41/containers/create", {"Image": "alpine", "Binds": ["/root:/r"]}, "-v /root:… mounts"),
    ("POST", "/v1.41/containers/create", {"Image": "alpine", "hostconfig": {"pidmode": "host"}}, "pid=host"),
    ("POST", "/v1.41/containers/create", {"Image": "alpine", "hostconfig": {"capadd": ["sys_admin"]}}, "--cap-add SYS_ADMIN"),
    ("POST", "/v1.41/containers/create", {"Image": "alpine", "hostconfig": {"devices": [{"pathonhost": "/dev/sda"}]}},
     "--device"),
    ("POST", "/v1.41/containers/create", {"HostConfig": {}, "hostconfig": {"Binds": ["/:/h"]}}, "in two cases"),
    ("POST", "/v1.41/volumes/create", {"Name": "r", "driveropts": {"type": "none", "device": "/root", "o": "bind"}},
     "backed by a host path"),
    ("POST", "/v1.41/containers/abc/exec", {"Cmd": ["sh"], "privileged": True}, "--privileged"),
    ("POST", "/v1.41/containers/abc/update", {"Devices": [{"PathOnHost": "/dev/sda"}]}, "--device"),
    ("POST", "/v1.41/containers/%63reate", {"Image": "alpine", "HostConfig": {"Binds": ["/:/h"]}}, "-v /:… mounts"),
    ("POST", "/v1.41/services/%63reate", {}, "swarm services"),
    ("POST", "/v1.41/plugin%73/pull?remote=x", [], "plugins run as root"),
    ("POST", "/v1.41/containers/%2563reate", {}, "written otherwise than a Docker client writes it"),
    ("POST", "/v1.41/containers/x/../create", {}, "written otherwise"),
    ("POST", "/v1.23/containers/abc/start", {"Binds": ["/:/h"]}, "Engine API 1.23 is older than a page needs"),
    ("POST", "/v1.41/containers/abc/start", {"HostConfig": {"Binds": ["/:/h"]}}, "go with its create, not its start"),
    ("POST", "/v1.41/swarm/init", {}, "swarm services"),
    ("POST", "/v1.41/images/abc/get", {}, "is not among the requests a page's commands make"),
])
def test_requests_written_as_docker_reads_them_are_refused_too(method, uri, body, refused_because):
    assert refused_because in (refusal(method, uri, body) or "allowed")


def test_a_bind_whose_link_moves_after_create_is_refused_at_start(tmp_path, monkeypatch):
    from doclab.lab import authz

    monkeypatch.setattr(authz, "page_folders_root", lambda: tmp_path)
    monkeypatch.setattr(authz, "_CREATED_BINDS", {})
    home = tmp_path / "doclab-page-x" / "home"
    home.mkdir(parents=True)
    (home / "target").mkdir()
    (home / "link").symlink_to(home / "target")
    created = {"HostConfig": {"Binds": [f"{home / 'link'}:/data"]}}
    assert refusal("POST", "/v1.51/containers/create?name=web", created) is None
    answer = authz.after({"RequestMethod": "POST", "RequestUri": "/v1.51/containers/create?name=web", "ResponseStatusCode": 201,
                          "RequestBody": base64.b64encode(json.dumps(created).encode()).decode(),
                          "ResponseBody": base64.b64encode(json.dumps({"Id": "f" * 64}).encode()).decode()})
    assert answer == {"Allow": True} and refusal("POST", "/v1.51/containers/web/start", None) is None
    (home / "link").unlink()
    (home / "link").symlink_to("/")
    for container in ("web", "f" * 64, "f" * 12):
        assert "now leads out of the page's folder" in refusal("POST", f"/v1.51/containers/{container}/start", None)
