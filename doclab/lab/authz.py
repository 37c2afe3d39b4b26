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
import re
import socket
import socketserver
import sys
from http.server import BaseHTTPRequestHandler
from pathlib import Path

from doclab.lab.pagefolders import PAGE_RUN_PREFIX, page_folders_root

#: Capabilities a container may add: none of them reaches beyond the container.
HARMLESS_CAPABILITIES = frozenset({"NET_BIND_SERVICE", "CHOWN", "FOWNER", "FSETID", "KILL", "SETGID", "SETUID",
                                   "SETPCAP", "SETFCAP", "AUDIT_WRITE", "NET_RAW", "SYS_CHROOT", "DAC_OVERRIDE"})
_CREATES = re.compile(r"^(?:/v[\d.]+)?/(?:containers/create|containers/[^/]+/exec|volumes/create"
                      r"|plugins/.*|services/create|services/[^/]+/update)$")
_HOST_MODES = ("PidMode", "IpcMode", "UTSMode", "UsernsMode", "CgroupnsMode")


def _page_folder(source: str) -> bool:
    """Whether ``source`` resolves to a page run's home folder (symlinks followed, as the daemon follows them)."""
    resolved = Path(os.path.realpath(source))
    try:
        relative = resolved.relative_to(page_folders_root())
    except ValueError:
        return False
    parts = relative.parts
    return len(parts) >= 2 and parts[0].startswith(PAGE_RUN_PREFIX) and parts[1] == "home"


def refusal(method: str, uri: str, body: dict | None) -> str | None:
    """Why the request is refused, or None when it is allowed. Pure: the tests read it as a table."""
    path = uri.split("?", 1)[0]
    if method != "POST" or not _CREATES.match(path):
        return None
    if "/plugins/" in path:
        return "plugins run as root on the machine; a page may not install or enable one"
    if re.search(r"/(?:services/)", path):
        return "swarm services are not part of what a page may run"
    if body is None:
        return "the request's settings were not readable (too large, or not JSON), so they cannot be checked"
    if path.endswith("/volumes/create"):
        options = body.get("DriverOpts") or {}
        if options.get("device") or options.get("o") or (body.get("Driver") not in (None, "", "local")):
            return "a volume backed by a host path or a driver of its own reaches the machine; use a plain named volume"
        return None
    if "/exec" in path:
        return "an exec with --privileged reaches the machine" if body.get("Privileged") else None
    host = body.get("HostConfig") or {}
    if host.get("Privileged"):
        return "--privileged gives the container the machine's devices and every capability"
    for mode in _HOST_MODES:
        if str(host.get(mode) or "") == "host":
            return f"{mode.removesuffix('Mode').lower()}=host shares the machine's {mode.removesuffix('Mode')} namespace"
    added = {cap.upper().removeprefix("CAP_") for cap in host.get("CapAdd") or []}
    if added - HARMLESS_CAPABILITIES:
        return f"--cap-add {', '.join(sorted(added - HARMLESS_CAPABILITIES))} reaches beyond the container"
    if host.get("Devices") or host.get("DeviceRequests") or host.get("DeviceCgroupRules"):
        return "--device gives the container a device of the machine"
    for option in host.get("SecurityOpt") or []:
        if "unconfined" in option or option.startswith(("seccomp=", "seccomp:", "apparmor=", "apparmor:")):
            return f"--security-opt {option} lifts the container's confinement"
    if host.get("CgroupParent"):
        return "--cgroup-parent places the container outside its daemon's cgroup"
    if host.get("MaskedPaths") is not None or host.get("ReadonlyPaths") is not None:
        return "changing the container's masked or read-only paths exposes the machine's /proc and /sys"
    for bind in host.get("Binds") or []:
        source = bind.split(":", 1)[0]
        if source.startswith("/") and not _page_folder(source):
            return f"-v {source}:… mounts the machine's {source}; bind-mount from the page's folder, or use a named volume"
    for mount in host.get("Mounts") or []:
        source = mount.get("Source") or ""
        options = ((mount.get("VolumeOptions") or {}).get("DriverConfig") or {}).get("Options") or {}
        if mount.get("Type") == "bind" and not _page_folder(source):
            return f"--mount type=bind,source={source} mounts the machine's {source}; bind-mount from the page's folder"
        if options.get("device") or options.get("o"):
            return "--mount with a volume backed by a host path reaches the machine"
    return None


def decide(request: dict) -> dict:
    """An AuthZReq of the Docker plugin protocol → its answer."""
    body = None
    raw = request.get("RequestBody")
    if raw:
        try:
            body = json.loads(base64.b64decode(raw))
        except ValueError:
            body = None
    reason = refusal(request.get("RequestMethod", ""), request.get("RequestUri", ""), body)
    if reason is None:
        return {"Allow": True}
    return {"Allow": False, "Msg": f"doclab's lab refuses this: {reason}"}


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
            answer = {"Allow": True}
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
        server.serve_forever()


if __name__ == "__main__":
    serve(Path(sys.argv[1]))
