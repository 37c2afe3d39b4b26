"""A page daemon's user namespace: whose uids it gets, and what its view of the machine hides."""

from pathlib import Path

from doclab.lab.userns import _VIEW, HIDDEN, UID_COUNT, UID_RANGE_START, UID_SLOTS, uid_base


def test_each_daemon_of_each_lab_has_a_range_of_uids_of_its_own_that_no_account_uses():
    bases = {uid_base(Path(f"/tmp/lab-{lab}"), f"pool-{index}") for lab in range(3) for index in range(8)}
    assert len(bases) == 24
    assert all(UID_RANGE_START <= base and base + UID_COUNT <= UID_RANGE_START + UID_SLOTS * UID_COUNT for base in bases)
    assert UID_RANGE_START + UID_SLOTS * UID_COUNT < 2**32 - 1  # below the kernel's "no uid"
    assert uid_base(Path("/tmp/lab-0"), "pool-0") == uid_base(Path("/tmp/lab-0"), "pool-0")


def test_the_view_hides_home_folders_temporary_files_and_the_machines_sockets():
    assert {"/root", "/home", "/tmp", "/run"} <= set(HIDDEN)
    # Mounts below a hidden folder are skipped when the rest is made read-only (they are out of sight).
    assert all(f"|{folder}|{folder}/*" in _VIEW for folder in HIDDEN)
    assert "mount -o remount,bind,ro" in _VIEW and "2>/dev/null" not in _VIEW
