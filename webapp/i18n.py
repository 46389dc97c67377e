"""The interface's language: Flask-Babel's message catalogues (webapp/translations).

Templates write `{{ _('Text') }}`, Python code `gettext("Text")` (or `lazy_gettext` where the text
is made before a request, like a form's labels), so every message a person reads can be
translated. Which language a request gets is `locales.interface_language` (the person's choice,
else their shop's); how money and dates are written is the shop's locale (webapp/formatting.py).
"""

from __future__ import annotations

from flask import Flask
from flask_babel import Babel

from webapp.locales import interface_language


def init_app(app: Flask) -> None:
    Babel(app, locale_selector=interface_language)
    app.add_template_global(interface_language)
