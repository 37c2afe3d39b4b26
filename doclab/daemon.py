"""What doclab asks the Docker daemon through the Engine API (docker SDK), never through the CLI.

None of these calls creates an event on the daemon: a cached rebuild can prove it ran nothing.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache

import docker
from docker.errors import APIError, DockerException, ImageNotFound, NotFound

#: dockerd label that marks a daemon doclab started and may empty at will.
OWNED_LABEL = "org.doclab.owned=true"
_FROM = re.compile(r"^\s*FROM\s+(?:--platform=\S+\s+)?(?P<ref>\S+)", re.IGNORECASE | re.MULTILINE)


@dataclass(frozen=True)
class ClientFacts:
    path: str
    version: str


@dataclass(frozen=True)
class DaemonFacts:
    reachable: bool
    reason: str = ""
    server_version: str = ""
    api_version: str = ""
    owned: bool = False
    mirrors: tuple[str, ...] = ()
    host: str = ""


@lru_cache(maxsize=8)
def client_facts(cli: str) -> ClientFacts:
    """The client binary and its version, read without contacting any daemon."""
    path = shutil.which(cli)
    if path is None:
        raise FileNotFoundError(f"docker client '{cli}' is not on PATH; install docker.io or set DOCLAB_DOCKER_CLI")
    printed = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=30).stdout
    match = re.search(r"version ([^\s,]+)", printed)
    return ClientFacts(path=path, version=match.group(1) if match else printed.strip())


def connect(timeout: int = 60, base_url: str | None = None) -> docker.DockerClient:
    if base_url:
        return docker.DockerClient(base_url=base_url, timeout=timeout)
    return docker.from_env(timeout=timeout)


@contextmanager
def connected(timeout: int = 60, base_url: str | None = None):
    api = connect(timeout, base_url)
    try:
        yield api
    finally:
        api.close()


def daemon_facts(docker_host: str | None = None) -> DaemonFacts:
    """Ask the daemon at ``docker_host`` (default: DOCKER_HOST, else the default socket) about itself."""
    host_label = docker_host or os.environ.get("DOCKER_HOST") or "the default socket"
    socket_path = (docker_host or os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock").removeprefix("unix://")
    if socket_path.startswith("/"):
        # Asked first, without the SDK: it leaks a socket when its client cannot be built.
        problem = _ping_unix_socket(socket_path)
        if problem:
            return DaemonFacts(reachable=False, reason=f"no Docker daemon answers at {host_label}: {problem}", host=host_label)
    try:
        with connected(timeout=5, base_url=docker_host) as api:
            api.ping()
            version = api.version()
            info = api.info()
    except (DockerException, OSError) as error:
        return DaemonFacts(reachable=False, reason=f"no Docker daemon answers at {host_label}: {error}", host=host_label)
    return DaemonFacts(
        reachable=True,
        server_version=version.get("Version", ""),
        api_version=version.get("ApiVersion", ""),
        owned=OWNED_LABEL in (info.get("Labels") or []),
        mirrors=tuple((info.get("RegistryConfig") or {}).get("Mirrors") or ()),
        host=host_label,
    )


def _ping_unix_socket(path: str, timeout: float = 5) -> str:
    """Empty when a daemon answers ``GET /_ping`` on the Unix socket ``path``, else what went wrong."""
    if not os.path.exists(path):
        return f"{path} does not exist"
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
            connection.settimeout(timeout)
            connection.connect(path)
            connection.sendall(b"GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n")
            status = connection.recv(64).split(b"\r\n", 1)[0].decode(errors="replace")
    except OSError as error:
        return f"{path}: {error.strerror or error}"
    return "" if " 200 " in f"{status} " else f"{path} answered {status!r} to /_ping"


def base_images(dockerfiles: list[str]) -> list[str]:
    """The images the Dockerfiles start FROM, in order, without stage names or scratch."""
    stages: set[str] = set()
    refs: list[str] = []
    for text in dockerfiles:
        for match in _FROM.finditer(text):
            ref = match["ref"]
            line_end = text.find("\n", match.end())
            alias = re.search(r"\bAS\s+(\S+)", text[match.end(): None if line_end < 0 else line_end], re.IGNORECASE)
            if ref.lower() != "scratch" and ref not in stages and ref not in refs:
                refs.append(ref)
            if alias:
                stages.add(alias.group(1))
    return refs


def registry_digest(api: docker.DockerClient, ref: str) -> str:
    """The manifest digest the daemon's registry (or mirror) serves for ``ref`` now."""
    try:
        return api.api.inspect_distribution(ref)["Descriptor"]["digest"]
    except (APIError, KeyError):
        local = local_digest(api, ref)
        return local or "unresolved"


def local_digest(api: docker.DockerClient, ref: str) -> str | None:
    try:
        digests = api.images.get(ref).attrs.get("RepoDigests") or []
    except (ImageNotFound, NotFound):
        return None
    return digests[0].split("@", 1)[1] if digests else None


@dataclass
class DaemonSnapshot:
    """Containers and image tags present before a page ran, so cleanup removes only what it added."""

    containers: set[str] = field(default_factory=set)
    images: dict[str, set[str]] = field(default_factory=dict)

    @classmethod
    def take(cls, api: docker.DockerClient) -> "DaemonSnapshot":
        return cls(
            containers={container.id for container in api.containers.list(all=True)},
            images={image.id: set(image.tags) for image in api.images.list(all=True)},
        )


def empty_daemon(api: docker.DockerClient) -> None:
    """Remove every container, image and build-cache entry: only ever called on a daemon with OWNED_LABEL."""
    remove_added(api, DaemonSnapshot())
    # BuildKit's cache keeps layers alive after their images are gone: a later pull would say "Already exists".
    api.api.prune_builds()


def remove_added(api: docker.DockerClient, before: DaemonSnapshot) -> list[str]:
    """Remove containers, images and tags not in ``before``; return what could not be removed."""
    leftovers: list[str] = []
    for container in api.containers.list(all=True):
        if container.id not in before.containers:
            try:
                container.remove(force=True, v=True)
            except NotFound:
                pass
            except APIError as error:
                leftovers.append(f"container {container.short_id}: {error.explanation}")
    for _ in range(5):
        added = [image for image in api.images.list(all=True) if image.id not in before.images]
        for image in added:
            try:
                api.images.remove(image.id, force=True)
            except NotFound:
                pass
            except APIError:
                continue
        if not added:
            break
    for image in api.images.list(all=True):
        if image.id not in before.images:
            leftovers.append(f"image {image.short_id} {image.tags}")
            continue
        for tag in set(image.tags) - before.images[image.id]:
            api.images.remove(tag)
    return leftovers
