"""Page-run folders: ``lab prune`` removes a folder only once its owner has ended, never one being made."""

from __future__ import annotations

import os

from doclab.lab import pagefolders
from doclab.lab.pagefolders import (
    OWNER_FILE, PAGE_RUN_PREFIX, new_page_folder, owner_of, remove_ended_page_folders, write_owner,
)


def test_a_new_page_folder_names_this_process_as_its_owner_and_nothing_else_is_in_it(tmp_path, monkeypatch):
    monkeypatch.setattr(pagefolders, "page_folders_root", lambda: tmp_path)
    folder = new_page_folder()
    assert folder.parent == tmp_path and folder.name.startswith(PAGE_RUN_PREFIX)
    assert owner_of(folder) == os.getpid()
    assert [path.name for path in folder.iterdir()] == [OWNER_FILE]


def test_prune_removes_only_folders_whose_owner_has_ended(tmp_path):
    ended, alive = tmp_path / f"{PAGE_RUN_PREFIX}ended", tmp_path / f"{PAGE_RUN_PREFIX}alive"
    for folder, pid in ((ended, 111), (alive, 222)):
        (folder / "home").mkdir(parents=True)
        (folder / OWNER_FILE).write_text(f"{pid}\n")
    assert remove_ended_page_folders(lambda pid: pid == 222, tmp_path) == [ended.name]
    assert not ended.exists() and (alive / "home").is_dir()


def test_a_folder_whose_owner_file_is_still_being_written_is_left_alone(tmp_path):
    """The race CI met: prune read an empty owner file (created, not yet written) as an ended owner."""
    for name, text in (("empty", ""), ("half", "12"), ("garbage", "pid\n")):
        folder = tmp_path / f"{PAGE_RUN_PREFIX}{name}"
        (folder / "home").mkdir(parents=True)
        (folder / OWNER_FILE).write_text(text)
    (tmp_path / f"{PAGE_RUN_PREFIX}no-owner" / "home").mkdir(parents=True)
    assert remove_ended_page_folders(lambda pid: False, tmp_path) == []
    assert len(list(tmp_path.glob(f"{PAGE_RUN_PREFIX}*/home"))) == 4


def test_folders_that_only_share_part_of_the_name_or_are_links_are_not_page_runs(tmp_path):
    elsewhere = tmp_path / "authors"
    elsewhere.mkdir()
    (elsewhere / OWNER_FILE).write_text("111\n")
    (tmp_path / f"{PAGE_RUN_PREFIX}link").symlink_to(elsewhere)
    other = tmp_path / "doclab-pages-of-mine"
    other.mkdir()
    (other / OWNER_FILE).write_text("111\n")
    assert remove_ended_page_folders(lambda pid: False, tmp_path) == []
    assert elsewhere.is_dir() and other.is_dir()


def test_an_owner_file_is_never_seen_half_written_and_leaves_nothing_beside_it(tmp_path):
    write_owner(tmp_path / "pool-9.owner")
    assert [path.name for path in tmp_path.iterdir()] == ["pool-9.owner"]
    assert (tmp_path / "pool-9.owner").read_text() == f"{os.getpid()}\n"


def test_a_folder_its_page_removes_while_prune_looks_is_left_to_it(tmp_path, monkeypatch):
    from pathlib import Path

    from doclab.lab import pagefolders

    folder = tmp_path / f"{pagefolders.PAGE_RUN_PREFIX}gone"
    folder.mkdir()
    pagefolders.write_owner(folder / pagefolders.OWNER_FILE)
    real_read = Path.read_text

    def removed_meanwhile(path, *args, **kwargs):
        if path.name == pagefolders.OWNER_FILE:
            raise FileNotFoundError(path)  # the page ended and removed its folder between is_file() and the read
        return real_read(path, *args, **kwargs)

    monkeypatch.setattr(Path, "read_text", removed_meanwhile)
    assert pagefolders.owner_of(folder) is None
    assert pagefolders.remove_ended_page_folders(lambda pid: False, tmp_path) == []
