"""Which processes are the lab's own: matched by program and by the exact path they name, never by a prefix."""

from doclab.lab.processes import is_lab_program


def test_the_labs_own_services_are_known_by_their_names_before_and_after_the_stage_packages():
    for module in (b"doclab.lab.authz", b"doclab.authz", b"doclab.lab.forward", b"doclab.forward"):
        assert is_lab_program([b"/usr/bin/python3", b"-m", module, b"/run/docker/plugins/doclab-x-authz.sock"])
    assert not is_lab_program([b"/usr/bin/python3", b"-m", b"doclab.authzx", b"/tmp/x"])
    assert not is_lab_program([b"/usr/bin/python3", b"-m", b"http.server"])
