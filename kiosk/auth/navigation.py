"""The staff pages' main menu (only what the signed-in role may open), their
home, and what sets them apart from the kiosk's pages."""

from flask import Flask, current_app, request, url_for
from flask_login import current_user

from ..models import Role

# (endpoint, label, roles allowed; empty = every staff role)
MENU = (
    ("staff.queue", "意见办理", ()),
    ("stats.dashboard", "统计", ()),
    ("roster.index", "值班安排", ()),
    # A township's own departments (镇村建办, 村委会…): the city's are under 设置.
    ("setup.departments", "承办部门", (Role.TOWNSHIP, Role.CHAIR)),
    ("deputy_admin.index", "代表名册", ()),
    ("phone_admin.index", "代表码海报", ()),
    ("deputy_work.index", "代表履职", ()),
    ("setup.fleet", "联络站运行", (Role.CITY,)),
    ("setup.index", "设置", (Role.CITY,)),
    ("audit_log.index", "审计日志", (Role.CITY,)),
)
# A blueprint with several menu entries: the entry its other pages belong to
# (the fleet page is 联络站运行; every other set-up page is 设置).
SECTION_ENTRY = {"setup": "setup.index"}
STAFF_PREFIX = "/staff"


def staff_nav() -> list[tuple[str, str]]:
    if not current_user.is_authenticated or current_user.role == Role.DEPUTY:
        return []
    return [
        (endpoint, label)
        for endpoint, label, roles in MENU
        if endpoint in current_app.view_functions and (not roles or current_user.role in roles)
    ]


def current_menu_entry(endpoint: str | None) -> str | None:
    """The menu entry a page belongs to: its own endpoint if it is one, else its blueprint's.

    Only one entry is ever current, so 联络站运行 and 设置 (both of the setup
    blueprint) never light up together.
    """
    if not endpoint:
        return None
    # The entries the role sees: a township's staff reach only 承办部门 of the set-up pages.
    entries = [entry for entry, _label in staff_nav()]
    if endpoint in entries:
        return endpoint
    blueprint = endpoint.split(".")[0]
    if SECTION_ENTRY.get(blueprint) in entries:
        return SECTION_ENTRY[blueprint]
    same = [entry for entry in entries if entry.split(".")[0] == blueprint]
    return same[0] if len(same) == 1 else None


def staff_home_url(user=None) -> str:
    """Where a signed-in member of staff starts: the queue, or a plain welcome page without it.

    A deputy starts at their desk. ``user``: one just signed in, whom
    ``current_user`` does not know yet in this request.
    """
    user = user or current_user
    if user.is_authenticated and user.role == Role.DEPUTY and "desk.index" in current_app.view_functions:
        return url_for("desk.index")
    return url_for("staff.queue" if "staff.queue" in current_app.view_functions else "auth.welcome")


def is_staff_page() -> bool:
    """True for the hub's staff pages (under /staff), which use the staff layout."""
    return current_app.config["ROLE"] == "hub" and (
        request.path == STAFF_PREFIX or request.path.startswith(STAFF_PREFIX + "/")
    )


def init_app(app: Flask) -> None:
    @app.after_request
    def _no_store(response):
        # Staff pages carry contact details: no copy in the browser's cache
        # (nor its back button) once the member of staff has signed out.
        if is_staff_page():
            response.headers.setdefault("Cache-Control", "no-store")
        return response
