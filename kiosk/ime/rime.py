"""The pinyin engine: Rime with the domain dictionary, as the kiosk and ``flask ime`` use it.

A look-up is a pure function of the letters typed and the text written just
before (the context), so a keystroke's request can be answered in any order
and twice alike; each kiosk screen still has a Rime session of its own,
dropped when the villager's draft ends, so nothing of one person's typing is
in the engine when the next one starts. On top of Rime's own ranking:

- letters that are not whole syllables are read as initials: words from our
  index of Rime's own vocabulary by initials (``initials.py``) come first
  (``sh`` as s+h, which Rime reads as one syllable, and ``aq`` → 安全), then
  what Rime reads in them; two letters that are a syllable as well (``fa``)
  give Rime's first characters, then the index's first words (法案, 方案);
- the context's last character is typed before the letters, and when Rime's
  best reading of both starts with that character, the rest goes first (after
  路, ``denghuaile`` gives 灯坏了 rather than 等坏了);
- a candidate the screen's font cannot draw, or holding a blocked word
  (``data/blocked-words.txt``), is never shown.
"""

import atexit
import logging
import os
import re
import shutil
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

from . import binding, deploy, dictionary, initials

log = logging.getLogger(__name__)

LETTERS = re.compile(r"^[a-z']{1,40}$")
VOWELS = set("aeiouv")
HAN = re.compile(r"[\u3400-\u9fff\U00020000-\U0003ffff]")
# Rime candidates looked at for one page: enough to fill it after filtering.
LOOK_AHEAD = 12
# Rime sessions kept at once: three a kiosk screen (the letters, the letters
# after the context, the letters as initials), and a station has one or two screens.
MAX_SESSIONS = 12
ROLES = ("plain", "context", "initials")
SIMPLIFIED_PROBE = ("guo", "国", "國")
# No syllable starts with these: letters holding one are not initials.
NOT_INITIALS = set("iuv")
# Choice.index of a word from the initials index rather than from a Rime session.
FROM_INDEX = -1
# Two letters that are a syllable and two initials too (fa: 发, and 方案): Rime's
# first characters, then the index's first words, on the first page.
SYLLABLE_HEAD = 5
INITIALS_AFTER_SYLLABLE = 3


class BadLetters(ValueError):
    """What was sent is not pinyin letters."""

    message = "只能输入拼音字母"


@dataclass(frozen=True)
class Choice:
    """A candidate shown, and how to pick it again: type ``typed``, select ``index``, drop ``strip`` characters."""

    text: str
    typed: str
    index: int
    strip: int = 0


@dataclass(frozen=True)
class Page:
    candidates: list[str]
    more: bool


@dataclass(frozen=True)
class Picked:
    text: str  # what goes into the field
    rest: str  # the letters still waiting for their characters


def check_letters(letters: str) -> str:
    letters = (letters or "").strip().lower()
    if not LETTERS.match(letters) or not letters.strip("'"):
        raise BadLetters(letters)
    return letters


class Engine:
    """Rime for one process: sessions per kiosk screen, every call behind the binding's lock."""

    def __init__(self, folder: Path):
        self.folder = folder
        staging = deploy.ensure(folder)
        self.user = _process_folder(folder)
        self.rime = binding.process_rime(deploy.RIME_DATA, self.user, staging, deploy.PREBUILT)
        self.glyphs = deploy.glyphs_path(folder).read_bytes()
        self.index = initials.Index(staging)
        self.blocked = tuple(dictionary.blocked_words())
        self.lock = threading.RLock()
        self.sessions: OrderedDict[str, int] = OrderedDict()
        self.typed: dict[int, str] = {}
        self._check_simplified()

    # -- sessions --------------------------------------------------------

    def session(self, key: str, role: str = "plain") -> int:
        """The Rime session of a screen for one kind of look-up: each kind types on from its own last
        keystroke, so a keystroke costs one key to Rime rather than the whole word again."""
        key = f"{role}:{key}"
        with self.lock:
            session = self.sessions.get(key)
            if session is not None and self.rime.exists(session):
                self.sessions.move_to_end(key)
                return session
            session = self.rime.create_session(deploy.SCHEMA)
            self.rime.set_option(session, "zh_simp", True)
            self.sessions[key] = session
            while len(self.sessions) > MAX_SESSIONS:
                _, oldest = self.sessions.popitem(last=False)
                self._destroy(oldest)
            return session

    def end_session(self, key: str | None) -> None:
        """Drop a screen's session: the villager it served has gone."""
        if not key:
            return
        with self.lock:
            for role in ROLES:
                session = self.sessions.pop(f"{role}:{key}", None)
                if session is not None:
                    self._destroy(session)

    def _destroy(self, session: int) -> None:
        self.typed.pop(session, None)
        self.rime.destroy_session(session)

    def _type(self, session: int, typed: str) -> None:
        # One keystroke more than last time: type that key only.
        before = self.typed.get(session)
        if before is not None and typed.startswith(before) and len(typed) - len(before) == 1:
            self.rime.type(session, typed[-1], clear=False)
        elif before != typed:
            self.rime.type(session, typed)
        self.typed[session] = typed

    # -- look-ups ----------------------------------------------------------

    def candidates(self, letters: str, context: str = "", limit: int = 8, offset: int = 0,
                   key: str = "") -> Page:
        """A page of candidates for ``letters`` typed after ``context``, best first."""
        letters = check_letters(letters)
        choices = self.choices(letters, context, offset + limit + 1, key)
        return Page([c.text for c in choices[offset:offset + limit]], more=len(choices) > offset + limit)

    def choices(self, letters: str, context: str, count: int, key: str = "") -> list[Choice]:
        with self.lock:
            out: list[Choice] = []
            seen: set[str] = set()

            def add(choice: Choice) -> None:
                if choice.text and choice.text not in seen and self.shown(choice.text):
                    seen.add(choice.text)
                    out.append(choice)

            # Initials go by the index, context included: Rime reading the context's
            # syllable before them makes up phrases (路 then dhl: 路德会了).
            indexed = self.by_initials(letters, context)
            before = _last_han(context)
            if before and not indexed:
                for typed in self.context_inputs(before, letters):
                    first = self._fetch(self.session(key, "context"), typed, 0, 1)
                    if first and first[0].startswith(before) and len(first[0]) > 1:
                        add(Choice(first[0][1:], typed, 0, strip=1))
                        break
            for text in indexed:
                add(Choice(text, letters, FROM_INDEX))
            if not indexed and self.initials_too(letters):
                for i, text in enumerate(self._fetch(self.session(key), letters, 0, SYLLABLE_HEAD)):
                    add(Choice(text, letters, i))
                for text in self.index.words(letters)[:INITIALS_AFTER_SYLLABLE]:
                    add(Choice(text, letters, FROM_INDEX))
            initials = not VOWELS.intersection(letters) and len(letters.replace("'", "")) > 1
            split = "'".join(letters.replace("'", "")) if initials else None
            plain_start = split_start = 0
            while len(out) < count:
                progressed = False
                if split is not None:
                    # Whole words by their initials first, then what Rime reads in the letters.
                    batch = self._fetch(self.session(key, "initials"), split, split_start, LOOK_AHEAD)
                    for i, text in enumerate(batch):
                        if len(text) == len(split.replace("'", "")):
                            add(Choice(text, split, split_start + i))
                    split_start += len(batch)
                    progressed |= bool(batch)
                    if len(batch) < LOOK_AHEAD:
                        split = None
                batch = self._fetch(self.session(key), letters, plain_start, LOOK_AHEAD)
                for i, text in enumerate(batch):
                    add(Choice(text, letters, plain_start + i))
                plain_start += len(batch)
                if not batch and not progressed:
                    break
            return out

    def by_initials(self, letters: str, context: str = "") -> list[str]:
        """Words from the initials index when ``letters`` are not whole syllables, best first.

        The words that go on from the text before (医疗 then ``bx``: 医疗保险
        is filed under ``ylbx``) move first; the context adds no word of its own.
        """
        key = letters.replace("'", "")
        if len(key) < 2 or NOT_INITIALS.intersection(key) or self.index.whole_syllables(letters):
            return []
        words = self.index.words(key)
        if not words:
            return words
        following: list[str] = []
        context = (context or "").rstrip()
        for size in (2, 1):
            tail = context[-size:]
            if len(tail) != size or not all(HAN.match(c) for c in tail):
                continue
            # Each reading of the characters (行: x or h), as the index files words under each.
            for prefix in self.index.initials_of(tail):
                following += [w[size:] for w in self.index.words(prefix + key) if w.startswith(tail)]
        ahead = [w for w in dict.fromkeys(following) if w in words]
        return ahead + [w for w in words if w not in ahead]

    def initials_too(self, letters: str) -> bool:
        """Whether ``letters`` are two letters read both as a syllable and as two initials (fa, de)."""
        return len(letters) == 2 and not NOT_INITIALS.intersection(letters) and self.index.whole_syllables(letters)

    def _fetch(self, session: int, typed: str, start: int, count: int) -> list[str]:
        self._type(session, typed)
        return [text for text, _ in self.rime.candidates(session, start, count)]

    def pick(self, letters: str, number: int, context: str = "", key: str = "") -> Picked:
        """Take candidate ``number`` (0-based, as listed) of ``letters``: its text, and the letters left."""
        letters = check_letters(letters)
        with self.lock:
            choices = self.choices(letters, context, number + 1, key)
            if number < 0 or number >= len(choices):
                raise IndexError(number)
            choice = choices[number]
            if choice.index == FROM_INDEX:
                return Picked(choice.text, "")  # a word of the index takes all the letters
            role = "plain" if choice.typed == letters else ("context" if choice.strip else "initials")
            session = self.session(key, role)
            self._type(session, choice.typed)
            committed = self.rime.select(session, choice.index)
            self.typed.pop(session, None)  # the session now holds a selection
            if committed is not None:
                rest = ""
            else:
                rest = _rest_letters(letters, self.rime.preedit(session), choice)
            self.rime.clear(session)
            return Picked(choice.text, rest)

    def words_starting_with(self, char: str, context: str = "", limit: int = 8, key: str = "") -> list[str]:
        """Words that begin with ``char`` (联想 after a character is chosen), likeliest first.

        Rime is asked for the character's reading followed by each initial; a
        word it offers first for one of them counts before one it offers second.
        With a context, the same is asked with the context's last character in
        front, and the words Rime reads as going on from it come first.
        """
        if not char or not HAN.match(char):
            return []
        reading = self.reading(char)
        if not reading:
            return []
        tail = _last_han(context)
        prefixes = [("", "plain")]
        if tail and self.reading(tail):
            prefixes.insert(0, (tail, "context"))
        ranked: list[tuple[int, int, int, str]] = []
        with self.lock:
            for level, (prefix, role) in enumerate(prefixes):
                session = self.session(key, role)
                typed = f"{self.reading(prefix)}'{reading}" if prefix else reading
                for order, initial in enumerate("sjdygzxlbhcqwfmtnkpr"):
                    for rank, text in enumerate(self._fetch(session, f"{typed}'{initial}", 0, 4)):
                        word = text[len(prefix):] if text.startswith(prefix + char) else ""
                        if len(word) >= 2 and self.shown(word):
                            ranked.append((level, rank, order, word))
        # A word only through the context may be a fragment of a sentence (路灯是 → 灯是):
        # the context reorders the words found without it, and adds none.
        words = {w for level, *_, w in ranked if level == len(prefixes) - 1}
        return list(dict.fromkeys(w for *_, w in sorted(ranked) if w in words))[:limit]

    def reading(self, text: str) -> str:
        """``text`` as Rime's input, each character's usual syllable separated by ', or "" when one has none."""
        syllables = [self.index.readings(ch)[:1] for ch in text]
        if not text or not all(syllables):
            return ""
        return "'".join(s[0] for s in syllables)

    def context_inputs(self, char: str, letters: str) -> list[str]:
        reading = self.reading(char)
        return [f"{reading}'{letters}"] if reading else []

    def shown(self, text: str) -> bool:
        """Whether ``text`` may be offered: the font draws it and it holds no blocked word."""
        return self.drawable(text) and not any(word in text for word in self.blocked)

    def drawable(self, text: str) -> bool:
        for ch in text:
            code = ord(ch)
            if code >= len(self.glyphs) * 8 or not self.glyphs[code >> 3] & (1 << (code & 7)):
                return False
        return True

    def _check_simplified(self) -> None:
        # librime's is_simplified says what was asked, not what OpenCC did:
        # look at what comes out.
        letters, simplified, traditional = SIMPLIFIED_PROBE
        with self.lock:
            session = self.session("")
            texts = self._fetch(session, letters, 0, 5)
            self.rime.clear(session)
            self.typed.pop(session, None)
        if simplified not in texts or traditional in texts:
            raise binding.RimeUnavailable(
                f"Rime gives {texts} for {letters}, not simplified characters (is libopencc-data installed?)")


def _last_han(context: str) -> str:
    context = (context or "").rstrip()
    return context[-1] if context and HAN.match(context[-1]) else ""


def _rest_letters(letters: str, preedit: str, choice: Choice) -> str:
    """The letters the pick left: those the preedit still shows as pinyin after the chosen text."""
    tail = preedit.split(choice.text, 1)[-1] if choice.text in preedit else preedit
    left = sum(1 for ch in tail if ch.isascii() and ch.isalpha() or ch == "ü")
    if left <= 0:
        return ""
    count = 0
    for i in range(len(letters) - 1, -1, -1):
        if letters[i] != "'":
            count += 1
            if count == left:
                return letters[i:]
    return letters.lstrip("'")


def _process_folder(folder: Path) -> Path:
    """A user data folder of this process's own (Rime's databases there take a lock)."""
    users = folder / "users"
    users.mkdir(mode=0o700, exist_ok=True)
    for old in users.iterdir():
        if old.name.isdigit() and not _alive(int(old.name)):
            shutil.rmtree(old, ignore_errors=True)
    own = users / str(os.getpid())
    own.mkdir(mode=0o700, exist_ok=True)
    atexit.register(shutil.rmtree, own, True)
    return own


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


_engine: Engine | None = None
_engine_lock = threading.Lock()


def engine_started() -> bool:
    return _engine is not None


def rime_folder(app) -> Path:
    setting = app.config.get("RIME_FOLDER") or "rime"
    return Path(app.instance_path) / setting


def engine(app) -> Engine:
    """The process's engine on ``app``'s Rime data, started (and the data built) on first use."""
    global _engine
    folder = rime_folder(app)
    with _engine_lock:
        if _engine is None:
            _engine = Engine(folder)
        elif _engine.folder != folder:
            raise binding.RimeUnavailable(f"this process runs Rime on {_engine.folder}, not {folder}")
        return _engine


def words_starting_with(app, char: str, context: str = "", limit: int = 8) -> list[str]:
    """Words beginning with ``char`` after ``context``: the 联想 row after a character is chosen."""
    return engine(app).words_starting_with(char, context, limit, key="associate")
