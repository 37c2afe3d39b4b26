"""The reader's ``docker`` client: its version, and the plugins (buildx) installed beside it."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from doclab.daemon.address import DockerSetupError


@dataclass(frozen=True)
class ClientFacts:
    path: str
    version: str
    #: The buildx plugin installed beside the client ("" when it has none: ``docker build`` is then the classic builder).
    buildx: str = ""

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
