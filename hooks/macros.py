"""mkdocs-macros module: the lesson's shared values, read from the runnable snippets themselves,
and the mini project's exercises, read from snippets/mini-project/answers.json."""

import html
import json
import posixpath
from pathlib import Path

from doclab.lesson.answers import AnswerRules, load_rules
from doclab.page.parse import parse_page
from doclab.lesson.values import lesson_values
from doclab.render.matrix import engines_table

WHO = {"shell": "the shell", "client": "the client", "daemon": "the daemon", "registry": "the registry"}


#: The project's snippets and pages, beside hooks/ (MkDocs and Zensical hand this module different objects).
SNIPPETS = Path(__file__).resolve().parent.parent / "snippets"
DOCS = SNIPPETS.parent / "docs"


def page_as_written(page) -> tuple[str, str]:
    """The page's path under docs/ and its text as written: MkDocs names it ``page.file.src_uri``, Zensical ``page.path``."""
    file = getattr(page, "file", None)
    path = file.src_uri if file is not None else page.path
    return path, (DOCS / path).read_text()


def define_env(env):
    snippets = SNIPPETS
    env.variables.update(lesson_values(snippets))
    def page_outputs(lesson: str = "mini-project") -> tuple[AnswerRules, dict, dict]:
        """The lesson's rules (snippets/LESSON/answers.json), their outputs with the exit codes this page declares (an
        output it does not run fails the build), and the page's blocks by capture."""
        rules = load_rules(snippets / lesson / "answers.json")
        path, text = page_as_written(env.page)
        page = parse_page(text, path, snippets)
        declared = {name: block.expected_exit for name, block in page.captures.items()}
        return rules, rules.outputs_with_exit_codes(declared, path), page.captures

    @env.macro
    def mistake(name: str) -> str:
        """A mistake's title, who printed its output with which exit code (and an older Engine's), and why (Markdown)."""
        _, outputs, blocks = page_outputs()
        output = outputs[name]
        older = "".join(f" ({code} with Engine {line}'s client)" for line, code in blocks[name].exit_on)
        return (f"**{output['title']}** — printed by {WHO[output['printed_by']]}, exit code {output['exit']}{older}. "
                f"{output['explanation']}")

    @env.macro
    def exercises(lesson: str = "mini-project") -> str:
        """The lesson's rules inlined for exercise.js (no request of their own), then its stylesheet and script."""
        rules, outputs, _ = page_outputs(lesson)
        data = {**{key: value for key, value in rules.data.items() if not key.startswith("_")}, "outputs": outputs}
        assets = posixpath.relpath("assets", env.page.url or ".")
        inline = json.dumps(data, ensure_ascii=False, separators=(",", ":")).replace("</", "<\\/")
        return (
            f'<script type="application/json" id="exercise-rules">{inline}</script>\n'
            f'<link rel="stylesheet" href="{html.escape(assets)}/exercise.css">\n'
            f'<script src="{html.escape(assets)}/exercise.js" defer></script>'
        )

    @env.macro
    def tested_with() -> str:
        """The engines every page's doc tests ran on, and how many passed (tested-with.json, made by a real run)."""
        return engines_table(SNIPPETS.parent / "tested-with.json")

    @env.macro
    def architecture_picture() -> str:
        """The architecture diagram: side by side, or stacked on a narrow screen where its labels would be ~7 px."""
        assets = html.escape(posixpath.relpath("assets", env.page.url or "."))
        alt = ("The client sends commands to the daemon over the Engine API; the daemon pulls images from the "
               "registry over the Registry API.")
        return (f'<picture><source media="(max-width: 40em)" srcset="{assets}/architecture-narrow.svg">'
                f'<img class="doclab-architecture" src="{assets}/architecture.svg" alt="{html.escape(alt)}"></picture>')

    @env.macro
    def page_assets(name: str) -> str:
        """docs/assets/NAME.css and NAME.js, which only this page needs (the site-wide ones are in mkdocs.yml)."""
        assets = html.escape(posixpath.relpath("assets", env.page.url or "."))
        return f'<link rel="stylesheet" href="{assets}/{html.escape(name)}.css">\n<script src="{assets}/{html.escape(name)}.js" defer></script>'
