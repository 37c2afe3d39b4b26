"""Draw recorded HTTP exchanges as a sequence diagram (inline SVG, made at build time: no script,
no third-party host) and list them as a Markdown table."""

from __future__ import annotations

from html import escape

LANES = {"client": 110, "daemon": 370, "registry": 630}
WIDTH, ROW, TOP = 740, 30, 78
LABEL_CHARS = 40


#: The phases of a build, as its requests show them (the visual walkthrough steps through them).
PHASES = {
    "upload": "Context upload: the client sends the build context to the daemon",
    "resolve": "Base resolution: the daemon asks the registry what the tag points to",
    "pull": "Layer pulls: the daemon downloads the image's configuration and layers",
    "tag": "Tag: the daemon names the image and tells the client the build is done",
}


def phase_of(exchange: dict, kind: str) -> str | None:
    """The build phase one arrow belongs to (None for requests a build does not make, e.g. a push)."""
    path = exchange["path"]
    if exchange["source"] == "client":
        return "tag" if kind == "response" and "/build" in path else "upload"
    if exchange["method"] in ("GET", "HEAD") and (path == "/v2/" or "/manifests/" in path):
        return "resolve"
    if exchange["method"] in ("GET", "HEAD") and "/blobs/" in path:
        return "pull"
    return None


def _short(text: str) -> str:
    return text if len(text) <= LABEL_CHARS else text[: LABEL_CHARS - 1] + "…"


def events(exchanges: list[dict]) -> list[tuple[float, int, dict, str]]:
    """Requests at their start, responses at their end, in time order (a request before its answer)."""
    timeline = []
    for index, exchange in enumerate(exchanges):
        timeline.append((exchange["started"], 0, index, exchange, "request"))
        timeline.append((exchange["finished"], 1, index, exchange, "response"))
    return [(at, order, exchange, kind) for at, order, _, exchange, kind in sorted(timeline, key=lambda e: e[:3])]


def render_svg(exchanges: list[dict], title: str) -> str:
    timeline = events(exchanges)
    height = TOP + ROW * len(timeline) + 30
    parts = [
        f'<svg class="doclab-sequence" role="img" aria-labelledby="seq-title seq-desc" viewBox="0 0 {WIDTH} {height}" '
        f'width="100%" xmlns="http://www.w3.org/2000/svg" font-family="monospace" font-size="11">',
        f'<title id="seq-title">{escape(title)}</title>',
        f'<desc id="seq-desc">{len(exchanges)} HTTP requests, client to daemon and daemon to registry, in the order they happened.</desc>',
        '<defs><marker id="seq-arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" '
        'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="currentColor"/></marker></defs>',
    ]
    for name, x in LANES.items():
        parts.append(f'<rect x="{x - 60}" y="10" width="120" height="30" rx="4" fill="none" stroke="currentColor"/>')
        parts.append(f'<text x="{x}" y="30" text-anchor="middle" font-size="13" font-weight="bold" fill="currentColor">{name}</text>')
        parts.append(f'<line x1="{x}" y1="40" x2="{x}" y2="{height - 10}" stroke="currentColor" stroke-dasharray="2 4" opacity="0.6"/>')
    for row, (_, _, exchange, kind) in enumerate(timeline):
        y = TOP + ROW * row
        source, target = (exchange["source"], exchange["target"]) if kind == "request" else (exchange["target"], exchange["source"])
        x1, x2 = LANES[source], LANES[target]
        label = f'{exchange["method"]} {exchange["path"]}' if kind == "request" else f'{exchange["status"]}'
        dash = "" if kind == "request" else ' stroke-dasharray="5 3"'
        phase = phase_of(exchange, kind)
        parts.append(f'<g data-phase="{phase}">' if phase else "<g>")
        parts.append(f'<line x1="{x1}" y1="{y}" x2="{x2}" y2="{y}" stroke="currentColor"{dash} marker-end="url(#seq-arrow)"/>')
        anchor_x = min(x1, x2) + 6
        parts.append(f'<text x="{anchor_x}" y="{y - 5}" fill="currentColor"><title>{escape(label)}</title>{escape(_short(label))}</text></g>')
    parts.append("</svg>")
    return "".join(parts)


def _phase_name(phase: str | None) -> str:
    return PHASES[phase].split(":")[0] if phase else "—"


def render_table(exchanges: list[dict]) -> str:
    rows = ["| # | From → to | Request | Status | Took | Phase |", "| ---: | --- | --- | ---: | ---: | --- |"]
    for number, exchange in enumerate(sorted(exchanges, key=lambda e: e["started"]), start=1):
        took = (exchange["finished"] - exchange["started"]) * 1000
        path = exchange["path"].replace("|", "\\|")
        rows.append(f'| {number} | {exchange["source"]} → {exchange["target"]} | `{exchange["method"]} {path}` '
                    f'| {exchange["status"]} | {took:.1f} ms | {_phase_name(phase_of(exchange, "request"))} |')
    return "\n".join(rows)
