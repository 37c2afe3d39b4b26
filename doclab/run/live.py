"""A reader's own shell for "Do it": bash on a pseudo-terminal, in the sandbox a page's shell runs in (``shell.isolated``:
its own /tmp, /proc and network namespace, the machine read-only, the limits), in a page folder of its own, talking to
a lab daemon of its own. The screen is drawn by the terminal emulator that draws captured screens (pyte); after each
command the shell reports its folder and ``IMAGE_NAME`` on a pipe of its own, for "Check my work"."""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import signal
import struct
import subprocess
import sys
import termios
import threading
from pathlib import Path

import pyte

from doclab import daemon
from doclab.lab.limits import Limits
from doclab.lab.pagefolders import new_page_folder
from doclab.run.session import reader_bin, reader_environment
from doclab.run.shell import isolated

COLUMNS, ROWS = 80, 24
#: Lines kept above the screen, for the reader to scroll back to (a build's output, read line by line).
SCROLLBACK = 200
#: What the panel keeps of what the terminal showed, for step 4's check (the end of it).
TRANSCRIPT_LIMIT = 256 * 1024
#: The shell's start file: a short prompt, and after each command its folder, IMAGE_NAME and the command typed, on the
#: report pipe's descriptor FD (fields ended by NUL, a report by NUL and a newline: a command may hold newlines, never a NUL).
RCFILE = r"""PS1='\w \$ '
__doclab_report() { printf "%s\0%s\0%s\0%s\0\n" "$PWD" "${IMAGE_NAME+set}" "${IMAGE_NAME-}" "$(HISTTIMEFORMAT= history 1)"; }
PROMPT_COMMAND='__doclab_report >&FD 2>/dev/null'
"""
_HISTORY_ENTRY = re.compile(r"\s*(?P<number>\d+)\*?\s+(?P<command>.*)", re.DOTALL)
_ESCAPES = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]|\r")


class LiveShell:
    """One reader's shell. ``screen()`` is what the terminal shows now; ``changed`` is notified on every change."""

    def __init__(self, docker_host: str, netns: str | None, docker_cli: str):
        self.root = new_page_folder()
        self.home = self.root / "home"
        self.home.mkdir(parents=True)
        self.control = self.root / "control"
        client = daemon.client_facts(docker_cli)
        bin_dir = reader_bin(self.control / "bin", client.path, self.home)
        env = reader_environment(self.home, bin_dir, docker_host, dict(os.environ))
        self.screen_ = pyte.HistoryScreen(COLUMNS, ROWS, history=SCROLLBACK)
        self.stream = pyte.ByteStream(self.screen_)
        self.changed = threading.Condition()
        self.version = 0
        self.state = {"pwd": str(self.home), "image_name": None}
        #: The commands typed, in order (by history number: Enter on an empty line repeats the last report).
        self.commands: list[str] = []
        self._history_number = 0
        self._transcript = ""
        self.limits = Limits(self.root.name)
        if self.limits.available:
            self.limits.create()
        socket_path = docker_host.removeprefix("unix://")
        visible = (self.root, Path(socket_path), Path(sys.prefix), Path(sys.base_prefix), daemon.client_prefix(client.path))
        master, terminal = os.openpty()
        fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, COLUMNS, 0, 0))
        state_read, state_write = os.pipe()
        (self.control / "rc").write_text(RCFILE.replace("FD", str(state_write)))  # kept at its number (pass_fds)
        command = ["bash", "--noprofile", "--rcfile", str(self.control / "rc"), "-i"]
        try:
            # setsid --ctty: a session of its own whose controlling terminal is the pseudo-terminal (job control, Ctrl-C).
            self._process = subprocess.Popen(
                ["setsid", "--ctty", "--", *isolated(command, netns, visible, read_only=(self.control,),
                                                     limits=self.limits if self.limits.available else None)],
                stdin=terminal, stdout=terminal, stderr=terminal, cwd=self.home, env=env, pass_fds=(state_write,),
            )
        except BaseException:
            os.close(master)
            shutil.rmtree(self.root, ignore_errors=True)
            raise
        finally:
            os.close(terminal)
            os.close(state_write)
        self.master = master
        threading.Thread(target=self._read_screen, daemon=True).start()
        threading.Thread(target=self._read_state, args=(state_read,), daemon=True).start()

    @property
    def alive(self) -> bool:
        return self._process.poll() is None

    def type(self, keys: bytes) -> None:
        if self.alive:
            os.write(self.master, keys)

    def screen(self) -> dict:
        """The lines scrolled off the top (at most SCROLLBACK), then the screen; the cursor counted from the first."""
        with self.changed:
            above = ["".join(line[column].data for column in range(COLUMNS)).rstrip() for line in self.screen_.history.top]
            return {"lines": above + [line.rstrip() for line in self.screen_.display],
                    "cursor": [self.screen_.cursor.x, len(above) + self.screen_.cursor.y],
                    "alive": self.alive, "version": self.version}

    def transcript(self) -> str:
        with self.changed:
            return self._transcript

    def close(self) -> None:
        """End the shell and all it started (its pid namespace ends with it), and remove its folder and limits."""
        for pid in (self._process.pid, *_children(self._process.pid)):
            try:
                os.kill(pid, signal.SIGKILL)  # the child of unshare is the namespace's first process: all end with it
            except ProcessLookupError:
                pass
        self._process.wait()
        os.close(self.master)
        if self.limits.available:
            self.limits.remove()
        shutil.rmtree(self.root, ignore_errors=True)

    def _read_screen(self) -> None:
        while True:
            try:
                chunk = os.read(self.master, 65536)
            except OSError:  # EIO: the shell has ended, or the terminal was closed
                chunk = b""
            with self.changed:
                if chunk:
                    self.stream.feed(chunk)
                    text = _ESCAPES.sub("", chunk.decode("utf-8", "replace"))
                    self._transcript = (self._transcript + text)[-TRANSCRIPT_LIMIT:]
                self.version += 1
                self.changed.notify_all()
            if not chunk:
                return

    def _read_state(self, fd: int) -> None:
        pending = b""
        with os.fdopen(fd, "rb", buffering=0) as reports:
            while chunk := reports.read(65536):
                *whole, pending = (pending + chunk).split(b"\0\n")
                for report in whole:
                    parts = [part.decode("utf-8", "replace") for part in report.split(b"\0")]
                    if len(parts) != 4:
                        continue
                    pwd, is_set, value, command = parts
                    self.state = {"pwd": pwd, "image_name": value if is_set == "set" else None}
                    entry = _HISTORY_ENTRY.match(command)
                    if entry and int(entry["number"]) > self._history_number:
                        self._history_number = int(entry["number"])
                        self.commands.append(entry["command"].strip())


def _children(pid: int) -> list[int]:
    try:
        return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []
