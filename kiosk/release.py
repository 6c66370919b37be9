"""Releases: the hub publishes a signed artifact, the pull announces it, a box checks it.

A release is the tarball ``deploy/build-release`` writes: the app and every
wheel it needs. ``flask release publish FILE`` at the hub keeps a copy in
the instance folder and signs its SHA-256 with the hub's own key, the key
stations already trust for sync answers. Every pull answer then carries
the announcement (version, SHA-256, size, signature); a station stores it
in its instance folder and ``deploy/station/upgrade`` (root, on a timer)
fetches the file from the hub and checks it here against the hub key
pinned at enrolment, before anything is installed.

The hub never calls a station: a release reaches 236 boxes through their
own pulls, and a box that cannot check a signature installs nothing.
"""

import hashlib
import json
import re
import shutil
import sys
import tarfile
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from .instance import write_private
from .sync import registry, signing

RELEASES_FOLDER = "releases"
CURRENT_FILE = "current.json"
ANNOUNCEMENT_FILE = "release.json"
VERSION = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,79}")
ARTIFACT = re.compile(r"kiosk-(?P<version>[A-Za-z0-9][A-Za-z0-9._-]{0,79})\.tar\.gz")
FIELDS = ("version", "sha256", "size", "signature")


class ReleaseRefused(Exception):
    """The release or its announcement is not acceptable; the message says why."""


def message(version: str, sha256: str) -> bytes:
    """What the hub signs for a release: its version and the digest of its file."""
    return "\n".join([signing.PROTOCOL, "release", version, sha256]).encode()


def file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# --- hub ----------------------------------------------------------------------


def _folder() -> Path:
    return Path(current_app.instance_path) / RELEASES_FOLDER


def publish(path: Path) -> dict:
    """Keep a copy of the release at ``path``, sign it, and announce it from now on.

    Publishing the same file again signs it again and changes nothing else;
    publishing an older release announces it (a deliberate way back)."""
    found = ARTIFACT.fullmatch(path.name)
    if found is None:
        raise ReleaseRefused(f"{path.name}: a release file is named kiosk-VERSION.tar.gz")
    version = found["version"]
    try:
        with tarfile.open(path, "r:gz") as tar:
            member = tar.extractfile(f"kiosk-{version}/VERSION")
            inside = member.read().decode().strip() if member else None
            tar.getmember(f"kiosk-{version}/deploy/install-station")
    except (OSError, tarfile.TarError, KeyError, UnicodeDecodeError) as error:
        raise ReleaseRefused(f"{path.name} is no release built by deploy/build-release: {error}")
    if inside != version:
        raise ReleaseRefused(f"{path.name} says it is release {inside!r}")
    folder = _folder()
    folder.mkdir(mode=0o700, exist_ok=True)
    kept = folder / path.name
    if path.resolve() != kept.resolve():
        tmp = kept.with_name(kept.name + ".tmp")
        shutil.copyfile(path, tmp)
        tmp.replace(kept)
    sha256 = file_digest(kept)
    announcement = {
        "version": version,
        "sha256": sha256,
        "size": kept.stat().st_size,
        "signature": signing.sign(registry.hub_key(), message(version, sha256)),
    }
    write_private(folder / CURRENT_FILE, json.dumps(announcement))
    return announcement


def current() -> dict | None:
    """The release the hub announces, or None before one is published."""
    try:
        return json.loads((_folder() / CURRENT_FILE).read_text())
    except FileNotFoundError:
        return None


def artifact(name: str) -> Path | None:
    """The published file called ``name``, if there is one (never any other path)."""
    if ARTIFACT.fullmatch(name) is None:
        return None
    path = _folder() / name
    return path if path.is_file() else None


# --- station --------------------------------------------------------------------


def remember(announcement) -> None:
    """Keep the hub's announcement for the upgrade job; only a well-formed one, only when it changed.

    The announcement came inside a signed answer; the upgrade job checks the
    release's own signature again against the key pinned at enrolment."""
    if announcement is None:
        return
    checked = parse(announcement)
    path = Path(current_app.instance_path) / ANNOUNCEMENT_FILE
    text = json.dumps(checked, sort_keys=True)
    try:
        if path.read_text() == text:
            return
    except FileNotFoundError:
        pass
    write_private(path, text)
    current_app.logger.info("release %s announced by the hub", checked["version"])


def parse(announcement) -> dict:
    if not isinstance(announcement, dict):
        raise ReleaseRefused("a release announcement is an object")
    try:
        checked = {key: announcement[key] for key in FIELDS}
    except KeyError as missing:
        raise ReleaseRefused(f"a release announcement lacks {missing}")
    if not isinstance(checked["version"], str) or not VERSION.fullmatch(checked["version"]):
        raise ReleaseRefused("a release version is letters, digits, dots, - and _")
    if not isinstance(checked["sha256"], str) or not re.fullmatch(r"[0-9a-f]{64}", checked["sha256"]):
        raise ReleaseRefused("a release SHA-256 is 64 hex digits")
    if type(checked["size"]) is not int or checked["size"] <= 0 or not isinstance(checked["signature"], str):
        raise ReleaseRefused("a release announcement has a bad size or signature")
    return checked


def verify(path: Path, announcement: dict, hub_key: str) -> None:
    """Raise ReleaseRefused unless the file at ``path`` is the announced release, signed by ``hub_key``."""
    checked = parse(announcement)
    try:
        signing.verify(hub_key, message(checked["version"], checked["sha256"]), checked["signature"])
    except signing.BadSignature as error:
        raise ReleaseRefused(f"the announcement of {checked['version']} is not signed by the hub: {error}")
    if path.stat().st_size != checked["size"] or file_digest(path) != checked["sha256"]:
        raise ReleaseRefused(f"{path.name} is not the release {checked['version']} the hub signed")


# --- command line -------------------------------------------------------------


@click.group("release")
def release_group():
    """Releases for the stations: publish one (hub), see which is announced."""


@release_group.command("publish")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@with_appcontext
def publish_command(file):
    """Sign FILE (deploy/build-release's kiosk-VERSION.tar.gz) and announce it to every station."""
    try:
        announcement = publish(file)
    except ReleaseRefused as error:
        raise click.ClickException(str(error))
    click.echo(f"release {announcement['version']} published: sha256 {announcement['sha256']}")


@release_group.command("show")
@with_appcontext
def show_command():
    """The release this hub announces, or the one this station was told of."""
    if current_app.config["ROLE"] == "hub":
        announcement = current()
    else:
        path = Path(current_app.instance_path) / ANNOUNCEMENT_FILE
        announcement = json.loads(path.read_text()) if path.exists() else None
    click.echo(json.dumps(announcement, indent=2) if announcement else "no release announced")


def main(argv: list[str]) -> int:
    """For deploy/station/upgrade, run as root without an app:

    ``announced FILE``: print the announced version and SHA-256;
    ``verify ARTIFACT ANNOUNCEMENT KEYFILE``: exit 0 only for a good release."""
    try:
        if len(argv) == 2 and argv[0] == "announced":
            checked = parse(json.loads(Path(argv[1]).read_text()))
            print(checked["version"], checked["sha256"])
            return 0
        if len(argv) == 4 and argv[0] == "verify":
            announcement = json.loads(Path(argv[2]).read_text())
            verify(Path(argv[1]), announcement, Path(argv[3]).read_text().strip())
            return 0
    except (OSError, ValueError, ReleaseRefused) as error:
        print(f"release: {error}", file=sys.stderr)
        return 1
    print("usage: python -m kiosk.release announced FILE | verify ARTIFACT ANNOUNCEMENT KEYFILE", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
