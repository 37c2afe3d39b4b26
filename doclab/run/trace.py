"""Record the HTTP traffic of one command: client → daemon with a proxy on a Unix socket,
daemon → registry from the registry's own access log.

The proxy appends ``doclab-trace/<id>`` to each request's User-Agent. The daemon passes the
client's User-Agent on to the registry (``UpstreamClient(...)``), so the registry's log lines of
exactly this command can be told apart from those of any other daemon using the same registry.
"""

from __future__ import annotations

import re
import secrets
import socket
import threading
import time
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from enum import Enum
from pathlib import Path


@dataclass(frozen=True)
class Exchange:
    source: str
    target: str
    method: str
    path: str
    status: int | None
    started: float
    finished: float

    def to_dict(self) -> dict:
        return asdict(self)


class Body(Enum):
    """What follows a message's head, as its start line and headers tell."""

    NONE = "none"
    LENGTH_OR_CHUNKED = "body"  # as its headers say
    UNTIL_CLOSE = "until-close"  # a response without length: it ends with the connection
    TUNNEL = "tunnel"  # an upgraded connection: another protocol, passed through


class Framing(Enum):
    """Where a framer is in the message passing through it."""

    HEAD = "head"
    LENGTH = "length"
    CHUNK_SIZE = "chunk-size"
    CHUNK_DATA = "chunk-data"
    TRAILER = "trailer"
    UNTIL_CLOSE = "until-close"
    TUNNEL = "tunnel"


class _HttpFramer:
    """Follows one direction of an HTTP/1.1 connection, message by message, as bytes arrive."""

    def __init__(self, on_head, on_done=lambda: None):
        self.on_head = on_head  # (start_line, headers, raw header lines) -> (body kind, replacement head bytes or None)
        self.on_done = on_done  # called when a message, body included, has passed
        self.buffer = b""
        self.state = Framing.HEAD
        self.remaining = 0

    def feed(self, data: bytes) -> bytes:
        out = bytearray()
        self.buffer += data
        while self.buffer:
            if self.state is Framing.HEAD:
                end = self.buffer.find(b"\r\n\r\n")
                if end < 0:
                    break
                head, self.buffer = self.buffer[: end + 4], self.buffer[end + 4:]
                lines = head.decode("latin-1").split("\r\n")
                headers = {}
                for line in lines[1:]:
                    if ":" in line:
                        name, value = line.split(":", 1)
                        headers[name.strip().lower()] = value.strip()
                body, replacement = self.on_head(lines[0], headers, [line for line in lines[1:] if line])
                out += replacement or head
                self._expect(body, headers)
            elif self.state in (Framing.TUNNEL, Framing.UNTIL_CLOSE):
                out += self.buffer
                self.buffer = b""
            elif self.state in (Framing.LENGTH, Framing.CHUNK_DATA):
                taken = self.buffer[: self.remaining]
                out += taken
                self.buffer = self.buffer[len(taken):]
                self.remaining -= len(taken)
                if self.remaining == 0 and self.state is Framing.LENGTH:
                    self._done()
                elif self.remaining == 0:
                    self.state = Framing.CHUNK_SIZE
            elif self.state in (Framing.CHUNK_SIZE, Framing.TRAILER):
                end = self.buffer.find(b"\r\n")
                if end < 0:
                    break
                line, self.buffer = self.buffer[: end + 2], self.buffer[end + 2:]
                out += line
                if self.state is Framing.TRAILER:
                    if line == b"\r\n":
                        self._done()
                else:
                    size = int(line.split(b";")[0].strip() or b"0", 16)
                    self.state, self.remaining = (Framing.TRAILER, 0) if size == 0 else (Framing.CHUNK_DATA, size + 2)
        return bytes(out)

    def _done(self) -> None:
        self.state = Framing.HEAD
        self.on_done()

    def _expect(self, body: Body, headers: dict) -> None:
        if body is Body.TUNNEL:
            self.state = Framing.TUNNEL
        elif body is Body.NONE:
            self._done()
        elif "chunked" in headers.get("transfer-encoding", "").lower():
            self.state = Framing.CHUNK_SIZE
        elif "content-length" in headers:
            self.remaining = int(headers["content-length"] or 0)
            if self.remaining:
                self.state = Framing.LENGTH
            else:
                self._done()
        elif body is Body.UNTIL_CLOSE:
            self.state = Framing.UNTIL_CLOSE
        else:
            self._done()


class UnixSocketRecorder:
    """A proxy on ``listen`` that forwards to the daemon socket ``upstream`` and records exchanges."""

    def __init__(self, listen: Path, upstream: Path | tuple[str, int], trace_id: str | None = None):
        self.listen = listen
        self.upstream = upstream
        self.trace_id = trace_id or secrets.token_hex(6)
        self.exchanges: list[Exchange] = []
        self._lock = threading.Lock()
        self._server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._server.bind(str(listen))
        self._server.listen(16)
        self._threads: list[threading.Thread] = []
        self._sockets: list[socket.socket] = []
        self._connections: list[tuple[list[dict], threading.Thread]] = []  # each one's open requests, response pump
        self._accepting = threading.Thread(target=self._accept, daemon=True)
        self._accepting.start()

    @property
    def docker_host(self) -> str:
        return f"unix://{self.listen}"

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            self._connect(client)

    def _connect(self, client: socket.socket) -> None:
        """Pipe one client connection to the daemon, both ways, through HTTP framers."""
        if isinstance(self.upstream, tuple):
            upstream = socket.create_connection(self.upstream)
        else:
            upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            upstream.connect(str(self.upstream))
        self._sockets += [client, upstream]
        pending: list[dict] = []  # this connection's requests still waiting for their response
        requests = _HttpFramer(lambda line, headers, raw: self._on_request(line, headers, raw, pending))
        responses = _HttpFramer(lambda line, headers, raw: self._on_response(line, pending), lambda: self._finish(pending))
        pumps = [threading.Thread(target=self._pump, args=(source, target, framer, pending), daemon=True)
                 for source, target, framer in ((client, upstream, requests), (upstream, client, responses))]
        self._connections.append((pending, pumps[1]))  # before any byte flows: so_far must see the connection
        for thread in pumps:
            thread.start()
            self._threads.append(thread)

    def _on_request(self, line: str, headers: dict, raw: list[str], pending: list[dict]):
        method, path, *_ = line.split(" ")
        pending.append({"method": method, "path": path, "started": time.time()})
        agent = headers.get("user-agent", "")
        # Raw lines, not the dict: BuildKit's session repeats a header once per method it exposes.
        head = [line] + [header for header in raw if header.split(":", 1)[0].strip().lower() != "user-agent"]
        head.append(f"User-Agent: {agent} doclab-trace/{self.trace_id}".strip())
        has_body = "transfer-encoding" in headers or int(headers.get("content-length", "0") or 0) > 0
        # An upgraded connection (BuildKit's /session, `docker attach`) carries another protocol after this head.
        upgrade = "upgrade" in headers.get("connection", "").lower()
        kind = Body.TUNNEL if upgrade else Body.LENGTH_OR_CHUNKED if has_body else Body.NONE
        return kind, ("\r\n".join(head) + "\r\n\r\n").encode("latin-1")

    def _on_response(self, line: str, pending: list[dict]):
        status = int(line.split(" ")[1])
        request = pending[0] if pending else {"method": "?", "path": "?", "started": time.time()}
        request["status"] = status
        if status == 101:
            return Body.TUNNEL, None
        if request["method"] == "HEAD" or status in (204, 304) or 100 <= status < 200:
            return Body.NONE, None
        return Body.UNTIL_CLOSE, None

    def _finish(self, pending: list[dict]) -> None:
        if not pending:
            return
        request = pending.pop(0)
        with self._lock:
            self.exchanges.append(Exchange("client", "daemon", request["method"], request["path"],
                                           request.get("status"), request["started"], time.time()))

    def _pump(self, source: socket.socket, target: socket.socket, framer: _HttpFramer, pending: list[dict]) -> None:
        while True:
            try:
                data = source.recv(65536)
            except OSError:
                data = b""
            if not data:
                break
            try:
                target.sendall(framer.feed(data))
            except OSError:
                break
        if framer.state is Framing.UNTIL_CLOSE and pending and "status" in pending[0]:
            framer.on_done()  # a response that ends when its connection closes
        try:
            target.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    def so_far(self, settle: float = 5.0) -> list[Exchange]:
        """The exchanges until now, the proxy recording on. A command that has just exited may have its last
        response still in this proxy's hands (a loaded machine): wait up to ``settle`` s for open connections to
        end, then count a request still open once its answer's status has arrived."""
        deadline = time.monotonic() + settle
        for _, responses in list(self._connections):
            responses.join(timeout=max(0.0, deadline - time.monotonic()))
        with self._lock:
            still_open = [Exchange("client", "daemon", request["method"], request["path"], request["status"],
                                   request["started"], time.time())
                          for pending, _ in self._connections for request in list(pending) if "status" in request]
            return sorted(self.exchanges + still_open, key=lambda exchange: exchange.started)

    def close(self) -> list[Exchange]:
        try:
            self._server.shutdown(socket.SHUT_RDWR)  # wakes the thread blocked in accept(); close() alone does not
        except OSError:
            pass
        self._server.close()
        self._accepting.join(timeout=10)
        for thread in self._threads:
            thread.join(timeout=10)
        for connection in self._sockets:
            connection.close()
        self.listen.unlink(missing_ok=True)
        with self._lock:
            return sorted(self.exchanges, key=lambda exchange: exchange.started)


_LOGRUS_FIELD = re.compile(r'(?P<key>[\w.]+)=(?:"(?P<quoted>(?:[^"\\]|\\.)*)"|(?P<bare>\S+))')


def registry_exchanges(log_text: str, trace_id: str) -> list[Exchange]:
    """The requests the registry logged for this trace (its "response completed" lines)."""
    found = []
    for line in log_text.splitlines():
        if "response completed" not in line or f"doclab-trace/{trace_id}" not in line:
            continue
        fields = {m["key"]: m["quoted"] if m["quoted"] is not None else m["bare"] for m in _LOGRUS_FIELD.finditer(line)}
        finished = _parse_time(fields["time"])
        duration = _parse_duration(fields.get("http.response.duration", "0s"))
        found.append(Exchange("daemon", "registry", fields["http.request.method"], fields["http.request.uri"],
                              int(fields["http.response.status"]), finished - duration, finished))
    return sorted(found, key=lambda exchange: exchange.finished)


def _parse_time(stamp: str) -> float:
    whole, _, fraction = stamp.rstrip("Z").partition(".")
    base = datetime.strptime(whole, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=timezone.utc)
    return base.timestamp() + (float("0." + fraction) if fraction else 0.0)


def _parse_duration(text: str) -> float:
    units = {"ns": 1e-9, "µs": 1e-6, "us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}
    match = re.fullmatch(r"([\d.]+)(ns|µs|us|ms|s|m)", text)
    return float(match[1]) * units[match[2]] if match else 0.0
