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
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class CommandResult:
    exit_code: int | None
    output: str
    seconds: float
    timed_out: bool = False


#: Run inside the shell's own mount namespace before bash: a /tmp of its own (a tmpfs) where only
#: the paths given as arguments (the page's folder, the daemon's socket, the interpreter) are bound
#: back from the machine's /tmp, so a page sees neither other pages' folders nor the lab's files.
_PRIVATE_TMP = r"""set -e
keep=$(mktemp -d /run/doclab-keep.XXXXXX)
mount --rbind /tmp "$keep"
mount -t tmpfs -o mode=1777 doclab-tmp /tmp
while [ "$1" != -- ]; do
  if [ -d "$keep/$1" ]; then mkdir -p "/tmp/$1"; else mkdir -p "$(dirname "/tmp/$1")"; : > "/tmp/$1"; fi
  mount --bind "$keep/$1" "/tmp/$1"
  shift
done
shift
umount -l "$keep" && rmdir "$keep"
exec "$@"
"""


#: Capabilities a page's shell runs without (``setpriv`` syntax).
DROPPED_CAPABILITIES = "-sys_admin,-net_admin"


def isolated(command: list[str], netns: str | None, visible: tuple[Path, ...] = ()) -> list[str]:
    """``command`` in a process tree of its own (its own /proc: the builder's processes and their
    environment are out of sight) with a /tmp of its own (only ``visible`` paths under /tmp kept)
    and, with ``netns``, the page daemon's network and host name."""
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        return command
    tmp = Path("/tmp").resolve()
    under_tmp = {path.resolve() for path in visible if path.exists() and path.resolve().is_relative_to(tmp)}
    # A path inside another kept one comes along with it.
    kept = sorted(str(path.relative_to(tmp)) for path in under_tmp if not any(p in path.parents for p in under_tmp))
    private_tmp = ["sh", "-c", _PRIVATE_TMP, "private-tmp", *kept, "--"]
    # Then without the capabilities to mount, enter namespaces or reconfigure the network: a page's
    # root shell could otherwise undo its own /tmp or change what the next page on its daemon inherits.
    if shutil.which("setpriv"):
        private_tmp += ["setpriv", f"--bounding-set={DROPPED_CAPABILITIES}", f"--inh-caps={DROPPED_CAPABILITIES}", "--"]
    if netns:
        from .lab import netns_command  # the lab module pulls in requests: only when a page daemon is used

        return ["unshare", "--pid", "--fork", "--mount-proc", "--", *netns_command(netns), *private_tmp, *command]
    return ["unshare", "--pid", "--fork", "--mount-proc", "--", *private_tmp, *command]


class ShellSession:
    def __init__(self, cwd: Path, control_dir: Path, env: dict[str, str], netns: str | None = None,
                 visible: tuple[Path, ...] = ()):
        self.cwd = cwd
        self.control_dir = control_dir
        self.token = "DOCLAB-" + secrets.token_hex(8)
        self.commands_run = 0
        self._process = subprocess.Popen(
            isolated(["bash", "--noprofile", "--norc"], netns, (cwd, control_dir, *visible)),
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

    def run(self, script: str, timeout: float) -> CommandResult:
        """Run ``script`` in the shell; return its exit code and everything it printed."""
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
        return self._read_until_sentinel(started, timeout)

    def _read_until_sentinel(self, started: float, timeout: float) -> CommandResult:
        marker = f"\x1e{self.token}:".encode()
        buffer = b""
        stream = self._process.stdout
        while True:
            remaining = started + timeout - time.monotonic()
            if remaining <= 0:
                self.kill()
                return CommandResult(None, buffer.decode(errors="replace"), time.monotonic() - started, timed_out=True)
            ready, _, _ = select.select([stream], [], [], min(remaining, 1.0))
            if not ready:
                continue
            chunk = os.read(stream.fileno(), 65536)
            if not chunk:
                return CommandResult(None, buffer.decode(errors="replace"), time.monotonic() - started)
            buffer += chunk
            position = buffer.find(marker)
            if position >= 0 and buffer.endswith(b"\n"):
                code = int(buffer[position + len(marker):].strip())
                return CommandResult(code, buffer[:position].decode(errors="replace"), time.monotonic() - started)

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
