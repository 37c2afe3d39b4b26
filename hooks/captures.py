"""MkDocs hook: show the real output of the pages' examples (the work is done by ``doclab``)."""

from __future__ import annotations

import logging

from mkdocs.exceptions import PluginError

from doclab.capture import CaptureEngine, CaptureError
from doclab.pages import PageError, parse_page
from doclab.render import replace_markers
from doclab.settings import Settings

log = logging.getLogger("mkdocs.hooks.captures")
engine: CaptureEngine | None = None


def on_config(config):
    global engine
    engine = CaptureEngine(Settings.from_env())


def on_pre_build(config):
    engine.refresh()


def on_page_markdown(markdown, page, config, files):
    try:
        parsed = parse_page(markdown, page.file.src_uri, engine.settings.snippets_dir)
        if not parsed.outputs:
            return markdown
        resolved = engine.resolve(parsed)
        if resolved.state == "recorded":
            log.warning("%s: no Docker daemon, showing the recorded output (%s)", page.file.src_uri, engine.facts.reason)
        else:
            log.info("%s: captures %s", page.file.src_uri, resolved.state)
        return replace_markers(markdown, parsed, resolved)
    except (PageError, CaptureError) as error:
        raise PluginError(str(error)) from None
