"""The lab daemons' authorization plugin: what a page's Docker commands may not do to the machine.

Every lab daemon starts with ``--authorization-plugin`` naming this server, so it asks before each
request and refuses when the server is not there (it fails closed). A page's commands may build,
pull, push, run and remove as a reader's do; what would reach the machine around the daemon is
refused with the reason: a bind mount from anywhere but a page's own folder, ``--privileged``,
the host's process, IPC, UTS, user or cgroup namespace, added capabilities, devices, unconfined
security profiles, volumes backed by a host path, and plugins (which run as root on the machine).

    python -m doclab.lab.authz SOCKET      # serve the plugin on SOCKET (``lab up`` does it)
"""

from __future__ import annotations

import base64
import json
import os
import posixpath
import re
import socket
import socketserver
import sys
import urllib.parse
from http.server import BaseHTTPRequestHandler
from pathlib import Path

from doclab.errors import DoclabError
from doclab.lab.pagefolders import PAGE_RUN_PREFIX, page_folders_root

#: Capabilities a container may add: none of them reaches beyond the container.
HARMLESS_CAPABILITIES = frozenset({"NET_BIND_SERVICE", "CHOWN", "FOWNER", "FSETID", "KILL", "SETGID", "SETUID",
                                   "SETPCAP", "SETFCAP", "AUDIT_WRITE", "NET_RAW", "SYS_CHROOT", "DAC_OVERRIDE"})
#: The oldest Engine API a page may speak: older ones take settings where no check reads them (a body on start).
MIN_API = (1, 40)
#: What a page may change, by method, on a path as the daemon reads it (decoded, its API version taken off): every
#: other write is refused. Reads (GET, HEAD) change nothing and are all allowed.
ALLOWED_WRITES = {
    "POST": re.compile(
        r"/(?:build|build/prune|build/cancel|session|grpc|auth|commit"
        r"|images/create|images/load|images/prune|images/.+/(?:push|tag)"
        r"|containers/create|containers/prune|containers/[^/]+/(?:start|stop|restart|kill|wait|attach|resize|pause"
        r"|unpause|rename|update|exec)"
        r"|exec/[^/]+/(?:start|resize)|volumes/create|volumes/prune|networks/create|networks/prune"
        r"|networks/[^/]+/(?:connect|disconnect))"),
    "PUT": re.compile(r"/containers/[^/]+/archive"),
    "DELETE": re.compile(r"/(?:containers/[^/]+|images/.+|volumes/[^/]+|networks/[^/]+)"),
}
_VERSIONED = re.compile(r"^/v(\d+)\.(\d+)(/.*)$")
_HOST_MODES = ("pidmode", "ipcmode", "utsmode", "usernsmode", "cgroupnsmode")
#: The bind sources each container was created with, by ID and by name (``AuthZRes`` of its create): checked again at
#: start, when the daemon mounts them (a link in a page's folder may point elsewhere by then).
_CREATED_BINDS: dict[str, set[str]] = {}


class Unreadable(DoclabError, ValueError):
    """A request the daemon could read otherwise than this plugin: refused rather than guessed at."""


def _page_folder(source: str) -> bool:
    """Whether ``source`` resolves to a page run's home folder (symlinks followed, as the daemon follows them)."""
    resolved = Path(os.path.realpath(source))
    try:
        relative = resolved.relative_to(page_folders_root())
    except ValueError:
        return False
    parts = relative.parts
    return len(parts) >= 2 and parts[0].startswith(PAGE_RUN_PREFIX) and parts[1] == "home"


def as_the_daemon_reads(uri: str) -> tuple[tuple[int, int] | None, str]:
    """The API version and the path the daemon routes ``uri`` to: percent-decoded (once, as Go does), version off."""
    raw = uri.split("?", 1)[0]
    path = urllib.parse.unquote(raw)
    if urllib.parse.unquote(path) != path or posixpath.normpath(path) != path.rstrip("/") or "//" in path:
        raise Unreadable(f"the path {raw} is written otherwise than a Docker client writes it")
    versioned = _VERSIONED.match(path)
    if versioned:
        return (int(versioned[1]), int(versioned[2])), versioned[3]
    return None, path


def folded(value):
    """``value`` with every object key in lower case, as Go's JSON decoder matches them to Docker's fields."""
    if isinstance(value, list):
        return [folded(item) for item in value]
    if not isinstance(value, dict):
        return value
    keys = {}
    for key, item in value.items():
        lower = str(key).lower()
        if lower in keys:
            raise Unreadable(f"the settings name {key!r} twice, in two cases")
        keys[lower] = folded(item)
    return keys


def refusal(method: str, uri: str, body) -> str | None:
    """Why the request is refused, or None when it is allowed. Pure (but for the bind sources recorded at create, read
    at start): the tests read it as a table."""
    try:
        version, path = as_the_daemon_reads(uri)
        settings = folded(body) if body is not None else None
    except Unreadable as unreadable:
        return f"{unreadable}, so it cannot be checked"
    if method in ("GET", "HEAD"):
        return None
    if version is not None and version < MIN_API:
        return f"Engine API {version[0]}.{version[1]} is older than a page needs ({MIN_API[0]}.{MIN_API[1]} or later)"
    allowed = ALLOWED_WRITES.get(method)
    if allowed is None or not allowed.fullmatch(path):
        if path.startswith("/plugins"):
            return "plugins run as root on the machine; a page may not install or enable one"
        if path.startswith(("/services", "/swarm", "/nodes", "/secrets", "/configs")):
            return "swarm services are not part of what a page may run"
        return f"{method} {path} is not among the requests a page's commands make"
    if path.endswith("/start"):
        if settings:  # an old API's HostConfig on start: settings no check reads
            return "a container's settings go with its create, not its start"
        return _moved_binds(path.split("/")[2])
    if not path.endswith(("/containers/create", "/update", "/exec", "/volumes/create")):
        return None
    if settings is None or not isinstance(settings, dict):
        return "the request's settings were not readable (too large, or not JSON), so they cannot be checked"
    if path.endswith("/volumes/create"):
        return _volume_refusal(settings)
    if path.endswith("/exec"):
        return "an exec with --privileged reaches the machine" if settings.get("privileged") else None
    # Deprecated top-level HostConfig fields are still read by the daemon: both places are checked.
    for host in (settings, settings.get("hostconfig") or {}):
        reason = _host_refusal(host)
        if reason:
            return reason
    return None


def _volume_refusal(settings: dict) -> str | None:
    options = settings.get("driveropts") or {}
    if options.get("device") or options.get("o") or (settings.get("driver") not in (None, "", "local")):
        return "a volume backed by a host path or a driver of its own reaches the machine; use a plain named volume"
    return None


def _host_refusal(host: dict) -> str | None:
    if not isinstance(host, dict):
        return "the request's settings were not readable, so they cannot be checked"
    if host.get("privileged"):
        return "--privileged gives the container the machine's devices and every capability"
    for mode in _HOST_MODES:
        if str(host.get(mode) or "") == "host":
            name = mode.removesuffix("mode")
            return f"{name}=host shares the machine's {name.upper()} namespace"
    added = {str(cap).upper().removeprefix("CAP_") for cap in host.get("capadd") or []}
    if added - HARMLESS_CAPABILITIES:
        return f"--cap-add {', '.join(sorted(added - HARMLESS_CAPABILITIES))} reaches beyond the container"
    if host.get("devices") or host.get("devicerequests") or host.get("devicecgrouprules"):
        return "--device gives the container a device of the machine"
    for option in host.get("securityopt") or []:
        if "unconfined" in option or option.startswith(("seccomp=", "seccomp:", "apparmor=", "apparmor:")):
            return f"--security-opt {option} lifts the container's confinement"
    if host.get("cgroupparent"):
        return "--cgroup-parent places the container outside its daemon's cgroup"
    if host.get("maskedpaths") is not None or host.get("readonlypaths") is not None:
        return "changing the container's masked or read-only paths exposes the machine's /proc and /sys"
    for bind in host.get("binds") or []:
        source = str(bind).split(":", 1)[0]
        if source.startswith("/") and not _page_folder(source):
            return f"-v {source}:… mounts the machine's {source}; bind-mount from the page's folder, or use a named volume"
    for mount in host.get("mounts") or []:
        source = str(mount.get("source") or "")
        if mount.get("type") == "bind" and not _page_folder(source):
            return f"--mount type=bind,source={source} mounts the machine's {source}; bind-mount from the page's folder"
        options = ((mount.get("volumeoptions") or {}).get("driverconfig") or {}).get("options") or {}
        if options.get("device") or options.get("o"):
            return "--mount with a volume backed by a host path reaches the machine"
    return None


def bind_sources(host: dict) -> list[str]:
    """The host paths a container's settings bind: ``-v /path:…`` and ``--mount type=bind``."""
    sources = [str(bind).split(":", 1)[0] for bind in host.get("binds") or []]
    sources += [str(mount.get("source") or "") for mount in host.get("mounts") or [] if mount.get("type") == "bind"]
    return [source for source in sources if source.startswith("/") or not source]


def record_created(uri: str, request_body, response_body) -> None:
    """After a create the daemon allowed: its bind sources, under its ID and its name, for the check at start."""
    try:
        _, path = as_the_daemon_reads(uri)
        settings = folded(request_body or {})
    except Unreadable:
        return
    if not path.endswith("/containers/create") or not isinstance(response_body, dict) or not response_body.get("Id"):
        return
    sources = {source for host in (settings, settings.get("hostconfig") or {}) for source in bind_sources(host)}
    if not sources:
        return
    name = urllib.parse.parse_qs(uri.partition("?")[2]).get("name", [""])[0]
    for key in (response_body["Id"], response_body["Id"][:12], name):
        if key:
            _CREATED_BINDS.setdefault(key, set()).update(sources)


def _moved_binds(container: str) -> str | None:
    for source in sorted(_CREATED_BINDS.get(container, ())):
        if not _page_folder(source):
            return f"-v {source}:… now leads out of the page's folder (a link changed since the container was created)"
    return None


def _json_of(raw: str | None):
    if not raw:
        return None
    try:
        return json.loads(base64.b64decode(raw))
    except ValueError:
        return None


def decide(request: dict) -> dict:
    """An AuthZReq of the Docker plugin protocol → its answer."""
    reason = refusal(request.get("RequestMethod", ""), request.get("RequestUri", ""), _json_of(request.get("RequestBody")))
    if reason is None:
        return {"Allow": True}
    return {"Allow": False, "Msg": f"doclab's lab refuses this: {reason}"}


def after(request: dict) -> dict:
    """An AuthZRes: the request ran; a create's bind sources are kept for its start."""
    if request.get("RequestMethod") == "POST" and 200 <= int(request.get("ResponseStatusCode") or 0) < 300:
        record_created(request.get("RequestUri", ""), _json_of(request.get("RequestBody")),
                       _json_of(request.get("ResponseBody")))
    return {"Allow": True}


def answers(socket_path: Path, timeout: float = 2) -> bool:
    """Whether the plugin answers on ``socket_path`` as dockerd will ask it first (``/Plugin.Activate``)."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
            connection.settimeout(timeout)
            connection.connect(str(socket_path))
            connection.sendall(b"POST /Plugin.Activate HTTP/1.0\r\nContent-Length: 0\r\n\r\n")
            reply = b""
            while chunk := connection.recv(4096):
                reply += chunk
    except OSError:
        return False
    return reply.partition(b"\r\n\r\n")[2] == b'{"Implements": ["authz"]}'


class _Handler(BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802 (the name http.server calls)
        length = int(self.headers.get("Content-Length") or 0)
        request = json.loads(self.rfile.read(length) or b"{}")
        if self.path == "/Plugin.Activate":
            answer = {"Implements": ["authz"]}
        elif self.path == "/AuthZPlugin.AuthZReq":
            answer = decide(request)
            if not answer["Allow"]:
                sys.stderr.write(f"refused {request.get('RequestMethod')} {request.get('RequestUri')}: {answer['Msg']}\n")
        elif self.path == "/AuthZPlugin.AuthZRes":
            answer = after(request)
        else:
            self.send_error(404)
            return
        data = json.dumps(answer).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/vnd.docker.plugins.v1+json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def address_string(self) -> str:
        return "dockerd"

    def log_message(self, format, *args) -> None:  # noqa: A002
        """Every request is asked about: only refusals are logged (above)."""


class _Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


def serve(socket_path: Path) -> None:
    socket_path.parent.mkdir(parents=True, exist_ok=True)
    socket_path.unlink(missing_ok=True)
    with _Server(str(socket_path), _Handler) as server:
        # Page daemons' root is an unprivileged user of the machine (doclab.lab.userns): it must be able to ask.
        os.chmod(socket_path, 0o666)
        server.serve_forever()


if __name__ == "__main__":
    serve(Path(sys.argv[1]))
