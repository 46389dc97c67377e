"""CSV import of customers and products: upload → preview (writes nothing) → confirm (all rows
in one transaction, once per preview)."""

from __future__ import annotations

import html
import io
import re
import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.datastructures import FileStorage
from werkzeug.test import TestResponse, encode_multipart

from tests.helpers import (
    Shop,
    add_product,
    at_once,
    csrf_token,
    fetch,
    ledger_violations,
    login,
    tenant_session,
)
from webapp import ledger, reports
from webapp.embedded import DatabaseUrls
from webapp.imports import csvfile

HIDDEN = re.compile(r'name="(payload|idempotency_key)" type="hidden" value="([^"]*)"')
FILE_ERROR = re.compile(r'<small class="error" id="file-error">(.*?)</small>', re.S)

CUSTOMERS_OK = (
    "name,phone,email,credit_limit,opening_balance\r\n"
    "Grace Mensah,+254 700 111 222,grace@example.com,500.00,120.50\r\n"
    "Hassan Otieno,0799 000 000,,200,0\r\n"
    "Mama Njeri,,,,\r\n"
)


def upload(
    client: FlaskClient, kind: str, content: str | bytes, filename: str = "book.csv"
) -> TestResponse:
    data = content.encode() if isinstance(content, str) else content
    # Encoded in memory: the test client would spool a large body to a file it never closes.
    boundary, body = encode_multipart(
        {
            "csrf_token": csrf_token(client, f"/import/{kind}"),
            "file": FileStorage(io.BytesIO(data), filename, content_type="text/csv"),
        }
    )
    return client.post(
        f"/import/{kind}", data=body, content_type=f"multipart/form-data; boundary={boundary}"
    )


def confirm_form(page: str) -> dict[str, str]:
    found = dict(HIDDEN.findall(page))
    assert set(found) == {"payload", "idempotency_key"}, "no Import button on the preview"
    return found


def confirm(client: FlaskClient, kind: str, form: dict[str, str]) -> TestResponse:
    token = csrf_token(client, f"/import/{kind}")
    return client.post(f"/import/{kind}/confirm", data={"csrf_token": token, **form})


def preview_and_import(client: FlaskClient, kind: str, content: str) -> TestResponse:
    preview = upload(client, kind, content)
    assert preview.status_code == 200
    return confirm(client, kind, confirm_form(preview.get_data(as_text=True)))


def row_html(page: str, number: int) -> str:
    match = re.search(rf'<tr id="row-{number}"[^>]*>(.*?)</tr>', page, re.S)
    assert match, f"row {number} is not in the preview"
    return html.unescape(match.group(1))


def file_error(page: str) -> str:
    match = FILE_ERROR.search(page)
    assert match, "no message next to the file field"
    return html.unescape(match.group(1))


def counts(admin: str) -> tuple[object, ...]:
    """Everything an import could write."""
    return fetch(
        admin,
        "SELECT (SELECT count(*) FROM customers), (SELECT count(*) FROM products), "
        "(SELECT count(*) FROM orders), (SELECT count(*) FROM stock_movements), "
        "(SELECT count(*) FROM imports)",
    )[0]


NOTHING = (0, 0, 0, 0, 0)


def test_upload_page_explains_opening_balances_and_offers_an_example(
    owner_client: FlaskClient, database: DatabaseUrls
) -> None:
    page = owner_client.get("/import/customers").get_data(as_text=True)
    assert "Carried over from before ShopCredit" in page
    assert "due in 30" in page  # the business's credit days
    assert 'enctype="multipart/form-data"' in page
    assert "/import/customers/example.csv" in page

    for kind in ("customers", "products"):
        example = owner_client.get(f"/import/{kind}/example.csv")
        assert example.status_code == 200
        assert example.mimetype == "text/csv"
        assert "attachment" in example.headers["Content-Disposition"]
        # The example is itself a file that imports without a problem.
        preview = upload(owner_client, kind, example.data)
        assert preview.status_code == 200
        page = preview.get_data(as_text=True)
        assert "with problems" in page and "<strong>0</strong> with problems" in page
        confirm_form(page)
    assert counts(database.admin) == NOTHING


def test_preview_shows_each_customer_rows_problems_and_writes_nothing(
    owner_client: FlaskClient, database: DatabaseUrls
) -> None:
    content = (
        "name,phone,email,credit_limit,opening_balance\n"
        "Grace Mensah,0700,grace@example.com,500,120.50\n"  # row 2: fine
        ",0711,,100,\n"  # row 3: no name
        "Bad Email,,not-an-email,100,\n"  # row 4
        "Over Limit,,,100,150\n"  # row 5: owes more than the limit
        "Negative,,,-5,\n"  # row 6
        'Decimal Comma,,,"12,50",\n'  # row 7: 12,50 would become 1250
        "\n"  # row 8: blank, skipped
        "Hassan Otieno,,,,\n"  # row 9: fine
    )
    response = upload(owner_client, "customers", content)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "7 customers" in page and "<strong>2</strong> ready" in page
    assert "<strong>5</strong> with problems" in page
    assert 'name="payload"' not in page and "Import 7" not in page  # no Import button

    assert "Grace Mensah" in row_html(page, 2) and "OK" in row_html(page, 2)
    assert "Enter the customer's name." in row_html(page, 3)
    assert "That is not an email address." in row_html(page, 4)
    over = row_html(page, 5)
    assert "above the credit limit" in over
    assert "raise the credit limit or lower the opening balance" in over
    assert "cannot be negative" in row_html(page, 6)
    assert "12.50" in row_html(page, 7) and "with a point" in row_html(page, 7)
    assert 'id="row-8"' not in page
    assert "Hassan Otieno" in row_html(page, 9) and "OK" in row_html(page, 9)
    assert counts(database.admin) == NOTHING


def test_preview_shows_each_product_rows_problems_and_writes_nothing(
    owner_client: FlaskClient, database: DatabaseUrls, shop: Shop
) -> None:
    existing = add_product(database.admin, shop.business_id, "Old rice", stock=0)
    fetch(database.admin, "UPDATE products SET sku = 'RICE-5' WHERE id = %s RETURNING id", existing)
    before = counts(database.admin)
    content = (
        "Name;SKU;Price;Stock;Shelf\n"  # semicolons; a column ShopCredit does not have
        "Sugar 1 kg;SUG-1;2.10;30;A\n"  # row 2: fine
        "Flour;FL-1;abc;5;A\n"  # row 3: bad price
        "Salt;SALT;0.80;-3;B\n"  # row 4: negative stock
        "Tea;tea-1;1.00;1;B\n"  # row 5: fine (first with this SKU)
        "Green tea;TEA-1;1.50;1;B\n"  # row 6: same SKU as row 5, other case
        "Brown rice;rice-5;4.00;2;C\n"  # row 7: SKU of an existing product
        ";NONAME;1.00;1;C\n"  # row 8: no name
        "Oil;OIL;;3;C\n"  # row 9: no price
    )
    response = upload(owner_client, "products", content)
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<strong>2</strong> ready" in page and "<strong>6</strong> with problems" in page
    assert "Shelf" in page and "Not imported" in page  # the unknown column is reported
    assert 'name="payload"' not in page

    assert "OK" in row_html(page, 2)
    assert "The price must be an amount such as 12.50." in row_html(page, 3)
    assert "The stock is a whole number from 0 up." in row_html(page, 4)
    assert "OK" in row_html(page, 5)
    assert "also on row 5 of this file" in row_html(page, 6)
    assert "already used by “Old rice”" in row_html(page, 7)
    assert "Enter the product's name." in row_html(page, 8)
    assert "Enter the price" in row_html(page, 9)
    assert counts(database.admin) == before


@pytest.mark.parametrize(
    ("kind", "content", "message"),
    [
        ("products", "name,sku,stock\nRice,R1,4\n", "no “price” column"),
        ("customers", "phone,email\n0700,a@b.co\n", "no “name” column"),
        ("customers", "Grace Mensah,0700\n", "no “name” column"),  # no header row at all
        ("customers", "name,phone\nJos\xe9,0700\n".encode("latin-1"), "not UTF-8"),
        ("customers", "name,phone\nJosé,0700\n".encode("utf-16"), "not UTF-8"),
        ("customers", "name\n" + "Customer\n" * 5001, "more than 5,000 customers"),
        ("customers", "", "The file is empty."),
        ("customers", "name,phone,credit_limit\r\n", "only its header row"),
        ("customers", "name;phone\n\n;;\n", "only its header row"),
        ("customers", "name,Name\nA,B\n", "appears twice"),
        ("products", "name,price\n" + "x" * 1_100_000 + ",1\n", "larger than 1 MB"),
    ],
)
def test_a_file_that_cannot_be_previewed_says_why(
    owner_client: FlaskClient, database: DatabaseUrls, kind: str, content: str | bytes, message: str
) -> None:
    response = upload(owner_client, kind, content)
    assert response.status_code == 400
    assert message in file_error(response.get_data(as_text=True))
    assert counts(database.admin) == NOTHING


def test_a_file_over_the_request_cap_gets_the_upload_page(
    owner_client: FlaskClient, database: DatabaseUrls
) -> None:
    response = upload(owner_client, "customers", "name\n" + "x" * 3_000_000 + "\n")
    assert response.status_code == 413
    assert "larger than 1 MB" in file_error(response.get_data(as_text=True))
    assert counts(database.admin) == NOTHING


def test_no_file_chosen(owner_client: FlaskClient) -> None:
    token = csrf_token(owner_client, "/import/products")
    response = owner_client.post(
        "/import/products", data={"csrf_token": token}, content_type="multipart/form-data"
    )
    assert response.status_code == 400
    assert "Choose the CSV file" in file_error(response.get_data(as_text=True))


def test_bom_semicolons_and_header_spellings(
    owner_client: FlaskClient, database: DatabaseUrls
) -> None:
    content = (
        "\ufeff Customer Name ; Phone Number;E-mail;Credit Limit;Opening Balance;Address\r\n"
        "Grace Mensah;0700 111;grace@example.com;1,000.00;250;Market st\r\n"
        '"Otieno; Hassan";;;;;\r\n'
    )
    response = upload(owner_client, "customers", content.encode("utf-8"))
    page = response.get_data(as_text=True)
    assert response.status_code == 200, page
    assert "<strong>0</strong> with problems" in page and "Address" in page
    assert confirm(owner_client, "customers", confirm_form(page)).status_code == 302
    assert fetch(
        database.admin,
        "SELECT name, phone, email, credit_limit, balance FROM customers ORDER BY name",
    ) == [
        ("Grace Mensah", "0700 111", "grace@example.com", Decimal("1000.00"), Decimal("250.00")),
        ("Otieno; Hassan", "", "", Decimal("0.00"), Decimal("0.00")),
    ]


def test_customers_import_with_an_opening_balance_as_a_carried_over_sale(
    app: Flask, owner_client: FlaskClient, database: DatabaseUrls, shop: Shop
) -> None:
    response = preview_and_import(owner_client, "customers", CUSTOMERS_OK)
    assert response.status_code == 302
    result = owner_client.get(response.headers["Location"])
    assert "Imported 3 customers" in result.get_data(as_text=True)

    assert fetch(
        database.admin, "SELECT kind, row_count, created_by, business_id FROM imports"
    ) == [("customers", 3, shop.owner_id, shop.business_id)]
    rows = fetch(
        database.admin,
        "SELECT name, phone, email, credit_limit, balance, business_id FROM customers "
        "ORDER BY name",
    )
    assert rows == [
        (
            "Grace Mensah",
            "+254 700 111 222",
            "grace@example.com",
            Decimal("500.00"),
            Decimal("120.50"),
            shop.business_id,
        ),
        ("Hassan Otieno", "0799 000 000", "", Decimal("200.00"), Decimal("0.00"), shop.business_id),
        ("Mama Njeri", "", "", Decimal("0.00"), Decimal("0.00"), shop.business_id),
    ]
    [(order_id, customer_id, total, paid, due_on, created_on, opening)] = fetch(
        database.admin,
        "SELECT o.id, o.customer_id, o.total, o.paid, o.due_on, o.created_at::date, "
        "o.is_opening_balance FROM orders o",
    )
    assert (total, paid, opening) == (Decimal("120.50"), Decimal("0.00"), True)
    assert due_on == created_on + timedelta(days=30)  # the business's credit days (UTC shop)
    assert fetch(database.admin, "SELECT count(*) FROM order_items") == [(0,)]

    with tenant_session(app, shop.business_id) as session:
        today = reports.business_today(session)
        assert due_on == today + timedelta(days=30)
        [open_sale] = reports.open_sales(session, customer_id)
        assert (open_sale.order_id, open_sale.owed) == (order_id, Decimal("120.50"))
        statement = reports.statement(session, customer_id, today, today)
        assert [(line.kind, line.charge, line.balance) for line in statement.lines] == [
            ("carried_over", Decimal("120.50"), Decimal("120.50"))
        ]

    detail = owner_client.get(f"/customers/{customer_id}").get_data(as_text=True)
    assert "Carried over from before ShopCredit" in detail
    receipt = owner_client.get(f"/sales/{order_id}").get_data(as_text=True)
    assert "Carried over from before ShopCredit" in receipt and "$120.50" in receipt
    assert "Unit price" not in receipt  # no empty items table
    assert ledger_violations(database.admin) == []


def test_products_import_records_an_import_stock_movement(
    owner_client: FlaskClient, database: DatabaseUrls, shop: Shop
) -> None:
    content = "name,sku,price,stock\nRice 5 kg,RICE-5,9.50,40\nMatches,,1.20,\nOil,OIL-1,3.90,0\n"
    response = preview_and_import(owner_client, "products", content)
    assert response.status_code == 302
    assert "Imported 3 products" in owner_client.get(response.headers["Location"]).get_data(
        as_text=True
    )
    assert fetch(database.admin, "SELECT name, sku, price, stock FROM products ORDER BY name") == [
        ("Matches", None, Decimal("1.20"), 0),
        ("Oil", "OIL-1", Decimal("3.90"), 0),
        ("Rice 5 kg", "RICE-5", Decimal("9.50"), 40),
    ]
    assert fetch(
        database.admin,
        "SELECT p.name, m.change, m.reason, m.resulting_stock, m.created_by "
        "FROM stock_movements m JOIN products p ON p.id = m.product_id",
    ) == [("Rice 5 kg", 40, "import", 40, shop.owner_id)]
    assert ledger_violations(database.admin) == []


def test_a_confirm_checks_every_row_again(
    owner_client: FlaskClient, database: DatabaseUrls, shop: Shop
) -> None:
    preview = upload(owner_client, "products", "name,sku,price\nRice,R-1,9.50\nTea,T-1,1.00\n")
    form = confirm_form(preview.get_data(as_text=True))
    # Meanwhile someone adds a product with one of the file's SKUs.
    existing = add_product(database.admin, shop.business_id, "Tea leaves", stock=0)
    fetch(database.admin, "UPDATE products SET sku = 't-1' WHERE id = %s RETURNING id", existing)

    response = confirm(owner_client, "products", form)
    assert response.status_code == 409
    page = response.get_data(as_text=True)
    assert "Nothing was imported" in page
    assert "already used by “Tea leaves”" in row_html(page, 3)
    assert fetch(database.admin, "SELECT name FROM products") == [("Tea leaves",)]
    assert fetch(database.admin, "SELECT count(*) FROM imports") == [(0,)]


def test_a_sku_taken_during_the_import_rolls_everything_back(
    owner_client: FlaskClient, database: DatabaseUrls, shop: Shop, monkeypatch: pytest.MonkeyPatch
) -> None:
    existing = add_product(database.admin, shop.business_id, "Tea leaves", stock=0)
    fetch(database.admin, "UPDATE products SET sku = 'T-1' WHERE id = %s RETURNING id", existing)
    # The SKU check does not see it (as if it were added between the check and the insert).
    monkeypatch.setattr(csvfile, "_existing_skus", lambda _session, _skus: {})
    monkeypatch.setattr(csvfile, "codes_held", lambda _session, _codes: {})
    content = "name,sku,price,stock\nRice,R-1,9.50,5\nTea,t-1,1.00,3\nSalt,S-1,0.50,1\n"
    response = preview_and_import(owner_client, "products", content)
    assert response.status_code == 409
    page = response.get_data(as_text=True)
    assert "Nothing was imported: row 3 could not be saved" in page
    assert "A product with the SKU t-1 was added meanwhile." in row_html(page, 3)
    assert 'name="payload"' not in page  # that row has a problem now: no Import button
    assert fetch(database.admin, "SELECT name FROM products") == [("Tea leaves",)]
    assert fetch(database.admin, "SELECT count(*) FROM stock_movements") == [(0,)]
    assert fetch(database.admin, "SELECT count(*) FROM imports") == [(0,)]
    assert ledger_violations(database.admin) == []


def test_a_ledger_refusal_rolls_back_every_row(
    owner_client: FlaskClient, database: DatabaseUrls, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = ledger.record_opening_balances

    def refuse_ben(
        session: object, entries: list[tuple[uuid.UUID, object]], **kwargs: object
    ) -> None:
        real(session, entries, **kwargs)  # type: ignore[arg-type]  (written, then rolled back)
        raise ledger.CreditLimitExceeded(
            "credit limit exceeded", {"available_credit": "0", "customer_id": str(entries[1][0])}
        )

    monkeypatch.setattr(ledger, "record_opening_balances", refuse_ben)
    content = "name,credit_limit,opening_balance\nAda,100,10\nBen,100,20\nCid,100,30\n"
    response = preview_and_import(owner_client, "customers", content)
    assert response.status_code == 409
    page = response.get_data(as_text=True)
    assert "row 3 could not be saved" in page
    assert "raise the credit limit or lower the opening balance" in row_html(page, 3)
    assert counts(database.admin) == NOTHING  # Ada and her opening balance too
    assert fetch(database.admin, "SELECT count(*) FROM open_dues WHERE owed <> 0") == [(0,)]
    assert ledger_violations(database.admin) == []

    monkeypatch.setattr(ledger, "record_opening_balances", real)
    assert 'name="payload"' not in page
    retry = preview_and_import(owner_client, "customers", content)  # the same file again
    assert retry.status_code == 302
    assert fetch(database.admin, "SELECT sum(balance) FROM customers") == [(Decimal("60.00"),)]
    assert ledger_violations(database.admin) == []


def test_a_file_with_one_bad_row_imports_nothing_even_if_confirmed(
    owner_client: FlaskClient, database: DatabaseUrls
) -> None:
    good = upload(owner_client, "customers", "name,email\nAda,ada@example.com\n")
    form = confirm_form(good.get_data(as_text=True))
    bad = upload(owner_client, "customers", "name,email\nAda,ada@example.com\nBen,nope\n")
    assert 'name="payload"' not in bad.get_data(as_text=True)
    # A forged payload (the bad file in place of the previewed one) is refused, not imported.
    forged = {**form, "payload": form["payload"].replace(form["payload"][5:15], "A" * 10)}
    response = confirm(owner_client, "customers", forged)
    assert response.status_code == 400
    assert "out of date" in file_error(response.get_data(as_text=True))
    # A products preview cannot be confirmed as customers.
    products = upload(owner_client, "products", "name,price\nRice,1\n")
    response = confirm(owner_client, "customers", confirm_form(products.get_data(as_text=True)))
    assert response.status_code == 400
    assert counts(database.admin) == NOTHING


def test_a_confirm_sent_twice_imports_once(
    owner_client: FlaskClient, database: DatabaseUrls
) -> None:
    preview = upload(owner_client, "customers", CUSTOMERS_OK)
    form = confirm_form(preview.get_data(as_text=True))
    first = confirm(owner_client, "customers", form)
    second = confirm(owner_client, "customers", form)
    assert first.status_code == second.status_code == 302
    assert first.headers["Location"] == second.headers["Location"]
    page = owner_client.get(second.headers["Location"]).get_data(as_text=True)
    assert "imported already" in page and "Imported 3 customers" in page
    assert counts(database.admin) == (3, 0, 1, 0, 1)
    assert ledger_violations(database.admin) == []


def test_a_confirm_sent_from_two_threads_at_once_imports_once(
    app: Flask, owner_client: FlaskClient, database: DatabaseUrls, shop: Shop
) -> None:
    rows = "".join(f"Customer {n},,,100,{n}\n" for n in range(1, 41))
    preview = upload(
        owner_client, "customers", "name,phone,email,credit_limit,opening_balance\n" + rows
    )
    form = confirm_form(preview.get_data(as_text=True))
    clients = [owner_client, app.test_client()]
    assert login(clients[1], shop.slug, shop.owner_email).status_code == 302
    tokens = [csrf_token(client, "/import/customers") for client in clients]

    def send(index: int) -> tuple[int, str]:
        response = clients[index].post(
            "/import/customers/confirm", data={"csrf_token": tokens[index], **form}
        )
        return response.status_code, response.headers.get("Location", "")

    results = at_once(2, send)
    assert all(not isinstance(result, BaseException) for result in results), results
    assert {status for status, _ in results} == {302}  # type: ignore[misc]
    assert len({location for _, location in results}) == 1  # type: ignore[misc]
    assert counts(database.admin) == (40, 0, 40, 0, 1)
    assert fetch(database.admin, "SELECT sum(balance) FROM customers") == [(Decimal("820.00"),)]
    assert ledger_violations(database.admin) == []


CLERK_ROUTES = [
    ("GET", "/import"),
    ("GET", "/import/customers"),
    ("GET", "/import/products"),
    ("GET", "/import/customers/example.csv"),
    ("GET", "/import/products/example.csv"),
    ("GET", f"/import/{uuid.uuid4()}"),
    ("POST", "/import/customers"),
    ("POST", "/import/products"),
    ("POST", "/import/customers/confirm"),
    ("POST", "/import/products/confirm"),
]


def test_every_route_is_registered_in_the_clerk_list(app: Flask) -> None:
    rules = {rule.rule for rule in app.url_map.iter_rules() if rule.endpoint.startswith("imports.")}
    assert len(rules) == 5  # index, upload, confirm, example, result: all in CLERK_ROUTES


def test_a_clerk_gets_403_on_every_import_route(
    clerk_client: FlaskClient,
    owner_client_for_import: tuple[str, dict[str, str]],
    database: DatabaseUrls,
) -> None:
    result_path, form = owner_client_for_import
    token = csrf_token(clerk_client, "/")
    before = counts(database.admin)
    for method, path in [*CLERK_ROUTES, ("GET", result_path)]:
        if method == "GET":
            response = clerk_client.get(path)
        elif path.endswith("/confirm"):
            response = clerk_client.post(path, data={"csrf_token": token, **form})
        else:
            response = clerk_client.post(
                path,
                data={"csrf_token": token, "file": (io.BytesIO(b"name,price\nA,1\n"), "a.csv")},
                content_type="multipart/form-data",
            )
        assert response.status_code == 403, (method, path)
        assert "Not allowed" in response.get_data(as_text=True)
    boundary, body = encode_multipart(
        {"csrf_token": token, "file": FileStorage(io.BytesIO(b"x" * 3_000_000), "big.csv")}
    )
    too_big = clerk_client.post(
        "/import/customers", data=body, content_type=f"multipart/form-data; boundary={boundary}"
    )
    assert too_big.status_code == 403  # refused as a clerk before being refused as too large
    assert counts(database.admin) == before


@pytest.fixture
def owner_client_for_import(
    app: Flask, shop: Shop, database: DatabaseUrls
) -> tuple[str, dict[str, str]]:
    """An import the owner made (its result page), and a valid confirm form of another
    preview, both from the owner's own browser."""
    owner = app.test_client()
    assert login(owner, shop.slug, shop.owner_email).status_code == 302
    done = preview_and_import(owner, "customers", "name\nAda\n")
    assert done.status_code == 302
    preview = upload(owner, "customers", "name\nBen\n")
    return done.headers["Location"], confirm_form(preview.get_data(as_text=True))


def test_another_business_cannot_see_an_import(
    app: Flask, owner_client: FlaskClient, other_shop: Shop
) -> None:
    done = preview_and_import(owner_client, "customers", "name\nAda\n")
    other = app.test_client()
    assert login(other, other_shop.slug, other_shop.owner_email).status_code == 302
    assert other.get(done.headers["Location"]).status_code == 404
    assert "Nothing has been imported yet" in other.get("/import").get_data(as_text=True)


def test_formulas_and_markup_in_names_are_stored_as_text_and_shown_escaped(
    owner_client: FlaskClient, database: DatabaseUrls
) -> None:
    names = ['=HYPERLINK("http://evil.example","x")', "<script>alert(1)</script>", "@SUM(A1)"]
    content = "name,phone\n" + "".join(
        '"' + name.replace('"', '""') + '",+254700\n' for name in names
    )
    preview = upload(owner_client, "customers", content)
    page = preview.get_data(as_text=True)
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    response = confirm(owner_client, "customers", confirm_form(page))
    assert response.status_code == 302
    assert sorted(fetch(database.admin, "SELECT name, phone FROM customers")) == sorted(
        (name, "+254700") for name in names
    )
    [(order_count,)] = fetch(database.admin, "SELECT count(*) FROM orders")
    assert order_count == 0
