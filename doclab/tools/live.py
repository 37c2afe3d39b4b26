"""The live terminals behind the lesson's "Do it", started by ``scripts/serve`` when it has the lab.

An HTTP server on 127.0.0.1 only, beside ``mkdocs serve``. Every request carries the random token serve prints
and the pages carry (``<meta name="doclab-live">``), and comes from the site's own origin; anything else is refused.
A tab opens one shell (``run.live.LiveShell``: the page sandbox, a page folder and a lab daemon of its own), reads
its screen as server-sent events, types into it, and asks "Check my work" (``lesson.checks``). A shell ends when
its tab closes, after ``IDLE_SECONDS`` without a key, or when serve stops: its processes, folder and limits are
removed and its daemon is given back emptied.

    POST /open   POST /input?session=ID (the keys)   GET /screen?session=ID (events)
    POST /check?session=ID&step=N   POST /close?session=ID         (each with &token=TOKEN)
"""

from __future__ import annotations

import hmac
import json
import os
import secrets
import threading
import time
from contextlib import ExitStack
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from doclab import daemon
from doclab.errors import DoclabError
from doclab.lab.control import Lab
from doclab.lesson.answers import load_rules
from doclab.lesson.checks import Found, check_step, folder_name
from doclab.lesson.values import lesson_values
from doclab.run.live import LiveShell
from doclab.settings import Settings

#: Shells open at once (each holds a lab daemon); a tab beyond them is told so.
MAX_SHELLS = 4
#: A shell nobody typed into for this long ends (its tab may have been left open overnight).
IDLE_SECONDS = 20 * 60
#: The most of one request's body read (keys typed, pasted).
MAX_BODY = 64 * 1024


class Shell:
    def __init__(self, lab: Lab, docker_cli: str):
        self.stack = ExitStack()
        try:
            self.daemon = self.stack.enter_context(lab.lease_daemon(fresh_after=True))
            self.shell = LiveShell(self.daemon.docker_host, self.daemon.netns, docker_cli)
            self.stack.callback(self.shell.close)
        except BaseException:
            self.stack.close()
            raise
        self.commands: list[str] = []
        self.last_used = time.monotonic()

    def close(self) -> None:
        self.stack.close()  # the shell first, then the daemon given back emptied


def server_avoiding(ports: set, handler) -> ThreadingHTTPServer:
    """A server on a free port of 127.0.0.1 that is none of ``ports``: the pages' own (``mkdocs serve`` binds it after
    this, and the kernel may hand out a port just freed, as a test's probe for a free one frees it)."""
    taken: list[ThreadingHTTPServer] = []
    try:
        while True:
            server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
            if server.server_address[1] not in ports:
                return server
            taken.append(server)  # kept bound meanwhile: the next bind gets another port
    finally:
        for server in taken:
            server.server_close()


class LiveTerminals:
    def __init__(self, settings: Settings, lab: Lab, origins: tuple[str, ...]):
        self.settings = settings
        self.lab = lab
        self.origins = origins
        self.token = secrets.token_urlsafe(24)
        self.values = lesson_values(settings.snippets_dir)
        self.folder = folder_name((settings.snippets_dir / "mini-project" / "make-project-folder.sh").read_text())
        self.rules = load_rules(settings.snippets_dir / "mini-project" / "answers.json")
        # From the lab's registry (read-only to pages): the daemon may keep no image of its own for the base.
        self.base_layers = registry_layers(lab.registry_url, self.values["base_image"])
        self.shells: dict[str, Shell] = {}
        self.lock = threading.Lock()
        self.stopped = threading.Event()
        self.server = server_avoiding({urlsplit(origin).port for origin in origins}, _handler(self))
        self.server.daemon_threads = True

    @property
    def address(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    @property
    def page_setting(self) -> str:
        """What the pages carry: where the terminals are, and the token."""
        return f"{self.address}/#{self.token}"

    def start(self) -> "LiveTerminals":
        threading.Thread(target=self.server.serve_forever, name="doclab-live", daemon=True).start()
        threading.Thread(target=self._end_idle_shells, name="doclab-live-idle", daemon=True).start()
        return self

    def stop(self) -> None:
        self.stopped.set()
        self.server.shutdown()
        self.server.server_close()
        with self.lock:
            shells, self.shells = list(self.shells.values()), {}
        for shell in shells:
            shell.close()

    def open(self) -> str:
        with self.lock:
            if len(self.shells) >= MAX_SHELLS:
                raise LiveRefused(429, f"{MAX_SHELLS} live terminals are open already: close one of their tabs")
        shell = Shell(self.lab, self.settings.docker_cli)
        name = secrets.token_urlsafe(12)
        with self.lock:
            self.shells[name] = shell
        return name

    def close(self, name: str) -> None:
        with self.lock:
            shell = self.shells.pop(name, None)
        if shell is not None:
            shell.close()

    def shell(self, name: str) -> Shell:
        with self.lock:
            shell = self.shells.get(name)
        if shell is None:
            raise LiveRefused(404, "this terminal has ended (its tab closed, it was idle, or serve restarted): open a new one")
        shell.last_used = time.monotonic()
        return shell

    def check(self, name: str, step: str) -> dict:
        shell = self.shell(name)
        if step not in self.rules.steps:
            raise LiveRefused(400, f"the mini project has steps {', '.join(self.rules.steps)}, not {step!r}")
        verdict = check_step(step, self.found(shell), self.values, self.folder, self.rules)
        return {"done": verdict.done, "says": verdict.says}

    def found(self, shell: Shell) -> Found:
        project = shell.shell.home / self.folder
        socket_path = shell.daemon.docker_host.removeprefix("unix://")
        return Found(
            folder_exists=project.is_dir() and not project.is_symlink(),
            dockerfile=read_plain_file(project, "Dockerfile"),
            image_name_variable=shell.shell.state["image_name"],
            commands=tuple(shell.shell.commands),
            image_layers=_layers(socket_path, self.values["image_name"]),
            base_layers=self.base_layers,
            transcript=shell.shell.transcript(),
        )

    def _end_idle_shells(self) -> None:
        while not self.stopped.wait(30):
            with self.lock:
                idle = [name for name, shell in self.shells.items()
                        if time.monotonic() - shell.last_used > IDLE_SECONDS or not shell.shell.alive]
            for name in idle:
                self.close(name)


class LiveRefused(DoclabError, RuntimeError):
    """A request the live terminals answer with an error status; the message says what to do."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


def read_plain_file(folder: Path, name: str, limit: int = 4096) -> str | None:
    """``folder/name`` when both are what they seem (no link followed: the reader's shell may plant one); else None."""
    try:
        directory = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    except OSError:
        return None
    try:
        descriptor = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=directory)
    except OSError:
        return None
    finally:
        os.close(directory)
    with os.fdopen(descriptor, "rb") as file:
        if not os.path.stat.S_ISREG(os.fstat(file.fileno()).st_mode):
            return None
        return file.read(limit).decode("utf-8", "replace")


def registry_layers(registry_url: str, image: str) -> tuple[str, ...]:
    """The layers (diff ids) of ``image`` as the lab's registry serves it (one Docker v2 manifest, as the lab seeds it)."""
    import requests  # only when a live terminal runs

    repository, _, tag = image.partition(":")
    base = f"{registry_url.rstrip('/')}/v2/library/{repository}"
    manifest = requests.get(f"{base}/manifests/{tag or 'latest'}", timeout=10,
                            headers={"Accept": "application/vnd.docker.distribution.manifest.v2+json"})
    manifest.raise_for_status()
    config = requests.get(f"{base}/blobs/{manifest.json()['config']['digest']}", timeout=10)
    config.raise_for_status()
    return tuple(config.json()["rootfs"]["diff_ids"])


def _layers(socket_path: str, image: str) -> tuple[str, ...] | None:
    status, body = daemon.engine_get(socket_path, f"/images/{image}/json")
    if status != 200 or not isinstance(body, dict):
        return None
    return tuple(body.get("RootFS", {}).get("Layers") or ())


def _handler(terminals: LiveTerminals):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def _allowed(self) -> dict[str, str] | None:
            """The query, when the request carries the token and comes from the site; else None (answered 403)."""
            query = {key: values[0] for key, values in parse_qs(urlsplit(self.path).query).items()}
            origin = self.headers.get("Origin", "")
            if origin not in terminals.origins or not hmac.compare_digest(query.get("token", ""), terminals.token):
                self._send(403, {"says": "refused: not from this site's pages, or without serve's token"})
                return None
            return query

        def _send(self, status: int, answer: dict) -> None:
            body = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self._cors()
            self.end_headers()
            self.wfile.write(body)

        def _cors(self) -> None:
            origin = self.headers.get("Origin", "")
            if origin in terminals.origins:
                self.send_header("Access-Control-Allow-Origin", origin)
                self.send_header("Vary", "Origin")

        def do_POST(self):
            query = self._allowed()
            if query is None:
                return
            length = min(int(self.headers.get("Content-Length") or 0), MAX_BODY)
            body = self.rfile.read(length)
            action = urlsplit(self.path).path
            try:
                if action == "/open":
                    self._send(200, {"session": terminals.open()})
                elif action == "/input":
                    terminals.shell(query.get("session", "")).shell.type(body)
                    self._send(200, {})
                elif action == "/check":
                    self._send(200, terminals.check(query.get("session", ""), query.get("step", "")))
                elif action == "/close":
                    terminals.close(query.get("session", ""))
                    self._send(200, {})
                else:
                    self._send(404, {"says": f"no {action} here"})
            except LiveRefused as refused:
                self._send(refused.status, {"says": str(refused)})

        def do_GET(self):
            query = self._allowed()
            if query is None:
                return
            if urlsplit(self.path).path != "/screen":
                self._send(404, {"says": "no such page"})
                return
            try:
                shell = terminals.shell(query.get("session", ""))
            except LiveRefused as refused:
                self._send(refused.status, {"says": str(refused)})
                return
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Cache-Control", "no-store")
            self._cors()
            self.end_headers()
            self._stream(shell)

        def _stream(self, shell: Shell) -> None:
            """The screen, each time it changes (at most 30 times a second), until the shell or the tab ends."""
            seen = -1
            try:
                while not terminals.stopped.is_set():
                    with shell.shell.changed:
                        shell.shell.changed.wait_for(lambda last=seen: shell.shell.version != last or terminals.stopped.is_set(),
                                                     timeout=15)
                    screen = shell.shell.screen()
                    if screen["version"] == seen:
                        self.wfile.write(b": still here\n\n")  # keeps proxies and the browser from timing out
                    else:
                        seen = screen["version"]
                        self.wfile.write(b"data: " + json.dumps(screen).encode() + b"\n\n")
                    self.wfile.flush()
                    if not screen["alive"]:
                        return
                    time.sleep(1 / 30)
            except OSError:
                return  # the tab went away

    return Handler
