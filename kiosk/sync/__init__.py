"""Store-and-forward sync between station boxes and the township hub.

Hub: the API blueprint (``api``), signed requests, push and pull
(``hub``), its register of stations, their keys and enrolment
(``registry``), the change log (``changes``).
Station: its enrolment with the hub (``enrolment``), one sync
(``station``), when to sync (``loop``), the client (``client``), the
station sync admin screen (``routes``, at /admin/sync/).
Both: signing, the wire format, record types, bundles and the
command-line groups (``cli``).
"""

from flask import Flask


def init_app(app: Flask) -> None:
    # Not at the top: every kiosk.sync.* import runs this file, and these import intake, which imports it.
    from . import changes  # noqa: F401  (the hub's change listener)
    from . import cli

    if app.config["ROLE"] == "hub":
        from .api import bp as api_bp

        app.register_blueprint(api_bp)
        app.cli.add_command(cli.stations)
        app.cli.add_command(cli.hub_sync)
    else:
        from . import loop
        from .routes import bp as sync_admin_bp

        loop.init_app(app)
        app.register_blueprint(sync_admin_bp)
        app.cli.add_command(cli.station)
        app.cli.add_command(cli.station_sync)


def request_sync() -> None:
    """Ask for a sync soon; returns at once. Intake calls this after a
    submission has committed (never before: save first, send second)."""
    # Not at the top, as in init_app: the loop imports the whole station side.
    from .loop import request_sync as _request

    _request()


__all__ = ["init_app", "request_sync"]
