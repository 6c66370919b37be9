"""Debian's Chromium under the station's managed policy file (deploy/station/chromium/kiosk.json).

Chromium reads managed policies from /etc/chromium/policies/managed/ only.
So that no other browser test sees them, Chromium runs in a private mount
namespace (``unshare -m``) where a copy of /etc/chromium with the policy in
it is bind-mounted over /etc/chromium. The station's address in the file
(http://127.0.0.1:5000) is replaced with the test box's. Playwright attaches
over the DevTools port, which needs root (as the tests have in CI).
"""

import json
import queue
import shutil
import subprocess
import threading
import time
from contextlib import contextmanager
from pathlib import Path

from tests.support.servers import ROOT, free_port

POLICY_FILE = ROOT / "deploy" / "station" / "chromium" / "kiosk.json"
STATION_ADDRESS = "http://127.0.0.1:5000"


def station_policy(station_url: str, **changes) -> dict:
    """The policy file as installed on a box whose station answers at ``station_url``."""
    text = POLICY_FILE.read_text().replace(STATION_ADDRESS, station_url.rstrip("/"))
    return {**json.loads(text), **changes}


@contextmanager
def chromium_under_policy(policy: dict, folder: Path, startup_seconds: float = 20):
    """Start Chromium with ``policy`` managed; yield its DevTools address."""
    etc = folder / "etc-chromium"
    shutil.copytree("/etc/chromium", etc, dirs_exist_ok=True)
    (etc / "policies" / "managed").mkdir(parents=True, exist_ok=True)
    (etc / "policies" / "managed" / "kiosk.json").write_text(json.dumps(policy))
    port = free_port()
    command = [
        "unshare", "--mount", "--propagation", "private",
        "sh", "-c", 'mount --bind "$0" /etc/chromium && exec "$@"', str(etc),
        "/usr/bin/chromium", "--headless=new", f"--remote-debugging-port={port}",
        f"--user-data-dir={folder / 'profile'}", "--no-sandbox", "--disable-gpu",
        "--disable-dev-shm-usage", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--use-fake-device-for-media-stream", "about:blank",
    ]
    process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in process.stderr], daemon=True).start()
    deadline = time.monotonic() + startup_seconds
    try:
        # Await Chromium's own word that it listens; never a fixed sleep.
        while True:
            try:
                line = lines.get(timeout=max(0.1, deadline - time.monotonic()))
            except queue.Empty:
                raise RuntimeError("Chromium did not open its DevTools port")
            if "DevTools listening on" in line:
                break
            if process.poll() is not None:
                raise RuntimeError(f"Chromium ended at start: {line}")
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
