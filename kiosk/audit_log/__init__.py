"""审计日志: city staff read the audit log, and ``flask audit verify`` checks its chain."""

from flask import Blueprint

bp = Blueprint("audit_log", __name__, url_prefix="/staff/audit")
