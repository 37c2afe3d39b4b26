import hashlib
import json
import socket

import pytest

from doclab.daemon import DEFAULT_HOST, DaemonFacts, resolve_docker_host
from doclab.daemon.guard import (
    HELD_PUBLICLY, PORT_PUBLICLY, NotClean, check_clean, on_this_machine, port_holder, port_taken_hint, published_ports,
)

AUTHORS = DaemonFacts(reachable=True, server_version="28.2.2", owned=False, host="the default socket")


@pytest.mark.parametrize(("source", "ports"), [
    ("docker run -d -p 5000:5000 --name registry registry:2", [5000]),
    ("docker run --publish=127.0.0.1:8080:80 nginx\ndocker run -p 8080:81 x", [8080]),
    ("docker run -p [::1]:9000:9000/tcp x && docker run --publish 7000:7000 y", [9000, 7000]),
    ("docker run -P nginx; docker run -p 80 x; echo 'use -p 5001:5000 to pick another'", [5001]),
    ("docker build -t my-alpine-image .", []),
])
def test_the_host_ports_a_page_publishes_are_read_from_its_commands(source, ports):
    assert published_ports([source]) == ports


def test_our_own_daemon_is_always_clean_for_a_page():
    check_clean(DaemonFacts(reachable=True, owned=True, images=9, containers=3), 4, [5000], local=True)


@pytest.mark.parametrize(("images", "containers", "cache", "held"), [
    (1, 0, 0, "1 image of its own"),
    (2, 1, 0, "2 images, 1 container of its own"),
    (0, 0, 4, "4 build-cache entries of its own"),
])
def test_a_daemon_that_holds_anything_is_not_clean_and_says_what(images, containers, cache, held):
    facts = DaemonFacts(**{**vars(AUTHORS), "images": images, "containers": containers})
    with pytest.raises(NotClean) as unclean:
        check_clean(facts, cache, [], local=True)
    assert f"your Docker (the default socket) already holds {held}" in str(unclean.value)
    assert "doclab never removes what is not its own" in str(unclean.value)
    assert unclean.value.public == HELD_PUBLICLY and "socket" not in unclean.value.public


def test_a_taken_port_makes_a_local_daemon_unclean_for_the_pages_that_publish_it():
    with socket.socket() as holder:
        holder.bind(("0.0.0.0", 0))
        holder.listen()
        port = holder.getsockname()[1]
        with pytest.raises(NotClean, match=f"port {port}, which this page publishes, is taken on this machine by python"):
            check_clean(AUTHORS, 0, [port], local=True)
        check_clean(AUTHORS, 0, [port], local=False)  # a remote daemon's ports are not this machine's
        try:
            check_clean(AUTHORS, 0, [port], local=True)
        except NotClean as unclean:
            assert unclean.public == PORT_PUBLICLY
    assert port_holder(port) is None
    check_clean(AUTHORS, 0, [port], local=True)


def test_a_port_taken_failure_says_which_port_what_holds_it_and_how_to_choose_another():
    with socket.socket() as holder:
        holder.bind(("0.0.0.0", 0))
        holder.listen()
        port = holder.getsockname()[1]
        printed = ("docker: Error response from daemon: driver failed programming external connectivity on endpoint "
                   f"registry (3f2a): Bind for 0.0.0.0:{port} failed: port is already allocated.\n")
        hint = port_taken_hint(printed)
    assert f"Port {port} is taken on this machine (by python" in hint
    assert f"-p {port + 1}:{port}, then use localhost:{port + 1}" in hint and "sudo scripts/serve" in hint
    assert "address already in use" not in hint
    assert port_taken_hint(f"listen tcp4 0.0.0.0:{port}: bind: address already in use").startswith(f"\n--- note ---\nPort {port}")
    assert port_taken_hint("Successfully tagged my-alpine-image:latest\n") == ""


def write_context(config, name: str, host: str) -> None:
    meta = config / "contexts" / "meta" / hashlib.sha256(name.encode()).hexdigest()
    meta.mkdir(parents=True)
    (meta / "meta.json").write_text(json.dumps({"Name": name, "Endpoints": {"docker": {"Host": host}}}))


def test_the_daemon_is_docker_host_then_the_current_context_then_the_default_socket(tmp_path):
    config = tmp_path / ".docker"
    config.mkdir()
    assert resolve_docker_host({}, config) == DEFAULT_HOST
    write_context(config, "desktop-linux", "unix:///home/me/.docker/desktop/docker.sock")
    write_context(config, "remote", "tcp://10.0.0.2:2375")
    (config / "config.json").write_text(json.dumps({"currentContext": "desktop-linux"}))
    assert resolve_docker_host({}, config) == "unix:///home/me/.docker/desktop/docker.sock"
    assert resolve_docker_host({"DOCKER_CONTEXT": "remote"}, config) == "tcp://10.0.0.2:2375"
    assert resolve_docker_host({"DOCKER_CONTEXT": "default"}, config) == DEFAULT_HOST
    assert resolve_docker_host({"DOCKER_HOST": "unix:///run/user/1000/docker.sock"}, config) == "unix:///run/user/1000/docker.sock"
    assert resolve_docker_host({"HOME": str(tmp_path)}) == "unix:///home/me/.docker/desktop/docker.sock"
    with pytest.raises(OSError, match="docker context 'gone' is current, but .* does not name its daemon"):
        resolve_docker_host({"DOCKER_CONTEXT": "gone"}, config)


@pytest.mark.parametrize(("host", "here"), [
    ("unix:///var/run/docker.sock", True), ("tcp://127.0.0.1:2375", True), ("tcp://localhost:2375", True),
    ("tcp://[::1]:2375", True), ("tcp://10.0.0.2:2375", False), ("ssh://me@build-box", False),
])
def test_ports_are_checked_only_where_the_daemon_publishes_them_here(host, here):
    assert on_this_machine(host) is here


def test_the_image_store_is_read_from_the_daemons_driver_status():
    from doclab.daemon import image_store

    # moby daemon/containerd ImageService.LayerStoreStatus: {"driver-type", plugins.SnapshotPlugin}; 20.10: overlay2.
    assert image_store({"Driver": "overlayfs", "DriverStatus": [["driver-type", "io.containerd.snapshotter.v1"]]}) == "containerd"
    assert image_store({"Driver": "overlay2", "DriverStatus": [["Backing Filesystem", "extfs"]]}) == "overlay2"
