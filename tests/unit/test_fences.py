"""doclab.render.fences writes an output exactly as pymdownx.highlight writes a plain-text fence, so the
theme's styles, copy button and lesson.js cannot tell them apart (only faster, without Pygments)."""

import markdown
import pytest

from doclab.render import fences

OUTPUT = 'Step 1/1 : FROM alpine:3.18\n <a & "b">\nSuccessfully tagged my-alpine-image:latest'


def _html(fence_class: str, body: str, title: str, builder: str | None) -> str:
    attrs = f'data-builder="{builder}" ' if builder else ""
    text = f'```{{{fence_class} {attrs}data-capture="build" title="{title}"}}\n{body}\n```\n'
    custom = [{"name": fences.LANGUAGE, "class": fences.LANGUAGE, "format": fences.output}]
    return markdown.markdown(text, extensions=["attr_list", "pymdownx.highlight", "pymdownx.superfences"],
                             extension_configs={"pymdownx.superfences": {"custom_fences": custom}})


@pytest.mark.parametrize("title", ["$ docker build -t $IMAGE_NAME .", "$ bash -c 'IMAGE_NAME = x'", "Output"])
@pytest.mark.parametrize("builder", [None, "BuildKit"])
def test_an_output_is_the_html_pymdownx_writes_for_a_text_fence(title, builder):
    expected = _html(".text .doclab-output", OUTPUT, title, builder)
    assert _html(f".{fences.LANGUAGE}", OUTPUT, title, builder) == expected
    assert '<span class="filename">' in expected and "&lt;a &amp; &quot;b&quot;&gt;" not in expected
