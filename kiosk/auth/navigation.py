"""The staff pages' main menu: only what the signed-in role may open."""

from flask import Flask, current_app
from flask_login import current_user

from ..models import Role

# (endpoint, label, roles allowed; empty = every staff role)
MENU = (
    ("staff.queue", "意见办理", ()),
    ("stats.dashboard", "统计", ()),
    ("admin.fleet", "联络站", (Role.CITY,)),
    ("admin.index", "设置", (Role.CITY,)),
)


def staff_nav() -> list[tuple[str, str]]:
    if not current_user.is_authenticated:
        return []
    return [
        (endpoint, label)
        for endpoint, label, roles in MENU
        if endpoint in current_app.view_functions and (not roles or current_user.role in roles)
    ]


def init_app(app: Flask) -> None:
    app.jinja_env.globals["staff_nav"] = staff_nav
    app.jinja_env.filters["role_label"] = lambda role: Role(role).label
