"""Every step of a page as one bash script, for readers to copy (and for tests to run)."""

from __future__ import annotations

from .pages import FILE_LANGUAGES, PYTHON_LANGUAGES, SHELL_LANGUAGES, Page, PageError, split_console
from .session import END_OF_FILE, write_file_script


def page_script(page: Page) -> str:
    """Every step of the page as one bash script, for readers to copy (and for tests to run)."""
    steps = ["#!/usr/bin/env bash", f"# All steps of docs/{page.path}, in order, generated from its code blocks.", "set -e"]
    for block in page.blocks:
        if block.skip_reason:
            continue
        if block.expected_exit != 0:
            raise PageError(f"{block.where}: a page with a one-script copy cannot have a block that must fail")
        if block.language in FILE_LANGUAGES:
            steps.append(write_file_script(block).rstrip("\n"))
        elif block.language in PYTHON_LANGUAGES:
            steps.append(f"python3 - <<'{END_OF_FILE}'\n{block.source}{END_OF_FILE}")
        elif block.language == "console":
            steps.extend(command for command, _ in split_console(block.source))
        elif block.language in SHELL_LANGUAGES:
            steps.append(block.source.rstrip("\n"))
    return "\n".join(steps) + "\n"
