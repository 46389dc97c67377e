"""The one exception a service function raises when the rules do not allow a change."""

from __future__ import annotations

from flask_babel import LazyString


class Refused(Exception):
    """The change is not allowed and nothing was written. The message says why, in the user's
    words; `field` names the input at fault, so a form can show it next to that field."""

    def __init__(self, message: str | LazyString, field: str | None = None) -> None:
        message = str(message)  # in the reader's language, now (a lazy text is not kept)
        super().__init__(message)
        self.message = message
        self.field = field
