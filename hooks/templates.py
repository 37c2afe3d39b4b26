"""MkDocs hook: the theme's templates are compiled once, not at every build.

Material's fifty-odd templates were compiled again by every ``mkdocs build`` and every rebuild under ``mkdocs serve``,
a sixth of a warm build's time. Jinja's bytecode cache keeps them compiled in ``.cache/jinja/`` beside ``mkdocs.yml``
(the project's own folder, ignored by git); an entry is used only while its template's source is unchanged.
"""

from __future__ import annotations

from pathlib import Path

from jinja2 import FileSystemBytecodeCache


def on_env(env, config, files):
    folder = Path(config.config_file_path).parent / ".cache" / "jinja"
    folder.mkdir(parents=True, exist_ok=True)
    env.bytecode_cache = FileSystemBytecodeCache(str(folder))
    return env
