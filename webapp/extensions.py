"""The Flask extensions, created once and bound to each app in create_app."""

from __future__ import annotations

from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager

from webapp.same_origin import SameOriginCSRFProtect

# The form's token, and where the browser says the form came from (webapp/same_origin.py).
csrf = SameOriginCSRFProtect()
login_manager = LoginManager()
# Storage comes from RATELIMIT_STORAGE_URI: memory for one process, Redis for several servers.
limiter = Limiter(key_func=get_remote_address, default_limits=[])
