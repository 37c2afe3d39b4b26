"""Check a built site before it is published: every internal link and anchor resolves, and no
page makes the reader's browser fetch anything from another host.

    python -m doclab.tools.linkcheck site/ [--base-path /repo/]

Internal links are the ones without a scheme or host; each must name a file of the site (a folder
means its ``index.html``) and, with ``#anchor``, an ``id`` in that page. Root-relative links
(``/repo/assets/...``, as in the 404 page) are read below ``--base-path``, the path of the
site's URL. A *request* is what a browser loads by itself — scripts, styles, images, fonts,
frames, media, icons and CSS ``url()``/``@import`` — and must stay on the site; links a reader
clicks (``<a href>``, a canonical ``<link>``) may go anywhere.
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urlsplit

#: Attributes whose URL the browser fetches on its own, by element.
_REQUEST_ATTRIBUTES = {
    "script": ("src",),
    "img": ("src", "srcset"),
    "source": ("src", "srcset"),
    "iframe": ("src",),
    "frame": ("src",),
    "embed": ("src",),
    "object": ("data",),
    "video": ("src", "poster"),
    "audio": ("src",),
    "track": ("src",),
    "input": ("src",),
    "image": ("href", "xlink:href"),
}
#: ``<link rel=...>`` values that make the browser fetch the ``href``.
_FETCHING_RELS = {
    "stylesheet", "icon", "apple-touch-icon", "mask-icon", "manifest",
    "preload", "prefetch", "preconnect", "dns-prefetch", "modulepreload",
}
_CSS_URL = re.compile(
    r"""url\(\s*(?:"(?P<double>[^"]*)"|'(?P<single>[^']*)'|(?P<bare>[^)\s]+))\s*\)|@import\s+["'](?P<import>[^"']+)["']"""
)
_IGNORED_SCHEMES = {"mailto", "tel", "data", "javascript", "blob", "about"}


@dataclass(frozen=True)
class Reference:
    url: str
    line: int
    fetched: bool  # the browser loads it by itself (not a link the reader clicks)


@dataclass
class ParsedPage:
    ids: set[str] = field(default_factory=set)
    references: list[Reference] = field(default_factory=list)


class _PageParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.page = ParsedPage()
        self._in_style = False

    def handle_starttag(self, tag, attrs):
        values = {name: value or "" for name, value in attrs}
        line = self.getpos()[0]
        for name in ("id", "name") if tag == "a" else ("id",):
            if values.get(name):
                self.page.ids.add(values[name])
        for name in _REQUEST_ATTRIBUTES.get(tag, ()):
            if values.get(name):
                for url in _srcset_urls(values[name]) if name == "srcset" else [values[name]]:
                    self.page.references.append(Reference(url, line, fetched=True))
        if tag == "link" and values.get("href"):
            fetching = bool(_FETCHING_RELS & set(values.get("rel", "").lower().split()))
            self.page.references.append(Reference(values["href"], line, fetched=fetching))
        if tag in ("a", "area") and values.get("href"):
            self.page.references.append(Reference(values["href"], line, fetched=False))
        if values.get("style"):
            self._css(values["style"], line)
        self._in_style = tag == "style"

    handle_startendtag = handle_starttag

    def handle_endtag(self, tag):
        if tag == "style":
            self._in_style = False

    def handle_data(self, data):
        if self._in_style:
            self._css(data, self.getpos()[0])

    def _css(self, text: str, line: int) -> None:
        for match in _CSS_URL.finditer(text):
            self.page.references.append(Reference(_css_url(match), line, fetched=True))


def _css_url(match: re.Match) -> str:
    return next(value for value in match.group("double", "single", "bare", "import") if value is not None)


def _srcset_urls(srcset: str) -> list[str]:
    return [candidate.split()[0] for candidate in srcset.split(",") if candidate.strip()]


def parse_html(text: str) -> ParsedPage:
    parser = _PageParser()
    parser.feed(text)
    parser.close()
    return parser.page


def css_references(text: str) -> list[Reference]:
    return [
        Reference(_css_url(m), text.count("\n", 0, m.start()) + 1, fetched=True)
        for m in _CSS_URL.finditer(text)
    ]


def is_external(url: str) -> bool:
    parts = urlsplit(url)
    return bool(parts.scheme or parts.netloc)


def _target(site: Path, page: PurePosixPath, path: str, base_path: str) -> PurePosixPath | None:
    """The site file a link's path names (relative to ``site``), or None if it leaves the site."""
    if path.startswith("/"):
        if not path.startswith(base_path):
            return None
        joined = PurePosixPath(path[len(base_path):])
    else:
        joined = page.parent / path
    parts: list[str] = []
    for part in joined.parts:
        if part == "..":
            if not parts:
                return None
            parts.pop()
        elif part not in (".", ""):
            parts.append(part)
    target = PurePosixPath(*parts) if parts else PurePosixPath(".")
    if path.endswith("/") or (site / target).is_dir():
        target = target / "index.html"
    return target


def check_site(site: Path, base_path: str = "/") -> list[str]:
    """Every problem of the built site in ``site``, one message each, naming the file and line."""
    base_path = "/" + base_path.strip("/") + "/" if base_path.strip("/") else "/"
    pages: dict[PurePosixPath, ParsedPage] = {}
    for file in sorted(site.rglob("*.html")):
        pages[PurePosixPath(file.relative_to(site).as_posix())] = parse_html(file.read_text(errors="replace"))
    styles = {
        PurePosixPath(file.relative_to(site).as_posix()): css_references(file.read_text(errors="replace"))
        for file in sorted(site.rglob("*.css"))
    }
    problems = []
    for name, references in [*((n, p.references) for n, p in pages.items()), *styles.items()]:
        for ref in references:
            where = f"{name}:{ref.line}"
            scheme = urlsplit(ref.url).scheme.lower()
            if scheme in _IGNORED_SCHEMES:
                continue
            if is_external(ref.url):
                if ref.fetched:
                    problems.append(f"{where}: loads {ref.url} from another host (keep it in docs/assets/)")
                continue
            parts = urlsplit(ref.url)
            path = unquote(parts.path)
            target = _target(site, name, path, base_path) if path else name
            if target is None:
                problems.append(f"{where}: {ref.url} points outside the site (base path {base_path})")
                continue
            if not (site / target).is_file():
                problems.append(f"{where}: {ref.url} names {target}, which the site does not have")
                continue
            anchor = unquote(parts.fragment)
            if anchor and target in pages and anchor not in pages[target].ids:
                problems.append(f"{where}: {ref.url}: {target} has no anchor #{anchor}")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m doclab.tools.linkcheck", description=__doc__.split("\n\n")[0])
    parser.add_argument("site", type=Path, help="the built site (mkdocs build -d SITE)")
    parser.add_argument("--base-path", default="/", help="the path of the site's URL, e.g. /repo/ (default /)")
    args = parser.parse_args(argv)
    if not (args.site / "index.html").is_file():
        print(f"doclab.tools.linkcheck: {args.site} has no index.html: build the site first", file=sys.stderr)
        return 2
    problems = check_site(args.site, args.base_path)
    for problem in problems:
        print(problem)
    count = sum(1 for _ in args.site.rglob("*.html"))
    print(f"{count} pages checked: " + (f"{len(problems)} problems" if problems else "every link resolves, nothing third-party"))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
