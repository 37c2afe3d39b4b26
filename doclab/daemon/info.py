"""What a daemon says about itself (``DaemonFacts``), and what its registry serves: asked over the Engine API,
never through the CLI. None of these calls creates an event on the daemon: a cached rebuild can prove it ran nothing."""

from __future__ import annotations

import os
import re
import urllib.parse
from dataclasses import dataclass
from typing import TYPE_CHECKING

from doclab.daemon.address import DEFAULT_HOST, DockerSetupError, resolve_docker_host
from doclab.daemon.api import EngineAPIError, _sdk, connected, engine_get

if TYPE_CHECKING:
    import docker


#: dockerd label that marks a daemon doclab started and may empty at will.
OWNED_LABEL = "org.doclab.owned=true"

_FROM = re.compile(r"^\s*FROM\s+(?:--platform=\S+\s+)?(?P<ref>\S+)", re.IGNORECASE | re.MULTILINE)

@dataclass(frozen=True)
class DaemonFacts:
    reachable: bool
    reason: str = ""
    server_version: str = ""
    api_version: str = ""
    owned: bool = False
    mirrors: tuple[str, ...] = ()
    #: How the address reads in a message ("the default socket"); ``address`` is the address itself.
    host: str = ""
    #: A daemon is there but doclab may not talk to it (permission denied, not the Engine API): an error, not "no daemon".
    broken: bool = False
    #: Where it keeps images: "containerd" (the containerd image store, Engine 29's default) or its graph driver.
    image_store: str = ""
    #: What the daemon held when asked: a daemon that is not ours is clean for a page only when it holds nothing.
    images: int = 0
    containers: int = 0
    containerd_version: str = ""
    #: The address it was asked at (``unix://…``, ``tcp://…``): resolved once at a front door, then passed down.
    address: str = ""

def facts_where(environ) -> DaemonFacts:
    """A front door's one question: which daemon the reader's ``docker`` talks to (``environ``'s DOCKER_HOST or docker
    context, resolved once here), and what it says about itself. A context naming no daemon is an answer too."""
    try:
        host = resolve_docker_host(environ)
    except DockerSetupError as error:
        return DaemonFacts(reachable=False, reason=str(error))
    return daemon_facts(host)


def daemon_facts(host: str) -> DaemonFacts:
    """Ask the daemon at ``host`` (an address ``facts_where`` or the lab resolved) about itself."""
    host_label = host if host != DEFAULT_HOST else "the default socket"
    try:
        if host.startswith("unix://"):
            # Without the SDK: cheaper, and the SDK leaks a socket when its client cannot be built.
            path = host.removeprefix("unix://")
            if not os.path.exists(path):
                raise DockerSetupError(f"{path} does not exist")
            _, version = engine_get(path, "/version", 5)
            _, info = engine_get(path, "/info", 5)
            if not isinstance(version, dict) or not isinstance(info, dict):
                raise EngineAPIError(f"{path} does not speak the Engine API")
        else:
            with connected(host, timeout=5) as api:
                version, info = api.version(), api.info()
    except (PermissionError, EngineAPIError) as error:
        how = ("add your user to the docker group (sudo usermod -aG docker $USER, then log in again)"
               if isinstance(error, PermissionError) else "point DOCKER_HOST at a Docker daemon's socket")
        return DaemonFacts(reachable=False, address=host, broken=True, host=host_label,
                           reason=f"the Docker daemon at {host_label} cannot be used: {error}; {how}")
    except OSError as error:
        return DaemonFacts(reachable=False, address=host, reason=f"no Docker daemon answers at {host_label}: {error}", host=host_label)
    except Exception as error:  # the SDK's own errors, for tcp:// and ssh:// hosts
        if not isinstance(error, _sdk().errors.DockerException):
            raise
        return DaemonFacts(reachable=False, address=host, reason=f"no Docker daemon answers at {host_label}: {error}", host=host_label)
    return DaemonFacts(
        reachable=True,
        address=host,
        server_version=version.get("Version", ""),
        api_version=version.get("ApiVersion", ""),
        owned=OWNED_LABEL in (info.get("Labels") or []),
        mirrors=tuple((info.get("RegistryConfig") or {}).get("Mirrors") or ()),
        host=host_label,
        images=int(info.get("Images") or 0),
        containers=int(info.get("Containers") or 0),
        image_store=image_store(info),
        containerd_version=next((str(part.get("Version", "")) for part in version.get("Components") or []
                                 if part.get("Name") == "containerd"), ""),
    )

def image_store(info: dict) -> str:
    """ "containerd" when the daemon keeps images in containerd's store (its driver status names the snapshotter),
    else its graph driver (``overlay2``)."""
    status = " ".join(str(value) for pair in info.get("DriverStatus") or [] for value in pair)
    return "containerd" if "containerd.snapshotter" in status else str(info.get("Driver") or "unknown")

def build_cache_entries(docker_host: str) -> int:
    """How many build-cache entries the daemon keeps (asked of a daemon that holds no image: /system/df is cheap then)."""
    with connected(docker_host, timeout=30) as api:
        return len(api.df().get("BuildCache") or [])

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

def registry_digest(host: str, ref: str) -> str:
    """The manifest digest the daemon's registry (or mirror) serves for ``ref`` now."""
    quoted = urllib.parse.quote(ref, safe="")
    if host.startswith("unix://"):
        path = host.removeprefix("unix://")
        status, found = engine_get(path, f"/distribution/{quoted}/json", 30)
        if status == 200 and isinstance(found, dict):
            return found["Descriptor"]["digest"]
        status, image = engine_get(path, f"/images/{quoted}/json", 10)
        digests = image.get("RepoDigests") if status == 200 and isinstance(image, dict) else None
        return digests[0].split("@", 1)[1] if digests else "unresolved"
    with connected(host) as api:
        try:
            return api.api.inspect_distribution(ref)["Descriptor"]["digest"]
        except (_sdk().errors.APIError, KeyError):
            return local_digest(api, ref) or "unresolved"

def local_digest(api: "docker.DockerClient", ref: str) -> str | None:
    try:
        digests = api.images.get(ref).attrs.get("RepoDigests") or []
    except _sdk().errors.NotFound:
        return None
    return digests[0].split("@", 1)[1] if digests else None

def image_exists(api: "docker.DockerClient", ref: str) -> bool:
    try:
        api.images.get(ref)
        return True
    except _sdk().errors.NotFound:
        return False
