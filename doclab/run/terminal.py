"""A block run as in a reader's terminal (``terminal=COLSxROWS``): in a pseudo-terminal of that size, so the
client draws what it draws for a person (BuildKit's ``[+] Building … FINISHED`` view, progress that redraws in
place), and kept as the screen it leaves, drawn by a terminal emulator (pyte): never typed, never a plain log.

The page's shell runs ``RUNNER`` (a file in the page's control folder, plain Python with no doclab import: the
sandbox has the interpreter, not the project). The runner gives the block's script, with the shell's variables
and folder, to a bash on the pseudo-terminal, copies what the terminal shows to its output and ends with the
block's exit code; ``screen`` turns that stream into the final screen's lines."""

from __future__ import annotations

import shlex
from pathlib import Path

#: Runs ``bash FILE`` on a new pseudo-terminal of COLS x ROWS; prints everything it shows; exits with bash's code.
RUNNER = '''import fcntl, os, struct, sys, termios
script, columns, rows = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
parent, child = os.openpty()
fcntl.ioctl(child, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
pid = os.fork()
if pid == 0:
    os.setsid()
    fcntl.ioctl(child, termios.TIOCSCTTY, 0)
    for fd in (0, 1, 2):
        os.dup2(child, fd)
    os.close(parent)
    os.environ["TERM"] = "xterm-256color"
    os.execvp("bash", ["bash", "--noprofile", "--norc", script])
os.close(child)
while True:
    try:
        chunk = os.read(parent, 65536)
    except OSError:  # EIO: the terminal's last writer has gone
        break
    if not chunk:
        break
    sys.stdout.buffer.write(chunk)
    sys.stdout.buffer.flush()
_, status = os.waitpid(pid, 0)
sys.exit(os.waitstatus_to_exitcode(status))
'''


def wrapped(source: str, control: Path, line: int, size: tuple[int, int]) -> str:
    """The shell script that runs ``source`` on the terminal with the page shell's variables and folder."""
    runner = control / "terminal.py"
    runner.write_text(RUNNER)
    columns, rows = size
    # The shell's own variables (not only the exported ones: `IMAGE_NAME=…` of an earlier step), minus read-only ones,
    # in a file of the shell's own /tmp (the control folder is read-only to it).
    return (
        f"__doclab_terminal=$(mktemp /tmp/doclab-terminal-{line}.XXXXXX)\n"
        f"{{ declare -p | grep -Ev '^declare -[^ ]*r'; printf 'cd %q\\n' \"$PWD\"; cat <<'DOCLAB_TERMINAL_END'\n"
        f"{source.rstrip()}\nDOCLAB_TERMINAL_END\n}} > \"$__doclab_terminal\"\n"
        f"python3 {shlex.quote(str(runner))} \"$__doclab_terminal\" {columns} {rows} < /dev/null\n"
        f"__doclab_rc=$?; rm -f \"$__doclab_terminal\"; unset __doclab_terminal; (exit $__doclab_rc)\n"
    )


def screen(stream: str, size: tuple[int, int]) -> str:
    """The screen a terminal of ``size`` shows once ``stream`` has been written to it: its lines, trailing blanks gone."""
    import pyte  # only for a block that runs on a terminal

    columns, rows = size
    display = pyte.Screen(columns, rows)
    pyte.Stream(display).feed(as_typed(stream))
    return shown_screen(display)


def as_typed(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\n", "\r\n")


def shown_screen(display) -> str:
    lines = [line.rstrip() for line in display.display]
    while lines and not lines[-1]:
        lines.pop()
    while lines and not lines[0]:  # BuildKit starts its view on a fresh line
        lines.pop(0)
    return "\n".join(lines) + "\n" if lines else ""


def asciicast(command: str, events: list[tuple[float, str]], size: tuple[int, int]) -> dict:
    """The run as asciicast v2 (header fields and ``[seconds, "o", text]`` events): what the terminal received, and
    when; ``command`` is what was typed (the replay types it before the first event)."""
    columns, rows = size
    return {"version": 2, "width": columns, "height": rows, "command": command,
            "events": [[seconds, "o", text] for seconds, text in events]}
