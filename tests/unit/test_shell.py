from doclab.run.shell import ShellSession


def session(tmp_path) -> ShellSession:
    control = tmp_path / "control"
    control.mkdir()
    return ShellSession(tmp_path, control, {"PATH": "/usr/bin:/bin"})


def test_state_carries_from_block_to_block(tmp_path):
    shell = session(tmp_path)
    try:
        assert shell.run("IMAGE_NAME=my-alpine-image\nmkdir sub && cd sub", 10).exit_code == 0
        result = shell.run('echo "$IMAGE_NAME in $(basename "$PWD")"; echo err >&2', 10)
        assert (result.exit_code, result.output) == (0, "my-alpine-image in sub\nerr\n")
        assert shell.run("printf 'no newline'; false", 10).output == "no newline"
        assert shell.run("false", 10).exit_code == 1
        assert shell.run("read line; echo got:$line", 10).output == "got:\n"
    finally:
        shell.close()


def test_a_block_past_its_time_limit_is_killed(tmp_path):
    shell = session(tmp_path)
    result = shell.run("echo started; sleep 30", 1)
    assert result.timed_out and result.exit_code is None and result.output == "started\n"
    assert not shell.alive
    assert "already ended" in shell.run("echo again", 5).output
    shell.close()


def test_the_output_reader_finds_the_sentinel_split_across_chunks_and_keeps_all_of_a_short_output():
    from doclab.run.shell import OutputReader

    reader = OutputReader(b"\x1eTOKEN:")
    assert reader.feed(b"hello\nwor") is None and reader.feed(b"ld\n\x1eTO") is None
    assert reader.feed(b"KEN:0") is None  # the code is not whole until its line ends
    assert reader.feed(b"\n") == 0
    assert reader.text() == "hello\nworld\n" and reader.too_long == 0


def test_200_mb_without_a_newline_is_read_in_linear_time_and_kept_as_head_and_tail():
    import time

    from doclab.run.shell import KEPT_TAIL, MAX_OUTPUT, OutputReader

    reader, chunk = OutputReader(b"\x1eTOKEN:"), b"x" * 65536
    started = time.monotonic()
    for _ in range(200 * 16):  # 200 MiB, in the pipe's chunks
        assert reader.feed(chunk) is None
    assert reader.feed(b"the end\x1eTOKEN:7\n") == 7
    seconds = time.monotonic() - started
    text = reader.text()
    assert seconds < 5, f"{seconds:.1f} s for 200 MiB"
    assert text.startswith("x" * 100) and text.endswith("xthe end") and len(text) < MAX_OUTPUT + 2 * KEPT_TAIL + 100
    assert reader.too_long == 200 * (1 << 20) + len(b"the end") - MAX_OUTPUT


def test_a_failing_block_from_a_snippet_names_the_snippet_to_edit(tmp_path):
    from doclab.page.parse import parse_page
    from doclab.run.session import failure_message
    from doclab.run.shell import CommandResult

    (tmp_path / "demo").mkdir()
    (tmp_path / "demo" / "fail.sh").write_text("false\n")
    block = parse_page('<!-- exec: id=fail -->\n```bash\n--8<-- "demo/fail.sh"\n```\n\n<!-- output: fail -->\n', "p.md",
                       tmp_path).blocks[0]
    message = failure_message(block, CommandResult(1, "", 0.1), 60, 0)
    assert message.startswith("bash block 'fail' at p.md:2 exited with unexpected code 1 (declared: 0)\n"
                              "--- edit ---\nsnippets/demo/fail.sh\n--- command ---\nfalse\n")
