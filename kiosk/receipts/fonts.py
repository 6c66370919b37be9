"""The receipt fonts: Noto Sans CJK SC, cut down to what receipts print.

Run by ``make`` as ``python -m kiosk.receipts.fonts``. The full Noto CJK
faces hold 65,535 glyphs each; WeasyPrint has to open and subset the font on
every receipt, and a GB2312-sized face (about 7,500 characters) makes that
several times quicker. Real bold is kept: Regular and Bold are cut from
their own faces, never synthesised.

Characters outside the cut (a rare character in a village's or a person's
text) still print: the receipt's font stack names the full Noto face after
the cut one, and fontconfig finds it among the system fonts. (A private
fontconfig that sees only these fonts was measured too: no faster.)

Quick when nothing changed: the outputs carry a digest of the character set
and the source fonts, and are rebuilt only when it differs.
"""

import hashlib
import logging
import os
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from .. import PROJECT_ROOT
from ..demo import data

log = logging.getLogger(__name__)

SOURCE_DIR = Path("/usr/share/fonts/opentype/noto")
SOURCES = {"regular": SOURCE_DIR / "NotoSansCJK-Regular.ttc", "bold": SOURCE_DIR / "NotoSansCJK-Bold.ttc"}
SOURCE_FAMILY = "Noto Sans CJK SC"
FONTS_DIR = PROJECT_ROOT / "static" / "fonts"
# The cut fonts get their own family name, so that fontconfig never takes
# them for the full Noto face that serves as fallback.
FAMILY = "Receipt Sans SC"
FALLBACK_FAMILY = SOURCE_FAMILY
# Change when the way the fonts are cut changes, to rebuild them.
CUT_VERSION = "3"


def font_path(weight: str) -> Path:
    return FONTS_DIR / f"receipt-sc-{weight}.otf"


def receipt_characters() -> str:
    """GB2312, Latin, punctuation, and every character of the demo place names."""
    chars = set()
    for lead in range(0xA1, 0xF8):
        for trail in range(0xA1, 0xFF):
            try:
                chars.add(bytes((lead, trail)).decode("gb2312"))
            except UnicodeDecodeError:
                pass
    ranges = [
        (0x20, 0x7E),  # ASCII
        (0xA0, 0xFF),  # Latin-1
        (0x2000, 0x206F),  # general punctuation: — ‘ ’ “ ” …
        (0x2100, 0x214F),  # letterlike: ℃ №
        (0x2160, 0x217F),  # Roman numerals
        (0x2190, 0x21FF),  # arrows
        (0x2460, 0x24FF),  # circled numbers ①
        (0x2500, 0x257F),  # box drawing, for rules on the slip
        (0x25A0, 0x25FF),  # geometric shapes ■ ○
        (0x3000, 0x303F),  # CJK punctuation
        (0xFF00, 0xFFEF),  # full-width forms
    ]
    for start, end in ranges:
        chars.update(chr(c) for c in range(start, end + 1))
    chars.update(_place_name_characters())
    return "".join(sorted(chars))


def _place_name_characters() -> set[str]:
    """Characters of the township, village and category names.

    Place names use characters GB2312 lacks (榃 of 榃滨镇); every one the
    demo data knows is kept in the cut, not left to the fallback.
    """
    names = [t[0] for t in data.TOWNSHIPS] + [c[1] for c in data.CATEGORIES]
    text = "".join(names) + data.SURNAMES + data.GIVEN + data.VILLAGE_FIRST + data.VILLAGE_SECOND
    text += "".join(data.OCCUPATIONS)
    # Fixed words printed on every receipt (templates/receipts/receipt.html).
    text += "人大代表中心联络站联络点意见建议回执验证码扫码查看办理进度个工作日内答复镇人大办电话"
    return set(text)


def _digest(chars: str) -> str:
    h = hashlib.sha256(chars.encode())
    for path in SOURCES.values():
        stat = path.stat()
        h.update(f"{path}:{stat.st_size}:{int(stat.st_mtime)}".encode())
    h.update(FAMILY.encode() + CUT_VERSION.encode())
    return h.hexdigest()


def _face_index(path: Path) -> int:
    """Index of the Simplified Chinese face inside a Noto CJK collection."""
    # fontTools is needed only to cut the fonts (a build step), not to serve.
    from fontTools.ttLib import TTCollection

    collection = TTCollection(str(path), lazy=True)
    for index, font in enumerate(collection.fonts):
        if font["name"].getDebugName(1) == SOURCE_FAMILY:
            return index
    raise RuntimeError(f"{path} has no {SOURCE_FAMILY} face")


def _cut(source: Path, target: Path, chars: str, weight: str) -> None:
    # fontTools is needed only to cut the fonts (a build step), not to serve.
    from fontTools import subset
    from fontTools.ttLib import TTFont

    logging.getLogger("fontTools").setLevel(logging.ERROR)

    font = TTFont(str(source), fontNumber=_face_index(source), lazy=False)
    options = subset.Options()
    options.name_IDs = ["*"]
    options.name_languages = ["*"]
    options.notdef_outline = True
    # Horizontal Chinese and Latin need no more; the Japanese, Korean and
    # traditional forms behind "locl" and the vertical forms would double
    # the glyph count.
    # Horizontal Chinese and Latin need no OpenType layout features; the
    # Japanese, Korean and traditional forms behind "locl" and the vertical
    # forms would double the glyph count. (WeasyPrint drops these tables
    # from the PDF anyway.)
    options.layout_features = []
    options.drop_tables += ["GSUB", "GPOS", "GDEF", "BASE"]
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=[ord(c) for c in chars])
    subsetter.subset(font)
    _number_cids_by_glyph(font)
    _rename(font, weight)
    tmp = target.with_suffix(".tmp")
    font.save(str(tmp))
    os.replace(tmp, target)


def _number_cids_by_glyph(font) -> None:
    """Make every glyph's CID its glyph index again, as in the source font.

    Subsetting packs the glyphs but keeps their CIDs. WeasyPrint writes
    glyph indexes into the PDF as CIDs; PDF viewers forgive the mismatch,
    but CUPS's pdftops and Ghostscript (the printing path) look glyphs up by
    CID and the receipt would print blank boxes. Keeping all 65,535 glyph
    slots instead makes every receipt three times slower to write.
    """
    order = font.getGlyphOrder()
    new_order = [order[0]] + [f"cid{index:05d}" for index in range(1, len(order))]
    new_name = dict(zip(order, new_order))
    for table in font["cmap"].tables:
        table.cmap = {code: new_name[name] for code, name in table.cmap.items()}
    for tag in ("hmtx", "vmtx"):
        if tag in font:
            font[tag].metrics = {new_name[name]: m for name, m in font[tag].metrics.items()}
    if "VORG" in font:
        vorg = font["VORG"]
        vorg.VOriginRecords = {new_name[name]: y for name, y in vorg.VOriginRecords.items()}
    top = font["CFF "].cff.topDictIndex[0]
    top.CharStrings.charStrings = {new_name[name]: i for name, i in top.CharStrings.charStrings.items()}
    top.charset = new_order
    font.setGlyphOrder(new_order)


def _rename(font, weight: str) -> None:
    style = "Bold" if weight == "bold" else "Regular"
    postscript = f"{FAMILY.replace(' ', '')}-{style}"
    names = {1: FAMILY, 2: style, 4: f"{FAMILY} {style}", 6: postscript, 16: FAMILY, 17: style}
    name_table = font["name"]
    for record in list(name_table.names):
        if record.nameID in (1, 3, 4, 6, 16, 17):
            name_table.removeNames(nameID=record.nameID)
    for name_id, value in names.items():
        name_table.setName(value, name_id, 3, 1, 0x409)
    name_table.setName(f"{postscript};receipt", 3, 3, 1, 0x409)
    cff = font["CFF "].cff
    cff.fontNames = [postscript]
    top = cff.topDictIndex[0]
    for key in ("FullName", "FamilyName"):
        if hasattr(top, key):
            setattr(top, key, names[4] if key == "FullName" else FAMILY)


def build(force: bool = False) -> bool:
    """Cut both weights; False when they are up to date."""
    chars = receipt_characters()
    digest = _digest(chars)
    stamp = FONTS_DIR / "receipt-sc.digest"
    outputs = [font_path(w) for w in SOURCES]
    if not force and all(p.exists() for p in outputs) and stamp.exists() and stamp.read_text() == digest:
        return False
    FONTS_DIR.mkdir(parents=True, exist_ok=True)
    # Each cut takes half a minute of one CPU: both weights at once.
    with ProcessPoolExecutor(max_workers=len(SOURCES)) as pool:
        cuts = [pool.submit(_cut, source, font_path(w), chars, w) for w, source in SOURCES.items()]
        for cut in cuts:
            cut.result()
    stamp.write_text(digest)
    return True


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    logging.getLogger("fontTools").setLevel(logging.ERROR)
    missing = [str(p) for p in SOURCES.values() if not p.exists()]
    if missing:
        print(f"missing source fonts (Debian package fonts-noto-cjk): {', '.join(missing)}", file=sys.stderr)
        return 1
    if build(force="--force" in sys.argv):
        sizes = ", ".join(f"{font_path(w).name} {font_path(w).stat().st_size // 1024} KB" for w in SOURCES)
        print(f"receipt fonts written: {sizes}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
