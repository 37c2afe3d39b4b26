from pathlib import Path

import re

import pytest

from doclab.page.parse import PageError, parse_page, split_console


@pytest.fixture
def snippets(tmp_path: Path) -> Path:
    (tmp_path / "demo").mkdir()
    (tmp_path / "demo" / "Dockerfile").write_text("FROM alpine:3.18\n")
    (tmp_path / "demo" / "build.sh").write_text("docker build -t $IMAGE_NAME .\n")
    return tmp_path


PAGE = """# Demo

```dockerfile title="Dockerfile"
--8<-- "demo/Dockerfile"
```

<!-- exec: id=build exit=0 timeout=60 -->
```bash
--8<-- "demo/build.sh"
```

!!! note

    <!-- skip: next "needs Docker Hub credentials" -->
    ```bash
    docker login
    ```

<!-- output: build -->
<!-- walkthrough: build -->
"""


def test_blocks_markers_and_snippets_are_read(snippets):
    page = parse_page(PAGE, "demo.md", snippets)
    assert [b.language for b in page.blocks] == ["dockerfile", "bash", "bash"]
    dockerfile, build, login = page.blocks
    assert dockerfile.source == "FROM alpine:3.18\n" and dockerfile.attrs == {"title": "Dockerfile"}
    assert dockerfile.snippets == ("demo/Dockerfile",) and dockerfile.line == 3
    assert (build.capture_id, build.expected_exit, build.timeout) == ("build", 0, 60.0)
    assert login.source == "docker login\n" and login.skip_reason == "needs Docker Hub credentials"
    assert [(m.kind, m.capture_id) for m in page.outputs] == [("output", "build"), ("walkthrough", "build")]
    assert PAGE[build.start:build.end].startswith("```bash") and PAGE[build.start:build.end].endswith("```\n")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("<!-- shout: x -->\n", "demo.md:1: unknown marker 'shout:'"),
        ('```bash\n--8<-- "demo/missing.sh"\n```\n', "demo.md:2: snippet 'demo/missing.sh' does not exist"),
        ("<!-- exec: id=a -->\ntext\n```bash\nls\n```\n", "demo.md:1: marker is not followed by a code block"),
        ("<!-- exec: id=a -->\n", "demo.md:1: marker is not followed by a code block"),
        ("<!-- output: nothing -->\n", "demo.md:1: <!-- output: nothing --> names no block"),
        ("```\nls\n```\n", "demo.md:1: code block without a language"),
        ("```bash\nls\n", "demo.md:1: code block is never closed"),
        ("<!-- exec: colour=red -->\n```bash\nls\n```\n", "unknown option 'colour'"),
        ("<!-- exec: exit=abc -->\n```bash\nls\n```\n", "demo.md:1: exit=abc is not valid; allowed values: an exit code"),
        ("<!-- exec: exit=300 -->\n```bash\nls\n```\n", "demo.md:1: exit=300 is not an exit code; allowed values: 0 to 255"),
        ("<!-- exec: timeout=abc -->\n```bash\nls\n```\n", "demo.md:1: timeout=abc is not valid; allowed values: a number"),
        ("<!-- exec: timeout=0 -->\n```bash\nls\n```\n", "timeout=0: allowed values are numbers of seconds above 0"),
        ("<!-- exec: fresh=yes -->\n```bash\nls\n```\n", "demo.md:1: fresh=yes: allowed values are true and false"),
        ('<!-- exec: env="A B" -->\n```bash\nls\n```\n', 'demo.md:1: env="A B": write env="NAME=value'),
        ("<!-- exec: id=a -->\n```bash\nls\n```\n", "demo.md:2: capture 'a' is never shown"),
        ("```console\nls\n```\n", "demo.md:1: console block must start with a '$ ' prompt"),
        ("<!-- skip: next -->\n```bash\nls\n```\n", 'skip: next "why it cannot run"'),
        ('<!-- skip: next "unclosed -->\n```bash\nls\n```\n', 'demo.md:1: write a skip marker as <!-- skip: next "why'),
        ("<!-- exec: id=a -->\n```bash\nls\n```\n<!-- exec: id=a -->\n```bash\nls\n```\n", "used twice"),
    ],
)
def test_bad_pages_name_the_page_line_and_fix(snippets, text, message):
    with pytest.raises(PageError, match=None) as error:
        parse_page(text, "demo.md", snippets)
    assert message in str(error.value)


def test_console_blocks_split_into_commands_and_shown_output():
    source = "$ echo one \\\n  two\none two\n$ true\n"
    assert split_console(source) == [("echo one \\\n  two", "one two\n"), ("true", "")]
    with pytest.raises(ValueError, match="must start with a '\\$ ' prompt"):
        split_console("output first\n")


def test_lines_are_counted_in_the_file_front_matter_included(snippets):
    text = '---\ntitle: Demo\n---\n\n# Demo\n\n<!-- exec: exit=x -->\n```bash\nls\n```\n'
    with pytest.raises(PageError, match="demo.md:7: exit=x"):
        parse_page(text, "demo.md", snippets)


def test_a_macro_in_a_code_block_is_refused(snippets):
    with pytest.raises(PageError, match="demo.md:3: a code block runs as written"):
        parse_page("# Demo\n```bash\necho {{ image_name }}\n```\n", "demo.md", snippets)


def test_env_fresh_and_hide_options(snippets):
    page = parse_page('<!-- exec: id=b env="DOCKER_BUILDKIT=1 X=y" fresh=true hide="shown elsewhere" -->\n```bash\nls\n```\n',
                      "demo.md", snippets)
    block = page.blocks[0]
    assert block.env == (("DOCKER_BUILDKIT", "1"), ("X", "y")) and block.fresh and block.hide_reason == "shown elsewhere"


def test_an_older_engines_exit_code_is_declared_beside_the_pages(tmp_path):
    page = parse_page('<!-- exec: id=x exit="1, 125 on 20.10" -->\n```bash\ndocker build -t .\n```\n<!-- output: x -->\n',
                      "p.md", tmp_path)
    block = page.captures["x"]
    assert (block.expected_exit, block.expected_exit_on("20.10.24+dfsg1"), block.expected_exit_on("28.5.2+dfsg4")) == (1, 125, 1)
    with pytest.raises(PageError, match=r'p.md:1: exit="1, 125 in 20.10": write another engine\'s code as "N on MAJOR.MINOR"'):
        parse_page('<!-- exec: id=x exit="1, 125 in 20.10" -->\n```bash\ntrue\n```\n<!-- output: x -->\n', "p.md", tmp_path)


@pytest.mark.parametrize("client", ["snippets/evil-client", "/usr/bin/docker", "../bin/docker", "docker"])
def test_client_names_a_lab_engine_never_a_program_of_the_page(snippets, client):
    text = f"# Demo\n\n<!-- exec: client={client} -->\n```bash\ndocker version\n```\n"
    with pytest.raises(PageError, match=rf"demo.md:3: client={re.escape(client)}: name one of the lab's engines"):
        parse_page(text, "demo.md", snippets)
    assert parse_page(text.replace(f"client={client}", "client=20.10"), "demo.md", snippets).blocks[0].client == "20.10"


def test_an_output_marker_may_name_another_engine_and_nothing_else(snippets):
    text = "# Demo\n\n<!-- exec: id=b -->\n```bash\necho x\n```\n\n<!-- output: b -->\n\n<!-- output: b engine=28.5-overlay2 -->\n"
    assert [marker.engine for marker in parse_page(text, "demo.md", snippets).outputs] == [None, "28.5-overlay2"]
    for wrong in ("engine=/usr/bin/docker", "color=red"):
        with pytest.raises(PageError, match=rf"demo.md:10: <!-- output: b {re.escape(wrong)} -->: the one option is engine=NAME"):
            parse_page(text.replace("engine=28.5-overlay2", wrong), "demo.md", snippets)
