"""What doclab asks the Docker daemon through the Engine API, never through the CLI.

Facts a build needs every time (is a daemon there, which version, which digest does the
registry serve) are asked over the daemon's Unix socket directly: a warm rebuild then never
loads the docker SDK. Changing the daemon's state (snapshots, cleanup) uses the SDK.
None of these calls creates an event on the daemon: a cached rebuild can prove it ran nothing.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.parse
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from doclab.errors import DoclabError

if TYPE_CHECKING:
    import docker


def _sdk():
    """The docker SDK, imported when first needed (it costs a warm rebuild a tenth of a second)."""
    import docker

    return docker

#: dockerd label that marks a daemon doclab started and may empty at will.
OWNED_LABEL = "org.doclab.owned=true"
_FROM = re.compile(r"^\s*FROM\s+(?:--platform=\S+\s+)?(?P<ref>\S+)", re.IGNORECASE | re.MULTILINE)


class DockerSetupError(DoclabError, OSError):
    """The reader's Docker setup names something that is not there: a client, a context's daemon, a socket."""


@dataclass(frozen=True)
class ClientFacts:
    path: str
    version: str
    #: The buildx plugin installed beside the client ("" when it has none: ``docker build`` is then the classic builder).
    buildx: str = ""


@dataclass(frozen=True)
class DaemonFacts:
    reachable: bool
    reason: str = ""
    server_version: str = ""
    api_version: str = ""
    owned: bool = False
    mirrors: tuple[str, ...] = ()
    host: str = ""
    #: A daemon is there but doclab may not talk to it (permission denied, not the Engine API): an error, not "no daemon".
    broken: bool = False
    #: Where it keeps images: "containerd" (the containerd image store, Engine 29's default) or its graph driver.
    image_store: str = ""
    #: What the daemon held when asked: a daemon that is not ours is clean for a page only when it holds nothing.
    images: int = 0
    containers: int = 0
    containerd_version: str = ""


@lru_cache(maxsize=8)
def client_facts(cli: str) -> ClientFacts:
    """The client binary and its version, read without contacting any daemon (cached per binary file)."""
    path = shutil.which(cli)
    if path is None:
        raise DockerSetupError(f"docker client '{cli}' is not on PATH; install docker.io or set DOCLAB_DOCKER_CLI")
    stat = os.stat(path)
    cache = Path(tempfile.gettempdir()) / "doclab-clients" / hashlib.sha1(
        f"{os.path.realpath(path)}:{stat.st_size}:{stat.st_mtime_ns}".encode()).hexdigest()
    if cache.is_file():
        version, _, buildx = cache.read_text().partition("\n")
        return ClientFacts(path=path, version=version, buildx=buildx)
    printed = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=30).stdout
    match = re.search(r"version ([^\s,]+)", printed)
    version = match.group(1) if match else printed.strip()
    buildx = ""
    plugin = next((found for found in client_plugins(path) if found.name == "docker-buildx"), None)
    if plugin is not None:
        # "github.com/docker/buildx 0.29.1+ds1 0.29.1+ds1-4": the second word is its version.
        said = subprocess.run([str(plugin), "version"], capture_output=True, text=True, timeout=30).stdout.split()
        buildx = said[1] if len(said) > 1 else ""
    cache.parent.mkdir(exist_ok=True)
    cache.write_text(f"{version}\n{buildx}")
    return ClientFacts(path=path, version=version, buildx=buildx)


def client_prefix(docker_client: str) -> Path:
    """``…/usr`` of ``…/usr/bin/docker``: the client's own installation, its plugins included."""
    return Path(os.path.realpath(docker_client)).parent.parent


def client_plugins(docker_client: str) -> list[Path]:
    """The CLI plugins (buildx …) installed beside ``docker_client``, where its package puts them."""
    return [plugin for folder in ("libexec/docker/cli-plugins", "lib/docker/cli-plugins")
            for plugin in sorted((client_prefix(docker_client) / folder).glob("docker-*"))]


def connect(timeout: int = 60, base_url: str | None = None) -> "docker.DockerClient":
    docker = _sdk()
    base_url = base_url or _host(None)
    if base_url == os.environ.get("DOCKER_HOST"):
        return docker.from_env(timeout=timeout)  # with DOCKER_TLS_VERIFY and DOCKER_CERT_PATH, as the CLI reads them
    return docker.DockerClient(base_url=base_url, timeout=timeout)


@contextmanager
def connected(timeout: int = 60, base_url: str | None = None):
    api = connect(timeout, base_url)
    try:
        yield api
    finally:
        api.close()


DEFAULT_HOST = "unix:///var/run/docker.sock"


def _host(docker_host: str | None) -> str:
    return docker_host or resolve_docker_host(os.environ)


def resolve_docker_host(environ: dict[str, str], config_dir: Path | None = None) -> str:
    """The daemon the reader's ``docker`` talks to: DOCKER_HOST, else the current ``docker context``, else the
    default socket. A page's shell has a home of its own, so the context is resolved here and passed as DOCKER_HOST."""
    if environ.get("DOCKER_HOST"):
        return environ["DOCKER_HOST"]
    config = config_dir or Path(environ.get("DOCKER_CONFIG") or Path(environ.get("HOME") or "~").expanduser() / ".docker")
    name = environ.get("DOCKER_CONTEXT")
    if not name:
        try:
            name = json.loads((config / "config.json").read_text()).get("currentContext")
        except (OSError, ValueError, AttributeError):
            name = None
    if not name or name == "default":
        return DEFAULT_HOST
    meta = config / "contexts" / "meta" / hashlib.sha256(name.encode()).hexdigest() / "meta.json"
    try:
        return json.loads(meta.read_text())["Endpoints"]["docker"]["Host"]
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise DockerSetupError(f"docker context '{name}' is current, but {meta} does not name its daemon ({error}); "
                      "run `docker context use default` or set DOCKER_HOST") from error


class EngineAPIError(DoclabError, OSError):
    """The daemon's socket answered something that is not an Engine API response."""


def engine_get(socket_path: str, url: str, timeout: float = 10) -> tuple[int, object]:
    """``GET url`` on the Engine API at the Unix socket ``socket_path``: (status, decoded JSON or text).

    HTTP/1.0 on a raw socket: the daemon then closes the connection after a plain body, and a
    warm rebuild does not load ``http.client`` and the email parsers behind it.
    """
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
        connection.settimeout(timeout)
        connection.connect(socket_path)
        connection.sendall(f"GET {url} HTTP/1.0\r\nHost: docker\r\n\r\n".encode())
        chunks = []
        while chunk := connection.recv(65536):
            chunks.append(chunk)
    head, _, body = b"".join(chunks).partition(b"\r\n\r\n")
    status_line = head.split(b"\r\n", 1)[0].split()
    if len(status_line) < 2 or not status_line[0].startswith(b"HTTP/") or not status_line[1].isdigit():
        raise EngineAPIError(f"{socket_path} did not answer {url} with HTTP")
    text = body.decode(errors="replace")
    try:
        return int(status_line[1]), json.loads(text)
    except ValueError:
        return int(status_line[1]), text


def daemon_facts(docker_host: str | None = None) -> DaemonFacts:
    """Ask the daemon at ``docker_host`` (default: DOCKER_HOST, else the default socket) about itself."""
    try:
        host = _host(docker_host)
    except OSError as error:
        return DaemonFacts(reachable=False, reason=str(error))
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
            with connected(timeout=5, base_url=host) as api:
                version, info = api.version(), api.info()
    except (PermissionError, EngineAPIError) as error:
        how = ("add your user to the docker group (sudo usermod -aG docker $USER, then log in again)"
               if isinstance(error, PermissionError) else "point DOCKER_HOST at a Docker daemon's socket")
        return DaemonFacts(reachable=False, broken=True, host=host_label,
                           reason=f"the Docker daemon at {host_label} cannot be used: {error}; {how}")
    except OSError as error:
        return DaemonFacts(reachable=False, reason=f"no Docker daemon answers at {host_label}: {error}", host=host_label)
    except Exception as error:  # the SDK's own errors, for tcp:// and ssh:// hosts
        if not isinstance(error, _sdk().errors.DockerException):
            raise
        return DaemonFacts(reachable=False, reason=f"no Docker daemon answers at {host_label}: {error}", host=host_label)
    return DaemonFacts(
        reachable=True,
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


def ping(docker_host: str, timeout: float = 3) -> bool:
    """Whether a daemon answers at a ``unix://`` host (without the SDK)."""
    path = docker_host.removeprefix("unix://")
    try:
        return os.path.exists(path) and engine_get(path, "/_ping", timeout)[0] == 200
    except OSError:
        return False


def build_cache_entries(docker_host: str) -> int:
    """How many build-cache entries the daemon keeps (asked of a daemon that holds no image: /system/df is cheap then)."""
    with connected(timeout=30, base_url=docker_host) as api:
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


def registry_digest(docker_host: str | None, ref: str) -> str:
    """The manifest digest the daemon's registry (or mirror) serves for ``ref`` now."""
    host = _host(docker_host)
    quoted = urllib.parse.quote(ref, safe="")
    if host.startswith("unix://"):
        path = host.removeprefix("unix://")
        status, found = engine_get(path, f"/distribution/{quoted}/json", 30)
        if status == 200 and isinstance(found, dict):
            return found["Descriptor"]["digest"]
        status, image = engine_get(path, f"/images/{quoted}/json", 10)
        digests = image.get("RepoDigests") if status == 200 and isinstance(image, dict) else None
        return digests[0].split("@", 1)[1] if digests else "unresolved"
    with connected(base_url=host) as api:
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


@dataclass
class DaemonSnapshot:
    """Containers and image tags present before a page ran, so cleanup removes only what it added."""

    containers: set[str] = field(default_factory=set)
    images: dict[str, set[str]] = field(default_factory=dict)
    build_cache: set[str] | None = None

    @classmethod
    def take(cls, api: "docker.DockerClient", with_build_cache: bool = False) -> "DaemonSnapshot":
        return cls(
            containers={container.id for container in api.containers.list(all=True)},
            images={image.id: set(image.tags) for image in api.images.list(all=True)},
            build_cache=_build_cache_ids(api) if with_build_cache else None,
        )


def _build_cache_ids(api: "docker.DockerClient") -> set[str]:
    return {entry["ID"] for entry in api.df().get("BuildCache") or []}


#: Networks every daemon has; any other was made by a page.
DEFAULT_NETWORKS = frozenset({"bridge", "host", "none"})


def empty_daemon(api: "docker.DockerClient") -> list[str]:
    """Remove every container, image, build-cache entry, volume and network: only ever called on a daemon
    with OWNED_LABEL. Return what could not be removed."""
    leftovers = remove_added(api, DaemonSnapshot())
    # BuildKit's cache keeps layers alive after their images are gone: a later pull would say "Already exists".
    # A build that has just ended may hold its entries a moment longer (a prune skips them): until none is left.
    for _ in range(50):
        api.api.prune_builds(all=True)  # Engine 28's BuildKit keeps a pulled layer as a shared entry: all=True takes it
        if not api.df().get("BuildCache"):
            break
        time.sleep(0.1)
    else:
        leftovers.append("build cache: entries still in use 5 s after the last build ended")
    # A pooled daemon serves page after page: what one page made must not show on the next.
    for volume in api.volumes.list():
        volume.remove(force=True)
    for network in api.networks.list():
        if network.name not in DEFAULT_NETWORKS:
            network.remove()
    return leftovers


def remove_added(api: "docker.DockerClient", before: DaemonSnapshot) -> list[str]:
    """Remove containers, images and tags not in ``before``; return what could not be removed."""
    errors = _sdk().errors
    NotFound, APIError = errors.NotFound, errors.APIError
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


def _prune_build_cache_made(api: "docker.DockerClient", before: set[str]) -> list[str]:
    """Prune the build-cache entries not in ``before``, by ID (one per call: the API takes one), children first:
    a parent is kept while a child holds it, so passes repeat until none is left."""
    APIError = _sdk().errors.APIError
    for _ in range(5):
        made = sorted(_build_cache_ids(api) - before)
        if not made:
            return []
        for entry in made:
            try:
                # all=True: a pulled layer is an entry BuildKit shares with the image store, which a plain prune keeps.
                api.api.prune_builds(filters={"id": [entry]}, all=True)
            except APIError:
                continue
    return [f"build-cache entry {entry}" for entry in sorted(_build_cache_ids(api) - before)]


def made_by(exchanges) -> tuple[set[str], set[str]]:
    """The containers (IDs or names) and image references a page's requests created."""
    containers: set[str] = set()
    references: set[str] = set()
    for exchange in exchanges:
        if exchange.method != "POST" or not exchange.status or exchange.status >= 400:
            continue
        path, _, query = exchange.path.partition("?")
        path = re.sub(r"^/v[\d.]+", "", urllib.parse.unquote(path))
        options = urllib.parse.parse_qs(query)
        started = re.match(r"^/containers/([^/]+)/start$", path)
        tagged = re.match(r"^/images/(.+)/tag$", path)
        if path == "/containers/create":
            containers.update(options.get("name", []))
        elif started:
            containers.add(started[1])
        elif path == "/build":
            references.update(_with_tag(name) for name in options.get("t", []))
        elif path == "/images/create" and "fromImage" in options:
            image, tag = options["fromImage"][0], (options.get("tag") or ["latest"])[0]
            references.add(f"{image}@{tag}" if tag.startswith("sha256:") else _with_tag(f"{image}:{tag}"))
        elif tagged and "repo" in options:
            references.add(f"{options['repo'][0]}:{(options.get('tag') or ['latest'])[0]}")
    return containers, references


def _with_tag(reference: str) -> str:
    """``name`` → ``name:latest``, as Docker reads a reference without a tag."""
    return reference if ":" in reference.rsplit("/", 1)[-1] or "@" in reference else f"{reference}:latest"


_NAMED = re.compile(r"^(?:#\d+| *=> =>) naming to (?:docker\.io/library/)?(?!moby-dangling@)(\S+?)(?: +\d+(?:\.\d+)?s)?(?: done)?$",
                    re.MULTILINE)


def names_built(output: str) -> set[str]:
    """The names BuildKit says it gave the images a build made (``naming to …``): buildx asks for them over the
    build's gRPC session, which the recording proxy cannot read, so the client's own words say what was named."""
    return {_with_tag(name) for name in _NAMED.findall(output)}


def remove_made(api: "docker.DockerClient", before: DaemonSnapshot, exchanges, pulled: list[str] = (),
                named: set[str] = frozenset()) -> list[str]:
    """On someone's own daemon: remove only what the page's requests made (and the base images ``pulled`` for
    its builds, when the daemon lacked them, and the names its BuildKit builds printed, ``named``), and put
    back tags it removed."""
    errors = _sdk().errors
    containers, references = made_by(exchanges)
    references |= {_with_tag(ref) for ref in pulled} | set(named)
    leftovers: list[str] = []
    for name in containers:
        try:
            container = api.containers.get(name)
            if container.id not in before.containers:
                container.remove(force=True, v=True)
        except errors.NotFound:
            pass
        except errors.APIError as error:
            leftovers.append(f"container {name}: {error.explanation}")
    tagged_before = {tag for tags in before.images.values() for tag in tags}
    for reference in sorted(references - tagged_before):
        try:
            api.images.remove(reference)
        except errors.NotFound:
            pass
        except errors.APIError as error:
            leftovers.append(f"image {reference}: {error.explanation}")
    for image in api.images.list(filters={"dangling": True}):
        # Untagged build results (`docker build .`, an image whose tag a later build took) are known only by ID.
        if image.id not in before.images:
            try:
                api.images.remove(image.id)
            except errors.APIError as error:
                leftovers.append(f"image {image.short_id}: {error.explanation}")
    if before.build_cache is not None:
        # Only the entries this page's builds made, by ID: BuildKit keeps pulled layers there, and would say CACHED.
        leftovers += _prune_build_cache_made(api, before.build_cache)
    now = {image.id: set(image.tags) for image in api.images.list(all=True)}
    for image_id, tags in before.images.items():
        for tag in tags - now.get(image_id, tags):
            repository, _, name = tag.rpartition(":")
            api.images.get(image_id).tag(repository, name)
    return leftovers
