"""Words by their initials: an index of our own where Rime's abbreviations fall short.

Rime reads ``sh`` as one syllable and ranks abbreviated input poorly, so
letters that are not whole pinyin syllables (``dl``, ``aq``, ``shh``) are
also looked up here. The index is built at set-up from packaged data only:
the words of Rime's luna_pinyin dictionary (its preset vocabulary, essay.txt,
with their weights and the readings luna_pinyin.dict.yaml gives their
characters and phrases), made simplified by OpenCC as Rime does, plus the
domain dictionary. A word is filed under the first letter of each syllable,
and under zh/ch/sh as well where a syllable starts so (上海: ``sh`` and
``shh``). Within a key, words rank by weight, raised by the characters they
share with the domain words (the kiosk is about roads, water and the like),
and the text written just before moves the words that go on from it first.
"""

import ctypes
import ctypes.util
import itertools
import mmap
import re
from array import array
from pathlib import Path

INDEX_FILE = "initials.txt"
SYLLABLES_FILE = "syllables.txt"
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


def build(rime_data: Path, domain: list, folder: Path, blocked: list[str]) -> int:
    """Write the index of ``rime_data``'s words and the ``domain`` entries into ``folder``; the keys written."""
    chars, phrases = _luna(rime_data)
    words, weights = [], []
    for line in (rime_data / "essay.txt").read_text(encoding="utf-8").splitlines():
        word, _, weight = line.partition("\t")
        if 2 <= len(word) <= LONGEST and weight.isdigit():
            words.append(word)
            weights.append(int(weight))
    index: dict[str, dict[str, int]] = {}

    def file(text: str, keys: set[str], weight: int) -> None:
        if not HAN.match(text) or any(b in text for b in blocked):
            return
        for key in keys:
            under = index.setdefault(key, {})
            if under.get(text, -1) < weight:
                under[text] = weight

    for word, simple, weight in zip(words, simplified(words), weights):
        if word in phrases:
            readings = [[r.split()[i] for r in phrases[word]] for i in range(len(word))]
        elif all(c in chars for c in word):
            readings = [chars[c] for c in word]
        else:
            continue
        file(simple, keys_for(readings), weight)
    domain_chars = set()
    for entry in domain:
        if len(entry.text) >= 2:
            file(entry.text, keys_for([[s] for s in entry.pinyin.split()]), entry.weight)
            if entry.weight >= 1000:  # the domain's words, not its many village names
                domain_chars.update(entry.text)

    def score(text: str, weight: int) -> float:
        return weight * (1 + sum(1 for c in text if c in domain_chars))

    lines = []
    for key in sorted(index):
        under = index[key]
        ranked = sorted(under, key=lambda t: (-score(t, under[t]), t))[:PER_KEY]
        lines.append(f"{key}\t{' '.join(ranked)}\n")
    folder.mkdir(parents=True, exist_ok=True)
    _write(folder / INDEX_FILE, "".join(lines))
    syllables = sorted({s for readings in chars.values() for r in readings for s in r.split()})
    _write(folder / SYLLABLES_FILE, " ".join(s for s in syllables if s.isascii() and s.isalpha()) + "\n")
    return len(lines)


def _write(path: Path, text: str) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


class Index:
    """The index on disk, mapped (processes share its pages), looked up by binary search."""

    def __init__(self, folder: Path):
        with open(folder / INDEX_FILE, "rb") as f:
            self.data = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        starts = array("I", [0])
        position = self.data.find(b"\n")
        while position != -1 and position + 1 < len(self.data):
            starts.append(position + 1)
            position = self.data.find(b"\n", position + 1)
        self.starts = starts
        self.syllables = frozenset((folder / SYLLABLES_FILE).read_text(encoding="ascii").split())
        self.longest_syllable = max(map(len, self.syllables))

    def _key_at(self, i: int) -> bytes:
        start = self.starts[i]
        return self.data[start:self.data.find(b"\t", start)]

    def words(self, key: str) -> list[str]:
        """The words filed under ``key``, best first."""
        wanted = key.encode("ascii")
        low, high = 0, len(self.starts)
        while low < high:
            middle = (low + high) // 2
            if self._key_at(middle) < wanted:
                low = middle + 1
            else:
                high = middle
        if low == len(self.starts) or self._key_at(low) != wanted:
            return []
        start = self.starts[low] + len(wanted) + 1
        return self.data[start:self.data.find(b"\n", start)].decode("utf-8").split(" ")

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
