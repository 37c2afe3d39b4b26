"""Every fenced block of every page is collected by the Sybil suite and is either run or
explicitly skipped with a reason — counted here independently of the parser that runs them."""

import re
from pathlib import Path

import pytest
from sybil import Sybil

import conftest as docs_suite
from doclab.capture.captures import inputs_key
from doclab.capture.record import CaptureStore
from doclab.page.parse import read_page
from doclab.settings import Settings
from tests.conftest import ROOT

PAGES = sorted((ROOT / "docs").rglob("*.md"))
_FENCE = re.compile(r"^\s*(`{3,}|~{3,})")


def count_fences(text: str) -> int:
    """Opening fences, found by pairing fence lines: a second, independent count."""
    count, open_fence = 0, None
    for line in text.splitlines():
        match = _FENCE.match(line)
        if not match:
            continue
        fence = match[1]
        if open_fence is None:
            open_fence, count = fence, count + 1
        elif fence[0] == open_fence[0] and len(fence) >= len(open_fence) and line.strip() == fence:
            open_fence = None
    return count


@pytest.mark.parametrize("path", PAGES, ids=[p.relative_to(ROOT).as_posix() for p in PAGES])
def test_every_block_is_collected_and_run_or_skipped(path: Path):
    sybil = Sybil(parsers=[docs_suite.DOC_TESTS.parse_blocks], path=str(ROOT / "docs"), patterns=["*.md"])
    collected = list(sybil.parse(path).examples())
    examples = [example for example in collected if example.region.evaluator == docs_suite.DOC_TESTS.evaluate_block]
    assert len(examples) == count_fences(path.read_text()), f"{path}: the suite collects fewer examples than it has code blocks"
    page = read_page(path, ROOT / "docs", Settings.from_env().snippets_dir)
    foreign = [quote for quote in page.quotes if quote.source_page != page.path]
    checked = [example for example in collected if example.region.evaluator == docs_suite.DOC_TESTS.evaluate_foreign_quote]
    assert len(checked) == len(foreign), f"{path}: every quote of another page's output is checked"
    for example in examples:
        block = example.parsed
        runs = block.kind is not None
        assert runs or block.skip_reason, f"{block.where}: '{block.language}' blocks are neither run nor skipped"


@pytest.mark.parametrize("path", PAGES, ids=[p.relative_to(ROOT).as_posix() for p in PAGES])
def test_recorded_captures_are_of_the_pages_current_examples(path: Path):
    """A stale recording fails here, with no daemon needed: the example changed, its output did not."""
    page = read_page(path, ROOT / "docs", Settings.from_env().snippets_dir)
    if not page.captures:
        return
    record = CaptureStore(Settings.from_env().captures_dir).load(page.path)
    how = "build the site with the lab up (scripts/serve, or mkdocs build) and commit captures/"
    assert record is not None, f"docs/{page.path}: its outputs were never recorded; {how}"
    assert record.inputs_key == inputs_key(page), f"docs/{page.path}: recorded outputs are of older examples; {how}"
    assert set(record.captures) == {name for name, block in page.captures.items() if not block.skip_reason}


def test_the_lesson_has_the_expected_blocks():
    examples = list(Sybil(parsers=[docs_suite.DOC_TESTS.parse_blocks], path=str(ROOT / "docs"), patterns=["*.md"])
                    .parse(ROOT / "docs" / "mini-project.md").examples())
    # Each mistake, then the way back to the project folder (the shell's mistake runs in a new bash, in no folder).
    mistakes = ["dockerfile-txt", "lowercase-dockerfile", "spaces-around-equals", "no-context", "new-shell", "upper-case-name", "no-name"]
    assert [(e.parsed.language, e.parsed.capture_id) for e in examples] == [
        ("bash", None), ("dockerfile", None), ("bash", "check-dockerfile"), ("bash", None), ("bash", "check-image-name"),
        ("bash", None), ("bash", "check-build-command"), ("bash", "build-buildkit"), ("bash", "build-buildkit-terminal"), ("bash", "build-classic"),
        ("bash", "check-image"),
        *[block for name in mistakes for block in [("bash", name)] + [("bash", None)] * (name != "spaces-around-equals")]]


def test_the_independent_count_sees_nested_fences():
    assert count_fences("````md\n```bash\nls\n```\n````\n\n    ```bash\n    ls\n    ```\n") == 2
