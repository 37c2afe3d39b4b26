"""How doclab finds the reader's daemon: DOCKER_HOST, else the current ``docker context``, else the default
socket. Resolved once, at a front door; the address then travels down as it is."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from doclab.errors import DoclabError


class DockerSetupError(DoclabError, OSError):
    """The reader's Docker setup names something that is not there: a client, a context's daemon, a socket."""

DEFAULT_HOST = "unix:///var/run/docker.sock"

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
