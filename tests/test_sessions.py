"""Sessions end on the server (issue 15, item 1): sign-out ends the session itself, not just the
browser's cookie; a session lasts 12 hours from sign-in whatever the activity; password, role
and status changes end a user's other sessions; owners confirm their password before staff,
token and settings changes when they last entered it more than 15 minutes ago."""

from __future__ import annotations

import hashlib

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.helpers import PASSWORD, Shop, csrf_token, fetch, field_errors, signed_in
from tests.test_settings import token_form
from webapp.embedded import DatabaseUrls

COOKIE = "shopcredit_session"


def cookie_of(client: FlaskClient) -> str:
    cookie = client.get_cookie(COOKIE)
    assert cookie is not None
    return cookie.value


def with_cookie(app: Flask, value: str) -> FlaskClient:
    """Another browser, holding a copy of a session cookie."""
    other = app.test_client()
    other.set_cookie(COOKIE, value)
    return other


def sessions(admin_url: str, shop: Shop) -> list[tuple[object, ...]]:
    return fetch(
        admin_url,
        "SELECT user_id, ended_reason FROM user_sessions WHERE business_id = %s "
        "ORDER BY created_at, id",
        shop.business_id,
    )


def test_a_copied_cookie_is_refused_after_sign_out(
    app: Flask, shop: Shop, database: DatabaseUrls
) -> None:
    client = signed_in(app, shop.slug, shop.owner_email)
    copied = cookie_of(client)
    assert with_cookie(app, copied).get("/").status_code == 200  # the copy works while it lasts

    assert client.post("/logout", data={"csrf_token": csrf_token(client, "/")}).status_code == 302
    replay = with_cookie(app, copied).get("/")
    assert replay.status_code == 302
    assert replay.headers["Location"].startswith("/login")
    assert with_cookie(app, copied).get("/customers").status_code == 302
    assert sessions(database.admin, shop) == [(shop.owner_id, "signed_out")]


def test_only_the_hash_of_the_session_secret_is_stored(
    app: Flask, shop: Shop, database: DatabaseUrls
) -> None:
    client = signed_in(app, shop.slug, shop.clerk_email)
    data = app.session_interface.get_signing_serializer(app).loads(  # type: ignore[attr-defined]
        cookie_of(client)
    )
    business, _, secret = data["_user_id"].partition(":")
    assert business == str(shop.business_id)
    ((stored,),) = fetch(database.admin, "SELECT to_jsonb(s)::text FROM user_sessions s")
    assert secret not in str(stored)
    assert hashlib.sha256(secret.encode()).hexdigest() in str(stored)


def test_a_session_ends_12_hours_after_sign_in_whatever_the_activity(
    app: Flask, shop: Shop, database: DatabaseUrls
) -> None:
    client = signed_in(app, shop.slug, shop.clerk_email)
    ((lifetime,),) = fetch(database.admin, "SELECT expires_at - created_at FROM user_sessions")
    assert str(lifetime) == "12:00:00"

    # 11 h 58 min later, busy: still signed in, and the activity moves nothing forward.
    fetch(
        database.admin,
        "UPDATE user_sessions SET created_at = created_at - interval '11 hours 58 minutes', "
        "expires_at = expires_at - interval '11 hours 58 minutes', "
        "last_seen_at = last_seen_at - interval '11 hours 58 minutes' RETURNING id",
    )
    ((expires_before,),) = fetch(database.admin, "SELECT expires_at FROM user_sessions")
    for _ in range(3):
        assert client.get("/").status_code == 200
    with client.session_transaction() as flask_session:
        flask_session["rewritten"] = "a request that rewrites the cookie"
    assert client.get("/customers").status_code == 200
    ((expires_after, seen_recently),) = fetch(
        database.admin,
        "SELECT expires_at, last_seen_at > now() - interval '1 minute' FROM user_sessions",
    )
    assert expires_after == expires_before
    assert seen_recently  # activity is recorded, not rewarded

    # Three minutes later: 12 h 01 min after sign-in.
    fetch(
        database.admin,
        "UPDATE user_sessions SET created_at = created_at - interval '3 minutes', "
        "expires_at = expires_at - interval '3 minutes' RETURNING id",
    )
    ended = client.get("/")
    assert ended.status_code == 302
    assert ended.headers["Location"].startswith("/login")


def test_changes_to_a_user_end_their_sessions_on_the_server(
    app: Flask, shop: Shop, database: DatabaseUrls
) -> None:
    owner = signed_in(app, shop.slug, shop.owner_email)
    clerk = signed_in(app, shop.slug, shop.clerk_email)
    token = csrf_token(owner, f"/staff/{shop.clerk_id}")
    response = owner.post(f"/staff/{shop.clerk_id}/deactivate", data={"csrf_token": token})
    assert response.status_code == 302
    assert clerk.get("/").status_code == 302
    assert sessions(database.admin, shop) == [(shop.owner_id, None), (shop.clerk_id, "deactivated")]


def test_an_owner_changing_their_own_role_keeps_this_session_only(
    app: Flask, shop: Shop, database: DatabaseUrls
) -> None:
    fetch(
        database.admin, "UPDATE users SET role = 'owner' WHERE id = %s RETURNING id", shop.clerk_id
    )
    here = signed_in(app, shop.slug, shop.owner_email)
    elsewhere = signed_in(app, shop.slug, shop.owner_email)
    token = csrf_token(here, f"/staff/{shop.owner_id}")
    response = here.post(
        f"/staff/{shop.owner_id}/role", data={"csrf_token": token, "role": "clerk"}
    )
    assert response.status_code == 302
    assert here.get("/").status_code == 200
    assert elsewhere.get("/").status_code == 302
    assert sessions(database.admin, shop) == [
        (shop.owner_id, None),
        (shop.owner_id, "role_changed"),
    ]


def _password_entered_minutes_ago(database: DatabaseUrls, minutes: int) -> None:
    fetch(
        database.admin,
        "UPDATE user_sessions SET password_at = now() - make_interval(mins => %s) RETURNING id",
        minutes,
    )


@pytest.mark.parametrize(
    "path", ["/settings", "/settings/tokens", "/staff", "/staff/new", "/staff/{clerk_id}"]
)
def test_owners_confirm_their_password_before_staff_token_and_settings_pages(
    owner_client: FlaskClient, shop: Shop, database: DatabaseUrls, path: str
) -> None:
    path = path.format(clerk_id=shop.clerk_id)
    assert owner_client.get(path).status_code == 200  # just signed in: no question
    _password_entered_minutes_ago(database, 14)
    assert owner_client.get(path).status_code == 200
    _password_entered_minutes_ago(database, 16)
    asked = owner_client.get(path)
    assert asked.status_code == 302
    assert asked.headers["Location"].startswith("/account/confirm?next=")
    page = owner_client.get(asked.headers["Location"]).get_data(as_text=True)
    assert "Confirm it&#39;s you" in page or "Confirm it's you" in page

    wrong = owner_client.post(
        asked.headers["Location"],
        data={"csrf_token": csrf_token(owner_client, asked.headers["Location"]), "password": "no"},
    )
    assert wrong.status_code == 400
    assert field_errors(wrong.get_data(as_text=True), "password") == ["That is not your password."]
    assert owner_client.get(path).status_code == 302  # still asked

    right = owner_client.post(
        asked.headers["Location"],
        data={
            "csrf_token": csrf_token(owner_client, asked.headers["Location"]),
            "password": PASSWORD,
        },
    )
    assert right.status_code == 302
    assert right.headers["Location"] == path  # back to where they were
    assert owner_client.get(path).status_code == 200


def test_a_change_posted_with_an_old_password_entry_waits_for_the_confirmation(
    owner_client: FlaskClient, shop: Shop, database: DatabaseUrls
) -> None:
    form = token_form(owner_client, "back office")
    _password_entered_minutes_ago(database, 20)
    response = owner_client.post(
        "/settings/tokens", data=form, headers={"Referer": "http://localhost/settings/tokens"}
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/account/confirm?next=/settings/tokens"
    assert fetch(database.admin, "SELECT count(*) FROM api_tokens") == [(0,)]  # not done

    deactivate = owner_client.post(
        f"/staff/{shop.clerk_id}/deactivate", data={"csrf_token": form["csrf_token"]}
    )
    assert deactivate.status_code == 302
    assert deactivate.headers["Location"].startswith("/account/confirm")
    assert fetch(database.admin, "SELECT is_active FROM users WHERE id = %s", shop.clerk_id) == [
        (True,)
    ]

    confirm = "/account/confirm?next=/settings/tokens"
    owner_client.post(
        confirm, data={"csrf_token": csrf_token(owner_client, confirm), "password": PASSWORD}
    )
    assert owner_client.post("/settings/tokens", data=form).status_code == 201
    assert fetch(database.admin, "SELECT count(*) FROM api_tokens") == [(1,)]


def test_clerks_are_still_refused_not_asked_for_a_password(
    clerk_client: FlaskClient, database: DatabaseUrls
) -> None:
    _password_entered_minutes_ago(database, 60)
    assert clerk_client.get("/settings").status_code == 403
    assert clerk_client.get("/staff").status_code == 403
    assert clerk_client.get("/").status_code == 200  # everything else goes on as before


def test_changing_my_password_counts_as_entering_it(
    owner_client: FlaskClient, database: DatabaseUrls
) -> None:
    _password_entered_minutes_ago(database, 30)
    response = owner_client.post(
        "/account/password",
        data={
            "csrf_token": csrf_token(owner_client, "/account/password"),
            "current_password": PASSWORD,
            "new_password": "another good password",
            "confirm": "another good password",
        },
    )
    assert response.status_code == 302
    assert owner_client.get("/settings").status_code == 200
