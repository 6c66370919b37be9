"""Voice messages: a two-minute recording's bytes, its upload on loopback, the station's memory meanwhile.

1. Bytes: Debian's Chromium records speech (espeak-ng reading the kiosk's
   prompts, played by Chromium's fake microphone) for BENCH_VOICE_SECONDS
   (default 120) with MediaRecorder, twice at once: as the kiosk does
   (WebM/Opus, audioBitsPerSecond 24000) and at the browser's default rate,
   the floor it is compared with.
2. Upload: a real station server (waitress, as on the box) takes the
   24 kbit/s recording on 保留 (POST /opinion/voice, checked with ffprobe and
   kept with the draft), BENCH_VOICE_UPLOADS times; medians and p95 against
   the floor of the same request with an empty body (refused at once).
3. Memory: the server's resident set, sampled every 5 ms while it receives.

Prints figures; exits non-zero only when the product errors.
"""

import base64
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from common import median, ms, p95, ratio, report, timed  # noqa: E402
from playwright.sync_api import sync_playwright  # noqa: E402

from kiosk.prompts import WORDING  # noqa: E402
from tests.support.crashes import UNLIMITED, Villager  # noqa: E402
from tests.support.servers import free_port, station_box  # noqa: E402

SECONDS = int(os.environ.get("BENCH_VOICE_SECONDS", 120))
UPLOADS = int(os.environ.get("BENCH_VOICE_UPLOADS", 15))
KIOSK_RATE = 24000

RECORD = """async ([seconds, rates]) => {
  const stream = await navigator.mediaDevices.getUserMedia({ audio: true });
  const record = (rate) => new Promise((done) => {
    const options = { mimeType: "audio/webm;codecs=opus" };
    if (rate) options.audioBitsPerSecond = rate;
    const recorder = new MediaRecorder(stream, options);
    const parts = [];
    recorder.ondataavailable = (event) => parts.push(event.data);
    recorder.onstop = async () => {
      const bytes = new Uint8Array(await new Blob(parts).arrayBuffer());
      let text = "";
      for (let i = 0; i < bytes.length; i += 0x8000) text += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
      done(btoa(text));
    };
    recorder.start(1000);
    setTimeout(() => recorder.stop(), seconds * 1000);
  });
  return Promise.all(rates.map(record));
}"""


def speech_wav(folder: Path) -> Path:
    """A minute of speech from espeak-ng (the prompts' words), for the fake microphone to loop."""
    path = folder / "speech.wav"
    text = "".join(WORDING.values()) * 2
    subprocess.run(["espeak-ng", "-v", "yue", "-s", "140", "-w", str(path), text], check=True, capture_output=True)
    return path


def record(seconds: int, microphone: Path) -> tuple[bytes, bytes]:
    """(kiosk rate, default rate) recordings made at the same time by Chromium's MediaRecorder."""
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1", "--directory", str(microphone.parent)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path="/usr/bin/chromium",
                args=[
                    "--no-sandbox", "--disable-gpu", "--use-fake-device-for-media-stream",
                    "--use-fake-ui-for-media-stream", f"--use-file-for-fake-audio-capture={microphone}",
                ],
            )
            page = browser.new_page()
            for _ in range(100):
                try:
                    page.goto(f"http://127.0.0.1:{port}/")  # a secure context (loopback) for the microphone
                    break
                except Exception:  # noqa: BLE001 -- the little server is still starting
                    time.sleep(0.05)
            kiosk, default = page.evaluate(RECORD, [seconds, [KIOSK_RATE, 0]])
            browser.close()
    finally:
        server.terminate()
        server.wait()
    return base64.b64decode(kiosk), base64.b64decode(default)


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


class Sampler(threading.Thread):
    """The process's resident set every 5 ms until stopped: its highest."""

    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.pid, self.highest, self.running = pid, 0.0, True

    def run(self):
        while self.running:
            self.highest = max(self.highest, rss_mb(self.pid))
            time.sleep(0.005)


def upload(url: str, pid: int, recording: bytes) -> tuple[list[float], list[float], float, float, float]:
    """Times of 保留 with the recording and with an empty body; RSS before, highest while, after (MB)."""
    person = Villager(url)
    person.open_home()
    person.post("/opinion/start")
    person.post("/opinion/category", {"category": "road"})
    headers = {"Content-Type": "audio/webm"}
    # Warm: the first request loads what every later one uses.
    first = person.post("/opinion/voice", body=recording, headers=headers)
    if first.status != 200 or "已附语音留言" not in first.text:
        raise SystemExit(f"the station did not keep the recording: {first.status} {first.text[:300]}")
    before = rss_mb(pid)
    sampler = Sampler(pid)
    sampler.start()
    uploads, floors = [], []
    for _ in range(UPLOADS):
        took, page = timed(person.post, "/opinion/voice", body=recording, headers=headers)
        if "已附语音留言" not in page.text:
            raise SystemExit(f"upload refused: {page.text[:300]}")
        uploads.append(took)
        took, page = timed(person.post, "/opinion/voice", body=b"", headers=headers)
        if "没有收到录音" not in page.text:
            raise SystemExit(f"an empty body was not refused: {page.text[:300]}")
        floors.append(took)
    sampler.running = False
    sampler.join()
    return uploads, floors, before, sampler.highest, rss_mb(pid)



def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        print(f"a {SECONDS}-second recording by Chromium's MediaRecorder (speech from espeak-ng):")
        kiosk, default = record(SECONDS, speech_wav(folder))
        report("WebM/Opus at 24 kbit/s (the kiosk)", f"{len(kiosk) / 1024:.0f} KB", "≤ 1024 KB", len(kiosk) <= 1024 * 1024)
        report("at the browser's default rate", f"{len(default) / 1024:.0f} KB")
        ratio("kiosk / default", len(kiosk), len(default))
        box = station_box(folder / "station", **UNLIMITED, SYNC_BACKGROUND="false").start()
        try:
            uploads, floors, before, highest, after = upload(box.url, box.process.pid, kiosk)
        finally:
            box.stop()
    print(f"保留 on loopback (POST /opinion/voice, checked with ffprobe, kept), {UPLOADS} times:")
    report("upload median", ms(median(uploads)))
    report("upload p95", ms(p95(uploads)))
    report("empty body (floor) median", ms(median(floors)))
    ratio("upload / floor (medians)", median(uploads), median(floors))
    print("station process memory while receiving:")
    report("RSS before", f"{before:.1f} MB")
    report("highest RSS while receiving", f"{highest:.1f} MB", "≤ 150 MB", highest <= 150)
    report("growth while receiving", f"{highest - before:.1f} MB")
    report("RSS after", f"{after:.1f} MB")


if __name__ == "__main__":
    main()
