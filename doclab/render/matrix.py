"""The site's "Tested with" table, from ``tested-with.json`` (written by ``python -m doclab.tools.matrix --write``)."""

from __future__ import annotations

import json
from pathlib import Path

from doclab.errors import DoclabError

STORES = {"containerd": "containerd image store", "overlay2": "overlay2 storage driver"}


def engines_table(path: Path) -> str:
    """A Markdown table: each engine, its image store, builder, versions, and how many pages passed on it."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise DoclabError(f"{path}: cannot read the engines' test results ({error}); make it with "
                          "`python -m doclab.tools.matrix --write` (the lab's engines, one after another)",
                          file=str(path)) from error
    lines = [
        f"Last run {data['date']}; the outputs on the pages were recorded on {data['records']['date']} with "
        f"engine `{data['records']['engine']}`.",
        "",
        "| Engine | Image store | Builder of `docker build` | Packages (Debian) | Pages passed |",
        "| --- | --- | --- | --- | --- |",
    ]
    for row in data["engines"]:
        versions = ", ".join(f"{package} {version}" for package, version in row["versions"].items())
        passed = f"{row['passed']} of {row['pages']}" + (f" (failed: {', '.join(row['failed'])})" if row["failed"] else "")
        compared = "facts and text" if row["engine"] == data["records"]["engine"] else "facts"
        lines.append(f"| `{row['engine']}` | {STORES.get(row['image_store'], row['image_store'])} | {row['builder']} | "
                     f"{versions} | {passed}, by {compared} |")
    return "\n".join(lines) + "\n"
