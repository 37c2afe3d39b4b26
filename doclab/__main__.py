"""Command line.

    python -m doclab run docs/PAGE.md                 # run a page's blocks as the tests do, print each output
    python -m doclab capture [--force] [docs/PAGE.md ...]   # make the records the site shows (all pages by default)
    python -m doclab check-daemon                     # exit 0 if a Docker daemon answers, else print why
    python -m doclab facts [--command CMD] FILE       # what the doc tests compare in a saved output (or a record)
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

from doclab.capture.captures import Captures, Outcome, Resolved
from doclab.capture.record import CaptureError, PageRecord
from doclab.capture.runner import PageDaemons
from doclab.daemon import facts_where
from doclab.errors import DoclabError
from doclab.capture.facts import facts_of
from doclab.daemon.guard import HOW_TO_RUN_LIVE, NotClean
from doclab.page.parse import Page, PageError, read_page
from doclab.render.quotes import check_quotes
from doclab.run.session import BlockFailed, PageRun
from doclab.settings import PROJECT_ROOT, Settings

DOCS = PROJECT_ROOT / "docs"


def run_page(path: Path) -> int:
    settings = Settings.from_env()
    try:
        page = read_page(path, DOCS, settings.snippets_dir)
    except PageError as error:
        print(error, file=sys.stderr)
        return 2
    # The same isolation as a build: a lab daemon of its own, or the shared daemon under its lock.
    try:
        daemons = PageDaemons(settings, facts_where(os.environ))
        with daemons.daemon_for(page) as (address, netns, facts), PageRun(page, settings, address, netns, facts) as run:
            return _print_blocks(page, run)
    except NotClean as unclean:
        print(f"docs/{page.path} cannot run here: {unclean}; {how_to_reach_the_lab(settings, HOW_TO_RUN_LIVE)}", file=sys.stderr)
        return 2
    except CaptureError as error:
        print(error, file=sys.stderr)
        return 2


def _print_blocks(page: Page, run: PageRun) -> int:
    for block in page.blocks:
        print(f"--- {block.label}")
        if block.skip_reason:
            print(f"(skipped: {block.skip_reason})")
            continue
        try:
            print(run.run(block).output, end="")
        except BlockFailed as failure:
            print(failure, file=sys.stderr)
            return 1
    return 0


def how_to_reach_the_lab(settings: Settings, otherwise: str) -> str:
    """What to run when no daemon answers: point at the lab when it is up (serve finds it; this shell must be told)."""
    from doclab.lab.control import Lab
    from doclab.lab.folder import MAIN_DAEMON

    if Lab(settings).daemon_up(MAIN_DAEMON):
        return 'the lab is up: point this shell at it with eval "$(python -m doclab.lab env)", then run this again'
    return otherwise


def capture(paths: list[Path], force: bool) -> int:
    settings = Settings.from_env()
    captures = Captures(settings)
    if not captures.facts.reachable:
        print(f"cannot record: {captures.facts.reason}; " + how_to_reach_the_lab(
            settings, "start the lab (python -m doclab.lab up) and export the DOCKER_HOST it prints"), file=sys.stderr)
        return 1
    files = paths or sorted(DOCS.rglob("*.md"))
    pages, failed = [], 0
    for path in files:
        try:
            pages.append(read_page(path, DOCS, settings.snippets_dir))
        except PageError as error:
            print(error, file=sys.stderr)
            failed += 1
    started = time.monotonic()
    for path, outcome in sorted(captures.resolve_all([page for page in pages if page.captures], force=force).items()):
        if isinstance(outcome, Resolved):
            why = f": {outcome.reason}" if outcome.state is Outcome.RECORDED else ""
            print(f"docs/{path}: {outcome.state} ({len(outcome.record.captures)} captures){why}")
        else:
            print(f"docs/{path}: FAILED\n{outcome}", file=sys.stderr)
            failed += 1
    # The prose is checked against what the pages will show, as the site build checks it.
    for page in pages:
        try:
            check_quotes(page, captures.record_of)
        except CaptureError as error:
            print(error, file=sys.stderr)
            failed += 1
    print(f"{len(captures.pages_run)} page(s) run in {time.monotonic() - started:.1f} s, {failed} failed; "
          f"records in {settings.captures_dir}")
    return 1 if failed else 0


def print_facts(path: Path, command: str, exit_code: int | None) -> int:
    """The facts of a saved output as JSON; of each capture, for a record. Exit 1 when none is recognised."""
    try:
        text = path.read_text()
    except OSError as error:
        print(f"{path}: {error.strerror}", file=sys.stderr)
        return 2
    try:
        record = PageRecord.from_json(text) if path.suffix == ".json" else None
    except (ValueError, KeyError, TypeError):
        record = None
    if record is not None:
        found = {name: facts_of(capture.output, capture.command, capture.exit_code) for name, capture in record.captures.items()}
    else:
        found = facts_of(text, command, exit_code)
    print(json.dumps(found, indent=2))
    kinds = [item["kind"] for item in found.values()] if record is not None else [found["kind"]]
    if not any(kinds):
        print(f"{path}: none of the outputs this site teaches (docker build, pull, push, image ls, version) was "
              "recognised; only its exit code and error lines are compared", file=sys.stderr)
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m doclab")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("run", help="run a page's code blocks in order").add_argument("page", type=Path)
    recorder = commands.add_parser("capture", help="record the outputs of pages (every page by default)")
    recorder.add_argument("--force", action="store_true", help="run the pages even when their records are current")
    recorder.add_argument("pages", nargs="*", type=Path)
    commands.add_parser("check-daemon", help="exit 0 if a Docker daemon answers, else print why")
    reader = commands.add_parser("facts", help="print the facts the doc tests compare, read from a saved output")
    reader.add_argument("--command", dest="command_text", default="", help="the command that printed it")
    reader.add_argument("--exit-code", type=int, default=None)
    reader.add_argument("file", type=Path, help="a saved output, or a capture record (captures/PAGE.json)")
    args = parser.parse_args(argv)
    if args.command == "facts":
        return print_facts(args.file, args.command_text, args.exit_code)
    if args.command == "run":
        return run_page(args.page)
    if args.command == "capture":
        try:
            return capture(args.pages, args.force)
        except (DoclabError, ValueError) as error:
            print(error, file=sys.stderr)
            return 2
        except KeyboardInterrupt:
            print("interrupted: the pages that were running were stopped, nothing of them was recorded, and their "
                  "daemons were given back", file=sys.stderr)
            return 130
    facts = facts_where(os.environ)
    if not facts.reachable:
        print(facts.reason)
    return 0 if facts.reachable else 1


if __name__ == "__main__":
    sys.exit(main())
