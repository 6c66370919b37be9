"""Typing Chinese at the kiosk: Rime for pinyin (``rime.py``), its routes and commands."""

from flask import Blueprint

bp = Blueprint("ime", __name__, url_prefix="/ime")
