"""Browser tests: a package, so their conftest is tests.browser.conftest and never shadows the root conftest."""
