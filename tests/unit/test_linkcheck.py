import pytest

from doclab.tools.linkcheck import check_site, main, parse_html


@pytest.fixture
def site(tmp_path):
    """A two-page site whose links all resolve; tests add the one flaw they are about."""
    (tmp_path / "guide").mkdir()
    (tmp_path / "assets").mkdir()
    (tmp_path / "assets" / "site.css").write_text('body { background: url("../assets/dot.png"); }\n')
    (tmp_path / "assets" / "dot.png").write_bytes(b"png")
    (tmp_path / "index.html").write_text(
        '<link rel="stylesheet" href="assets/site.css"><link rel="canonical" href="https://example.org/">\n'
        '<h1 id="top">Home</h1><a href="guide/">Guide</a> <a href="guide/#step-2">Step 2</a>\n'
        '<a href="#top">up</a> <a href="https://docs.docker.com/">Docker docs</a> <a href="mailto:a@b.c">mail</a>\n'
    )
    (tmp_path / "guide" / "index.html").write_text(
        '<h2 id="step-2">Step 2</h2><img srcset="../assets/dot.png 1x, ../assets/dot.png 2x">'
        '<a href="../">home</a><a href="../index.html">home</a><a href="#step-2">here</a>\n'
    )
    return tmp_path


def test_a_site_whose_links_resolve_has_no_problem(site):
    assert check_site(site) == []


def test_a_missing_page_is_named_with_the_file_and_line(site):
    (site / "guide" / "index.html").write_text('<p id="step-2">see</p>\n<a href="../daemon/">the daemon</a>\n')
    assert check_site(site) == ["guide/index.html:2: ../daemon/ names daemon/index.html, which the site does not have"]


def test_a_missing_anchor_is_named(site):
    (site / "index.html").write_text('<a href="guide/#step-3">Step 3</a><a href="#nowhere">x</a>')
    assert check_site(site) == [
        "index.html:1: guide/#step-3: guide/index.html has no anchor #step-3",
        "index.html:1: #nowhere: index.html has no anchor #nowhere",
    ]


@pytest.mark.parametrize(
    "html",
    [
        '<script src="https://cdn.example.net/x.js"></script>',
        '<link rel="stylesheet" href="//fonts.example.net/css">',
        '<link rel="preconnect" href="https://fonts.example.net">',
        '<img src="http://img.example.net/a.png">',
        '<img srcset="a.png 1x, https://img.example.net/a@2x.png 2x">',
        '<iframe src="https://www.example.net/embed"></iframe>',
        '<div style="background: url(https://img.example.net/b.png)"></div>',
        "<style>@import 'https://fonts.example.net/font.css';</style>",
    ],
)
def test_anything_the_browser_fetches_from_another_host_is_a_problem(site, html):
    (site / "a.png").write_bytes(b"png")
    (site / "index.html").write_text(html)
    [problem] = check_site(site)
    assert problem.startswith("index.html:1: loads ") and "from another host" in problem


def test_a_stylesheet_that_fetches_a_font_from_another_host_is_a_problem(site):
    (site / "assets" / "site.css").write_text('\n@font-face { src: url("https://fonts.example.net/f.woff2 ") }')
    assert check_site(site) == ["assets/site.css:2: loads https://fonts.example.net/f.woff2  from another host (keep it in docs/assets/)"]


def test_root_relative_links_are_read_below_the_base_path(site):
    (site / "404.html").write_text('<link rel="stylesheet" href="/repo/assets/site.css"><a href="/repo/guide/">g</a>')
    assert check_site(site, base_path="/repo/") == []
    assert check_site(site, base_path="/") == [
        "404.html:1: /repo/assets/site.css names repo/assets/site.css, which the site does not have",
        "404.html:1: /repo/guide/ names repo/guide/index.html, which the site does not have",
    ]
    assert check_site(site, base_path="/other") == [
        "404.html:1: /repo/assets/site.css points outside the site (base path /other/)",
        "404.html:1: /repo/guide/ points outside the site (base path /other/)",
    ]


def test_named_anchors_and_ids_both_count():
    page = parse_html('<a name="old"></a><section id="new"></section><a href="x">no id</a>')
    assert page.ids == {"old", "new"}


def test_the_command_exits_1_and_prints_each_problem(site, capsys):
    (site / "index.html").write_text('<a href="nope.html">x</a>')
    assert main([str(site)]) == 1
    assert capsys.readouterr().out == "index.html:1: nope.html names nope.html, which the site does not have\n2 pages checked: 1 problems\n"


def test_the_command_refuses_a_folder_that_is_not_a_built_site(tmp_path, capsys):
    assert main([str(tmp_path)]) == 2
    assert "has no index.html: build the site first" in capsys.readouterr().err
