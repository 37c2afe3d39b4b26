"""How fast the site builds, serves and tests: the benchmark behind ``scripts/bench``.

    scripts/bench [--runs N] [--only NAME ...]

It drives ``mkdocs build``, ``mkdocs serve`` and pytest as a reader would, as child processes,
against the Docker daemon in DOCKER_HOST (``scripts/bench`` starts the lab when none answers).
Runs that are compared are paired and alternated (A B A B …), so a machine that slows down
or speeds up during the benchmark changes both sides of each pair alike; each ratio is the
median of the per-pair ratios. Figures:

- ``warm``: a rebuild with every record cached, and ``nohook``: the same build with the
  captures hook removed from ``mkdocs.yml`` (a copy beside it, deleted afterwards);
- ``cold``: a build with an empty captures folder, so every page runs (in parallel), paired with
  ``nohook``, and compared with ``commands``: the sum of every code block's run time in a cold
  build run one page at a time (DOCLAB_JOBS=1, each record's ``commands_seconds``), the pages' own
  command time. The CPU time the whole machine spent during the cold build (the daemons' too),
  spread over its cores, is the shortest wall time any schedule could reach: it is printed too;
- ``serve``: after one snippet is edited under ``mkdocs serve`` (and restored afterwards), the seconds until the page
  as served shows the edited block's new output (the blocks after it still running), and until it shows every output;
- ``doctests``: ``pytest -n 2 --dist loadfile docs``, the pages' code blocks as tests;
- ``engines`` (only when asked for: minutes): the same doc tests, every page cold, on each lab engine in a lab of
  its own (``doclab.tools.matrix``), the engines taken in turn run after run, and the default engine's time
  over 20.10's (Debian 12's, the Docker the site was first made with).

Nothing is written to ``captures/``: every build uses a temporary copy.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from doclab.daemon import facts_where
from doclab.errors import DoclabError
from doclab.lab.engines import MACHINE_ENGINE, engine_names
from doclab.settings import CAPTURES_DIR, DEFAULT_ENGINE, JOBS, PROJECT_ROOT
from doclab.tools.matrix import run_engine

FIGURES = ("warm", "cold", "serve", "doctests", "engines")
#: What ``scripts/bench`` measures when no figure is named: ``engines`` brings up four labs, one after another.
DEFAULT_FIGURES = ("warm", "cold", "serve", "doctests")
#: The snippet ``serve`` edits: used by one page only, its commands quick.
SERVE_SNIPPET = Path("snippets/cheat-sheet/version.sh")
SERVE_EDIT = "# edited by doclab.tools.bench, and restored when it ends\n"
#: The page that shows the snippet's output, and that output.
SERVE_PAGE, SERVE_CAPTURE = "learn/cheat-sheet/", "version"
_REBUILT = re.compile(r"Reloading browsers|Documentation built")
_SERVE_ERROR = re.compile(r"^(ERROR|Aborted)", re.MULTILINE)
_TIMEOUT = 900


class BenchError(DoclabError, RuntimeError):
    """A measured command failed; the message carries its output's tail."""


# -- pure parts --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Stats:
    median: float
    low: float
    high: float
    runs: int

    @classmethod
    def of(cls, samples: list[float]) -> "Stats":
        if not samples:
            raise BenchError("no samples")
        return cls(statistics.median(samples), min(samples), max(samples), len(samples))


def abab(runs: int) -> list[str]:
    """The order of a paired comparison: A B A B …, ``runs`` pairs."""
    return ["a", "b"] * runs


def paired_ratio(a: list[float], b: list[float]) -> float:
    """The median of a[i] / b[i]: each pair ran back to back, so drift cancels inside it."""
    if len(a) != len(b) or not a:
        raise BenchError(f"paired samples differ in number: {len(a)} and {len(b)}")
    return statistics.median(x / y for x, y in zip(a, b, strict=True))


def without_captures_hook(config: str) -> str:
    """``mkdocs.yml``'s text without ``hooks/captures.py`` in its top-level ``hooks:`` list (the list gone if it was
    the only one): the other hooks stay, so the pair differs by the captures alone."""
    lines = config.splitlines(keepends=True)
    start = next((i for i, line in enumerate(lines) if re.match(r"hooks\s*:", line)), None)
    if start is None:
        raise BenchError("mkdocs.yml has no top-level `hooks:` entry to remove")
    end = start + 1
    while end < len(lines) and (lines[end][:1] in (" ", "\t", "-") or not lines[end].strip()):
        end += 1
    entries = [line for line in lines[start + 1:end] if line.strip()]
    kept = [line for line in entries if not re.match(r"\s*-\s*hooks/captures\.py\s*$", line)]
    if len(kept) == len(entries):
        raise BenchError("mkdocs.yml's `hooks:` list has no hooks/captures.py to remove")
    return "".join(lines[:start] + ([lines[start], *kept, "\n"] if kept else []) + lines[end:])


def capture_seconds(captures_dir: Path) -> float:
    """The pages' own command time: the sum of every record's ``commands_seconds`` under ``captures_dir``
    (each block's run time, also of blocks whose output is not shown)."""
    return sum(json.loads(path.read_text())["stamp"]["commands_seconds"] for path in sorted(captures_dir.rglob("*.json")))


def machine_busy_seconds(stat: str = "/proc/stat") -> float:
    """CPU seconds the whole machine has spent busy since boot (all cores, every process, the kernel)."""
    fields = [int(value) for value in Path(stat).read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle and iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def cpu_floor(samples: dict[str, list[float]], cores: int) -> str | None:
    """The cold build's CPU time spread over every core: the shortest wall time any schedule could reach."""
    cpu, commands = samples.get("cold, CPU time of the whole machine"), samples.get("commands (sum, cold)")
    if not cpu or not commands:
        return None
    floor = statistics.median(cpu) / cores
    return (f"cold build's CPU time over {cores} cores: {floor:.2f} s at best, "
            f"{floor / statistics.median(commands):.2f}× the pages' command time")


def table(rows: list[tuple[str, Stats]]) -> str:
    """A Markdown table: figure, median, min, max, runs (seconds)."""
    lines = ["| figure | median | min | max | runs |", "|---|---|---|---|---|"]
    for name, stats in rows:
        lines.append(f"| {name} | {stats.median:.2f} s | {stats.low:.2f} s | {stats.high:.2f} s | {stats.runs} |")
    return "\n".join(lines)


# -- measuring ---------------------------------------------------------------------------------
class Bench:
    def __init__(self, root: Path, work: Path, env: dict[str, str]):
        self.root = root
        self.work = work
        self.env = {**env, "NO_MKDOCS_2_WARNING": "1"}
        self.samples: dict[str, list[float]] = {}
        self._builds = 0

    def _timed(self, command: list[str], env: dict[str, str], what: str) -> float:
        started = time.perf_counter()
        done = subprocess.run(command, cwd=self.root, env=env, capture_output=True, text=True, timeout=_TIMEOUT)
        seconds = time.perf_counter() - started
        if done.returncode != 0:
            raise BenchError(f"{what} failed (exit {done.returncode}):\n{(done.stdout + done.stderr)[-4000:]}")
        return seconds

    def build(self, captures: Path, config: Path, jobs: int | None = None) -> float:
        self._builds += 1
        site = self.work / f"site-{self._builds}"
        command = [sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(config), "-d", str(site)]
        env = {**self.env, CAPTURES_DIR: str(captures), **({JOBS: str(jobs)} if jobs else {})}
        try:
            return self._timed(command, env, f"mkdocs build -f {config.name}")
        finally:
            shutil.rmtree(site, ignore_errors=True)

    def record(self, name: str, seconds: float) -> None:
        self.samples.setdefault(name, []).append(seconds)
        print(f"  {name}: {seconds:.2f} s", file=sys.stderr, flush=True)

    def warm(self, runs: int, nohook: Path) -> None:
        captures = self._captures_copy("warm")
        self.build(captures, self.root / "mkdocs.yml")  # not timed: brings every record up to date
        for side in abab(runs):
            if side == "a":
                self.record("warm", self.build(captures, self.root / "mkdocs.yml"))
            else:
                self.record("nohook (warm pair)", self.build(captures, nohook))

    def cold(self, runs: int, nohook: Path) -> None:
        for index, side in enumerate(abab(runs)):
            if side == "a":
                captures = self.work / f"cold-{index}"
                captures.mkdir()
                busy = machine_busy_seconds()
                self.record("cold", self.build(captures, self.root / "mkdocs.yml"))
                # Every process's CPU time, the daemons' too: what no schedule on this machine can beat.
                self.record("cold, CPU time of the whole machine", machine_busy_seconds() - busy)
                serial = self.work / f"serial-{index}"
                serial.mkdir()
                self.build(serial, self.root / "mkdocs.yml", jobs=1)  # untimed: only its records' command times count
                self.record("commands (sum, cold)", capture_seconds(serial))
                shutil.rmtree(captures)
                shutil.rmtree(serial)
            else:
                self.record("nohook (cold pair)", self.build(self.work / "unused-captures", nohook))

    def serve(self, runs: int) -> None:
        snippet = self.root / SERVE_SNIPPET
        original = snippet.read_bytes()
        log = self.work / "serve.log"
        port = _free_port()
        env = {**self.env, CAPTURES_DIR: str(self._captures_copy("serve"))}
        command = [sys.executable, "-m", "mkdocs", "serve", "--strict", "--dev-addr", f"127.0.0.1:{port}"]
        with log.open("w") as out:
            process = subprocess.Popen(command, cwd=self.root, env=env, stdout=out, stderr=subprocess.STDOUT,
                                       stdin=subprocess.DEVNULL)
        page = f"http://127.0.0.1:{port}/{SERVE_PAGE}"
        try:
            _wait_for_line(log, 0, re.compile(r"Serving on"), 300)
            for _ in range(runs):
                shown, whole = _edit_until_whole(snippet, original + SERVE_EDIT.encode(), log, page)
                self.record("serve: edited output shown", shown)
                self.record("serve: whole page", whole)
                _edit_until_whole(snippet, original, log, page)
        finally:
            snippet.write_bytes(original)
            _stop_serve(process)

    def doctests(self, runs: int) -> None:
        """The suite's wall time; a failing suite is timed too, and said so in the figure's name."""
        command = [sys.executable, "-m", "pytest", "-q", "-n", "2", "--dist", "loadfile", "docs"]
        for _ in range(runs):
            env = {**self.env, CAPTURES_DIR: str(self._captures_copy("doctests"))}
            started = time.perf_counter()
            done = subprocess.run(command, cwd=self.root, env=env, capture_output=True, text=True, timeout=_TIMEOUT)
            seconds = time.perf_counter() - started
            if done.returncode != 0:
                summary = (done.stdout.strip().splitlines() or ["no output"])[-1].strip("= ")
                print(f"  the doc-test suite failed (exit {done.returncode}): {summary}", file=sys.stderr)
            self.record("doc tests" if done.returncode == 0 else "doc tests (suite failing)", seconds)

    def engines(self, runs: int) -> None:
        """Every page's doc tests, cold, per lab engine; a run where a page failed is timed too, and said so."""
        for _ in range(runs):
            for name in engine_names():
                row = run_engine(name)
                self.record(engine_figure(name) + (" (pages failing)" if row["failed"] else ""), row["seconds"])

    def _captures_copy(self, name: str) -> Path:
        copy = self.work / f"captures-{name}"
        if not copy.exists():
            shutil.copytree(self.root / "captures", copy)
        return copy


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _stop_serve(process: subprocess.Popen) -> None:
    """Ctrl-C, as an author stops it (mkdocs then deletes its temporary site); SIGTERM if that is ignored."""
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.terminate()
        process.wait(timeout=30)


def served_state(html: str, capture_id: str) -> str | None:
    """What a served page shows of the edited output ``capture_id``: ``whole`` (every output made), ``edited`` (that one
    made, later ones still running: ``doclab-pending``), None (not made yet)."""
    if f'data-capture="{capture_id}"' not in html or f'class="doclab-pending" data-capture="{capture_id}"' in html:
        return None
    return "edited" if 'class="doclab-pending"' in html else "whole"


def _edit_until_whole(snippet: Path, text: bytes, log: Path, page: str) -> tuple[float, float]:
    """Write the snippet; the seconds until the served page first shows the edited output, and until it shows all."""
    offset, shown = log.stat().st_size, None
    started = time.perf_counter()
    snippet.write_bytes(text)
    while True:  # each build the edit started (the page in part, then whole), the page as served after it
        offset = _wait_for_line(log, offset, _REBUILT, 300)
        state = served_state(_fetch(page), SERVE_CAPTURE)
        if state is not None and shown is None:
            shown = time.perf_counter() - started
        if state == "whole":
            return shown, time.perf_counter() - started


def _fetch(url: str) -> str:
    with urllib.request.urlopen(url, timeout=60) as response:
        return response.read().decode()


def _wait_for_line(log: Path, offset: int, pattern: re.Pattern, seconds: float) -> int:
    """Wait until the log, past ``offset``, has a line matching ``pattern``; the offset after the match."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        text = log.read_bytes()[offset:].decode(errors="surrogateescape")
        if _SERVE_ERROR.search(text):
            raise BenchError(f"mkdocs serve reported an error:\n{text[-4000:]}")
        if match := pattern.search(text):
            return offset + len(text[:match.end()].encode(errors="surrogateescape"))
        time.sleep(0.02)
    raise BenchError(f"mkdocs serve printed no /{pattern.pattern}/ within {seconds:g} s:\n{log.read_text()[-4000:]}")


@contextlib.contextmanager
def nohook_config(root: Path):
    """A copy of mkdocs.yml without the captures hook, beside it (its paths are relative), deleted afterwards."""
    config = root / "mkdocs.bench-nohook.yml"
    config.write_text(without_captures_hook((root / "mkdocs.yml").read_text()))
    try:
        yield config
    finally:
        config.unlink(missing_ok=True)


def engine_figure(engine: str) -> str:
    return f"doc tests on {engine}"


def report(samples: dict[str, list[float]]) -> str:
    rows = [(name, Stats.of(values)) for name, values in samples.items()]
    lines = [table(rows), ""]
    for a, b, label in (
        (engine_figure(DEFAULT_ENGINE), engine_figure(MACHINE_ENGINE),
         f"every page cold on {DEFAULT_ENGINE} / on {MACHINE_ENGINE} (goal ≤ 1×)"),
        ("warm", "nohook (warm pair)", "warm rebuild / build without the captures hook (goal ≤ 1.10×)"),
        ("cold", "nohook (cold pair)", "cold build / build without the captures hook (goal ≤ 5×)"),
        ("cold", "commands (sum, cold)", "cold build / its pages' command time, summed (goal ≤ 0.5×)"),
    ):
        if a in samples and b in samples:
            lines.append(f"{label}: {paired_ratio(samples[a], samples[b]):.2f}× (median of {len(samples[a])} pairs)")
    floor = cpu_floor(samples, os.cpu_count() or 1)
    if floor:
        lines.append(floor)
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m doclab.tools.bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="runs (pairs) of each build figure and of serve (default 5)")
    parser.add_argument("--test-runs", type=int, default=1, help="runs of the doc-test suite, the slowest figure (default 1)")
    parser.add_argument("--only", action="append", choices=FIGURES, help="measure only this figure (repeatable)")
    args = parser.parse_args(argv)
    facts = facts_where(os.environ)
    if not facts.reachable:
        print(f"doclab.tools.bench: {facts.reason}; run it as scripts/bench, which starts the lab", file=sys.stderr)
        return 2
    figures = args.only or list(DEFAULT_FIGURES)
    print(f"doclab.tools.bench: {', '.join(figures)} against {facts.host} (Engine {facts.server_version}), "
          f"{os.cpu_count()} cores", file=sys.stderr)
    with tempfile.TemporaryDirectory(prefix="bench-of-doclab-") as work:
        bench = Bench(PROJECT_ROOT, Path(work), dict(os.environ))
        try:
            with nohook_config(PROJECT_ROOT) as nohook:
                if "warm" in figures:
                    bench.warm(args.runs, nohook)
                if "cold" in figures:
                    bench.cold(args.runs, nohook)
            if "serve" in figures:
                bench.serve(args.runs)
            if "doctests" in figures:
                bench.doctests(args.test_runs)
            if "engines" in figures:
                bench.engines(args.runs)
        except BenchError as error:
            print(f"doclab.tools.bench: {error}\n(the figures measured before it follow)", file=sys.stderr)
            print(report(bench.samples))
            return 1
    print(report(bench.samples))
    return 0


if __name__ == "__main__":
    sys.exit(main())
