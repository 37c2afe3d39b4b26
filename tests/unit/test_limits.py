"""The cgroups a page's shell and a page daemon's containers run in: their limits where each cgroup version puts them."""

from doclab.lab.limits import MEMORY_MAX, PIDS_MAX, Limits


def test_cgroup_v2_has_one_group_with_both_limits(tmp_path):
    (tmp_path / "cgroup.controllers").write_text("cpu memory pids\n")
    limits = Limits("doclab-page-x", root=tmp_path)
    limits.create()
    assert (tmp_path / "doclab-page-x" / "pids.max").read_text() == str(PIDS_MAX)
    assert (tmp_path / "doclab-page-x" / "memory.max").read_text() == str(MEMORY_MAX)
    assert limits.enter() == f'echo $$ > "{tmp_path}/doclab-page-x/cgroup.procs"'
    assert limits.cgroup_parent() == "/doclab-page-x"


def test_cgroup_v1_has_a_group_in_each_hierarchy_and_the_shell_enters_both(tmp_path):
    for hierarchy in ("pids", "memory"):
        (tmp_path / hierarchy).mkdir()
    limits = Limits("doclab-page-x", root=tmp_path)
    limits.create()
    assert (tmp_path / "pids" / "doclab-page-x" / "pids.max").read_text() == str(PIDS_MAX)
    assert (tmp_path / "memory" / "doclab-page-x" / "memory.limit_in_bytes").read_text() == str(MEMORY_MAX)
    assert limits.enter().count("cgroup.procs") == 2


def test_remove_takes_the_group_and_the_containers_groups_inside_it(tmp_path):
    (tmp_path / "pids").mkdir()
    (tmp_path / "memory").mkdir()
    limits = Limits("doclab-x-pool-0", root=tmp_path)
    for folder, _ in limits.folders():
        (folder / "0123abcd").mkdir(parents=True)  # a container's group, made by dockerd
    limits.remove(seconds=0.2)
    assert [folder for folder, _ in limits.folders() if folder.exists()] == []


def test_limits_are_available_only_where_root_may_write_the_hierarchies(tmp_path, monkeypatch):
    import os

    (tmp_path / "pids").mkdir()
    (tmp_path / "memory").mkdir()
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    assert Limits("doclab-x", root=tmp_path).available
    monkeypatch.setattr(os, "access", lambda path, mode: "memory" not in str(path))  # a read-only hierarchy
    assert not Limits("doclab-x", root=tmp_path).available
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    monkeypatch.setattr(os, "access", lambda path, mode: True)
    assert not Limits("doclab-x", root=tmp_path).available
