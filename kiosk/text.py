"""Cleaning what people type, and masking what must not be shown."""

import re
import unicodedata

# C0 control characters other than TAB, LF and CR: nothing a person types, and
# a NUL is refused by PostgreSQL, so none of them ever reaches a view or a row.
CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")
NUL = re.compile("\x00")
# What is removed, by Unicode category: format characters (zero-width,
# direction controls, tags, interlinear annotations), controls, line and
# paragraph separators, private-use, surrogates and unassigned code points.
# Invisible, and used to make one text look like another.
_REMOVED_CATEGORIES = frozenset({"Cf", "Cc", "Zl", "Zp", "Co", "Cs", "Cn"})
# Reviewed one by one: letters or marks by category, yet blank on screen
# (Hangul fillers, the combining grapheme joiner).
_BLANK = frozenset("\u115f\u1160\u3164\uffa0\u034f")
_ZWJ = "\u200d"
# What may stand between an emoji and the ZWJ that joins it to the next:
# the emoji presentation selector and the skin-tone modifiers.
_EMOJI_TRAIL = frozenset("\ufe0f") | frozenset(chr(c) for c in range(0x1F3FB, 0x1F400))


def _is_emoji(ch: str) -> bool:
    return unicodedata.category(ch) == "So"


def _joins_emoji(value: str, i: int) -> bool:
    """Whether the ZWJ at ``i`` sits inside an emoji sequence (👨‍👩‍👧): kept, or the emoji splits."""
    before = i - 1
    while before >= 0 and value[before] in _EMOJI_TRAIL:
        before -= 1
    return before >= 0 and i + 1 < len(value) and _is_emoji(value[before]) and _is_emoji(value[i + 1])


def _kept(value: str, i: int) -> bool:
    ch = value[i]
    if ch == "\n":
        return True
    if ch == _ZWJ:
        return _joins_emoji(value, i)
    return ch not in _BLANK and unicodedata.category(ch) not in _REMOVED_CATEGORIES


def clean_text(value: str | None) -> str:
    """Remove control, format and blank characters; keep everything else as typed.

    Line breaks and tabs stay (as ``\\n`` and a space); a zero-width joiner
    stays inside an emoji sequence only. Markup is kept: it is escaped
    wherever it is shown, never stripped.
    """
    if not value:
        return ""
    value = value.replace("\r\n", "\n").replace("\r", "\n").replace("\t", " ")
    value = "".join(value[i] for i in range(len(value)) if _kept(value, i))
    return value.strip()


def holds_control_characters(value, pattern: re.Pattern = CONTROL) -> bool:
    """Whether a text, or any key or text inside parsed JSON, holds a ``CONTROL`` (or ``pattern``) character."""
    # A loop, not recursion: parsed JSON may be nested as deep as the parser allows.
    waiting = [value]
    while waiting:
        item = waiting.pop()
        if isinstance(item, str):
            if pattern.search(item):
                return True
        elif isinstance(item, dict):
            waiting.extend(item.keys())
            waiting.extend(item.values())
        elif isinstance(item, (list, tuple)):
            waiting.extend(item)
    return False


def mask_phone(phone: str | None) -> str:
    """138****5678: enough for its owner to recognise, no more."""
    if not phone:
        return ""
    if len(phone) < 8:
        return "*" * len(phone)
    return f"{phone[:3]}{'*' * (len(phone) - 7)}{phone[-4:]}"


def mask_name(name: str | None) -> str:
    """陈**: the family name, no more."""
    if not name:
        return ""
    return name[0] + "*" * (len(name) - 1)


_FULL_WIDTH_DIGITS = str.maketrans("０１２３４５６７８９", "0123456789")


def mask_personal(text: str, names=()) -> str:
    """``text`` with mobile and ID-card numbers masked, and each of ``names``
    (a constituent's name and phone number as held), for records kept for
    good (the audit log): 138****8000, 445381********1234, 陈**.
    """
    text = text.translate(_FULL_WIDTH_DIGITS)
    for value in names:
        value = (value or "").strip()
        digits = re.sub(r"\D", "", value)
        if len(digits) >= 7:
            spaced = re.compile(r"(?<!\d)" + _SEP.join(digits) + r"(?!\d)")
            text = spaced.sub(mask_phone(digits), text)
        elif not digits and len(value) >= 2:
            text = text.replace(value, mask_name(value))
    text = _MOBILE.sub(lambda m: mask_phone(re.sub(r"\D", "", m.group())), text)
    return _ID_CARD.sub(lambda m: m.group()[:6] + "*" * (len(m.group()) - 10) + m.group()[-4:], text)


# Personal data that must not go into public text (a reply or a reason shown on
# the status page, at stations and in Open311). Digits may come with spaces or
# hyphens inside, full-width digits are read as digits (NFKC).
_SEP = r"[\s\-－—.]*"
_MOBILE = re.compile(rf"(?<!\d)1{_SEP}[3-9](?:{_SEP}\d){{9}}(?!\d)")
_ID_CARD = re.compile(rf"(?<!\d)\d(?:{_SEP}\d){{16}}{_SEP}[\dXx](?![\dA-Za-z])")
# 0766-3822000, (0766)3822000, 020 12345678; or a bare local number of 7 or 8
# digits starting 2 to 8 that is not a date (20260302), an amount or a count.
_AREA_CODE_NUMBER = rf"[(（]?0\d{{2,3}}[)）]?{_SEP}[2-9]\d{{2,3}}{_SEP}\d{{4}}"
_NOT_A_DATE = r"(?!20\d\d(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])(?!\d))"
_LOCAL_NUMBER = rf"{_NOT_A_DATE}[2-8]\d{{2,3}}{_SEP}\d{{4}}(?![\d年月日号元万亿米个人户次件条%％.])"
_LANDLINE = re.compile(rf"(?<!\d)(?:{_AREA_CODE_NUMBER}|{_LOCAL_NUMBER})(?!\d)")
_BETWEEN_DIGITS = re.compile(r"(?<=\d)[\s\-－—.()（）]+(?=\d)")


def personal_data_in(text: str | None, names=()) -> str | None:
    """What personal data ``text`` holds, in Chinese (for the refusal), or None.

    Looks for a mobile number, a landline number, an ID-card number, and each
    of ``names`` (the constituent's name and phone number as held): a name of
    two characters or more anywhere in the text, a phone number's digits even
    when typed with spaces or hyphens.
    """
    if not text:
        return None
    text = unicodedata.normalize("NFKC", text)
    joined = _BETWEEN_DIGITS.sub("", text)
    for value in names:
        value = unicodedata.normalize("NFKC", (value or "").strip())
        digits = re.sub(r"\D", "", value)
        if len(digits) >= 7 and digits in joined:
            return "反映人的电话号码"
        if not digits and len(value) >= 2 and value in text:
            return f"反映人的姓名（{value}）"
    if _ID_CARD.search(text):
        return "身份证号码"
    if _MOBILE.search(text):
        return "手机号码"
    if _LANDLINE.search(text):
        return "电话号码"
    return None
