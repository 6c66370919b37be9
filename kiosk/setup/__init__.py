"""设置: city staff set up townships, categories, departments, stations and accounts, and watch the fleet.

The pages keep their old address, /staff/admin.
"""

from flask import Blueprint

bp = Blueprint("setup", __name__, url_prefix="/staff/admin")
