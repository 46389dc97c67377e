"""Changing one's own password: any signed-in user; the other sessions end, this one goes on."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from tests.helpers import PASSWORD, Shop, csrf_token, fetch, field_errors, login, signed_in
from webapp.embedded import DatabaseUrls

NEW_PASSWORD = "another good password"


def change(
    client: FlaskClient,
    current: str = PASSWORD,
    new: str = NEW_PASSWORD,
    confirm: str | None = None,
) -> TestResponse:
    return client.post(
        "/account/password",
        data={
            "csrf_token": csrf_token(client, "/account/password"),
            "current_password": current,
            "new_password": new,
            "confirm": new if confirm is None else confirm,
        },
    )


def account(admin_url: str, shop: Shop) -> tuple[object, ...]:
    return fetch(
        admin_url,
        "SELECT password_hash, session_version FROM users WHERE id = %s",
        shop.clerk_id,
    )[0]


@pytest.mark.parametrize("role", ["clerk", "owner"])
def test_changing_my_password_ends_my_other_sessions_but_not_this_one(
    app: Flask, shop: Shop, role: str
) -> None:
    email = shop.clerk_email if role == "clerk" else shop.owner_email
    here = signed_in(app, shop.slug, email)
    elsewhere = signed_in(app, shop.slug, email)

    response = change(here)
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    page = here.get("/")
    assert page.status_code == 200  # still signed in here
    assert "Your password was changed" in page.get_data(as_text=True)
    ended = elsewhere.get("/")
    assert ended.status_code == 302  # the other session ended
    assert ended.headers["Location"].startswith("/login")

    assert login(app.test_client(), shop.slug, email, PASSWORD).status_code == 400
    assert signed_in(app, shop.slug, email, NEW_PASSWORD).get("/").status_code == 200


def test_a_wrong_current_password_is_refused_and_nothing_changes(
    app: Flask, clerk_client: FlaskClient, shop: Shop, database: DatabaseUrls
) -> None:
    elsewhere = signed_in(app, shop.slug, shop.clerk_email)
    before = account(database.admin, shop)
    response = change(clerk_client, current="not my password")
    assert response.status_code == 400
    assert field_errors(response.get_data(as_text=True), "current_password") == [
        "That is not your current password."
    ]
    assert account(database.admin, shop) == before
    assert elsewhere.get("/").status_code == 200
    assert clerk_client.get("/").status_code == 200


@pytest.mark.parametrize(
    ("new", "confirm", "field_id", "message"),
    [
        ("short", "short", "new_password", "Use at least 8 characters."),
        (NEW_PASSWORD, "something else", "confirm", "The two new passwords are not the same."),
        ("", "", "new_password", "Enter a new password."),
    ],
)
def test_a_bad_new_password_is_refused_next_to_the_field(
    clerk_client: FlaskClient,
    shop: Shop,
    database: DatabaseUrls,
    new: str,
    confirm: str,
    field_id: str,
    message: str,
) -> None:
    before = account(database.admin, shop)
    response = change(clerk_client, new=new, confirm=confirm)
    assert response.status_code == 400
    assert message in field_errors(response.get_data(as_text=True), field_id)
    assert account(database.admin, shop) == before


def test_the_header_links_to_the_page_which_needs_a_signed_in_user(
    client: FlaskClient, shop: Shop
) -> None:
    response = client.get("/account/password")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")
    login(client, shop.slug, shop.clerk_email)
    page = client.get("/").get_data(as_text=True)
    assert 'href="/account/password"' in page
    assert "Change your password" in client.get("/account/password").get_data(as_text=True)


def test_the_change_needs_a_csrf_token(
    clerk_client: FlaskClient, shop: Shop, database: DatabaseUrls
) -> None:
    before = account(database.admin, shop)
    response = clerk_client.post(
        "/account/password",
        data={"current_password": PASSWORD, "new_password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
    )
    assert response.status_code == 400
    assert account(database.admin, shop) == before


def test_guessing_the_current_password_is_throttled(
    clerk_client: FlaskClient, shop: Shop, database: DatabaseUrls
) -> None:
    """A session left open must not become a way to find the password by trying."""
    before = account(database.admin, shop)
    statuses = [change(clerk_client, current=f"guess {n}").status_code for n in range(6)]
    assert statuses == [400] * 5 + [429]
    assert change(clerk_client).status_code == 429  # the right one too, until the minute ends
    assert account(database.admin, shop) == before
