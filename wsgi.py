"""The WSGI entry point: `gunicorn wsgi:app`, `flask --app wsgi ...`."""

import click

from webapp import create_app
from webapp.config import ConfigError
from webapp.db import UnsafeDatabaseRole

try:
    # Loaded by the `flask` command (inside its click context), the app runs one command, which
    # checks the settings it needs; loaded by gunicorn, it is about to serve, checked now.
    app = create_app(serving=click.get_current_context(silent=True) is None)
except (ConfigError, UnsafeDatabaseRole) as error:
    # One clear sentence for the operator instead of a traceback.
    raise SystemExit(f"ShopCredit will not start: {error}") from None
