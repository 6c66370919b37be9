"""Staff accounts at the hub: sign in, sign out, township scoping."""

from flask import Blueprint

bp = Blueprint("auth", __name__, url_prefix="/staff")
