"""The HTML of a captured output, written without Pygments (a superfences custom fence).

Plain text gains nothing from a highlighter, and a warm rebuild renders some sixty outputs: this
writes exactly what ``pymdownx.highlight`` writes for a ``text`` fence with a title, so the
theme's styles, its copy button and lesson.js treat it the same. It imports nothing of doclab's,
so ``mkdocs.yml`` can name it at no cost. Registered in ``mkdocs.yml``:

    - pymdownx.superfences:
        custom_fences:
          - name: doclab-output
            class: doclab-output
            format: !!python/name:doclab.render.fences.output
"""

from __future__ import annotations

from html import escape

#: The fence's language: ``render.render_capture`` writes ```` ```{.doclab-output …} ````.
LANGUAGE = "doclab-output"


def output(source: str, language: str, class_name: str, options: dict, md, **kwargs) -> str:
    attrs = dict(kwargs.get("attrs") or {})
    title = attrs.pop("title", "")
    classes = " ".join([LANGUAGE, *kwargs.get("classes", []), "highlight"])
    attributes = "".join(f' {name}="{escape(value)}"' for name, value in attrs.items())
    heading = f'<span class="filename">{escape(title)}</span>' if title else ""
    text = source if source.endswith("\n") else source + "\n"  # Pygments ends every block with a newline
    return f'<div class="{classes}"{attributes}>{heading}<pre><span></span><code>{escape(text, quote=False)}</code></pre></div>'
