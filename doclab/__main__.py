"""Command line: ``python -m doclab run docs/PAGE.md`` runs a page's blocks as the tests do and
prints each output; ``python -m doclab check-daemon`` says whether a Docker daemon answers."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .daemon import daemon_facts
from .pages import PageError, page_name, parse_page
from .session import BlockFailed, PageRun
from .settings import PROJECT_ROOT, Settings


def run_page(path: Path) -> int:
    settings = Settings.from_env()
    try:
        page = parse_page(path.read_text(), page_name(path, PROJECT_ROOT / "docs"), settings.snippets_dir)
    except PageError as error:
        print(error, file=sys.stderr)
        return 2
    with PageRun(page, settings) as run:
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m doclab")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("run", help="run a page's code blocks in order").add_argument("page", type=Path)
    commands.add_parser("check-daemon", help="exit 0 if a Docker daemon answers, else print why")
    args = parser.parse_args(argv)
    if args.command == "run":
        return run_page(args.page)
    facts = daemon_facts()
    if not facts.reachable:
        print(facts.reason)
    return 0 if facts.reachable else 1


if __name__ == "__main__":
    sys.exit(main())
