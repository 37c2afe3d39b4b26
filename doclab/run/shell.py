"""One bash process per page, fed block after block, as a reader's terminal would be.

Each block's text is written to a file outside the page's folder and sourced, so variables,
functions and the current directory carry over to the next block. A sentinel line with the
exit code ends each block; a block that runs past its time limit gets the whole shell killed.
"""

from __future__ import annotations

import os
import secrets
import select
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from doclab.lab.limits import Limits
from doclab.run import sandbox as sandbox_setup
from doclab.run.sandbox import HIDDEN_FOLDERS


#: The most of a block's output doclab keeps (its head); beyond it the block fails, shown by head and tail.
MAX_OUTPUT = 1 << 20
#: How much of the end of an output too long to keep is kept, for the failure to show.
KEPT_TAIL = 4096


@dataclass(frozen=True)
class CommandResult:
    exit_code: int | None
    output: str
    seconds: float
    timed_out: bool = False
    left_out: int = 0  # bytes of output between the kept head and tail: more than MAX_OUTPUT was printed
    #: When each piece of the output arrived, seconds after the block started (``timed`` runs): (seconds, text).
    events: tuple[tuple[float, str], ...] = ()


class OutputReader:
    """A block's output as it arrives, in linear time: its head up to MAX_OUTPUT, the tail after it (KEPT_TAIL), and
    the last bytes, where the shell's sentinel line ends the block."""

    def __init__(self, marker: bytes, started: float | None = None):
        self.marker = marker
        self.head, self.tail = bytearray(), bytearray()
        self.left_out = 0
        self.last = b""
        #: With ``started`` (a monotonic time): when each chunk of the head arrived, and where it ended in it.
        self.started = started
        self.arrivals: list[tuple[float, int]] = []

    def feed(self, chunk: bytes) -> int | None:
        """Take ``chunk``; the block's exit code once the sentinel has arrived whole, else None."""
        room = MAX_OUTPUT - len(self.head)
        self.head += chunk[:room]
        if self.started is not None and room > 0:
            self.arrivals.append((time.monotonic() - self.started, len(self.head)))
        rest = chunk[room:] if room < len(chunk) else b""
        if rest:
            self.tail += rest
            if len(self.tail) > 2 * KEPT_TAIL:  # dropped in big steps: each byte is moved once or twice
                self.left_out += len(self.tail) - KEPT_TAIL
                del self.tail[:-KEPT_TAIL]
        self.last = (self.last + chunk)[-(len(self.marker) + 16):]
        position = self.last.rfind(self.marker)
        if position < 0 or not self.last.endswith(b"\n"):
            return None
        sentinel = len(self.last) - position
        self._drop_end(sentinel)
        return int(self.last[position + len(self.marker):].strip())

    def _drop_end(self, count: int) -> None:
        from_tail = min(count, len(self.tail))
        del self.tail[len(self.tail) - from_tail:]
        del self.head[len(self.head) - (count - from_tail):]

    def events(self) -> tuple[tuple[float, str], ...]:
        """The kept output as it arrived: (seconds, text) pieces, split where the chunks were (whole characters)."""
        import codecs

        decoder, pieces, start = codecs.getincrementaldecoder("utf-8")(errors="replace"), [], 0
        for seconds, end in self.arrivals:
            end = min(end, len(self.head))
            text = decoder.decode(bytes(self.head[start:end]))
            if text:
                pieces.append((round(seconds, 3), text))
            start = max(start, end)
        return tuple(pieces)

    def text(self) -> str:
        gap = f"\n[… {self.left_out} bytes left out …]\n".encode() if self.left_out else b""
        return bytes(self.head + gap + self.tail).decode(errors="replace")

    @property
    def too_long(self) -> int:
        """Bytes printed beyond what a page keeps (0 when the whole output was kept)."""
        return self.left_out + len(self.tail)


#: What a page's root shell keeps of root's capabilities (``setpriv`` syntax): Docker's default set for a
#: container, less mknod. Without the others it cannot mount, enter namespaces, reconfigure the network,
#: load kernel modules, set the clock, reboot or read raw devices.
KEPT_CAPABILITIES = ("-all,+chown,+dac_override,+fowner,+fsetid,+kill,+setgid,+setuid,+setpcap,+net_bind_service,"
                     "+net_raw,+sys_chroot,+audit_write,+setfcap")


def isolated(command: list[str], netns: str | None, visible: tuple[Path, ...] = (),
             read_only: tuple[Path, ...] = (), limits: Limits | None = None) -> list[str]:
    """``isolated_in`` a cgroup of ``limits`` first (made by the caller): every process the page starts stays in it."""
    inside = isolated_in(command, netns, visible, read_only)
    if limits is None or inside == command:
        return inside
    return ["sh", "-c", f'{limits.enter()} && exec "$@"', "page-limits", *inside]


def isolated_in(command: list[str], netns: str | None, visible: tuple[Path, ...] = (),
                read_only: tuple[Path, ...] = ()) -> list[str]:
    """``command`` in a process tree of its own (its own /proc: the builder's processes and their
    environment are out of sight) with a /tmp of its own (only ``visible`` paths under /tmp kept, ``read_only``
    ones read-only) and, with ``netns``, the page daemon's network and host name."""
    if shutil.which("unshare") is None:
        return command
    tmp = Path("/tmp").resolve()
    under_tmp = {path.resolve() for path in visible if path.exists() and path.resolve().is_relative_to(tmp)}
    # A path inside another kept one comes along with it.
    kept = sorted(str(path.relative_to(tmp)) for path in under_tmp if not any(p in path.parents for p in under_tmp))
    root = os.geteuid() == 0
    mode = "nothing-of-the-machine" if root else "private-tmp"
    sandbox = [sys.executable, "-I", "-S", sandbox_setup.__file__, mode, *kept, "--",
               *(str(path.resolve()) for path in read_only), "--"]
    if root:
        shown = {path.resolve() for path in visible if path.is_dir() and not path.resolve().is_relative_to(tmp)}
        sandbox += [str(path) for path in sorted(shown) if any(path.is_relative_to(folder) for folder in HIDDEN_FOLDERS)]
        sandbox.append("--")
        # Then without the capabilities to mount, enter namespaces or reconfigure the network: a page's
        # root shell could otherwise undo its sandbox or change what the next page on its daemon inherits.
        sandbox += ["setpriv", f"--bounding-set={KEPT_CAPABILITIES}", f"--inh-caps={KEPT_CAPABILITIES}", "--"]
        namespaces = ["unshare", "--pid", "--fork", "--mount-proc", "--"]
    elif not user_namespaces_work():
        return command  # e.g. Ubuntu 24.04's AppArmor refuses unprivileged user namespaces: as before, unisolated
    else:
        # Without root, a user namespace where one is root just long enough to mount the private /tmp, then
        # one's own uid again (a user namespace inside it); its own /proc hides the builder's processes too.
        namespaces = ["unshare", "--map-root-user", "--mount", "--pid", "--fork", "--mount-proc", "--"]
        sandbox += ["unshare", f"--map-user={os.getuid()}", f"--map-group={os.getgid()}", "--"]
    if netns:
        from doclab.lab.network import netns_command  # only when a page daemon is used

        return [*namespaces, *netns_command(netns), *sandbox, *command]
    return [*namespaces, *sandbox, *command]


@lru_cache(maxsize=1)
def user_namespaces_work() -> bool:
    """Whether this user may make the namespaces a non-root page shell runs in (asked once a process)."""
    probe = ["unshare", "--map-root-user", "--mount", "--pid", "--fork", "--mount-proc", "--",
             "unshare", f"--map-user={os.getuid()}", f"--map-group={os.getgid()}", "--", "true"]
    return subprocess.run(probe, capture_output=True).returncode == 0


class ShellSession:
    def __init__(self, cwd: Path, control_dir: Path, env: dict[str, str], netns: str | None = None,
                 visible: tuple[Path, ...] = (), limits: Limits | None = None):
        self.cwd = cwd
        self.control_dir = control_dir
        self.token = "DOCLAB-" + secrets.token_hex(8)
        self.commands_run = 0
        # Processes and memory for the shell and all it starts (a fork bomb, a file written to the tmpfs /tmp).
        self.limits = limits if limits is not None and limits.available else None
        if self.limits is not None:
            self.limits.create()
        try:
            self._process = self._start(cwd, control_dir, env, netns, visible)
        except BaseException:
            if self.limits is not None:
                self.limits.remove()
            raise

    def _start(self, cwd: Path, control_dir: Path, env: dict[str, str], netns: str | None,
               visible: tuple[Path, ...]) -> subprocess.Popen:
        return subprocess.Popen(
            # The control folder, where doclab writes each block for the shell, read-only to the page: no link a page
            # plants there can turn doclab's next write into one on the machine.
            isolated(["bash", "--noprofile", "--norc"], netns, (cwd, control_dir, *visible), read_only=(control_dir,),
                     limits=self.limits),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            cwd=cwd,
            env=env,
            start_new_session=True,
        )

    @property
    def alive(self) -> bool:
        return self._process.poll() is None

    def run(self, script: str, timeout: float, timed: bool = False) -> CommandResult:
        """Run ``script`` in the shell; return its exit code and everything it printed (``timed``: and when)."""
        if not self.alive:
            return CommandResult(None, "the page's shell has already ended (an earlier block exited or timed out)\n", 0)
        self.commands_run += 1
        path = self.control_dir / f"block-{self.commands_run}.sh"
        path.write_text(script if script.endswith("\n") else script + "\n")
        # stdin from /dev/null: a command that reads input must not swallow the next block.
        line = f"source {path} </dev/null 2>&1; printf '\\036{self.token}:%d\\n' $?\n"
        started = time.monotonic()
        self._process.stdin.write(line.encode())
        self._process.stdin.flush()
        return self._read_until_sentinel(started, timeout, timed)

    def _read_until_sentinel(self, started: float, timeout: float, timed: bool = False) -> CommandResult:
        reader = OutputReader(f"\x1e{self.token}:".encode(), started if timed else None)
        stream = self._process.stdout
        while True:
            remaining = started + timeout - time.monotonic()
            if remaining <= 0:
                self.kill()
                return CommandResult(None, reader.text(), time.monotonic() - started, timed_out=True, left_out=reader.too_long)
            ready, _, _ = select.select([stream], [], [], min(remaining, 1.0))
            if not ready:
                continue
            chunk = os.read(stream.fileno(), 65536)
            if not chunk:
                return CommandResult(None, reader.text(), time.monotonic() - started, left_out=reader.too_long)
            code = reader.feed(chunk)
            if code is not None:
                return CommandResult(code, reader.text(), time.monotonic() - started, left_out=reader.too_long,
                                     events=reader.events())

    def kill(self) -> None:
        if self.alive:
            try:
                os.killpg(self._process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self._process.wait()

    def close(self) -> None:
        if self.alive:
            self._process.stdin.close()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
        # The whole process group: jobs a block left in the background end with the page.
        try:
            os.killpg(self._process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self._process.wait()
        for stream in (self._process.stdin, self._process.stdout):
            if stream and not stream.closed:
                stream.close()
        if self.limits is not None:
            self.limits.remove()
