"""The values pages quote (image name, base image, commands), read from the snippets that run.

Prose, code and output then cannot disagree: there is one place each value is written.
"""

from __future__ import annotations

import re
from pathlib import Path

from doclab.errors import DoclabError


class LessonValueError(DoclabError, ValueError):
    """A lesson value file (lesson.yml and the snippets it names) that cannot be read; the message says which."""


def _read(path: Path) -> str:
    if not path.is_file():
        raise LessonValueError(f"{path} is missing: the lesson's values are read from it")
    return path.read_text()


def _match(pattern: str, path: Path) -> re.Match:
    match = re.search(pattern, _read(path), re.MULTILINE)
    if match is None:
        raise LessonValueError(f"{path}: no line matches {pattern!r}; the lesson's values are read from it")
    return match


def lesson_values(snippets_dir: Path) -> dict[str, str]:
    project = snippets_dir / "mini-project"
    base = _match(r"^FROM\s+(?P<image>\S+)", project / "Dockerfile")["image"]
    name = _match(r"^IMAGE_NAME=(?P<name>\S+)$", project / "set-image-name.sh")["name"]
    repository, _, tag = base.partition(":")
    return {
        "base_image": base,
        "base_repository": repository,
        "base_tag": tag or "latest",
        "image_name": name,
        "image_variable": "IMAGE_NAME",
        "build_command": _read(project / "build.sh").strip(),
        "dockerfile": _read(project / "Dockerfile").strip(),
    }
