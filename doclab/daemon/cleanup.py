"""What a page made on a daemon, and removing exactly that: everything on a daemon of the lab's own (``empty_daemon``,
``remove_added``), only what the page's requests and builds made on someone's own (``remove_made``)."""

from __future__ import annotations

import re
import time
import urllib.parse
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from doclab.daemon.api import _sdk

if TYPE_CHECKING:
    import docker


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
