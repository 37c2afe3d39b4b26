"""Which processes are the lab's own: matched by program and by the exact path they name, never by a prefix; a pid file
another run removes names no process."""

from doclab.lab.processes import is_lab_program, pid_in, terminate


def test_the_labs_own_services_are_known_by_their_names_before_and_after_the_stage_packages():
    for module in (b"doclab.lab.authz", b"doclab.authz", b"doclab.lab.forward", b"doclab.forward"):
        assert is_lab_program([b"/usr/bin/python3", b"-m", module, b"/run/docker/plugins/doclab-x-authz.sock"])
    assert not is_lab_program([b"/usr/bin/python3", b"-m", b"doclab.authzx", b"/tmp/x"])
    assert not is_lab_program([b"/usr/bin/python3", b"-m", b"http.server"])


def test_a_pid_file_another_run_removed_or_left_empty_names_no_process(tmp_path):
    """``lab down`` beside a build: the build may remove a pid file between a check and a read (a test run met it)."""
    assert pid_in(tmp_path / "gone.pid") == 0 and pid_in(tmp_path / "no-folder" / "x.pid") == 0
    for text in ("", "12a", "-3"):
        (tmp_path / "odd.pid").write_text(text)
        assert pid_in(tmp_path / "odd.pid") == 0
    (tmp_path / "ok.pid").write_text("4242\n")
    assert pid_in(tmp_path / "ok.pid") == 4242
    terminate(tmp_path / "gone.pid", names=str(tmp_path))  # nothing to end, and no error


def test_a_program_the_namespace_fingerprint_reads_with_is_named_when_missing(monkeypatch, tmp_path):
    """Without nft the fingerprint would read no nf_tables rule: the lab's check names the program and its package."""
    from doclab.lab.control import Lab
    from doclab.settings import Settings

    monkeypatch.setenv("PATH", str(tmp_path))
    missing = Lab(Settings.from_env({"DOCLAB_LAB_DIR": str(tmp_path / "lab")})).missing()
    assert "nft: apt-get install nftables" in missing
    assert "iptables-legacy-save: apt-get install iptables" in missing


def test_the_namespace_fingerprint_fails_when_a_reader_is_missing(monkeypatch, tmp_path):
    """A reader that cannot run fails the fingerprint: never an empty firewall."""
    import subprocess

    from doclab.lab.network import _NETNS_STATE

    done = subprocess.run(["bash", "-c", _NETNS_STATE.replace("nft list ruleset", "no-such-nft list ruleset")],
                          capture_output=True, text=True, env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin"})
    assert done.returncode == 127 and "no-such-nft" in done.stderr
