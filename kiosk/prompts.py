"""朗读: each kiosk screen's question and buttons, read aloud in 普通话 or 粤语.

Made with Debian's espeak-ng, offline: by ``deploy/build-release`` into the
release's ``prompts/`` (so an installed box needs no espeak-ng), or at
set-up (``flask prompts make``) into the instance folder on a checkout; the
station serves them from there. No network, no cloud voice. Debian 12's espeak-ng reads Chinese characters with its
``cmn``/``zh`` voices as English letters, so Mandarin is fed pinyin with
tone numbers (pypinyin) to its ``cmn-latn-pinyin`` voice; its ``yue`` voice
reads the characters themselves in Cantonese.

``WORDING`` is what each screen says, word for word: the texts its template
marks ``data-read``, in order (``wording_of``). A file is named after the
hash of its wording, so a changed wording is made again (at set-up, or on
the first tap of 朗读 after an upgrade); the tests fail when a template's
marked text and ``WORDING`` part.
"""

import hashlib
import logging
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

log = logging.getLogger(__name__)

LANGUAGES = {"mandarin": "普通话", "cantonese": "粤语"}
VOICES = {"mandarin": "cmn-latn-pinyin", "cantonese": "yue"}
# Slower than espeak-ng's 175 words a minute: many listeners are old.
SPEED = {"mandarin": "140", "cantonese": "140"}
FOLDER = "prompts"
# The prompts a release brings, made where it was built (deploy/build-release).
SHIPPED = Path(__file__).resolve().parent.parent / "prompts"

# What each kiosk screen reads aloud: its question, its hints and its buttons.
WORDING = {
    "home": "欢迎您！有什么意见和建议，都可以在这里告诉人大代表。我要提意见。查询回执。本站代表。不会打字？可以请值班代表或工作人员帮您录入。",
    "category": "您的意见是关于哪方面的？点一下对应的图标。拿不准，就点“其他”。返回首页。",
    "content": "请写下您的意见或建议。不想写字？可以说话留言。上一步。下一步。",
    "contact": "要不要留下联系方式？不留也可以：凭回执上的编号和验证码，就能查办理进度。不留联系方式。上一步。下一步。",
    "deputy": "想请哪位代表跟进？不指定。上一步。下一步。",
    "review": "请核对一下。没问题就点“提交”。哪一项要改，就点那一项的“修改”。上一步。提交。",
    "receipt": "提交成功，谢谢您！凭编号和验证码，可以在本机点“查询回执”，或用手机扫二维码，查看办理进度。完成，回到首页。",
    "lookup": "查询回执。输入回执上的编号和验证码，再点“查询”。查询。返回首页。",
    "deputies": "本站代表。返回首页。",
}

# Marks and arrows on the buttons are not words.
_NOT_WORDS = re.compile(r"[←→✓⟲●▶■⌂!]")
_STOPS = "。？！"


class _Marked(HTMLParser):
    """The text of every element marked ``data-read``, in document order."""

    VOID = {"img", "input", "br", "hr", "meta", "link", "source"}

    def __init__(self):
        super().__init__()
        self.depth = 0  # open elements inside a marked one (0: outside)
        self.parts: list[list[str]] = []

    def handle_starttag(self, tag, attrs):
        if tag in self.VOID:
            return
        if self.depth:
            self.depth += 1
        elif any(name == "data-read" for name, _ in attrs):
            self.depth = 1
            self.parts.append([])

    def handle_endtag(self, tag):
        if self.depth and tag not in self.VOID:
            self.depth -= 1

    def handle_data(self, data):
        if self.depth:
            self.parts[-1].append(data)


def wording_of(html: str) -> str:
    """What a rendered screen reads aloud: its marked texts, each ended as a sentence."""
    parser = _Marked()
    parser.feed(html)
    sentences = []
    for part in parser.parts:
        text = "".join(_NOT_WORDS.sub("", "".join(part)).split())
        if text:
            sentences.append(text if text[-1] in _STOPS else text + "。")
    return "".join(sentences)


def name_of(screen: str, language: str) -> str:
    """The prompt's file name: the screen, the language and its wording's hash."""
    digest = hashlib.sha256(f"{VOICES[language]}\n{WORDING[screen]}".encode()).hexdigest()[:12]
    return f"{screen}-{language}-{digest}.wav"


def spoken_form(text: str, language: str) -> str:
    """What espeak-ng is given: pinyin with tone numbers for Mandarin, the characters for Cantonese."""
    if language == "cantonese":
        return text
    # Here, not at the top: pypinyin's dictionaries take some 57 MB, which the
    # kiosk's process never carries (it makes a missing prompt in a child, ``make``).
    from pypinyin import Style, lazy_pinyin

    syllables = lazy_pinyin(text, style=Style.TONE3, neutral_tone_with_five=True)
    spoken = " ".join(syllables)
    # Chinese punctuation as the pauses espeak-ng knows.
    for chinese, latin in (("。", "."), ("？", "?"), ("！", "!"), ("，", ","), ("、", ","), ("：", ","), ("“", ""), ("”", "")):
        spoken = spoken.replace(chinese, latin)
    return " ".join(spoken.split())


def speak(text: str, language: str, path: Path) -> None:
    """``text`` read by espeak-ng in ``language`` into the WAV file ``path`` (written whole or not at all)."""
    partial = path.with_suffix(".part")
    subprocess.run(
        ["espeak-ng", "-v", VOICES[language], "-s", SPEED[language], "-w", str(partial), spoken_form(text, language)],
        check=True,
        capture_output=True,
        timeout=60,
    )
    partial.replace(path)


def folder() -> Path:
    """Where the prompts are kept: the instance folder's ``prompts/`` (nothing private in them)."""
    path = Path(current_app.instance_path) / FOLDER
    path.mkdir(exist_ok=True)
    return path


def make(screen: str, language: str, in_child: bool = False) -> Path:
    """The prompt's file, made now unless it is there already for the current wording.

    ``in_child``: made by a child process (``python -m kiosk.prompts``), as the
    kiosk's own process does after an upgrade changed a wording."""
    shipped = SHIPPED / name_of(screen, language)
    if shipped.exists():
        return shipped
    path = folder() / name_of(screen, language)
    if path.exists():
        return path
    if in_child:
        subprocess.run(
            [sys.executable, "-m", "kiosk.prompts", language, str(path)],
            input=WORDING[screen].encode(),
            check=True,
            capture_output=True,
            timeout=120,
        )
    else:
        speak(WORDING[screen], language, path)
    log.info("read-aloud prompt %s made", path.name)
    return path


def make_all() -> tuple[int, int]:
    """Every screen's prompt in both languages; files of older wordings removed. (made, removed)"""
    wanted = {name_of(s, lang) for s in WORDING for lang in LANGUAGES}
    made = 0
    for screen in WORDING:
        for language in LANGUAGES:
            name = name_of(screen, language)
            if not (SHIPPED / name).exists() and not (folder() / name).exists():
                make(screen, language)
                made += 1
    removed = 0
    for old in folder().glob("*.wav"):
        if old.name not in wanted:
            old.unlink()
            removed += 1
    return made, removed


def make_into(target: Path) -> list[Path]:
    """Every screen's prompt in both languages, made into ``target`` (a release's ``prompts/``)."""
    target.mkdir(parents=True, exist_ok=True)
    paths = []
    for screen in WORDING:
        for language in LANGUAGES:
            path = target / name_of(screen, language)
            speak(WORDING[screen], language, path)
            paths.append(path)
    return paths


@click.group("prompts")
def prompts_group():
    """The kiosk's read-aloud prompts (朗读), made with espeak-ng."""


@prompts_group.command("make")
@with_appcontext
def make_command():
    """Make every screen's prompt in 普通话 and 粤语 that is missing or out of date (run at set-up)."""
    try:
        made, removed = make_all()
    except (OSError, subprocess.SubprocessError) as error:
        raise click.ClickException(f"espeak-ng 不能生成朗读语音（是否已安装 espeak-ng？）：{error}")
    click.echo(f"{made} prompts made, {removed} old ones removed, {len(WORDING) * len(LANGUAGES)} in {folder()}")


if __name__ == "__main__":
    # python -m kiosk.prompts LANGUAGE PATH < TEXT: one prompt, for the kiosk's process (``make``).
    speak(sys.stdin.read(), sys.argv[1], Path(sys.argv[2]))
