"""MkDocs hook: show the real output of the pages' examples (the work is done by ``doclab``)."""

from __future__ import annotations

import logging
import time
from pathlib import Path

from mkdocs.exceptions import PluginError

from doclab.capture import CaptureEngine, CaptureError
from doclab.pages import PageError, parse_page
from doclab.render import replace_markers
from doclab.settings import Settings

log = logging.getLogger("mkdocs.hooks.captures")
engine: CaptureEngine | None = None


def on_config(config):
    global engine
    engine = CaptureEngine(Settings.from_env(project_root=Path(config.config_file_path).parent))


def on_pre_build(config):
    engine.refresh()


def on_page_markdown(markdown, page, config, files):
    try:
        parsed = parse_page(markdown, page.file.src_uri, engine.settings.snippets_dir)
        if not parsed.outputs:
            return markdown
        started = time.monotonic()
        resolved = engine.resolve(parsed)
        seconds = time.monotonic() - started
        if resolved.state == "recorded":
            # INFO, not WARNING: a recorded output is the designed fallback, and --strict fails on warnings.
            log.info("%s: RECORDED output shown, %s", page.file.src_uri, engine.facts.reason)
        else:
            log.info("%s: captures %s in %.3f s", page.file.src_uri, resolved.state, seconds)
        return replace_markers(markdown, parsed, resolved)
    except (PageError, CaptureError) as error:
        raise PluginError(str(error)) from None
