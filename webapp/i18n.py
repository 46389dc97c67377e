"""The interface's language: Flask-Babel's message catalogues (webapp/translations).

Templates write `{{ _('Text') }}`, Python code `gettext("Text")` (or `lazy_gettext` where the text
is made before a request, like a form's labels), so every message a person reads can be
translated.
"""

from __future__ import annotations

from flask import Flask, current_app
from flask_babel import Babel


def interface_locale() -> str:
    return str(current_app.config["LOCALE"])


def init_app(app: Flask) -> None:
    Babel(app, locale_selector=interface_locale)
