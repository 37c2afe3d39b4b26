"""Where the lab gets Alpine's minirootfs: the path in DOCLAB_ALPINE_ROOTFS, or (with
DOCLAB_ALPINE_FETCH=1, on a machine with internet access such as a hosted CI runner) a download
from Alpine's own mirror, checked against the SHA-256 kept here before anything uses it.

    DOCLAB_ALPINE_FETCH=1 python -m doclab.lab.rootfs     # prints the tarball's path (downloads once)
"""

from __future__ import annotations

import hashlib
import os
import sys
import urllib.error
import urllib.request
from pathlib import Path

from doclab.errors import DoclabError
from doclab.lab.seed import sha256_file
from doclab.settings import ALPINE_ROOTFS, Settings

#: Set to 1 to let doclab download the minirootfs when DOCLAB_ALPINE_ROOTFS is not set.
ALPINE_FETCH = "DOCLAB_ALPINE_FETCH"
ALPINE_ROOTFS_NAME = "alpine-minirootfs-3.18.9-x86_64.tar.gz"
ALPINE_ROOTFS_URL = f"https://dl-cdn.alpinelinux.org/alpine/v3.18/releases/x86_64/{ALPINE_ROOTFS_NAME}"
#: Alpine 3.18.9's x86_64 minirootfs, as listed in Alpine's release checksums (and ../shared/alpine/SHA256SUMS).
ALPINE_ROOTFS_SHA256 = "1d90362d504b1846488bda4d9fd11ea8b8f3a567eeba01d3d881a9c98e900c3f"
DEFAULT_CACHE_DIR = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "doclab"
_DOWNLOAD_TIMEOUT = 60


def fetch_enabled() -> bool:
    """Whether DOCLAB_ALPINE_FETCH=1 allows downloading the minirootfs from Alpine's mirror."""
    return os.environ.get(ALPINE_FETCH, "").strip().lower() in {"1", "true", "yes", "on"}


class RootfsError(DoclabError, RuntimeError):
    """The minirootfs cannot be had; the message says what to set or what went wrong."""


def ensure_rootfs(
    settings_or_path: Settings | Path | None,
    cache_dir: Path = DEFAULT_CACHE_DIR,
    *,
    fetch: bool | None = None,
    url: str = ALPINE_ROOTFS_URL,
    sha256: str = ALPINE_ROOTFS_SHA256,
) -> Path:
    """The minirootfs tarball to seed the lab with.

    The configured path (``Settings.alpine_rootfs`` or a path) wins and is returned as it is.
    Otherwise, when ``fetch`` (default: DOCLAB_ALPINE_FETCH=1), the tarball is downloaded into
    ``cache_dir`` once, and kept only if its SHA-256 is ``sha256``; a ``SHA256SUMS`` beside it
    lets the lab check it again before seeding.
    """
    configured = settings_or_path.alpine_rootfs if isinstance(settings_or_path, Settings) else settings_or_path
    if configured is not None:
        return Path(configured)
    if fetch is None:
        fetch = fetch_enabled()
    if not fetch:
        raise RootfsError(
            f"no Alpine minirootfs: set {ALPINE_ROOTFS} to the path of {ALPINE_ROOTFS_NAME}, "
            f"or set {ALPINE_FETCH}=1 to download it from {url} (needs internet access)"
        )
    name = url.rsplit("/", 1)[-1]
    target = cache_dir / name
    if target.is_file() and sha256_file(target) == sha256:
        return target
    target.unlink(missing_ok=True)
    cache_dir.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(name + ".part")
    actual = _download(url, partial)
    if actual != sha256:
        partial.unlink(missing_ok=True)
        raise RootfsError(
            f"refused {url}: its SHA-256 is {actual}, but doclab expects {sha256} "
            f"(ALPINE_ROOTFS_SHA256 in doclab/lab/rootfs.py); the download was deleted. "
            "A damaged download: run again. A changed file on the mirror: do not use it."
        )
    partial.replace(target)
    (cache_dir / "SHA256SUMS").write_text(f"{sha256}  {name}\n")
    return target


def _download(url: str, destination: Path) -> str:
    """Stream ``url`` into ``destination``; return the SHA-256 of what was written."""
    digest = hashlib.sha256()
    try:
        with urllib.request.urlopen(url, timeout=_DOWNLOAD_TIMEOUT) as response, destination.open("wb") as out:
            for chunk in iter(lambda: response.read(1 << 16), b""):
                digest.update(chunk)
                out.write(chunk)
    except (urllib.error.URLError, OSError) as error:
        destination.unlink(missing_ok=True)
        raise RootfsError(f"could not download {url}: {error}") from None
    return digest.hexdigest()


def main() -> int:
    try:
        print(ensure_rootfs(Settings.from_env()))
    except RootfsError as error:
        print(f"doclab.lab.rootfs: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
