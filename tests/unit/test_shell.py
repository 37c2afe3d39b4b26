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
