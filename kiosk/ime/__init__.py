"""Typing Chinese at the kiosk: Rime for pinyin (``rime.py``), zinnia for handwriting
(``zinnia.py``, ``handwriting.py``) with its 联想 words (``lexicon.py``), their routes and commands."""

from flask import Blueprint

bp = Blueprint("ime", __name__, url_prefix="/ime")
