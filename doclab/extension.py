"""A Python-Markdown extension: doclab's front door for a site generator without MkDocs hooks (Zensical).

    markdown_extensions:
      - doclab.extension

It does what ``hooks/captures.py`` does in ``on_page_markdown``, over the same capture engine (``Captures``): each page's markers
become its recorded outputs, walk-throughs, traces and stamp, and each prose quote is checked against the
output it quotes. It never runs a page (a generator may render pages in any order, at once): it shows the
records the MkDocs build made, labelled as recorded with their date and versions, and fails on a page whose
examples changed since. The page's path comes from the ``page`` option, or from the page the generator is
rendering (Zensical's rendering context, which has a ``page.path``). Its preprocessor runs after the macros'
(priority 35) and before pymdownx.snippets' (32): on the text macros have expanded, its ``--8<--`` lines not yet
inlined, as the hook sees it."""

from __future__ import annotations

import dataclasses
import functools

from markdown import Extension, Markdown
from markdown.preprocessors import Preprocessor

from doclab.capture.captures import Captures
from doclab.errors import DoclabError
from doclab.page.parse import parse_page
from doclab.render.markers import replace_markers
from doclab.render.quotes import replace_quotes
from doclab.settings import Settings

#: What the stamp says of every page this front door shows.
WHY_RECORDED = "this build shows the records a MkDocs build made (it runs no page itself)"


@functools.lru_cache(maxsize=1)
def shared_captures() -> Captures:
    """One ``Captures`` for the whole build (its records are read once), never running a page."""
    return Captures(dataclasses.replace(Settings.from_env(), recorded=True, strict=False))


class DoclabPreprocessor(Preprocessor):
    def __init__(self, md: Markdown, page: str):
        super().__init__(md)
        self.page = page

    def _page_path(self) -> str | None:
        if self.page:
            return self.page
        for processor in self.md.preprocessors:  # the generator's rendering context, duck-typed
            path = getattr(getattr(processor, "page", None), "path", None)
            if isinstance(path, str):
                return path
        return None

    def run(self, lines: list[str]) -> list[str]:
        path = self._page_path()
        markdown = "\n".join(lines)
        if path is None or "<!--" not in markdown:
            return lines
        captures = shared_captures()
        try:
            page = parse_page(markdown, path, captures.settings.snippets_dir)
            if page.captures:
                markdown = replace_markers(markdown, page, captures.recorded_for(page, WHY_RECORDED))
            return replace_quotes(markdown, page, captures.record_of).split("\n")
        except DoclabError as error:
            raise DoclabError(f"docs/{error}" if not str(error).startswith("docs/") else str(error)) from None


class DoclabExtension(Extension):
    def __init__(self, **kwargs):
        self.config = {"page": ["", "The page's path under docs/ (default: the page the generator renders)"]}
        super().__init__(**kwargs)

    def extendMarkdown(self, md: Markdown) -> None:
        md.registerExtension(self)
        md.preprocessors.register(DoclabPreprocessor(md, self.getConfig("page")), "doclab", 33)


def makeExtension(**kwargs) -> DoclabExtension:
    return DoclabExtension(**kwargs)
