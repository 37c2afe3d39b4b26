import re

from doclab.render.sequence import phase_of, render_svg, render_table

BUILD = [
    {"source": "client", "target": "daemon", "method": "POST", "path": "/v1.41/build?t=x", "status": 200, "started": 0, "finished": 5},
    {"source": "daemon", "target": "registry", "method": "GET", "path": "/v2/", "status": 200, "started": 1, "finished": 1.1},
    {"source": "daemon", "target": "registry", "method": "HEAD", "path": "/v2/library/alpine/manifests/3.18", "status": 200,
     "started": 1.2, "finished": 1.3},
    {"source": "daemon", "target": "registry", "method": "GET", "path": "/v2/library/alpine/blobs/sha256:abc", "status": 200,
     "started": 2, "finished": 3},
]


def test_each_arrow_of_a_build_belongs_to_its_phase():
    assert [phase_of(e, "request") for e in BUILD] == ["upload", "resolve", "resolve", "pull"]
    assert phase_of(BUILD[0], "response") == "tag"
    assert phase_of({"source": "daemon", "target": "registry", "method": "PUT", "path": "/v2/x/blobs/uploads/1"}, "request") is None


def test_the_diagram_groups_its_arrows_by_phase_in_time_order():
    svg = render_svg(BUILD, "t")
    assert re.findall(r'data-phase="(\w+)"', svg) == ["upload", "resolve", "resolve", "resolve", "resolve", "pull", "pull", "tag"]


def test_the_table_names_each_requests_phase():
    table = render_table(BUILD)
    assert "| 1 | client → daemon | `POST /v1.41/build?t=x` | 200 | 5000.0 ms | Context upload |" in table
    assert table.endswith("| Layer pulls |")
