"""The Engine API: a raw ``GET`` on a Unix socket for what a build asks every time (no SDK loaded, no event on
the daemon), and the docker SDK, imported when first needed, for what changes the daemon's state."""

from __future__ import annotations

import json
import os
import socket
from contextlib import contextmanager
from typing import TYPE_CHECKING

from doclab.errors import DoclabError

if TYPE_CHECKING:
    import docker


def _sdk():
    """The docker SDK, imported when first needed (it costs a warm rebuild a tenth of a second)."""
    import docker

    return docker

def connect(base_url: str, timeout: int = 60) -> "docker.DockerClient":
    """An SDK client of the daemon at ``base_url`` (an address resolved by ``doclab.daemon.address``)."""
    docker = _sdk()
    if base_url == os.environ.get("DOCKER_HOST"):
        return docker.from_env(timeout=timeout)  # with DOCKER_TLS_VERIFY and DOCKER_CERT_PATH, as the CLI reads them
    return docker.DockerClient(base_url=base_url, timeout=timeout)

@contextmanager
def connected(base_url: str, timeout: int = 60):
    api = connect(base_url, timeout)
    try:
        yield api
    finally:
        api.close()

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

def ping(docker_host: str, timeout: float = 3) -> bool:
    """Whether a daemon answers at a ``unix://`` host (without the SDK)."""
    path = docker_host.removeprefix("unix://")
    try:
        return os.path.exists(path) and engine_get(path, "/_ping", timeout)[0] == 200
    except OSError:
        return False
