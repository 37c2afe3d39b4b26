"""MkDocs hook: the quiz plugin's page furniture, tamed where it runs (only pages with ``quiz: {enabled: true}``).

The plugin writes a progress widget and a results panel ("Quiz Progress 0 / 0 questions answered")
into the page's content, which the search plugin would index: both are taken out before indexing
and put back into the finished page (the plugin's script moves the widget into the table of
contents). Its confetti, drawn on a full-page canvas, stays off for readers who ask for reduced motion."""

from __future__ import annotations

import re

from mkdocs.exceptions import PluginError

# The plugin's own markup, as mkdocs_quiz 1.7 writes it: a new version that changes it fails the build here.
PROGRESS_WIDGET = '<div id="quiz-progress-sidebar"'
PROGRESS_WIDGET_MOBILE = '<nav id="quiz-progress-mobile"'
RESULTS_PANEL = '<div id="quiz-results"'
CONFETTI_SETTING = "confetti: true,"
RESULTS_PLACE = "<!-- quiz results: put back after search indexing (hooks/quiz_scope.py) -->"

taken_out: dict[str, tuple[str, str]] = {}


def _element_end(html: str, start: int) -> int:
    """Where the element opening at ``start`` (a ``<div>`` or a ``<nav>``) closes: the index after its end tag."""
    name = re.match(r"<(\w+)", html[start:])[1]
    depth = 0
    for tag in re.compile(rf"<(/?){name}\b").finditer(html, start):
        depth += -1 if tag[1] else 1
        if depth == 0:
            return html.index(">", tag.end()) + 1
    raise PluginError(f"the quiz plugin's element at offset {start} is never closed; update hooks/quiz_scope.py")


def _cut(html: str, opening: str, page) -> tuple[str, str, int]:
    start = html.find(opening)
    if start < 0:
        raise PluginError(f"{page.file.src_uri}: the quiz plugin no longer writes '{opening}'; update hooks/quiz_scope.py")
    end = _element_end(html, start)
    return html[:start] + html[end:], html[start:end], start


def on_page_content(html, page, config, files):
    if PROGRESS_WIDGET not in html:
        return html
    if CONFETTI_SETTING not in html:
        raise PluginError(f"{page.file.src_uri}: the quiz plugin no longer writes '{CONFETTI_SETTING}'; update hooks/quiz_scope.py")
    html, widget, _ = _cut(html, PROGRESS_WIDGET, page)
    html, mobile_widget, _ = _cut(html, PROGRESS_WIDGET_MOBILE, page)
    widget += mobile_widget
    results = ""
    if RESULTS_PANEL in html:
        html, results, at = _cut(html, RESULTS_PANEL, page)
        html = html[:at] + RESULTS_PLACE + html[at:]
    taken_out[page.file.src_uri] = (widget, results)
    return html.replace(CONFETTI_SETTING, 'confetti: !matchMedia("(prefers-reduced-motion: reduce)").matches,', 1)


def on_post_page(output, page, config):
    if page.file.src_uri not in taken_out:
        return output
    widget, results = taken_out.pop(page.file.src_uri)
    return output.replace(RESULTS_PLACE, results, 1).replace("</body>", widget + "</body>", 1)
