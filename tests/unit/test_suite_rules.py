"""Rules the test suite keeps so it stays fast without dropping a check: a browser test opens its tab in a shared
context (tests/browser/conftest.py), where a context of its own would cost Chromium twice the CPU."""

from __future__ import annotations

import re

from tests.conftest import ROOT

BROWSER_TESTS = sorted((ROOT / "tests" / "browser").glob("test_*.py"))


def test_browser_tests_open_tabs_in_the_shared_contexts_and_leave_closing_them_to_the_fixture():
    assert BROWSER_TESTS
    own_context = [path.name for path in BROWSER_TESTS if "new_context(" in path.read_text()]
    assert own_context == [], "ask for `page` or `open_tab(**options)` (tests/browser/conftest.py), not browser.new_context"
    # open_tab clears the site's storage from each tab it opened when the test ends: a tab the test closed cannot be.
    closing = [path.name for path in BROWSER_TESTS if re.search(r"\b(tab|phone|page)\.close\(\)", path.read_text())]
    assert closing == []
