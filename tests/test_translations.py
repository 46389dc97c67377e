"""The Swahili interface: the catalogue holds every message the code has today, translated (so
work that adds a message must translate it), and every page a Swahili-speaking person opens is
in Swahili — no English left, whether a message was forgotten in the catalogue or never wrapped
in `_()` at all."""

from __future__ import annotations

import gettext
import re
import uuid
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import psycopg
import pytest
from babel import Locale
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po
from flask import Flask
from flask.testing import FlaskClient

from tests.helpers import Shop, csrf_token, fetch, signed_in
from tests.routes import fill, methods, rules, seed
from webapp.embedded import DatabaseUrls

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = ROOT / "webapp" / "translations"
SWAHILI_PO = TRANSLATIONS / "sw" / "LC_MESSAGES" / "messages.po"
SWAHILI_MO = TRANSLATIONS / "sw" / "LC_MESSAGES" / "messages.mo"
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "lazy_gettext": None}
PLACEHOLDER = re.compile(r"%\(\w+\)s|\{\w+\}")


def code_messages() -> set[str]:
    """Every message the code asks to be translated now, read as `pybabel extract` reads it
    (babel.cfg's methods)."""
    method_map = [("webapp/**.py", "python"), ("webapp/templates/**.html", "jinja2")]
    found = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(ROOT), method_map=method_map, keywords=KEYWORDS
    ):
        found.add(message[0] if isinstance(message, tuple) else message)
    return found


def swahili_catalogue():
    with SWAHILI_PO.open("rb") as po:
        return read_po(po)


def test_every_message_of_the_code_has_a_swahili_translation() -> None:
    catalogue = swahili_catalogue()
    translated = {}
    problems = []
    for message in catalogue:
        if not message.id:
            continue
        key = message.id[0] if isinstance(message.id, tuple) else message.id
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if message.fuzzy or not all(strings):
            problems.append(f"not translated (empty or fuzzy): {key!r}")
        # Every placeholder the English fills in, the Swahili fills in too.
        wanted = set(PLACEHOLDER.findall(key))
        for string in strings:
            if string and set(PLACEHOLDER.findall(string)) != wanted and "%(num)s" not in key:
                problems.append(f"placeholders differ: {key!r} → {string!r}")
        translated[key] = strings
    missing = sorted(code_messages() - set(translated))
    problems += [f"missing from the catalogue: {key!r}" for key in missing]
    assert problems == [], (
        "Update the catalogue (README, Languages and formats: make translations) and translate:\n"
        + "\n".join(problems)
    )


def test_the_compiled_catalogue_is_the_one_written() -> None:
    """The .mo the app (and a wheel) serves says what the .po says: compiled after each edit."""
    with SWAHILI_MO.open("rb") as mo:
        compiled = gettext.GNUTranslations(mo)
    for message in swahili_catalogue():
        if not message.id:
            continue
        if isinstance(message.id, tuple):
            assert compiled.ngettext(message.id[0], message.id[1], 1) == message.string[0]
            assert compiled.ngettext(message.id[0], message.id[1], 5) == message.string[1]
        else:
            assert compiled.gettext(message.id) == message.string, message.id


# Words that are the same in both languages, or names: never a sign of untranslated English.
SAME_IN_BOTH = {
    "shopcredit",
    "whatsapp",
    "sms",
    "csv",
    "api",
    "sku",
    "excel",
    "utf",
    "pdf",
    "qr",
    "google",
    "microsoft",
    "authenticator",
    "aegis",
    "fas",
    "nairobi",
    "africa",
    "usd",
    "kes",
    "tzs",
    "pesa",
    "till",
    "bearer",
    "authorization",
    "save",
    "comma",
    "delimited",
    "credit",
    "limit",
    "grocer",
    "corner",
    "ksh",
    "tsh",
    "desemba",
    "ok",
}


class VisibleText(HTMLParser):
    """What a person reads on a page (and hears from a screen reader): text outside scripts,
    styles and code, and the attributes that are read out or shown."""

    READ_ATTRIBUTES = ("title", "aria-label", "placeholder", "alt", "data-label")

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.chunks: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style", "code", "datalist"):
            self._hidden += 1
        for name, value in attrs:
            if name in self.READ_ATTRIBUTES and value:
                self.chunks.append(value)
            if tag == "option" and name == "value":
                continue

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "code", "datalist") and self._hidden:
            self._hidden -= 1

    def handle_data(self, data: str) -> None:
        if not self._hidden and data.strip():
            self.chunks.append(data.strip())


def visible_text(html: str) -> list[str]:
    reader = VisibleText()
    reader.feed(html)
    return reader.chunks


def english_words() -> set[str]:
    """Words of the English messages that no Swahili message uses."""
    catalogue = swahili_catalogue()
    english: set[str] = set()
    swahili: set[str] = set()
    for message in catalogue:
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        for text in ids:
            english |= words(text)
        for text in strings:
            swahili |= words(text or "")
    return english - swahili - SAME_IN_BOTH - swahili_calendar_words()


def swahili_calendar_words() -> set[str]:
    """The names Babel writes for months and days in Swahili: "Ago 26" is August, not "ago"."""
    locale = Locale.parse("sw")
    found: set[str] = set()
    for names in (locale.months, locale.days):
        for context in names.values():
            for width in context.values():
                for name in width.values():
                    found |= words(name)
    return found


def words(text: str) -> set[str]:
    text = PLACEHOLDER.sub(" ", re.sub(r"<[^>]+>", " ", text))
    return {word.lower() for word in re.findall(r"[A-Za-z]{3,}", text)}


def data_of(admin_url: str, business_id: uuid.UUID) -> list[str]:
    """Text the shop typed or the log wrote (names, reasons, notes, the activity log's lines,
    written once in English): shown as it is, never translated; longest first."""
    queries = [
        "SELECT name FROM businesses WHERE id = %(b)s",
        "SELECT name FROM users WHERE business_id = %(b)s",
        "SELECT email FROM users WHERE business_id = %(b)s",
        "SELECT name FROM customers WHERE business_id = %(b)s",
        "SELECT name FROM products WHERE business_id = %(b)s",
        "SELECT name FROM api_tokens WHERE business_id = %(b)s",
        "SELECT reason FROM returns WHERE business_id = %(b)s",
        "SELECT reason FROM payment_reversals WHERE business_id = %(b)s",
        "SELECT summary FROM activity_log WHERE business_id = %(b)s",
        "SELECT coalesce(note, '') FROM stock_movements WHERE business_id = %(b)s",
        # The names of what a log line changed (its before → after), as stored.
        "SELECT DISTINCT jsonb_object_keys(coalesce(after, before)) FROM activity_log"
        " WHERE business_id = %(b)s AND jsonb_typeof(coalesce(after, before)) = 'object'",
    ]
    found: set[str] = set()
    with psycopg.connect(admin_url) as conn:
        for query in queries:
            found |= {str(row[0]) for row in conn.execute(query, {"b": business_id}) if row[0]}
    return sorted(found, key=len, reverse=True)


def untranslated(html: str, english: set[str], data: list[str]) -> Iterator[str]:
    for chunk in visible_text(html):
        for value in data:
            chunk = chunk.replace(value, " ")
        left = words(chunk) & english
        if left:
            yield f"{chunk!r} ({', '.join(sorted(left))})"


@pytest.fixture
def swahili_owner(app: Flask, database: DatabaseUrls, shop: Shop) -> FlaskClient:
    fetch(
        database.admin,
        "UPDATE businesses SET locale = 'sw_KE', currency = 'KES' WHERE id = %s RETURNING id",
        shop.business_id,
    )
    fetch(
        database.admin, "UPDATE users SET language = 'sw' WHERE id = %s RETURNING id", shop.owner_id
    )
    return signed_in(app, shop.slug, shop.owner_email)


def swahili_pages(app: Flask, client: FlaskClient, ids: dict[str, uuid.UUID]) -> Iterator[str]:
    """Every page (GET route, filled with the seeded rows) and the forms that start a sale and a
    payment for the seeded customer."""
    for rule in rules(app):
        if "GET" not in methods(rule) or rule.endpoint.startswith("api."):
            continue
        for route in fill(rule, ids):
            yield route.path
    customer = ids["customer"]
    yield f"/sales/new?customer={customer}"
    yield f"/payments/new?customer={customer}"
    yield f"/sales/new?customer={customer}&find=unga"
    yield f"/customers/{customer}/statement?date_from=2020-01-01"


def test_every_page_in_swahili_shows_no_english(
    app: Flask, database: DatabaseUrls, shop: Shop, swahili_owner: FlaskClient
) -> None:
    rows = seed(app, database.admin, shop, customer_name="Wanjiku Kamau", product_name="Unga 2 kg")
    english = english_words()
    data = data_of(database.admin, shop.business_id)
    problems: list[str] = []
    walked = 0
    for path in swahili_pages(app, swahili_owner, rows.ids):
        response = swahili_owner.get(path)
        if response.mimetype != "text/html" or response.status_code in (301, 302, 303):
            continue  # files (CSV, Excel, JSON), and redirects
        html = response.get_data(as_text=True)
        if "<html lang" not in html:
            continue  # files, and the probes' plain "ok"
        walked += 1
        assert '<html lang="sw">' in html, path
        problems += [f"{path}: {found}" for found in untranslated(html, english, data)]
    assert walked > 30
    assert problems == [], "\n".join(problems)


def test_the_walk_finds_an_english_string_left_in_a_page(
    app: Flask, database: DatabaseUrls, shop: Shop, swahili_owner: FlaskClient
) -> None:
    """Proof the walk can fail: a page with one unwrapped English phrase is caught, and the
    same page without it is not."""
    english = english_words()
    data = data_of(database.admin, shop.business_id)
    page = swahili_owner.get("/customers").get_data(as_text=True)
    assert list(untranslated(page, english, data)) == []
    broken = page.replace("</main>", "<p>Print receipt</p></main>")
    assert list(untranslated(broken, english, data)) == ["'Print receipt' (print, receipt)"]


def test_the_language_is_each_persons_and_stays_in_their_shop(
    app: Flask, database: DatabaseUrls, shop: Shop, other_shop: Shop
) -> None:
    """Ann chooses Swahili on her account page; her shop's clerk and the other shop's owner (the
    same email address in another shop) keep English, and the choice goes back to the shop's."""
    fetch(
        database.admin,
        "UPDATE users SET email = 'ann@example.com' WHERE id IN (%s, %s) RETURNING id",
        shop.owner_id,
        other_shop.owner_id,
    )
    ann = signed_in(app, shop.slug, "ann@example.com")
    other_ann = signed_in(app, other_shop.slug, "ann@example.com")
    clerk = signed_in(app, shop.slug, shop.clerk_email)
    account = ann.get("/account/password").get_data(as_text=True)
    assert 'name="language"' in account and "Kiswahili" in account
    saved = ann.post(
        "/account/language",
        data={"csrf_token": csrf_token(ann, "/account/password"), "language": "sw"},
        follow_redirects=True,
    )
    assert "Lugha yako imehifadhiwa." in saved.get_data(as_text=True)
    home = ann.get("/").get_data(as_text=True)
    assert '<html lang="sw">' in home and "Mauzo ya leo" in home
    for someone in (clerk, other_ann):
        page = someone.get("/").get_data(as_text=True)
        assert '<html lang="en">' in page and "Sales today" in page
    assert fetch(
        database.admin, "SELECT business_id, language FROM users WHERE language IS NOT NULL"
    ) == [(shop.business_id, "sw")]

    # A language we do not have is refused in words, and nothing changes.
    refused = ann.post(
        "/account/language",
        data={"csrf_token": csrf_token(ann, "/account/password"), "language": "xx"},
    )
    assert refused.status_code == 400
    assert "Chagua lugha kutoka kwenye orodha." in refused.get_data(as_text=True)
    # Back to the shop's (English): the empty choice.
    ann.post(
        "/account/language",
        data={"csrf_token": csrf_token(ann, "/account/password"), "language": ""},
    )
    assert '<html lang="en">' in ann.get("/").get_data(as_text=True)
    assert fetch(database.admin, "SELECT count(*) FROM users WHERE language IS NOT NULL") == [(0,)]


def test_a_swahili_shop_speaks_swahili_unless_a_person_chooses_english(
    app: Flask, database: DatabaseUrls, shop: Shop
) -> None:
    fetch(
        database.admin,
        "UPDATE businesses SET locale = 'sw_TZ' WHERE id = %s RETURNING id",
        shop.business_id,
    )
    clerk = signed_in(app, shop.slug, shop.clerk_email)
    assert '<html lang="sw">' in clerk.get("/").get_data(as_text=True)
    fetch(
        database.admin, "UPDATE users SET language = 'en' WHERE id = %s RETURNING id", shop.clerk_id
    )
    assert '<html lang="en">' in clerk.get("/").get_data(as_text=True)


def test_the_sign_in_page_follows_the_browser(client: FlaskClient) -> None:
    swahili = client.get("/login", headers={"Accept-Language": "sw-KE,sw;q=0.9,en;q=0.5"})
    assert '<html lang="sw">' in swahili.get_data(as_text=True)
    assert "Ingia kwenye duka lako" in swahili.get_data(as_text=True)
    english = client.get("/login", headers={"Accept-Language": "fr-FR,en;q=0.5"})
    assert '<html lang="en">' in english.get_data(as_text=True)
    assert "Sign in to your shop" in english.get_data(as_text=True)


def test_the_api_answers_in_english_whatever_the_caller_asks(client: FlaskClient) -> None:
    answer = client.get("/api/customers", headers={"Accept-Language": "sw"})
    assert answer.status_code == 401
    assert answer.get_json()["error"].isascii()
