"""Typing at the kiosk: the station's offline input engines and their routes."""

from flask import Blueprint

bp = Blueprint("ime", __name__, url_prefix="/ime")
