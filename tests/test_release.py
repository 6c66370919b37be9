"""Releases at the hub and in the pull: published, signed, announced, checked.

The box side of an upgrade (switch, migrate, roll back) is in test_upgrade.
"""

import json
import tarfile
from pathlib import Path

import pytest

from kiosk import release
from kiosk.sync import registry, signing
from tests.support.inprocess import sync
from tests.support.releases import make_release


# Releases are files in the hub's instance folder: its database plays no part
# but in the pull, which runs on both kinds.
SQLITE_HUB = pytest.mark.parametrize("hub_app", ["sqlite"], indirect=True)


@pytest.fixture(scope="module")
def artifact(tmp_path_factory):
    return make_release(tmp_path_factory.mktemp("artifact"), "2.0")


def test_the_pull_announces_the_published_release_and_the_station_keeps_it(station_app, hub_app, transport, artifact):
    assert sync(station_app, transport).ok
    kept = Path(station_app.instance_path) / release.ANNOUNCEMENT_FILE
    assert not kept.exists()
    with hub_app.app_context():
        announcement = release.publish(artifact)
        hub_key = registry.hub_public_key()
    assert sync(station_app, transport).ok
    assert json.loads(kept.read_text()) == announcement
    assert oct(kept.stat().st_mode & 0o777) == "0o600"
    # What the upgrade job checks: the hub's signature over the file it serves.
    served = hub_app.test_client().get(f"/api/v1/sync/releases/{artifact.name}")
    assert served.status_code == 200 and served.mimetype == "application/gzip"
    fetched = Path(station_app.instance_path) / artifact.name
    fetched.write_bytes(served.data)
    release.verify(fetched, announcement, hub_key)


@SQLITE_HUB
def test_a_changed_file_or_another_key_fails_the_check(hub_app, artifact, tmp_path):
    with hub_app.app_context():
        announcement = release.publish(artifact)
        hub_key = registry.hub_public_key()
    changed = tmp_path / artifact.name
    data = bytearray(artifact.read_bytes())
    data[len(data) // 2] ^= 1
    changed.write_bytes(bytes(data))
    with pytest.raises(release.ReleaseRefused, match="is not the release 2.0"):
        release.verify(changed, announcement, hub_key)
    other_key = signing.public_key_text(signing.load_or_make_key(tmp_path / "other.pem"))
    with pytest.raises(release.ReleaseRefused, match="not signed by the hub"):
        release.verify(artifact, announcement, other_key)
    # An announcement that claims another version for the same file and signature.
    with pytest.raises(release.ReleaseRefused, match="not signed by the hub"):
        release.verify(artifact, {**announcement, "version": "2.1"}, hub_key)


@SQLITE_HUB
def test_the_hub_serves_published_releases_and_nothing_else(hub_app, artifact):
    client = hub_app.test_client()
    assert client.get(f"/api/v1/sync/releases/{artifact.name}").status_code == 404
    with hub_app.app_context():
        release.publish(artifact)
    for name in ("kiosk-9.9.tar.gz", "..%2Fhub_signing_key.pem", "current.json", "kiosk-2.0.tar.gz.tmp"):
        answer = client.get(f"/api/v1/sync/releases/{name}")
        assert answer.status_code == 404 and answer.json["error"] == "not_found", name


@SQLITE_HUB
def test_publish_refuses_what_is_no_release(hub_app, tmp_path):
    wrong_name = tmp_path / "station.tar.gz"
    wrong_name.write_bytes(b"")
    not_a_tarball = tmp_path / "kiosk-3.0.tar.gz"
    not_a_tarball.write_text("hello")
    lying = tmp_path / "kiosk-4.0.tar.gz"
    top = tmp_path / "kiosk-4.0"
    (top / "deploy").mkdir(parents=True)
    (top / "VERSION").write_text("5.0\n")
    (top / "deploy" / "install-station").write_text("")
    with tarfile.open(lying, "w:gz") as tar:
        tar.add(top, arcname=top.name)
    with hub_app.app_context():
        for path, words in ((wrong_name, "kiosk-VERSION.tar.gz"), (not_a_tarball, "no release"), (lying, "'5.0'")):
            with pytest.raises(release.ReleaseRefused, match=words):
                release.publish(path)
        assert release.current() is None


def test_a_malformed_announcement_is_ignored_and_the_pull_goes_on(app):
    from kiosk.sync import station

    with app.app_context():
        for bad in ({"version": "../x", "sha256": "0" * 64, "size": 1, "signature": "x"}, {"version": "1"}, "1.0"):
            station.apply_pull_answer({"cursor": 7, "opinions": [], "release": bad})
        assert station.sync_state().cursor == 7
    assert not (Path(app.instance_path) / release.ANNOUNCEMENT_FILE).exists()


@SQLITE_HUB
def test_the_command_line_the_upgrade_job_uses(hub_app, artifact, tmp_path, capsys):
    with hub_app.app_context():
        announcement = release.publish(artifact)
        (tmp_path / "key.pub").write_text(registry.hub_public_key() + "\n")
    (tmp_path / "release.json").write_text(json.dumps(announcement))
    assert release.main(["announced", str(tmp_path / "release.json")]) == 0
    assert capsys.readouterr().out.split() == ["2.0", announcement["sha256"]]
    assert release.main(["verify", str(artifact), str(tmp_path / "release.json"), str(tmp_path / "key.pub")]) == 0
    (tmp_path / "release.json").write_text(json.dumps({**announcement, "size": 5}))
    assert release.main(["verify", str(artifact), str(tmp_path / "release.json"), str(tmp_path / "key.pub")]) == 1
    assert "is not the release" in capsys.readouterr().err
