"""Real server processes for tests that need HTTP, crashes or a browser.

Each server is ``waitress`` serving ``wsgi:app`` in its own process with its
own instance folder, configured only through ``KIOSK_*`` environment
variables, exactly as a box in the field would be.
"""

import os
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.apps import copy_database
from tests.support.ime import rime_folder

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def flask_command(instance: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run ``flask --app wsgi ARGS`` for the box whose instance folder is given."""
    return subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", *args],
        cwd=ROOT,
        env=_env(instance, env or {}),
        capture_output=True,
        text=True,
        timeout=120,
    )


def _env(instance: Path, settings: dict) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KIOSK_")}
    if "KIOSK_TEST_POSTGRES_URL" in os.environ:
        env["KIOSK_TEST_POSTGRES_URL"] = os.environ["KIOSK_TEST_POSTGRES_URL"]
    env["KIOSK_INSTANCE_PATH"] = str(instance)
    # Every box types with the same Rime data, built once rather than per box.
    env["KIOSK_RIME_FOLDER"] = str(rime_folder())
    for key, value in settings.items():
        env[key if key.startswith("KIOSK_") else f"KIOSK_{key}"] = str(value)
    return env


@dataclass
class ServerProcess:
    instance: Path
    settings: dict = field(default_factory=dict)
    port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30) -> "ServerProcess":
        self.process = self.launch()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited with {self.process.returncode}: {self.log_text()[-2000:]}")
            try:
                urllib.request.urlopen(self.url + "/healthz", timeout=1).read()
                return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"server did not start: {self.log_text()[-2000:]}")

    def launch(self):
        """The server's process, started (``tests/support/crashes.py`` forks it instead)."""
        log = open(self.instance / "server.log", "ab")
        return subprocess.Popen(
            [sys.executable, "-m", "waitress", "--listen", f"127.0.0.1:{self.port}", "--threads", "8", "wsgi:app"],
            cwd=ROOT,
            env=_env(self.instance, self.settings),
            stdout=log,
            stderr=subprocess.STDOUT,
        )

    def wait_exit(self, timeout: float = 10) -> int:
        return self.process.wait(timeout)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def log_text(self) -> str:
        path = self.instance / "server.log"
        return path.read_text(errors="replace") if path.exists() else ""


def station_box(
    instance: Path, station_code: str | None = None, seed: Path | None = None, **settings
) -> ServerProcess:
    """A station box with demo data, not yet started: a copy of ``seed`` (a demo
    station database) when given, else loaded by ``flask demo load`` as an installer would."""
    if seed is not None:
        copy_database(seed, instance)
        return ServerProcess(instance, settings)
    instance.mkdir(parents=True, exist_ok=True)
    args = ["demo", "load"] + (["--station", station_code] if station_code else [])
    result = flask_command(instance, *args, env=settings)
    if result.returncode != 0:
        raise RuntimeError(result.stderr)
    return ServerProcess(instance, settings)
