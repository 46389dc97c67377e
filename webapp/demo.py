"""Demo data: two businesses with staff, customers and products. Safe to run again."""

from __future__ import annotations

import json
import random
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import TextClause, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from webapp.models import Business, Customer, Product, StockMovement, User
from webapp.settings.operations import create_business
from webapp.staff.operations import create_user

OWNER_PASSWORD = "owner-demo"  # noqa: S105 (demo logins are printed for anyone to use)
CLERK_PASSWORD = "clerk-demo"  # noqa: S105


@dataclass(frozen=True)
class DemoShop:
    slug: str
    name: str
    currency: str
    timezone: str
    products: tuple[tuple[str, str], ...]  # (name, typical price)


FIRST_NAMES = (
    "Amina Aisha Brian Carmen Chen David Esther Fatima Grace Hassan Ivan Joseph Kofi Lina "
    "Maria Mohammed Nadia Oscar Priya Rahul Rosa Samuel Sofia Tariq Thandi Wei Yusuf Zainab "
    "Ana Daniel Farah Gabriel"
).split()
LAST_NAMES = (
    "Okafor Mensah Garcia Wang Kamau Patel Silva Haddad Novak Abebe Nguyen Rossi Diallo Khan "
    "Moreno Otieno"
).split()

GROCER_PRODUCTS = (
    ("Rice 5 kg", "9.50"),
    ("Rice 1 kg", "2.10"),
    ("Maize flour 2 kg", "3.20"),
    ("Wheat flour 2 kg", "3.40"),
    ("Sugar 1 kg", "1.60"),
    ("Salt 500 g", "0.45"),
    ("Cooking oil 1 l", "3.90"),
    ("Cooking oil 5 l", "17.50"),
    ("Milk 1 l", "1.20"),
    ("Yoghurt 500 ml", "1.80"),
    ("Butter 250 g", "3.10"),
    ("Eggs, tray of 30", "6.50"),
    ("Bread loaf", "1.40"),
    ("Tea leaves 250 g", "2.60"),
    ("Instant coffee 100 g", "4.80"),
    ("Black beans 1 kg", "2.40"),
    ("Lentils 1 kg", "2.90"),
    ("Pasta 500 g", "1.30"),
    ("Tomato paste 400 g", "1.10"),
    ("Canned sardines", "1.50"),
    ("Canned beans", "1.25"),
    ("Onions 1 kg", "1.00"),
    ("Potatoes 2 kg", "2.20"),
    ("Tomatoes 1 kg", "1.70"),
    ("Bananas, bunch", "2.00"),
    ("Apples 1 kg", "2.80"),
    ("Oranges 1 kg", "2.30"),
    ("Soap bar", "0.90"),
    ("Laundry powder 1 kg", "3.70"),
    ("Toothpaste", "1.90"),
    ("Toilet paper, 4 rolls", "2.50"),
    ("Matches, pack", "0.60"),
    ("Candles, pack", "1.80"),
    ("Baby formula 400 g", "11.90"),
    ("Biscuits", "0.80"),
    ("Soda 2 l", "1.95"),
    ("Bottled water 1.5 l", "0.70"),
    ("Peanut butter 400 g", "3.30"),
    ("Jam 450 g", "2.70"),
    ("Margarine 500 g", "2.40"),
    ("Chicken stock cubes", "0.95"),
    ("Spaghetti 1 kg", "2.35"),
)
HARDWARE_PRODUCTS = (
    ("Cement 50 kg bag", "9.80"),
    ("Sand, wheelbarrow", "4.50"),
    ("Nails 2 in, 1 kg", "2.60"),
    ("Nails 4 in, 1 kg", "2.90"),
    ("Wood screws, box of 100", "3.40"),
    ("Hammer", "8.90"),
    ("Claw hammer, heavy", "14.50"),
    ("Screwdriver set", "11.00"),
    ("Adjustable wrench", "9.75"),
    ("Pliers", "6.20"),
    ("Tape measure 5 m", "4.80"),
    ("Spirit level", "7.90"),
    ("Hand saw", "12.40"),
    ("Hacksaw", "8.30"),
    ("Paint brush 2 in", "2.10"),
    ("Paint roller", "5.60"),
    ("White emulsion 4 l", "18.90"),
    ("Gloss paint 1 l", "9.40"),
    ("Paint thinner 1 l", "4.20"),
    ("PVC pipe 1/2 in, 3 m", "3.80"),
    ("PVC elbow 1/2 in", "0.55"),
    ("Tap, brass", "7.20"),
    ("Teflon tape", "0.75"),
    ("Pipe glue", "3.10"),
    ("Electric cable 2.5 mm, 10 m", "13.50"),
    ("Light switch", "2.40"),
    ("Socket outlet", "3.20"),
    ("LED bulb 9 W", "1.90"),
    ("Extension lead 4-way", "10.80"),
    ("Padlock 40 mm", "6.60"),
    ("Door hinge, pair", "3.30"),
    ("Sandpaper, sheet", "0.40"),
    ("Wood glue 500 ml", "4.90"),
    ("Silicone sealant", "5.20"),
    ("Duct tape", "3.60"),
    ("Work gloves", "2.80"),
    ("Safety goggles", "4.10"),
    ("Wheelbarrow", "54.00"),
    ("Shovel", "15.90"),
    ("Garden hose 15 m", "19.50"),
    ("Roofing sheet 3 m", "11.70"),
    ("Drill bits set", "16.40"),
)

SHOPS = (
    DemoShop("corner-grocer", "Corner Grocer", "USD", "Africa/Nairobi", GROCER_PRODUCTS),
    DemoShop("hardware-hub", "Hardware Hub", "EUR", "Europe/Lisbon", HARDWARE_PRODUCTS),
)
CREDIT_LIMITS = ("0", "50", "100", "150", "200", "300", "500", "750", "1000", "2500")
CUSTOMERS_PER_SHOP = 32
HISTORY_DAYS = 120

SET_TENANT = text("SELECT set_config('app.business_id', :business_id, true)")
# What share of their balance a customer pays now and then: all, part, or nothing at all.
PAYING_HABITS = (Decimal("1"), Decimal("0.5"), Decimal("0.3"), Decimal("0"))

PURCHASE = text(
    """SELECT order_id
         FROM process_purchase(:business_id, :customer_id, CAST(:items AS jsonb), :key, :user_id)"""
)
PAYMENT = text(
    """SELECT payment_id
         FROM record_payment(:business_id, :customer_id, :amount, :method, '', :key, :user_id)"""
)
BALANCE = text("SELECT balance FROM customers WHERE id = :customer_id")
BACKDATE_SALE = text(
    """WITH o AS (
           UPDATE orders SET created_at = :moment,
                  due_on = (CAST(:moment AS timestamptz) AT TIME ZONE b.timezone)::date
                           + b.credit_days
             FROM businesses b
            WHERE b.id = orders.business_id AND orders.id = :id
        RETURNING orders.id)
       UPDATE stock_movements SET created_at = :moment WHERE order_id IN (SELECT id FROM o)"""
)
# Due dates moved outside the ledger functions: rebuild what they maintain from due dates.
REBUILD = text("SELECT rebuild_due_summaries(:business_id)")
BACKDATE_PAYMENT = text("UPDATE payments SET created_at = :moment WHERE id = :id")
# Once the history is made and dated: the reports' rollups, by the days it was dated to.
REBUILD_REPORTS = text("SELECT rebuild_report_rollups(:business_id)")


@dataclass(frozen=True)
class DemoLogin:
    shop: str
    email: str
    password: str
    role: str


def load_demo(session: Session) -> list[DemoLogin]:
    """Create whatever is missing of the demo businesses; return their logins."""
    for index, shop in enumerate(SHOPS):
        if session.scalar(select(Business.id).where(Business.slug == shop.slug)) is None:
            _create_shop(session, shop, random.Random(index))
    return demo_logins(session)


def demo_logins(session: Session) -> list[DemoLogin]:
    """The demo logins of the demo businesses that exist."""
    existing = set(session.scalars(select(Business.slug)))
    return [
        DemoLogin(shop.slug, f"{role}@example.com", password, role)
        for shop in SHOPS
        if shop.slug in existing
        for role, password in (("owner", OWNER_PASSWORD), ("clerk", CLERK_PASSWORD))
    ]


def _create_shop(session: Session, shop: DemoShop, rng: random.Random) -> None:
    business = create_business(
        session, slug=shop.slug, name=shop.name, currency=shop.currency, timezone=shop.timezone
    )
    business.address = "12 Market Street"
    business.phone = "+1 555 0100"
    staff = {}
    for role, password in (("owner", OWNER_PASSWORD), ("clerk", CLERK_PASSWORD)):
        staff[role] = create_user(
            session,
            business_id=business.id,
            email=f"{role}@example.com",
            name=f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}",
            role=role,
            password=password,
        )
    for number in range(CUSTOMERS_PER_SHOP):
        first, last = FIRST_NAMES[number % len(FIRST_NAMES)], rng.choice(LAST_NAMES)
        session.add(
            Customer(
                business_id=business.id,
                id=uuid.uuid4(),
                name=f"{first} {last}",
                phone=f"+2547{rng.randrange(10_000_000, 99_999_999)}" if number % 7 else "",
                email=f"{first.lower()}.{last.lower()}@example.com" if number % 3 == 0 else "",
                credit_limit=Decimal(CREDIT_LIMITS[number % len(CREDIT_LIMITS)]),
            )
        )
    for number, (name, price) in enumerate(shop.products):
        product = Product(
            business_id=business.id,
            id=uuid.uuid4(),
            name=name,
            sku=f"{shop.slug[:3].upper()}-{number + 1:04d}",
            price=Decimal(price),
            stock=rng.choice((0, 4, 30, 60, 90, 120, 160, 200, 300)),
        )
        session.add(product)
        if product.stock:  # the first line of its stock history, as the products page writes
            session.add(
                StockMovement(
                    business_id=business.id,
                    id=uuid.uuid4(),
                    product_id=product.id,
                    change=product.stock,
                    reason="opening",
                    resulting_stock=product.stock,
                    created_by=staff["owner"].id,
                )
            )
    session.flush()
    _sales_history(session, business, rng)
    session.execute(OPENING_STOCK_FIRST, {"business_id": business.id})


# Opening stock was there before the (back-dated) first sale.
OPENING_STOCK_FIRST = text(
    """UPDATE stock_movements m
          SET created_at = (SELECT min(x.created_at) FROM stock_movements x
                             WHERE x.business_id = m.business_id
                               AND x.product_id = m.product_id) - interval '1 hour'
        WHERE m.business_id = :business_id AND m.reason = 'opening'"""
)


def _sales_history(session: Session, business: Business, rng: random.Random) -> None:
    """About 120 days of sales and payments, through the real ledger functions, then dated
    back. Customers differ: some pay everything, some part, some never (so some are long
    overdue). Sales the ledger refuses (stock out, limit reached) are simply not made."""
    session.execute(SET_TENANT, {"business_id": str(business.id)})
    clerks = list(session.scalars(select(User.id).where(User.business_id == business.id)))
    customers = list(
        session.scalars(
            select(Customer.id)
            .where(Customer.business_id == business.id, Customer.credit_limit > 0)
            .order_by(Customer.name)
        )
    )
    habits = {
        customer: PAYING_HABITS[i % len(PAYING_HABITS)] for i, customer in enumerate(customers)
    }
    products = list(session.scalars(select(Product.id).where(Product.business_id == business.id)))
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    for days_ago in range(HISTORY_DAYS, 0, -1):
        for _ in range(rng.choice((0, 1, 2, 2, 3))):
            lines = [
                {"product_id": str(product), "quantity": rng.randint(1, 3)}
                for product in rng.sample(products, rng.randint(1, 3))
            ]
            params = {
                "business_id": business.id,
                "customer_id": rng.choice(customers),
                "items": json.dumps(lines),
                "key": uuid.uuid4(),
                "user_id": rng.choice(clerks),
            }
            moment = now - timedelta(days=days_ago, hours=rng.randrange(1, 10))
            if _in_the_past(session, PURCHASE, params, BACKDATE_SALE, moment):
                session.execute(REBUILD, {"business_id": business.id})
        for customer in rng.sample(customers, 2):
            share = habits[customer]
            balance = session.execute(BALANCE, {"customer_id": customer}).scalar_one()
            if share == 0 or balance <= 0:
                continue
            amount = (balance * share).quantize(Decimal("0.01"))
            params = {
                "business_id": business.id,
                "customer_id": customer,
                "amount": max(amount, Decimal("0.01")),
                "method": rng.choice(("cash", "cash", "mobile_money", "card", "bank_transfer")),
                "key": uuid.uuid4(),
                "user_id": rng.choice(clerks),
            }
            moment = now - timedelta(days=days_ago, hours=rng.randrange(0, 1))
            _in_the_past(session, PAYMENT, params, BACKDATE_PAYMENT, moment)
    session.execute(REBUILD_REPORTS, {"business_id": business.id})


def _in_the_past(
    session: Session,
    call: TextClause,
    params: dict[str, object],
    backdate: TextClause,
    moment: datetime,
) -> bool:
    """Make the call, then date what it recorded at `moment`; False when it was refused."""
    try:
        with session.begin_nested():
            row_id = session.execute(call, params).scalar_one()
    except DBAPIError:
        return False
    session.execute(backdate, {"id": row_id, "moment": moment})
    return True
