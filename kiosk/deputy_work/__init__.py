"""Deputies' work on the record (代表履职): contact activities, report-backs,
三议一评 topics, evaluations, and the deputy's file (履职档案) compiled from them.

``bp`` holds the staff pages (hub, under /staff/work); ``public_bp`` the
public file of each deputy (hub).
"""

from flask import Blueprint

bp = Blueprint("deputy_work", __name__, url_prefix="/staff/work")
public_bp = Blueprint("deputy_file", __name__)
