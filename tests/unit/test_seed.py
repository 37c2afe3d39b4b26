import gzip
import hashlib
import io
import json
import tarfile

import pytest

from doclab.lab.seed import SeedError, describe_rootfs, image_config, image_manifest, verify_checksum


@pytest.fixture
def rootfs(tmp_path):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        data = b"3.18.9\n"
        info = tarfile.TarInfo("./etc/alpine-release")
        info.size, info.mtime = len(data), 1725622560
        archive.addfile(info, io.BytesIO(data))
    path = tmp_path / "alpine-minirootfs-test.tar.gz"
    path.write_bytes(gzip.compress(buffer.getvalue(), mtime=0))
    return path, hashlib.sha256(buffer.getvalue()).hexdigest()


def test_image_is_described_from_the_tarball_alone(rootfs):
    path, uncompressed = rootfs
    diff_id, release, created = describe_rootfs(path)
    assert (diff_id, release, created.isoformat()) == (uncompressed, "3.18.9", "2024-09-06T11:36:00+00:00")
    config = image_config(diff_id, "sha256:layer", created)
    assert json.loads(config)["rootfs"]["diff_ids"] == [f"sha256:{uncompressed}"]
    assert json.loads(config)["config"]["Cmd"] == ["/bin/sh"]


def test_the_same_tarball_always_gives_the_same_manifest(rootfs):
    path, _ = rootfs
    diff_id, _, created = describe_rootfs(path)
    first = image_manifest(image_config(diff_id, "sha256:l", created), "ab" * 32, 10)
    diff_id, _, created = describe_rootfs(path)
    assert first == image_manifest(image_config(diff_id, "sha256:l", created), "ab" * 32, 10)


def test_a_tarball_with_another_checksum_is_refused(rootfs, tmp_path):
    path, _ = rootfs
    sums = tmp_path / "SHA256SUMS"
    sums.write_text(f"{'0' * 64}  {path.name}\n")
    with pytest.raises(SeedError, match="is damaged or not Alpine's minirootfs"):
        verify_checksum(path, sums)
    sums.write_text(f"{hashlib.sha256(path.read_bytes()).hexdigest()}  {path.name}\n")
    verify_checksum(path, sums)


def test_a_tarball_that_is_not_alpine_is_refused(tmp_path):
    path = tmp_path / "empty.tar.gz"
    with tarfile.open(path, "w:gz"):
        pass
    with pytest.raises(SeedError, match="no etc/alpine-release"):
        describe_rootfs(path)
