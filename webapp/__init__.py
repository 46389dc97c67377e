"""ShopCredit: credit sales, payments and overdue lists for shops that sell on account."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask, request
from flask_babel import gettext, lazy_gettext
from werkzeug.wrappers import Response

from webapp import embedded, errors, formatting, i18n, listing, migrate, navigation, passwords
from webapp.config import DEFAULTS, from_environ, require
from webapp.db import EXTENSION_KEY, Database, close_db_session
from webapp.extensions import csrf, limiter, login_manager
from webapp.serving import health, logs, metrics, requests
from webapp.serving.proxy import TrustedProxies

PACKAGE = Path(__file__).resolve().parent

# No inline script or style anywhere: what the server renders is all the browser runs.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


def create_app(config: Mapping[str, Any] | None = None, *, serving: bool = True) -> Flask:
    """Build the app. `config` overrides what the environment says (tests pass it).

    `serving`: the app will answer requests (gunicorn, tests), so DATABASE_URL and SECRET_KEY
    must be set and the app role must be safe, checked now. The `flask` command builds it with
    False: each command then uses only the settings it needs and names a missing one itself
    (an admin command needs DATABASE_ADMIN_URL alone)."""
    app = Flask(
        __name__,
        # Templates, static files and SQL ship inside the package, so a built wheel serves.
        template_folder=str(PACKAGE / "templates"),
        static_folder=str(PACKAGE / "static"),
        instance_path=str(Path.cwd() / "instance"),
    )
    app.config.update(DEFAULTS)
    app.config.update(from_environ(os.environ) if config is None else config)
    logs.init_app(app)
    if app.config.get("INSTANCE_PATH"):
        app.instance_path = app.config["INSTANCE_PATH"]
    if app.config.get("EMBEDDED_DATABASE", app.config.get("DATABASE_URL") is None):
        _start_embedded_database(app)

    database = Database(
        app.config.get("DATABASE_URL"),
        app.config.get("DATABASE_ADMIN_URL"),
        app.config.get("DATABASE_REPLICA_URL"),
    )
    app.extensions[EXTENSION_KEY] = database
    if serving:
        check_ready_to_serve(app)
    app.teardown_appcontext(close_db_session)

    if app.config.get("DATABASE_URL"):  # (an admin command may have only the owner's URL)
        metrics.watch_pool(database.engine, "app")

    if app.config.get("TRUSTED_PROXIES"):
        hops = int(app.config["TRUSTED_PROXIES"])
        # Flask's documented way to wrap its WSGI app, which mypy sees as assigning a method.
        proxied = TrustedProxies(app.wsgi_app, hops, app.config["PROXY_ADDRESSES"])
        app.wsgi_app = proxied  # type: ignore[method-assign]

    requests.init_app(app)  # first before, last after every request: its id, log line, metrics
    app.before_request(errors.refuse_unreadable_input)  # then: CSRF protection reads the form
    csrf.init_app(app)
    limiter.init_app(app)
    _warn_of_unshared_limits(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    # Kept in English (marked for the catalogue), translated when flashed, in the reader's
    # language: Flask-Login calls localize_callback then.
    login_manager.login_message = str(lazy_gettext("Please sign in to continue."))
    login_manager.localize_callback = gettext
    login_manager.session_protection = "basic"
    passwords.init_app(app)
    i18n.init_app(app)
    formatting.init_app(app)
    navigation.init_app(app)
    listing.init_app(app)
    errors.init_app(app)

    _register_blueprints(app)
    app.after_request(_security_headers)

    from webapp.cli import register_commands

    register_commands(app)
    return app


def check_ready_to_serve(app: Flask) -> None:
    """Before answering requests: the app role's URL and a secret key are set, and the role is
    one row-level security holds back (raises ConfigError or DatabaseRoleProblem, one sentence)."""
    require(app.config, "DATABASE_URL")
    require(app.config, "SECRET_KEY")
    database: Database = app.extensions[EXTENSION_KEY]
    if app.config["CHECK_DATABASE_ROLE"]:
        try:
            database.check_app_role()
        except Exception:
            database.dispose()
            raise


def _warn_of_unshared_limits(app: Flask) -> None:
    """Several workers each counting sign-in failures and API requests in their own memory
    would each allow the whole limit: say so at start."""
    workers = int(app.config.get("WORKERS") or 1)
    if workers > 1 and str(app.config["RATELIMIT_STORAGE_URI"]).startswith("memory://"):
        app.logger.warning(
            "%d workers serve ShopCredit but SHOPCREDIT_RATELIMIT_STORAGE_URI is memory://: each "
            "worker counts sign-in failures and API requests alone, so the limits are %d times "
            "looser. Set it to a Redis shared by every worker (redis://host:6379/0).",
            workers,
            workers,
        )


def _start_embedded_database(app: Flask) -> None:
    """No database setting at all: run on PostgreSQL in instance/ (the `embedded` extra), with
    its roles and a kept secret key."""
    instance = Path(app.instance_path)
    server = embedded.start_server(instance / "pgdata")
    app.extensions[embedded.EXTENSION_KEY] = server
    urls = embedded.create_roles_and_database(server.url, embedded.DATABASE_NAME)
    migrate.upgrade(urls.admin)
    app.config["DATABASE_URL"] = urls.app
    app.config["DATABASE_ADMIN_URL"] = urls.admin
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = embedded.secret_key(instance)


def _register_blueprints(app: Flask) -> None:
    from webapp.activity import bp as activity_bp
    from webapp.api import bp as api_bp
    from webapp.auth import bp as auth_bp
    from webapp.auth.access import require_login, require_password_change
    from webapp.auth.two_factor_views import require_two_factor_setup
    from webapp.cashup import bp as cashup_bp
    from webapp.corrections import bp as corrections_bp
    from webapp.customers import bp as customers_bp
    from webapp.dashboard import bp as dashboard_bp
    from webapp.imports import bp as imports_bp
    from webapp.insights import bp as insights_bp
    from webapp.overdue import bp as overdue_bp
    from webapp.payments import bp as payments_bp
    from webapp.products import bp as products_bp
    from webapp.reminders import bp as reminders_bp
    from webapp.sales import bp as sales_bp
    from webapp.settings import bp as settings_bp
    from webapp.share import bp as share_bp
    from webapp.staff import bp as staff_bp

    app.register_blueprint(auth_bp)
    app.register_blueprint(dashboard_bp)
    app.register_blueprint(sales_bp)
    app.register_blueprint(payments_bp)
    app.register_blueprint(corrections_bp)
    app.register_blueprint(cashup_bp)
    app.register_blueprint(insights_bp)
    app.register_blueprint(reminders_bp)
    app.register_blueprint(share_bp)
    app.register_blueprint(customers_bp)
    app.register_blueprint(overdue_bp)
    app.register_blueprint(imports_bp)
    app.register_blueprint(products_bp)
    app.register_blueprint(staff_bp)
    app.register_blueprint(settings_bp)
    app.register_blueprint(activity_bp)
    app.register_blueprint(api_bp)
    app.before_request(require_login)
    app.before_request(require_password_change)
    app.before_request(require_two_factor_setup)
    health.init_app(app)
    metrics.init_app(app)


def _security_headers(response: Response) -> Response:
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    if request.is_secure:
        headers.setdefault("Strict-Transport-Security", "max-age=31536000")
    if request.endpoint != "static":
        # Pages hold customers' debts: never keep them in a shared browser's cache.
        headers["Cache-Control"] = "no-store"
    return response
