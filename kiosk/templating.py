"""What templates may call beyond Flask's own: every Jinja global and filter, registered here.

None of them reads the database: a view passes what a page shows.
"""

from datetime import datetime

from flask import Flask

from .assets import vendor_url
from .auth.navigation import current_menu_entry, staff_home_url, staff_nav
from .htmx import is_fragment_request
from .clock import format_local
from .models import Role
from .models.voice import seconds_of


def local_time(moment: datetime | None, pattern: str = "%Y-%m-%d %H:%M") -> str:
    """A UTC datetime in local time (the date and time people read here, or ``pattern``); empty for None."""
    return format_local(moment, pattern) if moment else ""


def role_label(role: str) -> str:
    return Role(role).label


def init_app(app: Flask) -> None:
    app.jinja_env.globals.update(
        vendor_url=vendor_url,
        is_fragment_request=is_fragment_request,
        staff_nav=staff_nav,
        staff_home_url=staff_home_url,
        current_menu_entry=current_menu_entry,
    )
    app.jinja_env.filters.update(local_time=local_time, role_label=role_label, voice_seconds=seconds_of)
