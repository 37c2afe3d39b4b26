"""PageRun on pages that need no daemon: state, declared failures, time limits, console output, /tmp."""

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from doclab.page.parse import parse_page
from doclab.run.session import BlockFailed, PageRun
from doclab.settings import Settings

DEAD = "unix:///nonexistent/doclab-dead.sock"


def run_page(text: str, tmp_path, **settings):
    page = parse_page(text, "demo.md", tmp_path)
    env = {"DOCLAB_BLOCK_TIMEOUT": str(settings.get("timeout", 30))}
    with PageRun(page, Settings.from_env(env), address=DEAD) as run:
        return [run.run(block).output for block in page.blocks]


def test_files_and_variables_carry_from_block_to_block(tmp_path):
    text = ('```bash\nmkdir app && cd app\nNAME=demo\n```\n\n```dockerfile title="Dockerfile"\nFROM alpine:3.18\n```\n\n'
            '```bash\necho "$NAME in $(basename "$PWD"): $(cat Dockerfile)"\n```\n')
    assert run_page(text, tmp_path)[-1] == "demo in app: FROM alpine:3.18\n"


def test_a_declared_failure_passes_and_an_undeclared_one_names_block_command_code_and_output(tmp_path):
    assert run_page("<!-- exec: exit=3 -->\n```bash\necho before; exit_with() { return $1; }; exit_with 3\n```\n", tmp_path)
    with pytest.raises(BlockFailed) as failure:
        run_page("```bash\necho partial output; false\n```\n", tmp_path)
    message = str(failure.value)
    for part in ("bash block at demo.md:1", "exited with unexpected code 1 (declared: 0)",
                 "--- command ---\necho partial output; false", "--- output ---\npartial output",
                 "python -m doclab run docs/demo.md"):
        assert part in message


def test_a_hung_block_is_killed_and_the_limit_is_stated(tmp_path):
    with pytest.raises(BlockFailed, match=r"was killed after 1 s \(its time limit; raise it with <!-- exec: timeout=N -->\)"):
        run_page("<!-- exec: timeout=1 -->\n```bash\necho waiting; sleep 20\n```\n", tmp_path)


def test_console_blocks_check_the_output_they_show(tmp_path):
    assert run_page("```console\n$ echo hello\nhello\n$ true\n```\n", tmp_path) == ["$ echo hello\nhello\n$ true\n"]
    with pytest.raises(BlockFailed, match=r"(?s)printed other output than the page shows.*-goodbye.*\+hello"):
        run_page("```console\n$ echo hello\ngoodbye\n```\n", tmp_path)


def test_a_page_has_a_tmp_of_its_own_where_other_pages_and_the_builders_files_are_out_of_sight(tmp_path):
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        pytest.skip("a /tmp of its own needs root and unshare (as the page's PID namespace does)")
    mine = Path(tempfile.mkdtemp(prefix="builders-own-"))
    page = parse_page("```bash\necho written > /tmp/from-the-page; ls -A /tmp; cat /tmp/from-the-page\n```\n", "demo.md", tmp_path)
    try:
        with PageRun(page, Settings.from_env({}), address=DEAD) as other, \
                PageRun(page, Settings.from_env({}), address=DEAD) as run:
            listed = run.run(page.blocks[0]).output.split()
        assert listed[-1] == "written"
        assert run.root.name in listed, "the page's own folder stays where it is"
        assert other.root.name not in listed and mine.name not in listed
        assert not Path("/tmp/from-the-page").exists(), "what a page writes to /tmp stays in its own"
    finally:
        shutil.rmtree(mine)


def test_a_pages_shell_cannot_mount_or_reconfigure_the_network(tmp_path):
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        pytest.skip("the shell drops capabilities only when it runs as root, with setpriv")
    # Each would change nothing if it were allowed (same MTU, same value): the test must never harm the machine.
    text = ("<!-- exec: exit=1 -->\n```bash\nmount -t tmpfs probe /mnt; ip link set lo mtu \"$(cat /sys/class/net/lo/mtu)\"; "
            "cat /proc/sys/net/ipv4/ip_forward > /proc/sys/net/ipv4/ip_forward\n```\n")
    output = run_page(text, tmp_path)[0]
    refused = ("ermission denied", "Operation not permitted", "Read-only file system")
    assert sum(output.count(reason) for reason in refused) == 3, output


def test_client_runs_the_named_engines_client_and_an_unknown_engine_fails_by_name(tmp_path):
    if shutil.which("docker", path="/usr/bin") is None:
        pytest.skip("the 20.10 engine is the machine's docker.io (scripts/test installs it)")
    assert run_page("<!-- exec: client=20.10 -->\n```bash\ndocker --version\n```\n", tmp_path)[0].startswith("Docker version 20.10")
    with pytest.raises(BlockFailed, match=r"demo.md:2: client=19.03: no such engine; choose one of 28.5-containerd, .*20.10"):
        run_page("<!-- exec: client=19.03 -->\n```bash\ndocker --version\n```\n", tmp_path)


def test_a_block_that_prints_200_mb_on_one_line_fails_at_once_showing_head_and_tail(tmp_path):
    import time

    started = time.monotonic()
    with pytest.raises(BlockFailed) as failure:
        run_page("```bash\nhead -c 200000000 /dev/zero | tr '\\000' x; echo ' the end'\n```\n", tmp_path, timeout=60)
    message, seconds = str(failure.value), time.monotonic() - started
    assert "printed 200000009 bytes or more, more than a page shows (at most 1048576)" in message, message[:300]
    assert "--- its head ---\nxxxx" in message and "x the end\n\n--- reproduce ---" in message
    assert len(message) < 5000 and seconds < 20, (len(message), seconds)
