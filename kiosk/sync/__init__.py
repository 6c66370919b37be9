"""Store-and-forward sync between station boxes and the township hub.

Hub: the API blueprint (``api``), stations and enrolment (``hub``), the
change log (``changes``). Station: the client (``client``), its admin
screen (``routes``). Both: signing, the wire format, record types, bundles
and the command-line groups (``cli``).
"""

from flask import Flask

# Defaults for the sync settings (KIOSK_<NAME> in the environment overrides).
DEFAULTS = {
    # Hub: how far a request's timestamp may be from the hub clock.
    "SYNC_CLOCK_WINDOW_SECONDS": 300,
    # Hub: most records in one pushed batch, and the largest request body.
    "SYNC_MAX_BATCH": 2000,
    "SYNC_MAX_BODY": 16 * 1024 * 1024,
    # Station: records per pushed batch.
    "SYNC_BATCH_SIZE": 2000,
    # Station: seconds between syncs while the link works; back-off doubles
    # from SYNC_RETRY_SECONDS up to SYNC_MAX_BACKOFF_SECONDS while it fails.
    "SYNC_INTERVAL_SECONDS": 300,
    "SYNC_RETRY_SECONDS": 15,
    "SYNC_MAX_BACKOFF_SECONDS": 1800,
    # Station: seconds before a request to the hub is given up.
    "SYNC_TIMEOUT_SECONDS": 60,
    # Station: CA bundle for the hub's HTTPS certificate (None: the system's).
    "SYNC_CA_FILE": None,
    # Station: run the sync loop inside the kiosk process.
    "SYNC_BACKGROUND": True,
    # Station: PIN of the admin screen (/admin/sync); None disables the screen.
    "ADMIN_PIN": None,
    # Tests: a callable returning the current UTC time.
    "SYNC_CLOCK": None,
}


def init_app(app: Flask) -> None:
    for key, value in DEFAULTS.items():
        app.config.setdefault(key, value)
    from . import changes  # noqa: F401  (the hub's change listener)
    from . import cli

    if app.config["ROLE"] == "hub":
        from .api import bp as api_bp

        app.register_blueprint(api_bp)
        app.cli.add_command(cli.stations)
        app.cli.add_command(cli.hub_sync)
    else:
        from . import station
        from .routes import bp as admin_bp

        station.init_app(app)
        app.register_blueprint(admin_bp)
        app.cli.add_command(cli.station)
        app.cli.add_command(cli.station_sync)


def request_sync() -> None:
    """Ask for a sync soon; returns at once. Intake calls this after a
    submission has committed (never before: save first, send second)."""
    from .station import request_sync as _request

    _request()


__all__ = ["init_app", "request_sync"]
