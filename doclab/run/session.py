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

from doclab import daemon
from doclab.errors import DoclabError
from doclab.lab.limits import Limits
from doclab.lab.pagefolders import new_page_folder
from doclab.page.parse import BlockKind, Block, Page, split_console
from doclab.run.scrub import MachineFacts, normalize, scrub
from doclab.settings import PROJECT_ROOT, Settings
from doclab.run import terminal
from doclab.run.shell import MAX_OUTPUT, CommandResult, ShellSession
from doclab.daemon.guard import port_taken_hint
from doclab.run.ledger import DaemonLedger, LedgerError
from doclab.run.trace import UnixSocketRecorder, registry_exchanges


#: What a daemon prints when the registry (the lab's, then Docker Hub) has no such image.
#: A base image the registry does not have, as each Engine words it (28's BuildKit: "docker.io/library/x:1: not found").
_PULL_FAILED = re.compile(r"registry-1\.docker\.io|no such host|manifest unknown|pull access denied|not found: manifest"
                          r"|docker\.io/\S+: not found$", re.MULTILINE)


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
    #: A block run on a terminal: its run as asciicast v2 (``doclab.run.terminal.asciicast``), for the replay.
    cast: dict | None = None


def shown_command(block: Block) -> str:
    return block.source.rstrip("\n")


def failure_message(block: Block, result: CommandResult, timeout: float, expected: int) -> str:
    if result.timed_out:
        outcome = f"was killed after {timeout:g} s (its time limit; raise it with <!-- exec: timeout=N -->)"
    elif result.exit_code is None:
        outcome = "ended its shell without an exit code"
    else:
        outcome = f"exited with unexpected code {result.exit_code} (declared: {expected})"
    # The file to fix when the block's text is a snippet's: the page only includes it.
    edit = f"\n--- edit ---\n{', '.join('snippets/' + snippet for snippet in block.snippets)}" if block.snippets else ""
    return (
        f"{block.label} {outcome}{edit}\n"
        f"--- command ---\n{shown_command(block)}\n"
        f"--- output ---\n{result.output.rstrip()}\n"
        f"--- reproduce ---\npython -m doclab run docs/{block.page}"
    )


#: The reader-like environment a page's shell starts from; nothing else of the builder's leaks in.
SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#: Variables passed through from the builder because they say which daemon to talk to, and how.
PASSED_THROUGH = ("DOCKER_HOST", "DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH")


def reader_environment(home: Path, bin_dir: Path, address: str, environ: dict[str, str]) -> dict[str, str]:
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
    env["DOCKER_HOST"] = address  # resolved from the builder's context too: the page's home has none
    return env


def lab_socket_shown(address: str, owned: bool) -> tuple[tuple[str, str], ...]:
    """A pooled lab daemon's socket, one name whichever daemon the page leased: a record does not change with it."""
    if owned and address.startswith("unix://"):
        return ((address.removeprefix("unix://"), "<lab>/page-daemon.sock"),)
    return ()


def recorder_upstream(address: str, env: dict[str, str]) -> Path | tuple[str, int]:
    """Where the recording proxy forwards: the daemon's Unix socket, or its plain TCP address."""
    if address.startswith("unix://"):
        return Path(address.removeprefix("unix://"))
    parts = urllib.parse.urlsplit(address)
    if parts.scheme != "tcp" or env.get("DOCKER_TLS_VERIFY") or not parts.hostname:
        raise daemon.DockerSetupError(
            f"DOCKER_HOST={address}: doclab runs pages on someone's own daemon only over a Unix socket or plain "
            "tcp://, where it can record what each page creates (and remove exactly that); use one of those"
        )
    return parts.hostname, parts.port or 2375


class DaemonDied(BlockFailed):
    """The daemon stopped answering while a block ran: one error naming page, block and daemon."""


def cast_of(block: Block, result: CommandResult, machine: MachineFacts) -> dict | None:
    """A terminal block's run, as the terminal received it and when (scrubbed as its output is), for the replay."""
    if (block.terminal is None and not block.replay) or not result.events:
        return None
    events = [(seconds, scrub(text, machine)) for seconds, text in result.events]
    # A plain output replays on a terminal as wide as its widest line and as tall as it is, so nothing wraps or scrolls.
    lines = scrub(result.output, machine).splitlines() or [""]
    size = block.terminal or (max(80, max(len(line) for line in lines)), len(lines) + 1)
    return terminal.asciicast(shown_command(block), events, size)


def too_long_message(block: Block, result: CommandResult) -> str:
    return (f"{block.label} printed {MAX_OUTPUT + result.left_out} bytes or more, more than a page shows (at most "
            f"{MAX_OUTPUT}); print less (`| head`, `| tail`, a quieter option)\n--- its head ---\n"
            f"{result.output[:2000]}\n--- its tail ---\n{result.output[-2000:]}"
            f"\n--- reproduce ---\npython -m doclab run docs/{block.page}")


def shell_ended_by(last: Block, block: Block) -> BlockFailed:
    """The shell died after the last block printed its end (`exit`, `kill $PPID`): that block did it."""
    return BlockFailed(
        f"{last.label} ended the page's shell (it exited, or killed the shell) after it printed its "
        f"output, so {block.label} and the blocks after it cannot run; a page's blocks share one shell, as a "
        f"reader's terminal does\n--- reproduce ---\npython -m doclab run docs/{block.page}"
    )


class PageRun:
    """An empty folder, a shell, and the daemon's state before the page ran; undone by ``close``.

    ``netns``: the network namespace of the page's own lab daemon; the shell runs there too, so ``localhost`` and
    published ports are the page's own and never collide with another page's."""

    def __init__(self, page: Page, settings: Settings, address: str, netns: str | None = None,
                 facts: daemon.DaemonFacts | None = None):
        self.page = page
        self.settings = settings
        # ``address`` was resolved once by the front door (or is a lab daemon's); ``facts`` already asked there, if any.
        self.facts = facts or daemon.daemon_facts(address)
        self.client = daemon.client_facts(settings.docker_cli)
        self.root = new_page_folder()  # `lab prune` removes it once this process is gone
        self.home = self.root / "home"
        self.workdir = self.home  # a reader's terminal opens in their home: `mkdir docker-architecture` goes there
        self.workdir.mkdir(parents=True)
        self.control = self.root / "control"
        bin_dir = reader_bin(self.control / "bin", self.client.path, self.home)
        env = reader_environment(self.home, bin_dir, address, dict(os.environ))
        self.ledger = DaemonLedger(self.facts, address, self.base_images)
        if self.facts.reachable and not self.facts.owned:
            # Someone's own daemon: record the page's requests, so cleanup removes exactly what the page made.
            env["DOCKER_HOST"] = self.ledger.record_through(self.control / "docker.sock", recorder_upstream(address, env))
            for name in ("DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH"):
                env.pop(name, None)
        self.machine = MachineFacts(
            workdirs=(
                (str(self.home), "~"), (str(self.root), "<page-run>"), *lab_socket_shown(address, self.facts.owned),
                (str(PROJECT_ROOT), "<project>"), (sys.prefix, "<venv>"), (str(settings.lab_dir), "<lab>"),
            ),
            home=os.path.expanduser("~"),
            # With a namespace of its own the page has its own host name: the machine's never shows.
            hostname=None if netns else socket.gethostname(),
            username=getpass.getuser(),
        )
        self.leftovers: list[str] = []
        self._last_block: Block | None = None
        try:
            self.ledger.open()
            # What the page's shell needs from the machine's /tmp (its own /tmp hides the rest): its folder,
            # the daemon's socket, and the interpreter its python3 runs (a checkout may live under /tmp).
            host = env.get("DOCKER_HOST", "")
            daemon_socket = (Path(host.removeprefix("unix://")),) if host.startswith("unix://") else ()
            client = daemon.client_prefix(self.client.path)  # the client's own installation, plugins included
            visible = (self.root, *daemon_socket, Path(sys.prefix), Path(sys.base_prefix), client)
            self.shell = ShellSession(self.workdir, self.control, env, netns, visible, Limits(self.root.name))
        except BaseException:
            self.ledger.abandon()
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
            raise shell_ended_by(self._last_block, block)
        self._last_block = block
        if block.fresh and self.ledger.api is not None:
            try:
                self.ledger.as_before(block.label)
            except LedgerError as error:
                raise BlockFailed(str(error)) from None
        if block.kind is BlockKind.SHELL and block.trace:
            return self._run_traced(block, timeout)
        runner = self.RUNNERS.get(block.kind)
        if runner is None:
            raise BlockFailed(f"{block.label}: doclab does not know how to run '{block.language}' blocks")
        return self._checked(block, runner(self, block, timeout), timeout)

    def _run_file(self, block: Block, timeout: float) -> CommandResult:
        return self.shell.run(write_file_script(block), timeout)

    def _run_python(self, block: Block, timeout: float) -> CommandResult:
        script = self.control / f"block-{block.line}.py"
        script.write_text(block.source)
        return self.shell.run(scoped(block, f"python3 {script}", self.control), timeout)

    def _run_shell(self, block: Block, timeout: float) -> CommandResult:
        if block.terminal is None:
            return self.shell.run(scoped(block, block.source, self.control), timeout, timed=block.replay)
        script = terminal.wrapped(block.source, self.control, block.line, block.terminal)
        result = self.shell.run(scoped(block, script, self.control), timeout, timed=True)
        return dataclasses.replace(result, output=terminal.screen(result.output, block.terminal))

    def _run_console(self, block: Block, timeout: float) -> CommandResult:
        return console(self.shell, block, self.control, self.machine, timeout)

    def _run_traced(self, block: Block, timeout: float) -> BlockResult:
        """Run the block through a recording proxy; add the registry's log lines of the same requests."""
        host = self.ledger.recorder.docker_host if self.ledger.recorder else self.ledger.address
        if not host.startswith("unix://"):
            raise BlockFailed(f"{block.label}: trace=true needs a daemon on a Unix socket, not {host}")
        recorder = UnixSocketRecorder(self.control / f"trace-{block.line}.sock", Path(host.removeprefix("unix://")))
        result, trace = traced(self.shell, recorder, scoped(block, block.source, self.control),
                               self.settings.lab_dir / "registry.log", timeout, block.replay)
        return self._checked(block, result, timeout, trace)

    def _checked(self, block: Block, result: CommandResult, timeout: float, trace: dict | None = None) -> BlockResult:
        self.ledger.note_output(result.output)
        self._raise_if_daemon_died(block)
        if result.left_out:
            raise BlockFailed(too_long_message(block, result))
        expected = block.expected_exit_on(self.facts.server_version)
        if result.timed_out or result.exit_code != expected:
            raise BlockFailed(failure_message(block, result, timeout, expected) + unserved_image_hint(self.facts, self.settings, result.output)
                              + port_taken_hint(result.output) + lab_fault_hint(self.facts, self.ledger.address, result.output))
        return BlockResult(block, result.exit_code, scrub(result.output, self.machine), result.seconds, trace or {},
                           cast_of(block, result, self.machine))

    def _raise_if_daemon_died(self, block: Block) -> None:
        """Asked after every block, passed or failed: an output printed while the daemon died is not a capture."""
        if self.ledger.api is None or self.ledger.answers():
            return
        self.ledger.disconnect()
        raise DaemonDied(
            f"{block.label} failed because the Docker daemon at {self.ledger.address} stopped answering while it "
            f"ran; start it again and rerun: python -m doclab run docs/{block.page}"
        )

    def base_image_origins(self) -> list[dict[str, str]]:
        return self.ledger.base_image_origins()

    def close(self) -> list[str]:
        """Stop the shell, remove what the page added to the daemon and its folder; return leftovers."""
        try:
            self.shell.close()
        finally:
            try:
                leftovers = self.ledger.close()
            finally:
                shutil.rmtree(self.root, ignore_errors=True)
        return leftovers

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


def console(shell: ShellSession, block: Block, control: Path, machine: MachineFacts, timeout: float) -> CommandResult:
    """A ``console`` block: each ``$ command`` in turn, its output compared with the one the page shows under it."""
    printed, seconds, code = [], 0.0, 0
    for command, shown in split_console(block.source):
        result = shell.run(scoped(block, command, control), timeout)
        seconds += result.seconds
        if result.timed_out or result.exit_code is None:
            return CommandResult(None, "".join(printed) + result.output, seconds, result.timed_out)
        code = result.exit_code
        expected, actual = normalize(shown), normalize(scrub(result.output, machine))
        if shown and expected != actual:
            diff = "".join(difflib.unified_diff(expected.splitlines(True), actual.splitlines(True), "page shows", "printed now"))
            raise BlockFailed(f"{block.label}: '$ {command}' printed other output than the page shows:\n{diff}")
        printed.append(f"$ {command}\n{result.output}")
    return CommandResult(code, "".join(printed), seconds)


def reader_bin(bin_dir: Path, docker_client: str, home: Path) -> Path:
    """The folder first on the page's PATH: its ``docker`` client and a ``python3`` of the builder's (and the client's
    plugins in ``home``)."""
    link_client_plugins(home, docker_client)
    bin_dir.mkdir(parents=True)
    (bin_dir / "docker").symlink_to(docker_client)
    # A wrapper, not a variable: the builder's interpreter path must not show in the page's environment.
    python = bin_dir / "python3"
    python.write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
    python.chmod(0o755)
    return bin_dir


def link_client_plugins(home: Path, docker_client: str) -> None:
    """The plugins installed beside the client (buildx), linked where a reader's own go (``~/.docker/cli-plugins``):
    a client fetched into a cache of the lab's finds no system plugin folder."""
    found = daemon.client_plugins(docker_client)
    if found:
        plugins = home / ".docker" / "cli-plugins"
        plugins.mkdir(parents=True)
        for plugin in found:
            (plugins / plugin.name).symlink_to(plugin)


def traced(shell: ShellSession, recorder: UnixSocketRecorder, script: str, registry_log: Path, timeout: float,
           timed: bool = False):
    """Run ``script`` with DOCKER_HOST pointing at ``recorder`` (undone after it); its result, and the trace of
    its requests: client to daemon from the recorder, daemon to registry from the registry's new log lines."""
    offset = registry_log.stat().st_size if registry_log.is_file() else None
    wrapped = (
        f'__doclab_had=${{DOCKER_HOST+set}}; __doclab_host=${{DOCKER_HOST-}}; export DOCKER_HOST={recorder.docker_host}\n'
        f"{script.rstrip()}\n"
        '__doclab_rc=$?; if [ "$__doclab_had" = set ]; then DOCKER_HOST=$__doclab_host; else unset DOCKER_HOST; fi\n'
        "unset __doclab_had __doclab_host; (exit $__doclab_rc)\n"
    )
    try:
        result = shell.run(wrapped, timeout, timed)
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
    return result, trace


def block_client(block: Block) -> str | None:
    """The client of the engine a block names with ``client=`` (fetched into the lab's engine cache), or None."""
    if not block.client:
        return None
    from doclab.lab import engines  # only for a block that names another engine's client

    if block.client not in engines.engine_names():
        raise BlockFailed(f"{block.label}: client={block.client}: no such engine; choose one of "
                          f"{', '.join(engines.engine_names())} (doclab/lab/engines.toml)")
    try:
        return engines.fetch(block.client).client
    except engines.EngineError as error:
        raise BlockFailed(f"{block.label}: client={block.client}: {error}") from None


def scoped(block: Block, script: str, control: Path) -> str:
    """Give the block its own client (first on PATH) and variables; both undone after it, state still carries."""
    exports = dict(block.env)
    client = block_client(block)
    if client:
        bin_dir = control / f"bin-{block.line}"
        bin_dir.mkdir(exist_ok=True)
        link = bin_dir / "docker"
        if not link.exists():
            link.symlink_to(daemon.client_facts(client).path)
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


def lab_fault_hint(facts: daemon.DaemonFacts, address: str, output: str) -> str:
    """A failure inside the lab daemon's own storage or runtime is the lab's fault, not the page's: say so."""
    if not facts.owned or not _LAB_FAULT.search(output):
        return ""
    log = address.removeprefix("unix://").removesuffix(".sock") + ".log"
    return (f"\n--- note ---\nThis looks like a fault of the lab's daemon ({address}), not of the page: "
            f"see its log {log}. It is checked and started again before the next page: run the build again.")


def unserved_image_hint(facts: daemon.DaemonFacts, settings: Settings, output: str) -> str:
    """On the offline lab, an image it does not serve fails with Docker Hub's error: say what it serves."""
    if not facts.owned or not _PULL_FAILED.search(output):
        return ""
    from doclab.lab.control import Lab  # only on this failure path: the lab pulls in requests

    served = ", ".join(Lab(settings).served_images()) or "nothing (is its registry up?)"
    return (
        f"\n--- note ---\nThis ran on the offline lab, whose registry serves only the images it seeded: {served}. "
        "Use one of those, add the image to the lab (doclab/lab/seed.py, then python -m doclab.lab up), "
        "or build against a Docker daemon that can reach Docker Hub."
    )


def write_file_script(block: Block) -> str:
    """The shell that creates the file a ``dockerfile`` block shows, where the reader is."""
    name = block.attrs.get("title", "Dockerfile")
    return f"cat > '{name}' <<'{END_OF_FILE}'\n{block.source}{END_OF_FILE}\n"


END_OF_FILE = "DOCLAB_END_OF_FILE"
