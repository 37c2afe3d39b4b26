"""The pure parts of the page shell's sandbox (``doclab/run/sandbox.py``); what it makes of a machine is tried for
real by tests/integration/test_sandbox.py."""

import os

from doclab.run.sandbox import made_read_only, mount_points, split_lists, unreadable_files


def test_mount_points_are_unescaped_and_listed_once():
    mounts = ("overlay / overlay rw 0 0\nproc /proc proc rw 0 0\n/dev/vdb /mnt/my\\040disk ext4 rw 0 0\n"
              "overlay / overlay ro 0 0\n")
    assert mount_points(mounts) == ["/", "/mnt/my disk", "/proc"]


def test_the_read_only_pass_leaves_the_sandboxs_own_mounts_and_the_hidden_folders():
    assert [point for point in ("/", "/usr", "/etc/shadow", "/proc/sys", "/tmp/page", "/dev/pts", "/root/.pyenv",
                                "/run", "/runner", "/homework") if made_read_only(point)] == [
        "/", "/usr", "/etc/shadow", "/runner", "/homework"]


def test_lists_end_at_their_separator_and_the_command_follows():
    assert split_lists(["a", "b", "--", "--", "c", "--", "bash", "--norc"], 3) == (
        [["a", "b"], [], ["c"]], ["bash", "--norc"])


def test_unreadable_files_are_those_others_may_not_read(tmp_path):
    (tmp_path / "sub").mkdir()
    for name, mode in (("shadow", 0o640), ("passwd", 0o644), ("sub/key", 0o600)):
        (tmp_path / name).write_text("x")
        os.chmod(tmp_path / name, mode)
    (tmp_path / "link").symlink_to(tmp_path / "shadow")
    assert sorted(unreadable_files(str(tmp_path))) == [str(tmp_path / "shadow"), str(tmp_path / "sub/key")]
