"""The township office's queue and the opinion lifecycle.

``services``: the lifecycle's rules, one shape per action. ``actions``: the
opinion page's table of those actions (URL, form, confirmation, service
call, words). ``queue``: the queue's filters, pages and counts; ``bulk``:
受理 or 转办 of the ticked rows; ``find``: 找回执; ``history``: an
opinion's history in words; ``choices``: what the selects offer;
``routes``: the views.
"""

from flask import Blueprint

bp = Blueprint("staff", __name__, url_prefix="/staff")
