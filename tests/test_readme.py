"""The README is the box installer's manual: it must list every setting."""

from pathlib import Path

from kiosk.config import DefaultConfig

README = (Path(__file__).resolve().parent.parent / "README.md").read_text()
FLASK_INTERNALS = {"SQLALCHEMY_ENGINE_OPTIONS", "WTF_CSRF_TIME_LIMIT", "SESSION_COOKIE_HTTPONLY",
                   "SESSION_COOKIE_SAMESITE", "MAX_CONTENT_LENGTH", "JSON_AS_ASCII"}


def test_readme_opens_with_the_two_commands():
    head = README[:600]
    assert "make run" in head and "make test" in head


def test_every_setting_is_documented():
    settings = [name for name in vars(DefaultConfig) if name.isupper() and name not in FLASK_INTERNALS]
    missing = [name for name in settings if f"`KIOSK_{name}`" not in README]
    assert missing == []


def test_a_registered_station_gets_its_token_from_stations_token():
    """A demo-loaded or replaced station is registered already: `stations add` would refuse it."""
    assert "stations token CODE" in README


def test_a_hub_is_told_to_use_a_database_of_its_own():
    script = (Path(__file__).resolve().parent.parent / "scripts" / "ensure-postgres").read_text()
    hub_section = README.split("## Operating the township office")[1].split("\n## ")[0]
    assert "database of its own" in hub_section and "ensure-postgres" in hub_section
    assert "database of its own" in script
