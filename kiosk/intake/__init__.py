"""Intake: the villager's walk from the home screen to a receipt."""

from flask import Blueprint

bp = Blueprint("intake", __name__)

from . import routes  # noqa: E402,F401
