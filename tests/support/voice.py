"""Real recordings for the voice tests and benchmarks, made and heard with Debian's ffmpeg.

``webm`` encodes a tone as the kiosk's browser records speech (WebM, one
Opus track, 24 kbit/s); ``microphone_wav`` is what Chromium's fake
microphone plays (``--use-file-for-fake-audio-capture``); ``heard`` decodes
a file as a listener would and says how long it lasts and how loud it is.
"""

import array
import math
import subprocess
from dataclasses import dataclass
from pathlib import Path


def webm(seconds: float, frequency: int = 440, bitrate: str = "24k") -> bytes:
    """A WebM/Opus recording of a tone this long (a two-tone warble, like a voice's pitch moving)."""
    return subprocess.run(
        [
            "ffmpeg", "-v", "error", "-f", "lavfi",
            "-i", f"sine=frequency={frequency}:duration={seconds}:sample_rate=48000",
            "-af", "vibrato=f=5:d=0.5", "-ac", "1", "-c:a", "libopus", "-b:a", bitrate, "-f", "webm", "pipe:1",
        ],
        check=True,
        capture_output=True,
    ).stdout


def microphone_wav(path: Path, seconds: float = 30) -> Path:
    """A WAV for Chromium's fake microphone: a tone it loops while a page records."""
    subprocess.run(
        [
            "ffmpeg", "-v", "error", "-y", "-f", "lavfi",
            "-i", f"sine=frequency=523:duration={seconds}:sample_rate=48000",
            "-af", "vibrato=f=4:d=0.4", "-ac", "1", str(path),
        ],
        check=True,
    )
    return path


@dataclass(frozen=True)
class Heard:
    seconds: float
    # Root mean square of the samples, 0 (silence) to 1 (full scale).
    loudness: float


def heard(data: bytes) -> Heard:
    """Decode a recording to 16 kHz mono samples: how long it plays and how loud it is."""
    pcm = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", "pipe:0", "-f", "s16le", "-ac", "1", "-ar", "16000", "pipe:1"],
        input=data,
        check=True,
        capture_output=True,
    ).stdout
    samples = array.array("h", pcm)
    if not samples:
        return Heard(0.0, 0.0)
    loudness = math.sqrt(sum(s * s for s in samples) / len(samples)) / 32768
    return Heard(len(samples) / 16000, loudness)
