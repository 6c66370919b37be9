"""The deputies' desk at the hub: opinions addressed to them, 一键通 and the 履职日记."""

from flask import Blueprint

bp = Blueprint("desk", __name__, url_prefix="/desk")
