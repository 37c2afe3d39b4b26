"""The cgroups a page's shell and a page daemon's containers run in: their limits where each cgroup version puts them."""

from pathlib import Path

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


def test_a_page_daemons_group_is_in_every_v1_hierarchy_and_handed_to_its_root(tmp_path, monkeypatch):
    import os

    for hierarchy in ("pids", "memory", "cpuset", "devices", "unified"):
        (tmp_path / hierarchy).mkdir()
        (tmp_path / hierarchy / "cgroup.procs").write_text("")
    (tmp_path / "cpuset" / "cpuset.cpus").write_text("0-1\n")
    (tmp_path / "cpuset" / "cpuset.mems").write_text("0\n")
    limits = Limits("doclab-x-pool-0", root=tmp_path, every_hierarchy=True)
    limits.create()
    for folder, _ in limits.folders():
        (folder / "cgroup.procs").write_text("")
    # runc, in the daemon's user namespace, needs its group in each hierarchy, the hybrid layout's unified one too:
    # each is made, handed over and removed with the daemon (runc made them itself before, and they were left behind).
    assert sorted(folder.parent.name for folder, _ in limits.folders()) == ["cpuset", "devices", "memory", "pids", "unified"]
    assert (tmp_path / "cpuset" / "doclab-x-pool-0" / "cpuset.cpus").read_text() == "0-1"
    owned = []
    monkeypatch.setattr(os, "chown", lambda path, uid, gid: owned.append((Path(path).relative_to(tmp_path), uid)))
    # The daemon starts in the limited groups: its memory and processes count against the page's limits.
    assert limits.delegate(1_000_065_536) == [tmp_path / name / "doclab-x-pool-0" / "cgroup.procs" for name in ("pids", "memory")]
    assert (Path("pids/doclab-x-pool-0/cgroup.procs"), 1_000_065_536) in owned
    assert not [path for path, _ in owned if path.name in ("pids.max", "memory.limit_in_bytes")], "its limits stay root's"


def test_on_v2_a_page_daemon_starts_in_a_leaf_of_its_group(tmp_path, monkeypatch):
    import os

    (tmp_path / "cgroup.controllers").write_text("memory pids\n")
    limits = Limits("doclab-x-pool-0", root=tmp_path, every_hierarchy=True)
    limits.create()
    (tmp_path / "doclab-x-pool-0" / "cgroup.controllers").write_text("memory pids\n")  # what its parent gives it
    monkeypatch.setattr(os, "chown", lambda path, uid, gid: None)
    # Moving a process between groups takes write access to a group above both: the daemon starts inside its own.
    assert limits.delegate(1_000_065_536) == [tmp_path / "doclab-x-pool-0" / "daemon" / "cgroup.procs"]
    assert (tmp_path / "doclab-x-pool-0" / "cgroup.subtree_control").read_text() == "+memory +pids"
