"""A locked-out owner: `reset-password` prints a one-time password, which signs them in only to
change it; every page sends them there until they have."""

from __future__ import annotations

import pytest
from flask import Flask

from tests.helpers import PASSWORD, Shop, api_auth, csrf_token, fetch, login, signed_in
from tests.test_account_password import change
from webapp.embedded import DatabaseUrls

MINE = "my own new password"


def reset(app: Flask, slug: str, email: str) -> tuple[int, str]:
    result = app.test_cli_runner().invoke(
        args=["reset-password", "--business", slug, "--email", email]
    )
    return result.exit_code, result.output


def test_a_one_time_password_must_be_changed_before_anything_else(
    app: Flask, shop: Shop, database: DatabaseUrls
) -> None:
    before = signed_in(app, shop.slug, shop.owner_email)
    token = api_auth(app, shop.slug)

    code, out = reset(app, shop.slug, " OWNER@alpha-store.test ")
    assert code == 0, out
    assert "One-time password for Olive Owner <owner@alpha-store.test> at Alpha Store" in out
    one_time = out.strip().splitlines()[-1]
    assert len(one_time) == 19 and one_time.count("-") == 3

    # The old password no longer works, and sessions opened with it ended.
    assert login(app.test_client(), shop.slug, shop.owner_email, PASSWORD).status_code == 400
    assert before.get("/").headers["Location"].startswith("/login")

    client = signed_in(app, shop.slug, shop.owner_email, one_time)
    for path in ("/", "/sales/new", "/customers", "/staff", "/settings", "/account/two-factor"):
        response = client.get(path)
        assert response.status_code == 302, path
        assert response.headers["Location"] == "/account/password", path
    page = client.get("/account/password")
    assert page.status_code == 200
    assert "You signed in with a one-time password" in page.get_data(as_text=True)
    # A POST elsewhere is not carried out either.
    form = {"csrf_token": csrf_token(client, "/account/password"), "name": "Xavier"}
    assert client.post("/customers/new", data=form).status_code == 302
    assert fetch(database.admin, "SELECT count(*) FROM customers") == [(0,)]
    # The shop's API tokens go on working meanwhile.
    assert app.test_client().get("/api/customers", headers=token).status_code == 200

    assert change(client, current=one_time, new=MINE).status_code == 302
    assert client.get("/").status_code == 200
    assert "one-time password" not in client.get("/account/password").get_data(as_text=True)
    assert fetch(
        database.admin, "SELECT password_must_change FROM users WHERE id = %s", shop.owner_id
    ) == [(False,)]
    assert signed_in(app, shop.slug, shop.owner_email, MINE).get("/").status_code == 200
    assert login(app.test_client(), shop.slug, shop.owner_email, one_time).status_code == 400


@pytest.mark.parametrize(
    ("slug", "email", "sentence"),
    [
        ("nope", "owner@alpha-store.test", "There is no business with the shop code 'nope'."),
        ("alpha-store", "who@alpha-store.test", "Alpha Store has no one with the email"),
    ],
)
def test_an_unknown_shop_or_person_is_one_sentence(
    app: Flask, shop: Shop, database: DatabaseUrls, slug: str, email: str, sentence: str
) -> None:
    hashes = fetch(database.admin, "SELECT password_hash FROM users ORDER BY id")
    code, out = reset(app, slug, email)
    assert code != 0
    assert sentence in out and "Traceback" not in out
    assert fetch(database.admin, "SELECT password_hash FROM users ORDER BY id") == hashes


def test_a_deactivated_person_is_not_given_a_password(
    app: Flask, shop: Shop, database: DatabaseUrls
) -> None:
    with_admin = fetch(
        database.admin,
        "UPDATE users SET is_active = false WHERE id = %s RETURNING password_hash",
        shop.clerk_id,
    )
    code, out = reset(app, shop.slug, shop.clerk_email)
    assert code != 0
    assert "is deactivated: an owner reactivates them on the Staff page first." in out
    assert fetch(
        database.admin,
        "SELECT password_hash, password_must_change FROM users WHERE id = %s",
        shop.clerk_id,
    ) == [(with_admin[0][0], False)]
