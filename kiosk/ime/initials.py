"""Words by their initials: an index of our own where Rime's abbreviations fall short.

Rime reads ``sh`` as one syllable and ranks abbreviated input poorly, so
letters that are not whole pinyin syllables (``dl``, ``aq``, ``shh``) are
also looked up here. The index is built at set-up from packaged data only:
the words of Rime's luna_pinyin dictionary (its preset vocabulary, essay.txt,
with their weights and the readings luna_pinyin.dict.yaml gives their
characters and phrases), made simplified by OpenCC as Rime does; the words
of jieba's dictionary (PyPI ``jieba``, ``jieba/dict.txt``: about 349,000
words with their counts in a corpus of mostly press text; MIT licence),
read by pypinyin where Rime lacks them; and the domain dictionary. A word is
filed under the first letter of each syllable, and under zh/ch/sh as well
where a syllable starts so (上海: ``sh`` and ``shh``). Within a key, each
corpus ranks the words by its own numbers, raised by the characters they
share with the domain words (the kiosk is about roads, water and the like),
and the words go by their mean rank (``fused``); the text written just
before moves the words that go on from it first.
"""

import ctypes
import ctypes.util
import itertools
import os
import re
from pathlib import Path

INDEX_FILE = "initials.txt"
SYLLABLES_FILE = "syllables.txt"
# Each character's readings, the usual one first (pypinyin's, written at set-up:
# the station reads this file rather than carry pypinyin's dictionaries, some 55 MB).
READINGS_FILE = "readings.txt"
HAN_BLOCKS = ((0x3400, 0x4DBF), (0x4E00, 0x9FFF))
# Words kept under one key: several pages, more than anyone pages through.
PER_KEY = 40
# Words longer than this are phrases rarely typed by initials.
LONGEST = 6
# A reading the dictionary gives a character less often than this is left out,
# as Rime itself leaves it out when it spells a phrase from its characters.
RARE_READING = 0.05
RETROFLEX = ("zh", "ch", "sh")
HAN = re.compile(r"^[\u3400-\u9fff]+$")
OPENCC_T2S = Path("/usr/share/opencc/t2s.json")


def keys_for(syllables: list[list[str]]) -> set[str]:
    """The keys a word is filed under, given each character's possible syllables."""
    per_char = []
    for readings in syllables:
        heads = set()
        for syllable in readings:
            heads.add(syllable[0])
            if syllable[:2] in RETROFLEX:
                heads.add(syllable[:2])
        per_char.append(sorted(heads))
    return {"".join(combo) for combo in itertools.product(*per_char)}


def _luna(rime_data: Path) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """luna_pinyin.dict.yaml: each character's usual readings, and the phrases it spells out."""
    chars: dict[str, list[tuple[str, float]]] = {}
    phrases: dict[str, list[str]] = {}
    body = (rime_data / "luna_pinyin.dict.yaml").read_text(encoding="utf-8").split("\n...\n", 1)[-1]
    for line in body.splitlines():
        parts = line.split("\t")
        if len(parts) < 2 or line.startswith("#"):
            continue
        share = 1.0
        if len(parts) >= 3 and parts[2].endswith("%"):
            share = float(parts[2][:-1] or 0) / 100
        reading = parts[1].replace("ü", "v")
        if len(parts[0]) == 1:
            chars.setdefault(parts[0], []).append((reading, share))
        elif share > 0:
            phrases.setdefault(parts[0], []).append(reading)
    usual = {c: [r for r, s in rs if s >= RARE_READING] or [r for r, _ in rs] for c, rs in chars.items()}
    return usual, phrases


def simplified(texts: list[str]) -> list[str]:
    """``texts`` in simplified characters, through OpenCC (the converter Rime's luna_pinyin_simp uses)."""
    name = ctypes.util.find_library("opencc") or "libopencc.so.1.1"
    lib = ctypes.CDLL(name)
    lib.opencc_open.restype = ctypes.c_void_p
    lib.opencc_open.argtypes = [ctypes.c_char_p]
    lib.opencc_convert_utf8.restype = ctypes.c_void_p
    lib.opencc_convert_utf8.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_size_t]
    lib.opencc_convert_utf8_free.argtypes = [ctypes.c_void_p]
    lib.opencc_close.argtypes = [ctypes.c_void_p]
    handle = lib.opencc_open(str(OPENCC_T2S).encode())
    if not handle or handle == ctypes.c_void_p(-1).value:
        raise RuntimeError(f"OpenCC cannot open {OPENCC_T2S} (is libopencc-data installed?)")
    try:
        source = "\n".join(texts).encode("utf-8")
        out = lib.opencc_convert_utf8(handle, source, len(source))
        try:
            converted = ctypes.string_at(out).decode("utf-8").split("\n")
        finally:
            lib.opencc_convert_utf8_free(out)
    finally:
        lib.opencc_close(handle)
    if len(converted) != len(texts):
        raise RuntimeError("OpenCC changed the number of lines")
    return converted


def _rime_words(rime_data: Path) -> tuple[list[str], list[int], list[set[str]]]:
    """Rime's preset vocabulary (essay.txt): words, weights, and the keys each is filed under."""
    chars, phrases = _luna(rime_data)
    words, weights = [], []
    for line in (rime_data / "essay.txt").read_text(encoding="utf-8").splitlines():
        word, _, weight = line.partition("\t")
        if 2 <= len(word) <= LONGEST and weight.isdigit():
            words.append(word)
            weights.append(int(weight))
    out_words, out_weights, out_keys = [], [], []
    for word, simple, weight in zip(words, simplified(words), weights):
        if word in phrases:
            readings = [[r.split()[i] for r in phrases[word]] for i in range(len(word))]
        elif all(c in chars for c in word):
            readings = [chars[c] for c in word]
        else:
            continue
        out_words.append(simple)
        out_weights.append(weight)
        out_keys.append(keys_for(readings))
    return out_words, out_weights, out_keys


def _jieba_words(path: Path) -> dict[str, int]:
    """jieba's dictionary: each word of 2 to LONGEST characters, simplified, with its count."""
    from .lexicon import read_words

    counted = [(w, n) for w, n in read_words(path) if 2 <= len(w) <= LONGEST]
    out: dict[str, int] = {}
    for (_, count), simple in zip(counted, simplified([w for w, _ in counted])):
        out[simple] = max(out.get(simple, 0), count)
    return out


def fused(entries: dict[str, tuple[int, int, bool]], relevance) -> list[str]:
    """The words of one key, best first: each corpus ranks the words it counts, the order is by mean rank.

    ``entries`` gives each word's weight in Rime's vocabulary (-1 when it has
    none: such a word comes after all of Rime's), its count in jieba's
    dictionary (0 when it has none) and whether it is a domain word. Rime's
    ranking is by weight times ``relevance``, jieba's by count times
    ``relevance``; a word jieba does not count, and every domain word (its
    weight is ours, not a corpus's), stands in jieba's ranking where it
    stands in Rime's. Two corpora outvote either one's quirks (essay.txt
    counts web chat: 还不, 好吧; jieba's counts lean to the press), and the
    mean of the ranks needs no common scale between their numbers.
    """
    # A word Rime lacks (weight -1) ranks among those by its count alone.
    by_rime = sorted(entries, key=lambda t: (entries[t][0] < 0, -max(entries[t][0], 0) * relevance(t),
                                             -entries[t][1] * relevance(t), t))
    rime_place = {t: i for i, t in enumerate(by_rime)}
    counted = sorted((t for t, (_, count, domain) in entries.items() if count and not domain),
                     key=lambda t: (-entries[t][1] * relevance(t), rime_place[t]))
    by_jieba = counted
    if len(counted) < len(entries):
        counted_set = set(counted)
        by_jieba = []
        rest = iter(counted)
        for text in by_rime:
            if text in counted_set:
                continue
            while len(by_jieba) < rime_place[text]:
                nxt = next(rest, None)
                if nxt is None:
                    break
                by_jieba.append(nxt)
            by_jieba.append(text)
        by_jieba.extend(rest)
    jieba_place = {t: i for i, t in enumerate(by_jieba)}
    return sorted(entries, key=lambda t: (rime_place[t] + jieba_place[t], rime_place[t]))


def build(rime_data: Path, domain: list, folder: Path, blocked: list[str], jieba_dict: Path | None = None) -> int:
    """Write the index of ``rime_data``'s and ``jieba_dict``'s words and the ``domain`` entries into ``folder``."""
    # key -> word -> [weight in Rime's vocabulary or -1, count in jieba's or 0, a domain word]
    index: dict[str, dict[str, list]] = {}

    def file(text: str, keys: set[str], weight: int = -1, domain: bool = False) -> None:
        if not HAN.match(text) or any(b in text for b in blocked):
            return
        for key in keys:
            entry = index.setdefault(key, {}).setdefault(text, [-1, 0, False])
            entry[0] = max(entry[0], weight)
            entry[2] = entry[2] or domain

    filed: set[str] = set()
    for word, weight, keys in zip(*_rime_words(rime_data)):
        file(word, keys, weight)
        filed.add(word)
    domain_chars = set()
    for entry in domain:
        if len(entry.text) >= 2:
            file(entry.text, keys_for([[s] for s in entry.pinyin.split()]), entry.weight, True)
            filed.add(entry.text)
            if entry.weight >= 1000:  # the domain's words, not its many village names
                domain_chars.update(entry.text)
    counts = _jieba_words(jieba_dict) if jieba_dict else {}
    for word in counts.keys() - filed:
        # Words Rime lacks are filed by their reading as a whole (多音字 in context).
        syllables = _reading(word)
        if syllables:
            file(word, keys_for([[s] for s in syllables]))
    for under in index.values():
        for text, entry in under.items():
            entry[1] = counts.get(text, 0)

    def relevance(text: str) -> int:
        return 1 + sum(1 for c in text if c in domain_chars)

    lines = []
    for key in sorted(index):
        under = {t: tuple(e) for t, e in index[key].items()}
        lines.append(f"{key}\t{' '.join(fused(under, relevance)[:PER_KEY])}\n")
    folder.mkdir(parents=True, exist_ok=True)
    _write(folder / INDEX_FILE, "".join(lines))
    chars, _ = _luna(rime_data)
    syllables = sorted({s for readings in chars.values() for r in readings for s in r.split()})
    _write(folder / SYLLABLES_FILE, " ".join(s for s in syllables if s.isascii() and s.isalpha()) + "\n")
    _write(folder / READINGS_FILE, _readings())
    return len(lines)


def _readings() -> str:
    """A line for each Han character pypinyin reads: the character, a tab, its readings (usual first)."""
    from pypinyin import Style, pinyin

    lines = []
    for first, last in HAN_BLOCKS:
        for code in range(first, last + 1):
            found = pinyin(chr(code), style=Style.NORMAL, heteronym=True, errors="ignore")
            readings = [r.replace("ü", "v") for r in (found[0] if found else [])]
            readings = list(dict.fromkeys(r for r in readings if r.isascii() and r.isalpha()))
            if readings:
                lines.append(f"{chr(code)}\t{' '.join(readings)}\n")
    return "".join(lines)  # code point order is UTF-8's byte order, as the look-up needs


def _reading(word: str) -> list[str]:
    from pypinyin import Style, lazy_pinyin

    syllables = lazy_pinyin(word, style=Style.NORMAL, errors="ignore")
    if len(syllables) != len(word) or not all(s.isascii() and s.isalpha() for s in syllables):
        return []
    return [s.replace("ü", "v") for s in syllables]


def _write(path: Path, text: str) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


class SortedLines:
    """A file of lines sorted by their first field (``key<TAB>rest``), searched in place.

    A binary search by bytes, reading the line around a middle byte with
    ``pread``: a look-up reads a few blocks of the file (the page cache
    holds them for every process) and maps none of it, so the file is no
    part of the station's memory.
    """

    WINDOW = 4096  # longer than any line

    def __init__(self, path: Path):
        self.fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        self.size = os.fstat(self.fd).st_size

    def _line_at(self, position: int) -> tuple[int, bytes]:
        """The start and the bytes of the line holding byte ``position``."""
        base = max(0, position - self.WINDOW // 2)
        chunk = os.pread(self.fd, self.WINDOW, base)
        start = chunk.rfind(b"\n", 0, position - base) + 1
        end = chunk.find(b"\n", position - base)
        if (start == 0 and base > 0) or end == -1 and base + len(chunk) < self.size:
            raise ValueError(f"a line longer than {self.WINDOW} bytes near byte {position}")
        return base + start, chunk[start:end if end != -1 else len(chunk)]

    def find(self, wanted: bytes) -> str | None:
        """The rest of the line whose key is ``wanted``, or None."""
        low, high = 0, self.size  # lines starting before low sort below wanted; from high on, not
        while low < high:
            start, line = self._line_at((low + high) // 2)
            if line.partition(b"\t")[0] < wanted:
                low = start + len(line) + 1
            else:
                high = start
        if low >= self.size:
            return None
        key, _, rest = self._line_at(low)[1].partition(b"\t")
        return rest.decode("utf-8") if key == wanted else None


class Index:
    """The index and the readings on disk, looked up by binary search."""

    def __init__(self, folder: Path):
        self.lines = SortedLines(folder / INDEX_FILE)
        self.reading_lines = SortedLines(folder / READINGS_FILE)
        self.syllables = frozenset((folder / SYLLABLES_FILE).read_text(encoding="ascii").split())
        self.longest_syllable = max(map(len, self.syllables))

    def words(self, key: str) -> list[str]:
        """The words filed under ``key``, best first."""
        found = self.lines.find(key.encode("ascii"))
        return found.split(" ") if found else []

    def readings(self, char: str) -> list[str]:
        """The character's readings, the usual one first ([] when it has none)."""
        found = self.reading_lines.find(char.encode("utf-8")) if len(char) == 1 else None
        return found.split(" ") if found else []

    def initials_of(self, text: str) -> set[str]:
        """The first letters of ``text``'s syllables, for each reading of its characters."""
        heads = [{r[0] for r in self.readings(ch)} for ch in text]
        return {"".join(combo) for combo in itertools.product(*heads)} if all(heads) else set()

    def whole_syllables(self, letters: str) -> bool:
        """Whether ``letters`` read as whole pinyin syllables (``'`` between some of them)."""
        return all(self._splits(part) for part in letters.split("'") if part)

    def _splits(self, letters: str) -> bool:
        reachable = [True] + [False] * len(letters)
        for end in range(1, len(letters) + 1):
            for length in range(1, min(self.longest_syllable, end) + 1):
                if reachable[end - length] and letters[end - length:end] in self.syllables:
                    reachable[end] = True
                    break
        return reachable[-1]
