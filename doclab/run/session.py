"""Run a page's code blocks in order, in one shell and one empty folder, as a reader would.

The MkDocs hook (to capture outputs) and the Sybil suite (to test them) both use ``PageRun``:
one set of rules for where files go, how state carries and what gets cleaned up.
"""

from __future__ import annotations

import dataclasses
import difflib
import getpass
import os
import re
import shutil
import socket
import sys
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

from doclab.engine import daemon
from doclab.errors import DoclabError
from doclab.lab.pagefolders import new_page_folder
from doclab.page.parse import BlockKind, Block, Page, split_console
from doclab.run.scrub import MachineFacts, normalize, scrub
from doclab.settings import PROJECT_ROOT, Settings
from doclab.run import terminal
from doclab.run.shell import CommandResult, ShellSession
from doclab.engine.guard import port_taken_hint
from doclab.run.trace import UnixSocketRecorder, registry_exchanges


#: What a daemon prints when the registry (the lab's, then Docker Hub) has no such image.
_PULL_FAILED = re.compile(r"registry-1\.docker\.io|no such host|manifest unknown|pull access denied|not found: manifest")


#: What a daemon prints when its own storage or runtime failed (not the page's commands).
_LAB_FAULT = re.compile(r"/overlay2/|failed to register layer|error creating overlay mount|failed to prepare|"
                        r"containerd\.sock|OCI runtime create failed.*(?:no such file|permission denied)")


class BlockFailed(DoclabError, AssertionError):
    """A block ended with another exit code than declared, or ran out of time."""


@dataclass(frozen=True)
class BlockResult:
    block: Block
    exit_code: int | None
    output: str
    seconds: float
    trace: dict = field(default_factory=dict)


def shown_command(block: Block) -> str:
    return block.source.rstrip("\n")


def failure_message(block: Block, result: CommandResult, timeout: float) -> str:
    if result.timed_out:
        outcome = f"was killed after {timeout:g} s (its time limit; raise it with <!-- exec: timeout=N -->)"
    elif result.exit_code is None:
        outcome = "ended its shell without an exit code"
    else:
        outcome = f"exited with unexpected code {result.exit_code} (declared: {block.expected_exit})"
    return (
        f"{block.label} {outcome}\n"
        f"--- command ---\n{shown_command(block)}\n"
        f"--- output ---\n{result.output.rstrip()}\n"
        f"--- reproduce ---\npython -m doclab run docs/{block.page}"
    )


#: The reader-like environment a page's shell starts from; nothing else of the builder's leaks in.
SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#: Variables passed through from the builder because they say which daemon to talk to, and how.
PASSED_THROUGH = ("DOCKER_HOST", "DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH")


def reader_environment(home: Path, bin_dir: Path, docker_host: str | None, environ: dict[str, str]) -> dict[str, str]:
    """A small, explicit environment: what a reader's interactive shell has, not the builder's."""
    user = getpass.getuser()
    env = {
        "PATH": f"{bin_dir}{os.pathsep}{SYSTEM_PATH}",
        "HOME": str(home),
        "USER": user,
        "LOGNAME": user,
        "SHELL": "/bin/bash",
        "LANG": "C.UTF-8",
        "TERM": "xterm-256color",
        "TZ": "UTC",
    }
    env.update({name: environ[name] for name in PASSED_THROUGH if environ.get(name)})
    if docker_host:
        env["DOCKER_HOST"] = docker_host
    return env


def recorder_upstream(server_host: str, env: dict[str, str]) -> Path | tuple[str, int]:
    """Where the recording proxy forwards: the daemon's Unix socket, or its plain TCP address."""
    if server_host.startswith("unix://"):
        return Path(server_host.removeprefix("unix://"))
    address = urllib.parse.urlsplit(server_host)
    if address.scheme != "tcp" or env.get("DOCKER_TLS_VERIFY") or not address.hostname:
        raise OSError(
            f"DOCKER_HOST={server_host}: doclab runs pages on someone's own daemon only over a Unix socket or plain "
            "tcp://, where it can record what each page creates (and remove exactly that); use one of those"
        )
    return address.hostname, address.port or 2375


class DaemonDied(BlockFailed):
    """The daemon stopped answering while a block ran: one error naming page, block and daemon."""


class PageRun:
    """An empty folder, a shell, and the daemon's state before the page ran; undone by ``close``.

    ``netns``: the network namespace of the page's own lab daemon; the shell runs there too, so
    ``localhost`` and published ports are the page's own and never collide with another page's.
    """

    def __init__(self, page: Page, settings: Settings, docker_host: str | None = None, netns: str | None = None):
        self.page = page
        self.settings = settings
        self.docker_host = docker_host
        self.facts = daemon.daemon_facts(docker_host)
        self.client = daemon.client_facts(settings.docker_cli)
        self.root = new_page_folder()  # `lab prune` removes it once this process is gone
        self.home = self.root / "home"
        self.workdir = self.home  # a reader's terminal opens in their home: `mkdir docker-architecture` goes there
        self.workdir.mkdir(parents=True)
        control = self.root / "control"
        control.mkdir()
        bin_dir = control / "bin"
        bin_dir.mkdir()
        (bin_dir / "docker").symlink_to(self.client.path)
        # A wrapper, not a variable: the builder's interpreter path must not show in the page's environment.
        python = bin_dir / "python3"
        python.write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
        python.chmod(0o755)
        env = reader_environment(self.home, bin_dir, docker_host, dict(os.environ))
        self._server_host = daemon.resolve_docker_host({"DOCKER_HOST": docker_host} if docker_host else os.environ)
        self._recorder: UnixSocketRecorder | None = None
        if self.facts.reachable and not self.facts.owned:
            # Someone's own daemon: record the page's requests, so cleanup removes exactly what the page made.
            self._recorder = UnixSocketRecorder(control / "docker.sock", recorder_upstream(self._server_host, env))
            env["DOCKER_HOST"] = self._recorder.docker_host
            env.pop("DOCKER_TLS_VERIFY", None)
            env.pop("DOCKER_CERT_PATH", None)
        self.machine = MachineFacts(
            workdirs=(
                (str(self.home), "~"), (str(self.root), "<page-run>"),
                (str(PROJECT_ROOT), "<project>"), (sys.prefix, "<venv>"), (str(settings.lab_dir), "<lab>"),
            ),
            home=os.path.expanduser("~"),
            # With a namespace of its own the page has its own host name: the machine's never shows.
            hostname=None if netns else socket.gethostname(),
            username=getpass.getuser(),
        )
        self._api = None
        self._before = None
        self.leftovers: list[str] = []
        self._last_block: Block | None = None
        self.base_present: dict[str, bool] = {}
        try:
            if self.facts.reachable:
                self._api = daemon.connect(base_url=docker_host)
                if self.facts.owned:
                    daemon.empty_daemon(self._api)
                self._before = daemon.DaemonSnapshot.take(self._api, with_build_cache=not self.facts.owned)
                for ref in self.base_images:
                    self.base_present[ref] = daemon.image_exists(self._api, ref)
            # What the page's shell needs from the machine's /tmp (its own /tmp hides the rest): its folder,
            # the daemon's socket, and the interpreter its python3 runs (a checkout may live under /tmp).
            host = env.get("DOCKER_HOST", "")
            daemon_socket = (Path(host.removeprefix("unix://")),) if host.startswith("unix://") else ()
            visible = (self.root, *daemon_socket, Path(sys.prefix), Path(sys.base_prefix))
            self.shell = ShellSession(self.workdir, control, env, netns=netns, visible=visible)
        except BaseException:
            self._close_api()
            if self._recorder is not None:
                self._recorder.close()
            shutil.rmtree(self.root, ignore_errors=True)
            raise

    @property
    def base_images(self) -> list[str]:
        return daemon.base_images([b.source for b in self.page.blocks if b.kind is BlockKind.FILE])

    @property
    def commands_run(self) -> int:
        return self.shell.commands_run

    def run(self, block: Block) -> BlockResult:
        """Run one block; raise BlockFailed unless it ends with its declared exit code."""
        timeout = block.timeout or self.settings.block_timeout
        if self._last_block is not None and not self.shell.alive:
            # The shell died after the last block printed its end (`exit`, `kill $PPID`): that block did it.
            raise BlockFailed(
                f"{self._last_block.label} ended the page's shell (it exited, or killed the shell) after it printed its "
                f"output, so {block.label} and the blocks after it cannot run; a page's blocks share one shell, as a "
                f"reader's terminal does\n--- reproduce ---\npython -m doclab run docs/{block.page}"
            )
        self._last_block = block
        if block.fresh and self._api is not None:
            self._first_pull_again(block)
        if block.kind is BlockKind.SHELL and block.trace:
            return self._run_traced(block, timeout)
        runner = self.RUNNERS.get(block.kind)
        if runner is None:
            raise BlockFailed(f"{block.label}: doclab does not know how to run '{block.language}' blocks")
        return self._checked(block, runner(self, block, timeout), timeout)

    def _run_file(self, block: Block, timeout: float) -> CommandResult:
        return self.shell.run(write_file_script(block), timeout)

    def _run_python(self, block: Block, timeout: float) -> CommandResult:
        script = self.root / "control" / f"block-{block.line}.py"
        script.write_text(block.source)
        return self.shell.run(self._scoped(block, f"python3 {script}"), timeout)

    def _run_shell(self, block: Block, timeout: float) -> CommandResult:
        if block.terminal is None:
            return self.shell.run(self._scoped(block, block.source), timeout)
        script = terminal.wrapped(block.source, self.root / "control", block.line, block.terminal)
        result = self.shell.run(self._scoped(block, script), timeout)
        return dataclasses.replace(result, output=terminal.screen(result.output, block.terminal))

    def _first_pull_again(self, block: Block) -> None:
        """``fresh=true``: the daemon as before the page, so the block pulls again. A lab daemon is emptied; on
        someone's own daemon only what this page made so far is removed."""
        if self.facts.owned:
            daemon.empty_daemon(self._api)
            return
        if self._recorder is None:
            raise BlockFailed(f"{block.label}: fresh=true needs a daemon doclab can record the page's requests to")
        leftovers = daemon.remove_made(self._api, self._before, self._recorder.so_far(), self._pulled_bases())
        if leftovers:
            raise BlockFailed(f"{block.label}: fresh=true could not remove what the page made before it: {leftovers}")

    def _pulled_bases(self) -> list[str]:
        """A build pulls its base without a request that names it: those the daemon lacked are the page's."""
        return [ref for ref in self.base_images if not self.base_present.get(ref)]

    def _checked(self, block: Block, result: CommandResult, timeout: float, trace: dict | None = None) -> BlockResult:
        self._raise_if_daemon_died(block)
        if result.timed_out or result.exit_code != block.expected_exit:
            raise BlockFailed(failure_message(block, result, timeout) + self._unserved_image_hint(result.output)
                              + port_taken_hint(result.output) + self._lab_fault_hint(result.output))
        return BlockResult(block, result.exit_code, scrub(result.output, self.machine), result.seconds, trace or {})

    def _lab_fault_hint(self, output: str) -> str:
        """A failure inside the lab daemon's own storage or runtime is the lab's fault, not the page's: say so."""
        if not self.facts.owned or not _LAB_FAULT.search(output):
            return ""
        log = self._server_host.removeprefix("unix://").removesuffix(".sock") + ".log"
        return (f"\n--- note ---\nThis looks like a fault of the lab's daemon ({self._server_host}), not of the page: "
                f"see its log {log}. It is checked and started again before the next page: run the build again.")

    def _unserved_image_hint(self, output: str) -> str:
        """On the offline lab, an image it does not serve fails with Docker Hub's error: say what it serves."""
        if not self.facts.owned or not _PULL_FAILED.search(output):
            return ""
        from doclab.lab.control import Lab  # only on this failure path: the lab pulls in requests

        served = ", ".join(Lab(self.settings).served_images()) or "nothing (is its registry up?)"
        return (
            f"\n--- note ---\nThis ran on the offline lab, whose registry serves only the images it seeded: {served}. "
            "Use one of those, add the image to the lab (doclab/lab/seed.py, then python -m doclab.lab up), "
            "or build against a Docker daemon that can reach Docker Hub."
        )

    def _raise_if_daemon_died(self, block: Block) -> None:
        """Asked after every block, passed or failed: an output printed while the daemon died is not a capture."""
        if self._api is None:
            return
        if not self._daemon_answers():
            self._api.close()
            self._api = None
            raise DaemonDied(
                f"{block.label} failed because the Docker daemon at {self._server_host} stopped answering while it "
                f"ran; start it again and rerun: python -m doclab run docs/{block.page}"
            )

    def _daemon_answers(self) -> bool:
        """A ping on a Unix socket: ``/version`` and ``/info`` cost the daemon milliseconds of CPU each."""
        if self._server_host.startswith("unix://"):
            return daemon.ping(self._server_host)
        return daemon.daemon_facts(self.docker_host).reachable

    def _run_traced(self, block: Block, timeout: float) -> BlockResult:
        """Run the block through a recording proxy; add the registry's log lines of the same requests."""
        host = self._recorder.docker_host if self._recorder else self._server_host
        if not host.startswith("unix://"):
            raise BlockFailed(f"{block.label}: trace=true needs a daemon on a Unix socket, not {host}")
        recorder = UnixSocketRecorder(self.root / "control" / f"trace-{block.line}.sock", Path(host.removeprefix("unix://")))
        registry_log = self.settings.lab_dir / "registry.log"
        offset = registry_log.stat().st_size if registry_log.is_file() else None
        script = (
            f'__doclab_had=${{DOCKER_HOST+set}}; __doclab_host=${{DOCKER_HOST-}}; export DOCKER_HOST={recorder.docker_host}\n'
            f"{self._scoped(block, block.source).rstrip()}\n"
            '__doclab_rc=$?; if [ "$__doclab_had" = set ]; then DOCKER_HOST=$__doclab_host; else unset DOCKER_HOST; fi\n'
            "unset __doclab_had __doclab_host; (exit $__doclab_rc)\n"
        )
        try:
            result = self.shell.run(script, timeout)
        finally:
            exchanges = recorder.close()
        if offset is not None:
            logged = registry_log.read_bytes()[offset:].decode(errors="replace")
            exchanges += registry_exchanges(logged, recorder.trace_id)
        start = min((e.started for e in exchanges), default=0.0)
        trace = {
            "trace_id": recorder.trace_id,
            "registry_log": offset is not None,
            "exchanges": [
                {**e.to_dict(), "started": round(e.started - start, 4), "finished": round(e.finished - start, 4)}
                for e in sorted(exchanges, key=lambda e: e.started)
            ],
        }
        return self._checked(block, result, timeout, trace)

    def _scoped(self, block: Block, script: str) -> str:
        """Give the block its own client (first on PATH) and variables; both undone after it, state still carries."""
        exports = dict(block.env)
        if block.client:
            bin_dir = self.root / "control" / f"bin-{block.line}"
            bin_dir.mkdir(exist_ok=True)
            link = bin_dir / "docker"
            if not link.exists():
                link.symlink_to(daemon.client_facts(block.client).path)
            exports["PATH"] = f"{bin_dir}:$PATH"
        if not exports:
            return script
        save, restore = [], []
        for name, value in exports.items():
            save.append(f'__doclab_had_{name}=${{{name}+set}}; __doclab_old_{name}=${{{name}-}}; export {name}="{value}"')
            restore.append(
                f'if [ "$__doclab_had_{name}" = set ]; then {name}=$__doclab_old_{name}; else unset {name}; fi; '
                f"unset __doclab_had_{name} __doclab_old_{name}"
            )
        return "\n".join([*save, script.rstrip(), "__doclab_rc=$?", *restore, "(exit $__doclab_rc)"]) + "\n"

    def _run_console(self, block: Block, timeout: float) -> CommandResult:
        printed, seconds, code = [], 0.0, 0
        for command, shown in split_console(block.source):
            result = self.shell.run(self._scoped(block, command), timeout)
            seconds += result.seconds
            if result.timed_out or result.exit_code is None:
                return CommandResult(None, "".join(printed) + result.output, seconds, result.timed_out)
            code = result.exit_code
            expected, actual = normalize(shown), normalize(scrub(result.output, self.machine))
            if shown and expected != actual:
                diff = "".join(difflib.unified_diff(expected.splitlines(True), actual.splitlines(True), "page shows", "printed now"))
                raise BlockFailed(f"{block.label}: '$ {command}' printed other output than the page shows:\n{diff}")
            printed.append(f"$ {command}\n{result.output}")
        return CommandResult(code, "".join(printed), seconds)

    def base_image_origins(self) -> list[dict[str, str]]:
        """Where each base image came from in this run: pulled (from where) or already there."""
        origins = []
        for ref in self.base_images:
            digest = daemon.local_digest(self._api, ref) if self._api else None
            if self.base_present.get(ref):
                source = "already present on the daemon"
            elif self.facts.mirrors:
                # Why a mirror, where the page says "a real registry": one clause, on the lab's own daemons.
                source = "pulled through the registry mirror " + ", ".join(self.facts.mirrors) + (
                    ", the lab's own Distribution registry standing in for Docker Hub, which the build machine "
                    "cannot reach" if self.facts.owned else "")
            else:
                source = "pulled from its registry"
            origins.append({"image": ref, "digest": digest or "unknown", "source": source})
        return origins

    def close(self) -> list[str]:
        """Stop the shell, remove what the page added to the daemon and its folder; return leftovers."""
        leftovers: list[str] = []
        try:
            self.shell.close()
            made = self._recorder.close() if self._recorder else None
            if self._api is not None and self._daemon_answers():
                if self.facts.owned:
                    leftovers = daemon.remove_added(self._api, self._before)
                elif made is not None:
                    leftovers = daemon.remove_made(self._api, self._before, made, self._pulled_bases())
        finally:
            self._close_api()
            shutil.rmtree(self.root, ignore_errors=True)
        return leftovers

    def _close_api(self) -> None:
        if self._api is not None:
            self._api.close()
            self._api = None

    def __enter__(self) -> "PageRun":
        return self

    def __exit__(self, *exc_info) -> None:
        self.leftovers = self.close()

    #: How each kind of block runs (a traced shell block goes through the recorder first; a diagram does not run).
    RUNNERS: ClassVar[dict[BlockKind, Callable[["PageRun", Block, float], CommandResult]]] = {
        BlockKind.FILE: _run_file,
        BlockKind.PYTHON: _run_python,
        BlockKind.CONSOLE: _run_console,
        BlockKind.SHELL: _run_shell,
    }


def write_file_script(block: Block) -> str:
    """The shell that creates the file a ``dockerfile`` block shows, where the reader is."""
    name = block.attrs.get("title", "Dockerfile")
    return f"cat > '{name}' <<'{END_OF_FILE}'\n{block.source}{END_OF_FILE}\n"


END_OF_FILE = "DOCLAB_END_OF_FILE"
