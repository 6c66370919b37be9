"""The liaison station kiosk and township hub: one Flask application."""

import logging
import os
import secrets
from pathlib import Path

from flask import Flask
from flask_migrate import upgrade
from werkzeug.middleware.proxy_fix import ProxyFix

from . import database  # noqa: F401  (registers the SQLite connection rules)
from . import edge, instance
from .config import DefaultConfig
from .extensions import csrf, db, login_manager, migrate
from .memory import limit_malloc_arenas
from .parsing import IdConverter

ROLES = ("station", "hub")
MIGRATIONS = Path(__file__).parent / "migrations"
PROJECT_ROOT = Path(__file__).resolve().parent.parent


def create_app(test_config: dict | None = None) -> Flask:
    """Build the app for the role its configuration names."""
    instance_path = os.environ.get("KIOSK_INSTANCE_PATH") or (test_config or {}).get("INSTANCE_PATH")
    app = Flask(
        __name__,
        instance_path=str(Path(instance_path).resolve()) if instance_path else None,
        instance_relative_config=True,
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder=str(PROJECT_ROOT / "static"),
    )
    app.config.from_object(DefaultConfig)
    app.config.from_pyfile("config.py", silent=True)
    app.config.from_prefixed_env("KIOSK")
    # Read by `flask users` from the environment, never a setting of the app.
    app.config.pop("NEW_PASSWORD", None)
    if test_config:
        app.config.update(test_config)
    _finish_config(app)

    if app.config["TRUSTED_PROXIES"]:
        # Behind a reverse proxy: take the client's address (login throttling,
        # audit rows) and scheme from the proxy's headers, and only from it.
        hops = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)

    db.init_app(app)
    migrate.init_app(app, db, directory=str(MIGRATIONS), render_as_batch=True)
    edge.init_app(app)  # before the CSRF check: a body that is not UTF-8 is no expired page
    csrf.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "请先登录"
    # The areas are imported as an app is built, not at the top: every module of
    # kiosk imports this package first, and must not load the whole app with it.
    from .auth import cli as auth_cli
    from .auth import navigation
    from .auth import services as _auth_services  # noqa: F401  (the session loader)

    navigation.init_app(app)

    from . import errors, headers, templating

    headers.init_app(app)
    templating.init_app(app)
    errors.init_app(app)
    app.url_map.converters["int"] = IdConverter
    _register_blueprints(app)

    from . import sync

    sync.init_app(app)
    if app.config["ROLE"] == "hub":
        from .stats import rollup

        rollup.init_app(app)

    from .demo import cli as demo_cli

    app.cli.add_command(demo_cli.demo)
    from .deputies import cli as deputies_cli

    app.cli.add_command(deputies_cli.deputies)
    # Staff accounts exist at the hub alone; a station only says so to whoever types the command.
    app.cli.add_command(auth_cli.users if app.config["ROLE"] == "hub" else auth_cli.users_at_station)
    if app.config["ROLE"] == "hub":
        from . import retention
        from .audit_log import cli as audit_cli

        app.cli.add_command(retention.retention)
        app.cli.add_command(audit_cli.audit_group)

    from . import backup, release
    from .ime import cli as ime_cli

    app.cli.add_command(backup.backup)
    app.cli.add_command(release.release_group)
    app.cli.add_command(ime_cli.ime)
    if app.config["ROLE"] == "station":
        from . import prompts

        app.cli.add_command(prompts.prompts_group)
        limit_malloc_arenas()
    if app.config["AUTO_MIGRATE"]:
        with app.app_context():
            upgrade_database()
    return app


def _finish_config(app: Flask) -> None:
    if app.config["ROLE"] not in ROLES:
        raise RuntimeError(f"KIOSK_ROLE must be one of {ROLES}, not {app.config['ROLE']!r}")
    instance_folder = Path(app.instance_path)
    instance.make_private(instance_folder)
    url = app.config.get("DATABASE_URL")
    if not url:
        database = instance_folder / instance.DATABASE_FILE
        instance.create_private_file(database)
        url = f"sqlite:///{database}"
    app.config["SQLALCHEMY_DATABASE_URI"] = url
    if app.config["SESSION_COOKIE_SECURE"]:
        # Over HTTPS: a __Host- cookie is refused by browsers unless Secure, for the
        # path / and without a domain, so neither plain http nor a subdomain can plant one.
        app.config["SESSION_COOKIE_NAME"] = "__Host-session"
        app.config["SESSION_COOKIE_PATH"] = "/"
        app.config["SESSION_COOKIE_DOMAIN"] = None
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _instance_secret(Path(app.instance_path) / "secret_key")


def _instance_secret(path: Path) -> str:
    """A secret key made on first start and kept in the instance folder.

    No key ships with the code; each box makes its own.
    """
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        key = secrets.token_hex(32)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, instance.FILE_MODE)
        with os.fdopen(fd, "w") as f:
            f.write(key)
        return key


def _register_blueprints(app: Flask) -> None:
    # Imported here: a station never loads the hub's areas, nor the hub the kiosk's.
    # Each area's views are in its routes module, which adds them to the area's ``bp``.
    from .deputies.routes import bp as deputies_bp
    from .public.routes import bp as public_bp
    from .receipts.routes import bp as receipts_bp

    app.register_blueprint(public_bp)
    app.register_blueprint(receipts_bp)
    app.register_blueprint(deputies_bp)
    if app.config["ROLE"] == "station":
        from .duty.routes import bp as duty_bp
        from .ime import handwriting_routes  # noqa: F401  (its routes join the ime blueprint)
        from .ime.routes import bp as ime_bp
        from .intake.routes import bp as intake_bp
        from .receipts.routes import printing_bp

        app.register_blueprint(intake_bp)
        app.register_blueprint(printing_bp)
        app.register_blueprint(duty_bp)
        app.register_blueprint(ime_bp)
    else:
        from .setup.routes import bp as setup_bp
        from .audit_log.routes import bp as audit_log_bp
        from .auth.routes import bp as auth_bp
        from .open311.routes import bp as open311_bp
        from .phone.routes import admin_bp as phone_admin_bp
        from .phone.routes import bp as phone_bp
        from .roster.routes import bp as roster_bp
        from .staff.routes import bp as staff_bp
        from .stats.routes import bp as stats_bp

        from .deputies.routes import admin_bp as deputy_admin_bp
        from .desk.routes import bp as desk_bp
        from .deputy_work.routes import bp as deputy_work_bp
        from .deputy_work.public import public_bp as deputy_file_bp

        for blueprint in (
            auth_bp, staff_bp, stats_bp, roster_bp, setup_bp, deputy_admin_bp, deputy_work_bp, deputy_file_bp,
            open311_bp, audit_log_bp, desk_bp, phone_bp, phone_admin_bp,
        ):  # fmt: skip
            app.register_blueprint(blueprint)


def upgrade_database() -> None:
    """Apply pending migrations; quiet unless something happens."""
    logging.getLogger("alembic").setLevel(logging.WARNING)
    upgrade(directory=str(MIGRATIONS))
