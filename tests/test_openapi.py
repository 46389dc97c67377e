"""The API's description (webapp/api/openapi.yaml) cannot drift from the code: it is valid
OpenAPI 3.1, it names exactly the app's /api routes with their methods, its examples fit its
own schemas, and it is served as JSON to anyone at /api/openapi.json. (That the running app
answers as it says is tests/test_api_schemathesis.py's.)"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from jsonschema import Draft202012Validator
from openapi_spec_validator import OpenAPIV31SpecValidator, validate
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from webapp.api.description import description

METHODS = ("get", "post", "put", "patch", "delete")
RULE_ARGUMENT = re.compile(r"<(?:[a-z]+:)?([a-z_]+)>")
MONEY_FIELDS = frozenset(
    "total balance amount price credit_limit refund available_credit overdue_amount unit_price "
    "line_total paid owed returned balance_after refunded".split()
)


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    return description()


def test_the_description_is_valid_openapi_3_1(spec: dict[str, Any]) -> None:
    validate(spec, cls=OpenAPIV31SpecValidator)
    assert spec["openapi"] == "3.1.0"
    assert re.fullmatch(r"[0-9]+\.[0-9]+\.[0-9]+", spec["info"]["version"])


def _app_routes() -> set[tuple[str, str]]:
    """(path as OpenAPI writes it, method) of every /api rule of a bare app with the API."""
    from webapp.api import bp

    bare = Flask("routes")
    bare.register_blueprint(bp)
    return {
        (RULE_ARGUMENT.sub(r"{\1}", rule.rule), method.lower())
        for rule in bare.url_map.iter_rules()
        if rule.rule.startswith("/api/")
        for method in rule.methods or ()
        if method not in ("HEAD", "OPTIONS")
    }


def test_every_api_route_is_described_and_nothing_else(spec: dict[str, Any]) -> None:
    described = {
        (path, method)
        for path, item in spec["paths"].items()
        for method in METHODS
        if method in item
    }
    assert _app_routes() - described == set(), "routes the description leaves out"
    assert described - _app_routes() == set(), "described operations the app does not have"


def _operations(spec: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in spec["paths"].items():
        for method in METHODS:
            if method in item:
                yield path, method, item[method]


def test_every_token_operation_describes_the_answers_every_request_may_get(
    spec: dict[str, Any],
) -> None:
    """The token's refusals, the rate limit, a malformed request and a busy database can
    answer any operation; a write may also be refused for its business_id (403)."""
    assert spec["security"] == [{"bearerAuth": []}]
    assert spec["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "description": spec["components"]["securitySchemes"]["bearerAuth"]["description"],
    }
    for path, method, operation in _operations(spec):
        if path == "/api/openapi.json":
            assert operation["security"] == []
            continue
        expected = {"400", "401", "429", "503"} | ({"403", "413"} if method == "post" else set())
        assert expected <= set(operation["responses"]), (path, method)
        assert "security" not in operation, (path, method)  # the bearer token, as everywhere


def _money_fields(node: Any, trail: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key in MONEY_FIELDS:
                yield f"{trail}/{key}", value
            yield from _money_fields(value, f"{trail}/{key}")


def test_money_in_answers_is_the_two_decimal_string(spec: dict[str, Any]) -> None:
    """Every money field of a body is the Money string (answers) or MoneyInput (requests)."""
    money = {"#/components/schemas/Money", "#/components/schemas/MoneyInput"}
    fields = [
        (trail, schema)
        for trail, schema in _money_fields(spec["components"]["schemas"])
        if trail.rsplit("/", 2)[-2] == "properties"
    ]
    assert len(fields) >= 25
    for trail, schema in fields:
        refs = {schema.get("$ref")} | {one.get("$ref") for one in schema.get("anyOf", [])}
        assert refs & money, trail
    pattern = re.compile(spec["components"]["schemas"]["Money"]["pattern"])
    assert pattern.fullmatch("60.00") and pattern.fullmatch("-4.50")
    assert not pattern.fullmatch("60") and not pattern.fullmatch("60.0")


def _examples(node: Any, trail: str = "") -> Iterator[tuple[str, dict[str, Any], Any]]:
    """(where, schema, example) of every media type's and schema's example."""
    if isinstance(node, dict):
        if "schema" in node and "example" in node:
            yield trail, node["schema"], node["example"]
        for name, named in (node.get("examples") or {}).items() if "schema" in node else ():
            yield f"{trail}/examples/{name}", node["schema"], named["value"]
        if "example" in node and "type" in node and "schema" not in node:
            yield trail, node, node["example"]
        for key, value in node.items():
            yield from _examples(value, f"{trail}/{key}")


def test_every_example_fits_its_schema(spec: dict[str, Any]) -> None:
    registry = Registry().with_resource(
        "urn:shopcredit-api", Resource.from_contents(spec, default_specification=DRAFT202012)
    )
    examples = list(_examples(spec))
    assert len(examples) >= 15
    for where, schema, example in examples:
        absolute = json.loads(json.dumps(schema).replace('"#/', '"urn:shopcredit-api#/'))
        validator = Draft202012Validator(absolute, registry=registry)
        problems = [error.message for error in validator.iter_errors(example)]
        assert problems == [], where


def test_the_description_is_served_to_anyone_as_json(app: Flask) -> None:
    response = app.test_client().get("/api/openapi.json")  # no token
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert response.get_json() == description()


def test_every_other_api_path_still_needs_a_token(app: Flask) -> None:
    response = app.test_client().get("/api/overdue")
    assert response.status_code == 401
    assert response.get_json()["error"] == "unauthorized"
