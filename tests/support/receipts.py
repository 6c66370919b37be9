"""Looking at receipt PDFs with the tools a person would use: poppler and two QR readers."""

import re
import subprocess
import tempfile
from pathlib import Path

import zxingcpp
from PIL import Image

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "test-results"
PT_PER_MM = 72 / 25.4
# A thermal receipt printer's resolution.
DPI = 203


def write(pdf: bytes, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(pdf)
    return path


def fonts(pdf_path: Path) -> list[dict]:
    """``pdffonts`` rows as dicts: name, type, emb."""
    lines = subprocess.run(["pdffonts", str(pdf_path)], capture_output=True, text=True, check=True).stdout
    rows = []
    for line in lines.splitlines()[2:]:
        parts = line.split()
        # name, type (several words), encoding, emb, sub, uni, object, id
        rows.append({"name": parts[0], "type": " ".join(parts[1:-6]), "emb": parts[-5]})
    return rows


def text(pdf_path: Path) -> str:
    return subprocess.run(["pdftotext", str(pdf_path), "-"], capture_output=True, text=True, check=True).stdout


def page_size_mm(pdf_path: Path) -> tuple[float, float]:
    info = subprocess.run(["pdfinfo", str(pdf_path)], capture_output=True, text=True, check=True).stdout
    width, height = re.search(r"Page size:\s+([\d.]+) x ([\d.]+) pts", info).groups()
    return float(width) / PT_PER_MM, float(height) / PT_PER_MM


def rasterise(pdf_path: Path, png_path: Path, dpi: int = DPI) -> Image.Image:
    """The page as the printer would see it, saved as a PNG for review."""
    png_path.parent.mkdir(parents=True, exist_ok=True)
    stem = png_path.with_suffix("")
    subprocess.run(
        ["pdftoppm", "-r", str(dpi), "-png", "-singlefile", str(pdf_path), str(stem)], check=True
    )
    return Image.open(png_path)


def blank_below_last_mark_mm(image: Image.Image, dpi: int = DPI) -> float:
    """Millimetres of white between the last drawn pixel and the bottom edge."""
    grey = image.convert("L")
    bbox = grey.point(lambda v: 255 if v < 200 else 0).getbbox()
    assert bbox, "the page is blank"
    return (grey.height - bbox[3]) / dpi * 25.4


def qr_texts(image: Image.Image) -> list[str]:
    """What the page's QR codes say, read by zxing-cpp and by zbar, who must agree.

    The kiosk draws its codes with the ``qrcode`` package; two readers from
    other projects, agreeing, keep the check from trusting one reader's quirks.
    """
    by_zxing = [result.text for result in zxingcpp.read_barcodes(image)]
    with tempfile.NamedTemporaryFile(suffix=".png") as png:
        image.save(png.name)
        found = subprocess.run(
            ["zbarimg", "--quiet", "--raw", "-Sdisable", "-Sqrcode.enable", png.name],
            capture_output=True,
            text=True,
        )
    # zbarimg exits 4 when it finds no code.
    assert found.returncode in (0, 4), found.stderr
    by_zbar = found.stdout.splitlines()
    assert sorted(by_zbar) == sorted(by_zxing), f"zbar read {by_zbar}, zxing-cpp read {by_zxing}"
    return by_zxing


def difference(a: Image.Image, b: Image.Image) -> float:
    """Pixels that differ between two pages, as a share of the dark pixels of ``a``.

    Near 0 when both show the same marks; a font lost on the way (blank
    boxes instead of characters) makes it large.
    """
    a, b = (im.convert("L").point(lambda v: 255 if v < 128 else 0) for im in (a, b))
    if a.size != b.size:
        b = b.resize(a.size)
    from PIL import ImageChops

    changed = ImageChops.difference(a, b).histogram()[255]
    dark = a.histogram()[255]
    return changed / max(dark, 1)
