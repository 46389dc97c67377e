"""The WSGI entry point: `gunicorn wsgi:app`, `flask --app wsgi ...`."""

from webapp import create_app
from webapp.config import ConfigError
from webapp.db import UnsafeDatabaseRole

try:
    app = create_app()
except (ConfigError, UnsafeDatabaseRole) as error:
    # One clear sentence for the operator instead of a traceback.
    raise SystemExit(f"ShopCredit will not start: {error}") from None
