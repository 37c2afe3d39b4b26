"""One registry of block languages: each kind that runs has its runner and its line in the reader's script."""

from doclab.page.parse import LANGUAGES, BlockKind, parse_page
from doclab.render.markers import SCRIPT_LINES
from doclab.run.session import PageRun
from tests.conftest import ROOT


def test_every_kind_that_runs_has_a_runner_and_a_line_in_the_readers_script():
    running = {kind for kind in BlockKind if kind.runs}
    assert set(PageRun.RUNNERS) == running
    assert set(SCRIPT_LINES) == running
    assert set(LANGUAGES.values()) == set(BlockKind)


def test_a_block_knows_its_kind_by_its_language_in_any_case():
    page = parse_page("```Dockerfile\nFROM alpine:3.18\n```\n\n```py\nprint(1)\n```\n\n```ruby\nputs 1\n```\n", "a.md", ROOT / "snippets")
    assert [block.kind for block in page.blocks] == [BlockKind.FILE, BlockKind.PYTHON, None]
