"""A statement the customer can open (issue 16): "Share statement" on the customer's page makes
a link to a read-only page of that customer's statement — no sign-in, nothing of any other
customer or shop, no navigation, noindex, no Referer, not cached, no cookie — that expires, can
be revoked, refuses any changed character the same plain way, and can go in a reminder."""

from __future__ import annotations

import html
import re
import uuid
from decimal import Decimal
from urllib.parse import unquote

import psycopg
import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from tests.helpers import (
    Shop,
    add_customer,
    add_product,
    at_once,
    csrf_token,
    fetch,
    pay,
    redate_sale,
    sell,
    signed_in,
)
from webapp.embedded import DatabaseUrls
from webapp.share import links

EXPIRED = "This link has expired — ask the shop for a new one."
ADDRESS = re.compile(r'readonly value="http://localhost/s/([A-Za-z0-9_-]{43})"')
ANY_ADDRESS = re.compile(r"/s/([A-Za-z0-9_-]{43})")


@pytest.fixture
def ada(app: Flask, database: DatabaseUrls, shop: Shop, other_shop: Shop) -> uuid.UUID:
    """Ada of Alpha Store (KES) owes 36.00 of which 24.00 is overdue, and paid 6.00. Bob, another
    customer of the shop, and Zed of Beta Store (another business) have their own sales."""
    with psycopg.connect(database.admin) as conn:
        conn.execute(
            "UPDATE businesses SET currency = 'KES', payment_instructions = 'M-Pesa till 424242',"
            " address = '1 Market Lane' WHERE id = %s",
            (shop.business_id,),
        )
    customer = add_customer(database.admin, shop.business_id, "Ada Lovelace", phone="+254700000009")
    rice = add_product(database.admin, shop.business_id, "Rice", price="12.00")
    redate_sale(database.admin, sell(app, shop, customer, rice, 3), -10, created_days_ago=40)
    sell(app, shop, customer, rice, 1)
    pay(app, shop, customer, "12.00")
    bob = add_customer(database.admin, shop.business_id, "Bob Babbage")
    gold = add_product(database.admin, shop.business_id, "Gold", price="777.00")
    sell(app, shop, bob, gold, 1)
    pay(app, shop, bob, "333.00")
    zed = add_customer(database.admin, other_shop.business_id, "Zed Zuse")
    silver = add_product(database.admin, other_shop.business_id, "Silver", price="555.00")
    sell(app, other_shop, zed, silver, 1)
    return customer


def _share(client: FlaskClient, customer: uuid.UUID, **fields: str) -> TestResponse:
    page = f"/customers/{customer}"
    body = client.get(page).get_data(as_text=True)
    key = re.search(r'name="idempotency_key" type="hidden" value="([^"]+)"', body)
    assert key, "no share form"
    return client.post(
        f"/customers/{customer}/statement-links",
        data={"csrf_token": csrf_token(client, page), "idempotency_key": key.group(1), **fields},
    )


def _shared_token(client: FlaskClient, customer: uuid.UUID) -> str:
    """Share the statement and read the link off the customer's page, as staff copy it."""
    assert _share(client, customer).status_code == 302
    found = ADDRESS.findall(client.get(f"/customers/{customer}").get_data(as_text=True))
    assert found, "no link listed"
    return found[0]


def _link_id(database: DatabaseUrls) -> uuid.UUID:
    ((link_id,),) = fetch(
        database.admin, "SELECT id FROM statement_links ORDER BY created_at DESC LIMIT 1"
    )
    return link_id  # type: ignore[return-value]


def _open(app: Flask, token: str, address: str = "203.0.113.7") -> TestResponse:
    """Opened by the customer: a browser with no cookies of the shop's."""
    return app.test_client().get(f"/s/{token}", environ_base={"REMOTE_ADDR": address})


def test_the_page_shows_that_customers_statement_and_nothing_else(
    app: Flask, owner_client: FlaskClient, database: DatabaseUrls, shop: Shop, ada: uuid.UUID
) -> None:
    token = _shared_token(owner_client, ada)
    opened = _open(app, token)
    assert opened.status_code == 200
    page = html.unescape(opened.get_data(as_text=True))
    for shown in (
        "Alpha Store",
        "1 Market Lane",
        "Ada Lovelace",
        "Statement of account",
        "M-Pesa till 424242",
        "Sale 1",
        "Sale 2",
        "Payment 1",
    ):
        assert shown in page, shown
    owed = re.search(r'<dd class="owed">([^<]+)</dd>', page)
    overdue = re.search(r'<dd class="warn overdue">([^<]+)</dd>', page)
    assert owed and "36.00" in owed.group(1) and "KES" in owed.group(1)
    assert overdue and "24.00" in overdue.group(1)
    # Nothing of the shop's other customer, nor of the other shop.
    for hidden in ("Bob", "Babbage", "777", "333", "444", "Beta Store", "Zed", "Zuse", "555"):
        assert hidden not in page, hidden
    # Nothing to navigate by: no link, no form, nothing loaded but the app's own CSS and print
    # script.
    assert "<a " not in page and "<form" not in page and "<nav" not in page
    assert set(re.findall(r'(?:href|src)="([^"]+)"', page)) == {
        "/static/css/app.css",
        "/static/css/print.css",
        "/static/js/print.js",
    }
    assert '<meta name="robots" content="noindex, nofollow">' in page


def test_the_page_sets_no_cookie_and_tells_browsers_and_robots_what_it_is(
    app: Flask, owner_client: FlaskClient, ada: uuid.UUID
) -> None:
    opened = _open(app, _shared_token(owner_client, ada))
    refused = _open(app, "x" * 43)
    for response in (opened, refused):
        assert "Set-Cookie" not in response.headers
        assert response.headers["X-Robots-Tag"] == "noindex, nofollow"
        assert response.headers["Referrer-Policy"] == "no-referrer"
        assert response.headers["Cache-Control"] == "no-store"
        csp = response.headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "'unsafe-inline'" not in csp
        assert "frame-ancestors 'none'" in csp


def test_staff_of_another_shop_opening_it_see_it_as_the_customer_does(
    app: Flask,
    owner_client: FlaskClient,
    ada: uuid.UUID,
    other_shop: Shop,
) -> None:
    """Their session is never loaded: money in the link's shop's currency, none of theirs."""
    token = _shared_token(owner_client, ada)
    theirs = signed_in(app, other_shop.slug, other_shop.owner_email)
    page = html.unescape(theirs.get(f"/s/{token}").get_data(as_text=True))
    assert "Ada Lovelace" in page and "KES" in page
    assert "Beta Store" not in page and "Olive Owner" not in page and "Sign out" not in page


def test_the_chosen_period_is_shown_and_up_to_today_stays_current(
    app: Flask, owner_client: FlaskClient, database: DatabaseUrls, shop: Shop, ada: uuid.UUID
) -> None:
    # A past period: kept as chosen. (Sale 1 was made 40 days ago; the rest today.)
    shared = _share(owner_client, ada, date_from="2020-01-01", date_to="2020-12-31")
    assert shared.status_code == 302
    past = fetch(database.admin, "SELECT date_from, date_to, purpose FROM statement_links")
    assert [(str(a), str(b), c) for a, b, c in past] == [("2020-01-01", "2020-12-31", "shared")]
    with app.test_request_context():
        token = links.token_for(_link_id(database))
    page = _open(app, token).get_data(as_text=True)
    assert "Sale 1" not in page and "Nothing bought or paid in this period." in page
    assert "Jan 1, 2020 – Dec 31, 2020" in page
    # Up to today: up to the day it is opened.
    token = _shared_token(owner_client, ada)
    assert fetch(
        database.admin, "SELECT date_to FROM statement_links ORDER BY created_at DESC LIMIT 1"
    ) == [(None,)]
    sell(app, shop, ada, add_product(database.admin, shop.business_id, "Salt"), 1)
    assert "Sale 4" in _open(app, token).get_data(as_text=True)


def test_one_link_per_form_and_who_made_it_is_listed_and_logged(
    owner_client: FlaskClient, database: DatabaseUrls, ada: uuid.UUID
) -> None:
    page = f"/customers/{ada}"
    body = owner_client.get(page).get_data(as_text=True)
    key = re.search(r'name="idempotency_key" type="hidden" value="([^"]+)"', body)
    assert key
    form = {"csrf_token": csrf_token(owner_client, page), "idempotency_key": key.group(1)}
    first = owner_client.post(f"{page}/statement-links", data={**form, "days": "7"})
    again = owner_client.post(f"{page}/statement-links", data={**form, "days": "7"})
    assert first.status_code == again.status_code == 302
    assert fetch(
        database.admin,
        "SELECT count(*), min(round(extract(epoch FROM expires_at - created_at) / 86400))"
        " FROM statement_links",
    ) == [(1, Decimal("7"))]
    # The same key with other values is refused, and makes nothing.
    other = owner_client.post(f"{page}/statement-links", data={**form, "days": "90"})
    assert other.status_code == 302
    assert fetch(database.admin, "SELECT count(*) FROM statement_links") == [(1,)]
    listed = owner_client.get(page).get_data(as_text=True)
    assert "by Olive Owner" in listed and "Open until" in listed
    log = fetch(
        database.admin,
        "SELECT kind, summary, user_id FROM activity_log WHERE kind = 'statement_link'",
    )
    assert len(log) == 1 and log[0][0] == "statement_link"
    assert "Statement link for Ada Lovelace made to share" in str(log[0][1])
    # Never the token, anywhere in the log.
    token = ADDRESS.findall(listed)[0]
    assert fetch(
        database.admin,
        "SELECT count(*) FROM activity_log WHERE summary LIKE %s OR after::text LIKE %s",
        f"%{token}%",
        f"%{token}%",
    ) == [(0,)]
    assert fetch(database.admin, "SELECT token_hash FROM statement_links") == [
        (links.hash_token(token),)
    ]
    # A days value the form does not offer changes nothing.
    bad = _share(owner_client, ada, days="3650")
    assert bad.status_code == 302
    assert fetch(database.admin, "SELECT count(*) FROM statement_links") == [(1,)]


def test_an_expired_link_says_so_plainly(
    app: Flask, owner_client: FlaskClient, database: DatabaseUrls, ada: uuid.UUID
) -> None:
    token = _shared_token(owner_client, ada)
    assert _open(app, token).status_code == 200
    with psycopg.connect(database.admin) as conn:  # 31 days later
        conn.execute(
            "UPDATE statement_links SET created_at = now() - interval '31 days',"
            " expires_at = now() - interval '1 day'"
        )
    gone = _open(app, token)
    assert gone.status_code == 404
    page = html.unescape(gone.get_data(as_text=True))
    assert EXPIRED in page
    assert "Ada" not in page and "Alpha Store" not in page and "<a " not in page
    assert "Expired" in owner_client.get(f"/customers/{ada}").get_data(as_text=True)


def test_a_revoked_link_stops_at_once_and_who_may_revoke(
    app: Flask,
    client: FlaskClient,
    database: DatabaseUrls,
    shop: Shop,
    other_shop: Shop,
    ada: uuid.UUID,
) -> None:
    owner = signed_in(app, shop.slug, shop.owner_email)
    clerk = signed_in(app, shop.slug, shop.clerk_email)
    owners_token = _shared_token(owner, ada)
    owners_link = _link_id(database)
    clerks_token = _shared_token(clerk, ada)
    clerks_link = _link_id(database)
    page = f"/customers/{ada}"

    def revoke(who: FlaskClient, link: uuid.UUID, customer: uuid.UUID = ada) -> TestResponse:
        return who.post(
            f"/customers/{customer}/statement-links/{link}/revoke",
            data={"csrf_token": csrf_token(who, page)},
        )

    # A clerk revokes the links they made, not another's (and is not offered to).
    clerk_view = clerk.get(page).get_data(as_text=True)
    assert f"/statement-links/{clerks_link}/revoke" in clerk_view
    assert f"/statement-links/{owners_link}/revoke" not in clerk_view
    assert revoke(clerk, owners_link).status_code == 403
    assert _open(app, owners_token).status_code == 200
    assert revoke(clerk, clerks_link).status_code == 302
    assert _open(app, clerks_token).status_code == 404
    # Another shop's owner cannot find it; an owner revokes anyone's.
    theirs = signed_in(app, other_shop.slug, other_shop.owner_email)
    bob_of_theirs = add_customer(database.admin, other_shop.business_id, "Theirs")
    assert revoke(theirs, owners_link, bob_of_theirs).status_code == 404
    assert revoke(theirs, owners_link).status_code == 404
    assert _open(app, owners_token).status_code == 200
    assert revoke(owner, owners_link).status_code == 302
    assert revoke(owner, owners_link).status_code == 302  # again: nothing more happens
    gone = _open(app, owners_token)
    assert gone.status_code == 404 and EXPIRED in html.unescape(gone.get_data(as_text=True))
    listed = owner.get(page).get_data(as_text=True)
    assert "Revoked" in listed and "by Carl Clerk" in listed
    log = fetch(
        database.admin,
        "SELECT u.name, a.summary FROM activity_log a JOIN users u ON u.id = a.user_id"
        " WHERE a.kind = 'statement_link' ORDER BY a.at, a.summary",
    )
    assert [(name, str(summary).split(" for ")[0]) for name, summary in log] == [
        ("Olive Owner", "Statement link"),
        ("Carl Clerk", "Statement link"),
        ("Carl Clerk", "Statement link"),
        ("Olive Owner", "Statement link"),
    ]
    assert [str(s).rsplit(" ", 1)[-1] for _, s in log[2:]] == ["revoked", "revoked"]


def test_any_changed_character_is_refused_the_same_plain_way(
    app: Flask, owner_client: FlaskClient, database: DatabaseUrls, shop: Shop, ada: uuid.UUID
) -> None:
    token = _shared_token(owner_client, ada)
    bob = fetch(database.admin, "SELECT id FROM customers WHERE name = 'Bob Babbage'")[0][0]
    bobs_token = _shared_token(owner_client, bob)  # type: ignore[arg-type]
    assert _open(app, bobs_token).status_code == 200
    with psycopg.connect(database.admin) as conn:
        conn.execute(
            "UPDATE statement_links SET created_at = now() - interval '31 days',"
            " expires_at = now() - interval '1 second' WHERE customer_id = %s",
            (bob,),
        )
    expired = _open(app, bobs_token)
    tampered = [
        token[:i] + ("A" if token[i] != "A" else "B") + token[i + 1 :] for i in range(len(token))
    ]
    tampered += [token[:-1], token + "A", token.upper(), token.lower(), "", "../" + token]
    for number, changed in enumerate(tampered):
        # From as many addresses, so that the rate limit is not what refuses them.
        answer = _open(app, changed, f"198.51.100.{number % 250 + 1}")
        assert answer.status_code == 404, changed
        if changed and "/" not in changed:
            assert answer.get_data() == expired.get_data(), changed
    assert _open(app, token).status_code == 200  # the real one still opens


def test_a_row_written_without_the_key_opens_nothing(
    app: Flask, owner_client: FlaskClient, database: DatabaseUrls, shop: Shop, ada: uuid.UUID
) -> None:
    """Someone who could write into the database but has no SECRET_KEY cannot make a link: the
    token must be the one the app's key makes for the link's id."""
    _shared_token(owner_client, ada)
    made_up = "A" * 43
    with psycopg.connect(database.admin) as conn:
        conn.execute(
            "INSERT INTO statement_links (business_id, customer_id, token_hash, date_from,"
            " created_by, expires_at) VALUES (%s, %s, %s, current_date, %s,"
            " now() + interval '1 day')",
            (shop.business_id, ada, links.hash_token(made_up), shop.owner_id),
        )
    assert _open(app, made_up).status_code == 404


def test_an_erased_customers_links_stop(
    app: Flask, owner_client: FlaskClient, database: DatabaseUrls, ada: uuid.UUID
) -> None:
    token = _shared_token(owner_client, ada)
    with psycopg.connect(database.admin) as conn:
        conn.execute("UPDATE customers SET erased_at = now() WHERE id = %s", (ada,))
    assert _open(app, token).status_code == 404


def test_the_app_role_reads_the_directory_only_through_the_lookup(
    owner_client: FlaskClient, database: DatabaseUrls, ada: uuid.UUID
) -> None:
    _shared_token(owner_client, ada)
    with psycopg.connect(database.app) as conn:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("SELECT * FROM statement_link_directory").fetchall()
        conn.rollback()
        # No business bound: the links themselves are invisible.
        assert conn.execute("SELECT count(*) FROM statement_links").fetchone() == (0,)
        assert conn.execute("SELECT * FROM statement_link_lookup('0')").fetchall() == []


def test_opening_is_limited_per_address(
    app: Flask,
    owner_client: FlaskClient,
    ada: uuid.UUID,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(app.config, "STATEMENT_LINK_LIMIT", "3 per minute")
    token = _shared_token(owner_client, ada)
    assert [_open(app, token).status_code for _ in range(4)] == [200, 200, 200, 429]
    limited = _open(app, token)
    page = limited.get_data(as_text=True)
    assert "Too many requests" in page and "<nav" not in page and "Ada" not in page
    assert limited.headers["X-Robots-Tag"] == "noindex, nofollow"
    assert _open(app, token, "192.0.2.55").status_code == 200  # another address


def test_clerks_share_too_and_nothing_is_offered_for_an_erased_customer(
    clerk_client: FlaskClient, database: DatabaseUrls, shop: Shop, ada: uuid.UUID
) -> None:
    assert _shared_token(clerk_client, ada)
    erased = add_customer(database.admin, shop.business_id, "Gone")
    with psycopg.connect(database.admin) as conn:
        conn.execute("UPDATE customers SET erased_at = now() WHERE id = %s", (erased,))
    page = clerk_client.get(f"/customers/{erased}").get_data(as_text=True)
    assert "/statement-links" not in page


# --- In reminders ---------------------------------------------------------------------------


def _remind(client: FlaskClient, customer: uuid.UUID) -> str:
    answer = client.post(
        f"/customers/{customer}/remind",
        data={"csrf_token": csrf_token(client, f"/customers/{customer}"), "channel": "whatsapp"},
        headers={"Accept": "application/json"},
    )
    assert answer.status_code == 200
    return unquote(answer.get_json()["link"])


def test_a_reminder_carries_a_link_and_reuses_it_while_it_has_a_week(
    app: Flask, clerk_client: FlaskClient, database: DatabaseUrls, shop: Shop, ada: uuid.UUID
) -> None:
    with psycopg.connect(database.admin) as conn:
        conn.execute(
            "UPDATE businesses SET reminder_template = 'Hello {name}, see {statement_link}'"
        )
    page = html.unescape(clerk_client.get(f"/customers/{ada}").get_data(as_text=True))
    assert "see [link to their statement]" in page  # shown before sending: made when sent
    assert fetch(database.admin, "SELECT count(*) FROM statement_links") == [(0,)]

    first = _remind(clerk_client, ada)
    (token,) = ANY_ADDRESS.findall(first)
    assert "Hello Ada Lovelace, see http://localhost/s/" in first
    assert _open(app, token).status_code == 200
    assert ANY_ADDRESS.findall(_remind(clerk_client, ada)) == [token]  # reused
    rows = fetch(database.admin, "SELECT purpose, date_to, created_by FROM statement_links")
    assert rows == [("reminder", None, shop.clerk_id)]
    # The record of what was sent keeps the link's place, never its secret.
    messages = fetch(database.admin, "SELECT message FROM reminders")
    assert messages == [("Hello Ada Lovelace, see [link to their statement]",)] * 2
    # A week or less left: the next reminder sends a new one (the old one still opens).
    with psycopg.connect(database.admin) as conn:
        conn.execute("UPDATE statement_links SET expires_at = now() + interval '6 days'")
    (newer,) = ANY_ADDRESS.findall(_remind(clerk_client, ada))
    assert newer != token
    assert _open(app, token).status_code == 200 and _open(app, newer).status_code == 200
    # A link shared by hand is never what a reminder sends.
    assert fetch(
        database.admin, "SELECT count(*) FROM statement_links WHERE purpose = 'reminder'"
    ) == [(2,)]


def test_without_the_placeholder_no_link_is_made(
    clerk_client: FlaskClient, database: DatabaseUrls, ada: uuid.UUID
) -> None:
    assert "/s/" not in _remind(clerk_client, ada)
    assert fetch(database.admin, "SELECT count(*) FROM statement_links") == [(0,)]


def test_settings_preview_shows_the_link(owner_client: FlaskClient, shop: Shop) -> None:
    from tests.test_reminders import SETTINGS

    fields = {**SETTINGS, "reminder_template": "Your statement: {statement_link}"}
    preview = owner_client.post(
        "/settings",
        data={**fields, "csrf_token": csrf_token(owner_client, "/settings"), "action": "preview"},
    )
    page = preview.get_data(as_text=True)
    assert re.search(r"Your statement: http://localhost/s/[A-Za-z0-9_-]{43}", page)
    assert "{statement_link}" in page  # listed among what the app fills in


def test_the_same_form_sent_twice_at_once_makes_one_link(
    app: Flask, database: DatabaseUrls, shop: Shop, ada: uuid.UUID
) -> None:
    clients = [signed_in(app, shop.slug, shop.clerk_email) for _ in range(2)]
    page = f"/customers/{ada}"
    body = clients[0].get(page).get_data(as_text=True)
    key = re.search(r'name="idempotency_key" type="hidden" value="([^"]+)"', body)
    assert key
    forms = [
        {"csrf_token": csrf_token(client, page), "idempotency_key": key.group(1), "days": "30"}
        for client in clients
    ]
    answers = at_once(
        2, lambda n: clients[n].post(f"{page}/statement-links", data=forms[n]).status_code
    )
    assert answers == [302, 302]
    assert fetch(database.admin, "SELECT count(*) FROM statement_links") == [(1,)]
    assert fetch(
        database.admin, "SELECT count(*) FROM activity_log WHERE kind = 'statement_link'"
    ) == [(1,)]
