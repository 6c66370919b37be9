"""The township office's queue and the opinion lifecycle."""

from flask import Blueprint

bp = Blueprint("staff", __name__, url_prefix="/staff")
