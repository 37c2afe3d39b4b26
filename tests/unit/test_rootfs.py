import hashlib
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from doclab.lab.rootfs import RootfsError, ensure_rootfs
from doclab.settings import Settings

TARBALL = b"\x1f\x8b not really alpine, only bytes to checksum"
GOOD = hashlib.sha256(TARBALL).hexdigest()


@pytest.fixture
def mirror():
    """A mirror on 127.0.0.1 serving one fake tarball; yields (its URL, the list of paths asked for)."""
    requests = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (the name http.server calls)
            requests.append(self.path)
            if self.path != "/alpine/rootfs.tar.gz":
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Length", str(len(TARBALL)))
            self.end_headers()
            self.wfile.write(TARBALL)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/alpine/rootfs.tar.gz", requests
    finally:
        server.shutdown()
        server.server_close()


def test_a_configured_path_is_used_as_it_is_and_nothing_is_fetched(tmp_path):
    settings = Settings.from_env({"DOCLAB_ALPINE_ROOTFS": "/somewhere/alpine.tar.gz"}, project_root=tmp_path)
    assert ensure_rootfs(settings, tmp_path / "cache", fetch=True, url="http://127.0.0.1:9/never") == Path(
        "/somewhere/alpine.tar.gz"
    )
    assert not (tmp_path / "cache").exists()


def test_without_a_path_or_fetch_the_error_names_both_settings(tmp_path):
    with pytest.raises(RootfsError, match="DOCLAB_ALPINE_ROOTFS.*DOCLAB_ALPINE_FETCH=1"):
        ensure_rootfs(None, tmp_path, fetch=False)


def test_a_download_with_the_kept_checksum_is_cached_and_listed_for_the_lab(tmp_path, mirror):
    url, requests = mirror
    path = ensure_rootfs(None, tmp_path, fetch=True, url=url, sha256=GOOD)
    assert path == tmp_path / "rootfs.tar.gz" and path.read_bytes() == TARBALL
    assert (tmp_path / "SHA256SUMS").read_text() == f"{GOOD}  rootfs.tar.gz\n"
    assert ensure_rootfs(None, tmp_path, fetch=True, url=url, sha256=GOOD) == path
    assert requests == ["/alpine/rootfs.tar.gz"], "the second call must use the cache"


def test_a_download_with_another_checksum_is_refused_and_deleted(tmp_path, mirror):
    url, _ = mirror
    with pytest.raises(RootfsError, match=f"refused {url}: its SHA-256 is {GOOD}, but doclab expects 00+ "):
        ensure_rootfs(None, tmp_path, fetch=True, url=url, sha256="0" * 64)
    assert list(tmp_path.iterdir()) == []


def test_a_damaged_cached_file_is_replaced_by_a_fresh_download(tmp_path, mirror):
    url, requests = mirror
    (tmp_path / "rootfs.tar.gz").write_bytes(b"truncated")
    assert ensure_rootfs(None, tmp_path, fetch=True, url=url, sha256=GOOD).read_bytes() == TARBALL
    assert len(requests) == 1


def test_an_unreachable_mirror_is_reported_with_its_url(tmp_path, mirror):
    url, _ = mirror
    missing = url.replace("rootfs", "gone")
    with pytest.raises(RootfsError, match=f"could not download {missing}: HTTP Error 404"):
        ensure_rootfs(None, tmp_path, fetch=True, url=missing, sha256=GOOD)
    assert list(tmp_path.iterdir()) == []
