"""Staff pages: owners add, deactivate, reactivate, re-role and reset the password of their
staff; the last active owner stays; changed users' sessions end; clerks may do none of it."""

from __future__ import annotations

import threading
import time
import uuid
from typing import Any

import psycopg
import pytest
from flask import Flask, url_for
from flask.testing import FlaskClient

from tests.helpers import (
    PASSWORD,
    Shop,
    at_once,
    blueprint_routes,
    csrf_token,
    fetch,
    field_errors,
    login,
    signed_in,
    tenant_session,
)
from webapp.embedded import DatabaseUrls
from webapp.settings.operations import issue_token
from webapp.staff import operations

NEW_PASSWORD = "a brand new secret"


def users_snapshot(admin_url: str) -> list[tuple[object, ...]]:
    return fetch(
        admin_url,
        "SELECT business_id, id, email, name, password_hash, role, is_active, session_version "
        "FROM users ORDER BY business_id, id",
    )


def active_owners(admin_url: str, shop: Shop) -> list[uuid.UUID]:
    rows = fetch(
        admin_url,
        "SELECT id FROM users WHERE business_id = %s AND role = 'owner' AND is_active",
        shop.business_id,
    )
    return [row[0] for row in rows]  # type: ignore[misc]


def make_owner(admin_url: str, user_id: uuid.UUID) -> None:
    with psycopg.connect(admin_url) as conn:
        conn.execute("UPDATE users SET role = 'owner' WHERE id = %s", (user_id,))


def post(client: FlaskClient, path: str, **data: str) -> Any:
    return client.post(path, data={"csrf_token": csrf_token(client, "/"), **data})


def add_form(client: FlaskClient, **fields: str) -> dict[str, str]:
    page = client.get("/staff/new").get_data(as_text=True)
    key = page.split('name="idempotency_key" type="hidden" value="', 1)[1].split('"', 1)[0]
    data = {
        "csrf_token": csrf_token(client, "/staff/new"),
        "idempotency_key": key,
        "name": "Nia New",
        "email": "nia@alpha-store.test",
        "role": "clerk",
        "password": "nia's password",
        "confirm": "nia's password",
    }
    data.update(fields)
    return data


# --- who may do what ------------------------------------------------------------------------


ROUTES = blueprint_routes("staff", "settings")


def test_every_staff_and_settings_route_is_covered(app: Flask) -> None:
    """The parametrized list below is the app's real routes of both blueprints."""
    real = sorted(
        (rule.endpoint, method)
        for rule in app.url_map.iter_rules()
        if rule.endpoint.partition(".")[0] in ("staff", "settings")
        for method in rule.methods or ()
        if method not in ("HEAD", "OPTIONS")
    )
    assert real == ROUTES
    assert {"staff.index", "staff.new", "settings.index", "settings.tokens"} <= {
        endpoint for endpoint, _ in ROUTES
    }


@pytest.mark.parametrize(("endpoint", "method"), ROUTES)
def test_a_clerk_gets_403_on_every_owner_route_and_nothing_changes(
    app: Flask,
    clerk_client: FlaskClient,
    shop: Shop,
    database: DatabaseUrls,
    endpoint: str,
    method: str,
) -> None:
    with tenant_session(app, shop.business_id) as session, session.begin():
        token, _ = issue_token(
            session, business_id=shop.business_id, name="till", created_by=shop.owner_id
        )
    tables = {
        "users": users_snapshot(database.admin),
        "businesses": fetch(database.admin, "SELECT * FROM businesses ORDER BY id"),
        "api_tokens": fetch(database.admin, "SELECT * FROM api_tokens ORDER BY id"),
    }
    values = {"user_id": shop.owner_id, "token_id": token.id}
    with app.test_request_context():
        rule = next(r for r in app.url_map.iter_rules() if r.endpoint == endpoint)
        path = url_for(endpoint, **{name: values[name] for name in rule.arguments})
    # Everything any of these forms could take, so a missing check would change something.
    data = {
        "csrf_token": csrf_token(clerk_client, "/"),
        "idempotency_key": str(uuid.uuid4()),
        "name": "Taken Over",
        "email": "mallory@alpha-store.test",
        "role": "clerk",
        "password": NEW_PASSWORD,
        "confirm": NEW_PASSWORD,
        "address": "1 Elsewhere",
        "phone": "555",
        "currency": "EUR",
        "timezone": "Europe/Paris",
        "credit_days": "1",
        "low_stock_threshold": "1",
    }
    response = clerk_client.open(path, method=method, data=data if method == "POST" else None)
    assert response.status_code == 403
    assert "Not allowed" in response.get_data(as_text=True)
    assert users_snapshot(database.admin) == tables["users"]
    assert fetch(database.admin, "SELECT * FROM businesses ORDER BY id") == tables["businesses"]
    assert fetch(database.admin, "SELECT * FROM api_tokens ORDER BY id") == tables["api_tokens"]


def test_the_menu_shows_staff_and_settings_to_owners_only(
    app: Flask, owner_client: FlaskClient, shop: Shop
) -> None:
    page = owner_client.get("/").get_data(as_text=True)
    assert 'href="/staff"' in page
    assert 'href="/settings"' in page
    clerk = signed_in(app, shop.slug, shop.clerk_email)
    page = clerk.get("/").get_data(as_text=True)
    assert 'href="/staff"' not in page
    assert 'href="/settings"' not in page


# --- the list and adding ----------------------------------------------------------------------


def test_the_list_shows_every_user_with_role_and_status(
    owner_client: FlaskClient, shop: Shop, database: DatabaseUrls, other_shop: Shop
) -> None:
    with psycopg.connect(database.admin) as conn:
        conn.execute("UPDATE users SET is_active = false WHERE id = %s", (shop.clerk_id,))
    page = owner_client.get("/staff").get_data(as_text=True)
    assert "Olive Owner" in page
    assert shop.owner_email in page
    assert shop.clerk_email in page
    assert "Owner" in page
    assert "Clerk" in page
    assert "Inactive" in page
    assert other_shop.owner_email not in page  # another business's staff never shows


def test_adding_a_clerk_who_can_then_sign_in(
    app: Flask, owner_client: FlaskClient, shop: Shop, database: DatabaseUrls
) -> None:
    response = owner_client.post("/staff/new", data=add_form(owner_client))
    assert response.status_code == 302
    row = fetch(
        database.admin,
        "SELECT id, name, role, is_active FROM users WHERE email = 'nia@alpha-store.test'",
    )
    assert len(row) == 1
    assert row[0][1:] == ("Nia New", "clerk", True)
    assert response.headers["Location"] == f"/staff/{row[0][0]}"
    assert "Nia New was added as clerk" in owner_client.get(response.headers["Location"]).get_data(
        as_text=True
    )
    nia = signed_in(app, shop.slug, "NIA@alpha-store.test", "nia's password")
    assert nia.get("/").status_code == 200
    assert nia.get("/staff").status_code == 403


def test_adding_an_owner(owner_client: FlaskClient, database: DatabaseUrls) -> None:
    data = add_form(owner_client, role="owner", email="second@alpha-store.test")
    assert owner_client.post("/staff/new", data=data).status_code == 302
    assert fetch(
        database.admin, "SELECT role FROM users WHERE email = 'second@alpha-store.test'"
    ) == [("owner",)]


@pytest.mark.parametrize(
    ("fields", "field_id", "message"),
    [
        ({"email": "not-an-email"}, "email", "'not-an-email' is not an email address."),
        ({"email": "CLERK@alpha-store.test"}, "email", "already has an account in this business"),
        ({"name": "  "}, "name", "Enter their name."),
        ({"password": "short", "confirm": "short"}, "password", "Use at least 8 characters."),
        ({"confirm": "something else"}, "confirm", "The two passwords are not the same."),
        ({"role": "admin"}, "role", "The role is owner or clerk."),
    ],
)
def test_adding_refuses_bad_input_next_to_the_field(
    owner_client: FlaskClient,
    database: DatabaseUrls,
    fields: dict[str, str],
    field_id: str,
    message: str,
) -> None:
    before = users_snapshot(database.admin)
    response = owner_client.post("/staff/new", data=add_form(owner_client, **fields))
    assert response.status_code == 400
    errors = field_errors(response.get_data(as_text=True), field_id)
    assert any(message in error for error in errors), errors
    assert users_snapshot(database.admin) == before


def test_the_same_add_form_sent_twice_adds_one_user(
    owner_client: FlaskClient, database: DatabaseUrls
) -> None:
    data = add_form(owner_client)
    first = owner_client.post("/staff/new", data=data)
    second = owner_client.post("/staff/new", data=data)
    assert first.status_code == second.status_code == 302
    assert first.headers["Location"] == second.headers["Location"]
    assert fetch(
        database.admin, "SELECT count(*) FROM users WHERE email = 'nia@alpha-store.test'"
    ) == [(1,)]


def test_a_double_click_at_the_same_moment_adds_one_user(
    app: Flask, shop: Shop, database: DatabaseUrls
) -> None:
    clients = [signed_in(app, shop.slug, shop.owner_email) for _ in range(2)]
    first = add_form(clients[0])
    # The same form (same idempotency key) sent from two tabs of one browser at once.
    forms = [first, {**first, "csrf_token": csrf_token(clients[1], "/staff/new")}]
    results = at_once(2, lambda i: clients[i].post("/staff/new", data=forms[i]).status_code)
    assert results == [302, 302]
    assert fetch(
        database.admin, "SELECT count(*) FROM users WHERE email = 'nia@alpha-store.test'"
    ) == [(1,)]


def test_two_owners_adding_the_same_email_at_once_get_one_user_and_a_clear_message(
    app: Flask, shop: Shop, database: DatabaseUrls
) -> None:
    clients = [signed_in(app, shop.slug, shop.owner_email) for _ in range(2)]
    forms = [
        add_form(clients[0], email="dup@alpha-store.test"),
        add_form(clients[1], email="DUP@alpha-store.test"),
    ]
    responses = at_once(2, lambda i: clients[i].post("/staff/new", data=forms[i]))
    statuses = sorted(r.status_code for r in responses)  # type: ignore[union-attr]
    assert statuses[0] == 302
    assert statuses[1] in (400, 409)  # refused before the insert, or by the unique index
    refused = next(r for r in responses if r.status_code != 302)  # type: ignore[union-attr]
    errors = field_errors(refused.get_data(as_text=True), "email")  # type: ignore[union-attr]
    assert any("already has an account in this business" in e for e in errors), errors
    assert fetch(
        database.admin, "SELECT count(*) FROM users WHERE lower(email) = 'dup@alpha-store.test'"
    ) == [(1,)]


# --- deactivating, reactivating, roles ------------------------------------------------------


def test_deactivating_ends_the_users_open_session_and_reactivating_lets_them_back(
    app: Flask, owner_client: FlaskClient, shop: Shop, database: DatabaseUrls
) -> None:
    clerk = signed_in(app, shop.slug, shop.clerk_email)
    assert clerk.get("/").status_code == 200

    response = post(owner_client, f"/staff/{shop.clerk_id}/deactivate")
    assert response.status_code == 302
    assert fetch(database.admin, "SELECT is_active FROM users WHERE id = %s", shop.clerk_id) == [
        (False,)
    ]
    assert "Carl Clerk was deactivated" in owner_client.get(response.headers["Location"]).get_data(
        as_text=True
    )
    ended = clerk.get("/")
    assert ended.status_code == 302
    assert ended.headers["Location"].startswith("/login")
    assert login(app.test_client(), shop.slug, shop.clerk_email).status_code == 400

    assert post(owner_client, f"/staff/{shop.clerk_id}/reactivate").status_code == 302
    assert signed_in(app, shop.slug, shop.clerk_email).get("/").status_code == 200


def test_the_only_owner_cannot_deactivate_or_demote_themselves(
    owner_client: FlaskClient, shop: Shop, database: DatabaseUrls
) -> None:
    before = users_snapshot(database.admin)
    for action, data in (("deactivate", {}), ("role", {"role": "clerk"})):
        response = post(owner_client, f"/staff/{shop.owner_id}/{action}", **data)
        assert response.status_code == 409
        page = response.get_data(as_text=True)
        assert "the only active owner; the shop needs at least one" in page
    assert users_snapshot(database.admin) == before
    assert owner_client.get("/staff").status_code == 200  # still an owner, still signed in


def test_with_two_owners_one_may_demote_themselves_but_never_deactivate(
    app: Flask, owner_client: FlaskClient, shop: Shop, database: DatabaseUrls
) -> None:
    make_owner(database.admin, shop.clerk_id)
    refused = post(owner_client, f"/staff/{shop.owner_id}/deactivate")
    assert refused.status_code == 409
    assert "You cannot deactivate your own account" in refused.get_data(as_text=True)

    other_session = signed_in(app, shop.slug, shop.owner_email)
    demoted = post(owner_client, f"/staff/{shop.owner_id}/role", role="clerk")
    assert demoted.status_code == 302
    assert demoted.headers["Location"] == "/"
    assert fetch(database.admin, "SELECT role FROM users WHERE id = %s", shop.owner_id) == [
        ("clerk",)
    ]
    assert owner_client.get("/").status_code == 200  # this session goes on...
    assert owner_client.get("/staff").status_code == 403  # ...as a clerk
    assert other_session.get("/").status_code == 302  # the others end

    # The remaining owner is now the last one: demoting them is refused.
    carl = signed_in(app, shop.slug, shop.clerk_email)
    refused = post(carl, f"/staff/{shop.clerk_id}/role", role="clerk")
    assert refused.status_code == 409
    assert active_owners(database.admin, shop) == [shop.clerk_id]


def test_an_owner_can_deactivate_another_owner_and_their_tokens_stop(
    app: Flask, owner_client: FlaskClient, shop: Shop, database: DatabaseUrls
) -> None:
    make_owner(database.admin, shop.clerk_id)
    with tenant_session(app, shop.business_id) as session, session.begin():
        _, plain = issue_token(
            session, business_id=shop.business_id, name="till", created_by=shop.clerk_id
        )
    headers = {"Authorization": f"Bearer {plain}"}
    assert app.test_client().get("/api/overdue", headers=headers).status_code == 200
    assert post(owner_client, f"/staff/{shop.clerk_id}/deactivate").status_code == 302
    assert active_owners(database.admin, shop) == [shop.owner_id]
    assert app.test_client().get("/api/overdue", headers=headers).status_code == 401


def test_a_role_change_ends_the_users_sessions_and_takes_effect(
    app: Flask, owner_client: FlaskClient, shop: Shop, database: DatabaseUrls
) -> None:
    clerk = signed_in(app, shop.slug, shop.clerk_email)
    response = post(owner_client, f"/staff/{shop.clerk_id}/role", role="owner")
    assert response.status_code == 302
    assert "Carl Clerk is now an owner" in owner_client.get(response.headers["Location"]).get_data(
        as_text=True
    )
    assert clerk.get("/").status_code == 302
    promoted = signed_in(app, shop.slug, shop.clerk_email)
    assert promoted.get("/staff").status_code == 200
    before = users_snapshot(database.admin)
    assert post(owner_client, f"/staff/{shop.clerk_id}/role", role="owner").status_code == 302
    assert users_snapshot(database.admin) == before  # the same change again changes nothing
    assert promoted.get("/staff").status_code == 200


def test_an_unknown_role_is_refused_next_to_the_field(
    owner_client: FlaskClient, shop: Shop, database: DatabaseUrls
) -> None:
    before = users_snapshot(database.admin)
    response = post(owner_client, f"/staff/{shop.clerk_id}/role", role="admin")
    assert response.status_code == 409
    assert field_errors(response.get_data(as_text=True), "role") == ["Choose owner or clerk."]
    assert users_snapshot(database.admin) == before


def test_two_owners_demoting_each_other_at_once_leave_an_owner(
    app: Flask, shop: Shop, database: DatabaseUrls
) -> None:
    make_owner(database.admin, shop.clerk_id)
    ids = [shop.owner_id, shop.clerk_id]
    emails = [shop.owner_email, shop.clerk_email]
    for _ in range(5):
        with psycopg.connect(database.admin) as conn:
            conn.execute(
                "UPDATE users SET role = 'owner' WHERE business_id = %s", (shop.business_id,)
            )
        clients = [signed_in(app, shop.slug, email) for email in emails]
        tokens = [csrf_token(client, "/") for client in clients]
        responses = at_once(
            2,
            lambda i, clients=clients, tokens=tokens: clients[i].post(
                f"/staff/{ids[1 - i]}/role", data={"csrf_token": tokens[i], "role": "clerk"}
            ),
        )
        # One demotion goes through; the other is refused (403: no longer an owner, 409: the
        # other is the last one) or finds its own session ended (302 to sign in).
        assert all(r.status_code in (302, 403, 409) for r in responses)  # type: ignore[union-attr]
        assert len(active_owners(database.admin, shop)) == 1


def _wait_for_a_lock_wait(server_url: str, database_name: str) -> None:
    """Until some backend of the test database waits on a lock (not a timing assertion: the
    test only needs the second transaction to have reached the lock). Read as a superuser:
    other roles do not see what the app role's backends wait for."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        waiting = fetch(
            server_url,
            "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND wait_event_type = 'Lock'",
            database_name,
        )
        if waiting[0][0]:
            return
        time.sleep(0.02)
    raise AssertionError("the second demotion never waited for the first one's locks")


def test_the_second_of_two_crossing_demotions_waits_then_is_refused(
    app: Flask, shop: Shop, database: DatabaseUrls, database_server: str
) -> None:
    """Deterministic interleaving: A demotes B and holds its locks; B's demotion of A must
    wait for them, then find that B is no longer an owner. Without the locks both would pass
    (each counting two owners) and the business would be left with none."""
    make_owner(database.admin, shop.clerk_id)
    a, b = shop.owner_id, shop.clerk_id
    outcome: dict[str, object] = {}
    # The change without its commit (unit_of_work keeps it as __wrapped__), so that each
    # transaction below holds its locks until this test lets go of them.
    set_role = operations.set_role.__wrapped__

    def second() -> None:
        with tenant_session(app, shop.business_id) as session, session.begin():
            try:
                set_role(session, business_id=shop.business_id, actor_id=b, user_id=a, role="clerk")
            except operations.StaffRefusal as refusal:
                outcome["refusal"] = refusal

    with tenant_session(app, shop.business_id) as session, session.begin():
        set_role(session, business_id=shop.business_id, actor_id=a, user_id=b, role="clerk")
        thread = threading.Thread(target=second)
        thread.start()
        _wait_for_a_lock_wait(
            database_server, psycopg.conninfo.conninfo_to_dict(database.admin)["dbname"]
        )
    thread.join()
    assert isinstance(outcome.get("refusal"), operations.NotAnOwner)
    assert active_owners(database.admin, shop) == [a]


# --- resetting a password ---------------------------------------------------------------------


def test_resetting_a_password_ends_their_sessions_and_the_new_one_works(
    app: Flask, owner_client: FlaskClient, shop: Shop
) -> None:
    clerk = signed_in(app, shop.slug, shop.clerk_email)
    response = post(
        owner_client,
        f"/staff/{shop.clerk_id}/password",
        password=NEW_PASSWORD,
        confirm=NEW_PASSWORD,
    )
    assert response.status_code == 302
    assert "password was changed" in owner_client.get(response.headers["Location"]).get_data(
        as_text=True
    )
    assert clerk.get("/").status_code == 302
    assert login(app.test_client(), shop.slug, shop.clerk_email, PASSWORD).status_code == 400
    assert signed_in(app, shop.slug, shop.clerk_email, NEW_PASSWORD).get("/").status_code == 200


@pytest.mark.parametrize(
    ("password", "confirm", "field_id", "message"),
    [
        ("short", "short", "password", "Use at least 8 characters."),
        (NEW_PASSWORD, "not the same", "confirm", "The two passwords are not the same."),
        ("", "", "password", "Enter a password."),
    ],
)
def test_a_bad_new_password_is_refused_next_to_the_field(
    owner_client: FlaskClient,
    shop: Shop,
    database: DatabaseUrls,
    password: str,
    confirm: str,
    field_id: str,
    message: str,
) -> None:
    before = users_snapshot(database.admin)
    response = post(
        owner_client, f"/staff/{shop.clerk_id}/password", password=password, confirm=confirm
    )
    assert response.status_code in (400, 409)
    assert message in field_errors(response.get_data(as_text=True), field_id)
    assert users_snapshot(database.admin) == before


def test_an_owner_changes_their_own_password_on_their_own_page(
    owner_client: FlaskClient, shop: Shop, database: DatabaseUrls
) -> None:
    page = owner_client.get(f"/staff/{shop.owner_id}").get_data(as_text=True)
    assert 'href="/account/password"' in page
    before = users_snapshot(database.admin)
    response = post(
        owner_client,
        f"/staff/{shop.owner_id}/password",
        password=NEW_PASSWORD,
        confirm=NEW_PASSWORD,
    )
    assert response.status_code == 409
    assert "Change your own password" in response.get_data(as_text=True)
    assert users_snapshot(database.admin) == before


# --- other businesses -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "action", "data"),
    [
        ("GET", "", {}),
        ("POST", "/deactivate", {}),
        ("POST", "/reactivate", {}),
        ("POST", "/role", {"role": "clerk"}),
        ("POST", "/password", {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}),
    ],
)
def test_another_business_users_answer_404_and_nothing_changes(
    owner_client: FlaskClient,
    other_shop: Shop,
    database: DatabaseUrls,
    method: str,
    action: str,
    data: dict[str, str],
) -> None:
    before = users_snapshot(database.admin)
    for user_id in (other_shop.owner_id, other_shop.clerk_id, uuid.uuid4()):
        path = f"/staff/{user_id}{action}"
        response = owner_client.get(path) if method == "GET" else post(owner_client, path, **data)
        assert response.status_code == 404
    assert users_snapshot(database.admin) == before
