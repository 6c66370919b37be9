"""City staff manage townships, stations, categories, departments and accounts."""

from flask import Blueprint

bp = Blueprint("admin", __name__, url_prefix="/staff/admin")
