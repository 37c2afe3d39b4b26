"""MkDocs hook: the quiz plugin's page furniture, tamed where it runs (only pages with ``quiz: {enabled: true}``).

The plugin appends a progress widget to the page's content, which the search plugin would index
("Quiz Progress Answered: 0 / 0"): it is taken out before indexing and put back into the finished
page, where the plugin's script moves it into the table of contents. Its confetti, drawn on a
full-page canvas, stays off for readers who ask for reduced motion."""

from __future__ import annotations

from mkdocs.exceptions import PluginError

# The plugin's own markup, as mkdocs_quiz 1.7 writes it: a new version that changes it fails the build here.
PROGRESS_WIDGET = '<div id="quiz-progress-sidebar"'
AFTER_WIDGET = '<style type="text/css">'
CONFETTI_SETTING = "confetti: true,"

widgets: dict[str, str] = {}


def on_page_content(html, page, config, files):
    if PROGRESS_WIDGET not in html:
        return html
    start = html.index(PROGRESS_WIDGET)
    end = html.find(AFTER_WIDGET, start)
    if end < 0 or CONFETTI_SETTING not in html:
        raise PluginError(f"{page.file.src_uri}: the quiz plugin no longer writes '{AFTER_WIDGET}' after its progress "
                          f"widget or '{CONFETTI_SETTING}'; update hooks/quiz_scope.py to its new markup")
    widgets[page.file.src_uri] = html[start:end]
    html = html[:start] + html[end:]
    return html.replace(CONFETTI_SETTING, 'confetti: !matchMedia("(prefers-reduced-motion: reduce)").matches,', 1)


def on_post_page(output, page, config):
    widget = widgets.pop(page.file.src_uri, None)
    return output if widget is None else output.replace("</body>", widget + "</body>", 1)
