"""GET /api/openapi.json: the API's OpenAPI 3.1 description (webapp/api/openapi.yaml), the one
place the API is described. Read once from the installed package and answered as JSON to
anyone: it holds no data, and a till's developer needs it before they have a token."""

from __future__ import annotations

import functools
from importlib import resources
from typing import Any

import yaml
from flask import jsonify
from werkzeug.wrappers import Response

from webapp.api import bp

ENDPOINT = "api.openapi_description"


@functools.cache
def description() -> dict[str, Any]:
    """The description as a mapping (parsed once per process)."""
    text = resources.files("webapp.api").joinpath("openapi.yaml").read_text(encoding="utf-8")
    loaded = yaml.safe_load(text)
    assert isinstance(loaded, dict)
    return loaded


@bp.get("/openapi.json")
def openapi_description() -> Response:
    return jsonify(description())
