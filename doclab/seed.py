"""Seed a registry with ``library/alpine:3.18`` built from Alpine's own minirootfs tarball.

The image is assembled the way the official one is (an empty base, the tarball as its only
layer, ``/bin/sh`` as the command) and pushed with the Registry HTTP API v2. Every timestamp
comes from the tarball, so the same tarball always gives the same manifest digest: a capture
recorded on one machine keeps its cache key on another.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import tarfile
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import requests

MANIFEST_V2 = "application/vnd.docker.distribution.manifest.v2+json"
CONFIG_V1 = "application/vnd.docker.container.image.v1+json"
LAYER_GZIP = "application/vnd.docker.image.rootfs.diff.tar.gzip"
ALPINE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


class SeedError(RuntimeError):
    pass


@dataclass(frozen=True)
class SeededImage:
    repository: str
    tag: str
    manifest_digest: str
    layer_digest: str
    alpine_release: str


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for chunk in iter(lambda: stream.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def verify_checksum(tarball: Path, sums_file: Path) -> None:
    """Refuse a tarball whose SHA-256 is not the one listed for it in ``sums_file``."""
    listed = {}
    for line in sums_file.read_text().splitlines():
        if line.strip():
            checksum, name = line.split(maxsplit=1)
            listed[name.lstrip("*")] = checksum
    expected = listed.get(tarball.name)
    if expected is None:
        raise SeedError(f"{sums_file} lists no checksum for {tarball.name}")
    actual = sha256_file(tarball)
    if actual != expected:
        raise SeedError(
            f"{tarball} has SHA-256 {actual}, but {sums_file} lists {expected}: "
            "the file is damaged or not Alpine's minirootfs"
        )


def describe_rootfs(tarball: Path) -> tuple[str, str, datetime]:
    """Return (sha256 of the uncompressed tar, Alpine release, newest member time)."""
    uncompressed = hashlib.sha256()
    with gzip.open(tarball, "rb") as stream:
        for chunk in iter(lambda: stream.read(1 << 20), b""):
            uncompressed.update(chunk)
    release = ""
    newest = 0
    with tarfile.open(tarball, "r:gz") as archive:
        for member in archive:
            newest = max(newest, int(member.mtime))
            if member.name.lstrip("./") == "etc/alpine-release":
                release = archive.extractfile(member).read().decode().strip()
    if not release:
        raise SeedError(f"{tarball} has no etc/alpine-release: it is not an Alpine root filesystem")
    return uncompressed.hexdigest(), release, datetime.fromtimestamp(newest, tz=timezone.utc)


def image_config(diff_id: str, layer_digest: str, created: datetime) -> bytes:
    stamp = created.strftime("%Y-%m-%dT%H:%M:%SZ")
    config = {
        "architecture": "amd64",
        "os": "linux",
        "created": stamp,
        "config": {"Env": [f"PATH={ALPINE_PATH}"], "Cmd": ["/bin/sh"]},
        "rootfs": {"type": "layers", "diff_ids": [f"sha256:{diff_id}"]},
        "history": [
            {"created": stamp, "created_by": f"/bin/sh -c #(nop) ADD file:{layer_digest} in / "},
            {"created": stamp, "created_by": '/bin/sh -c #(nop)  CMD ["/bin/sh"]', "empty_layer": True},
        ],
    }
    return json.dumps(config, sort_keys=True, separators=(",", ":")).encode()


def image_manifest(config: bytes, layer_digest: str, layer_size: int) -> bytes:
    manifest = {
        "schemaVersion": 2,
        "mediaType": MANIFEST_V2,
        "config": {
            "mediaType": CONFIG_V1,
            "size": len(config),
            "digest": "sha256:" + hashlib.sha256(config).hexdigest(),
        },
        "layers": [{"mediaType": LAYER_GZIP, "size": layer_size, "digest": f"sha256:{layer_digest}"}],
    }
    return json.dumps(manifest, indent=3).encode()


def _push_blob(session: requests.Session, base: str, repository: str, digest: str, body) -> None:
    if session.head(f"{base}/v2/{repository}/blobs/{digest}", timeout=30).status_code == 200:
        return
    started = session.post(f"{base}/v2/{repository}/blobs/uploads/", timeout=30)
    if started.status_code != 202:
        raise SeedError(f"registry refused an upload to {repository}: {started.status_code} {started.text}")
    location = started.headers["Location"]
    if location.startswith("/"):
        location = base + location
    separator = "&" if "?" in location else "?"
    finished = session.put(
        f"{location}{separator}digest={digest}",
        data=body,
        headers={"Content-Type": "application/octet-stream"},
        timeout=300,
    )
    if finished.status_code != 201:
        raise SeedError(f"registry refused blob {digest}: {finished.status_code} {finished.text}")


def push_alpine(tarball: Path, registry_url: str, repository: str = "library/alpine", tag: str = "3.18") -> SeededImage:
    """Push the minirootfs as ``repository:tag`` and return what the registry now serves."""
    layer_digest = sha256_file(tarball)
    diff_id, release, created = describe_rootfs(tarball)
    config = image_config(diff_id, f"sha256:{layer_digest}", created)
    manifest = image_manifest(config, layer_digest, tarball.stat().st_size)
    base = registry_url.rstrip("/")
    with requests.Session() as session:
        with tarball.open("rb") as layer:
            _push_blob(session, base, repository, f"sha256:{layer_digest}", layer)
        _push_blob(session, base, repository, "sha256:" + hashlib.sha256(config).hexdigest(), config)
        response = session.put(
            f"{base}/v2/{repository}/manifests/{tag}",
            data=manifest,
            headers={"Content-Type": MANIFEST_V2},
            timeout=30,
        )
    if response.status_code != 201:
        raise SeedError(f"registry refused the manifest of {repository}:{tag}: {response.status_code} {response.text}")
    return SeededImage(
        repository=repository,
        tag=tag,
        manifest_digest=response.headers["Docker-Content-Digest"],
        layer_digest=f"sha256:{layer_digest}",
        alpine_release=release,
    )
