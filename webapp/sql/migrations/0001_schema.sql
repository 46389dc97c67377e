-- ShopCredit schema: every table of the design, tenant isolation, the app role's grants and the
-- one lookup that may run before a tenant is known (login).
--
-- Tenant tables have the primary key (business_id, id) and every foreign key between them is
-- composite, so a row can never point into another business, and the schema can be
-- distributed by business_id unchanged.

-- The restricted role the web app connects as. A DBA may have made it already (with a
-- password); otherwise the owner makes it here, which needs CREATEROLE.
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'shopcredit_app') THEN
        CREATE ROLE shopcredit_app LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
    END IF;
END
$$;

-- The tenant bound to the current transaction (NULL when none: then every policy hides all rows).
CREATE FUNCTION current_business_id() RETURNS uuid
LANGUAGE sql STABLE PARALLEL SAFE
AS $$ SELECT NULLIF(current_setting('app.business_id', true), '')::uuid $$;

CREATE TABLE businesses (
    id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    slug                text NOT NULL UNIQUE
                        CHECK (slug ~ '^[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?$'),
    name                text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 120),
    currency            char(3) NOT NULL DEFAULT 'USD' CHECK (currency ~ '^[A-Z]{3}$'),
    timezone            text NOT NULL DEFAULT 'UTC',
    credit_days         integer NOT NULL DEFAULT 30 CHECK (credit_days BETWEEN 0 AND 365),
    address             text NOT NULL DEFAULT '' CHECK (length(address) <= 300),
    phone               text NOT NULL DEFAULT '' CHECK (length(phone) <= 40),
    low_stock_threshold integer NOT NULL DEFAULT 5 CHECK (low_stock_threshold BETWEEN 0 AND 100000),
    created_at          timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE users (
    business_id     uuid NOT NULL REFERENCES businesses (id),
    id              uuid NOT NULL DEFAULT gen_random_uuid(),
    email           text NOT NULL CHECK (email ~ '^[^@\s]+@[^@\s]+$' AND length(email) <= 254),
    name            text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 120),
    password_hash   text NOT NULL,
    role            text NOT NULL CHECK (role IN ('owner', 'clerk')),
    is_active       boolean NOT NULL DEFAULT true,
    -- Bumped on password change or deactivation: sessions carrying an older value end.
    session_version integer NOT NULL DEFAULT 1,
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (business_id, id)
);
CREATE UNIQUE INDEX users_email_key ON users (business_id, lower(email));

CREATE TABLE customers (
    business_id  uuid NOT NULL REFERENCES businesses (id),
    id           uuid NOT NULL DEFAULT gen_random_uuid(),
    name         text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 120),
    phone        text NOT NULL DEFAULT '' CHECK (length(phone) <= 40),
    email        text NOT NULL DEFAULT '' CHECK (length(email) <= 254),
    notes        text NOT NULL DEFAULT '' CHECK (length(notes) <= 2000),
    credit_limit numeric(12, 2) NOT NULL DEFAULT 0 CHECK (credit_limit >= 0),
    -- Maintained by the ledger functions: Σ orders.total − Σ payments.amount.
    balance      numeric(12, 2) NOT NULL DEFAULT 0 CHECK (balance >= 0),
    -- Maintained too: the earliest due date among the customer's sales not fully paid (NULL
    -- when there is none), so the overdue list can find and order the overdue customers
    -- without reading every open sale.
    oldest_open_due_on date,
    is_archived  boolean NOT NULL DEFAULT false,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (business_id, id)
);
CREATE INDEX customers_name_idx ON customers (business_id, lower(name));
CREATE INDEX customers_oldest_open_idx ON customers (business_id, oldest_open_due_on, name, id)
    WHERE oldest_open_due_on IS NOT NULL;

CREATE TABLE products (
    business_id uuid NOT NULL REFERENCES businesses (id),
    id          uuid NOT NULL DEFAULT gen_random_uuid(),
    name        text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 120),
    sku         text CHECK (sku IS NULL OR length(btrim(sku)) BETWEEN 1 AND 64),
    price       numeric(12, 2) NOT NULL CHECK (price >= 0),
    stock       integer NOT NULL DEFAULT 0 CHECK (stock >= 0),
    is_active   boolean NOT NULL DEFAULT true,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (business_id, id)
);
CREATE UNIQUE INDEX products_sku_key ON products (business_id, lower(sku)) WHERE sku IS NOT NULL;
CREATE INDEX products_name_idx ON products (business_id, lower(name));

CREATE TABLE api_tokens (
    business_id  uuid NOT NULL REFERENCES businesses (id),
    id           uuid NOT NULL DEFAULT gen_random_uuid(),
    name         text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 80),
    -- SHA-256 of the token: tokens are long random strings, so a slow hash adds nothing.
    token_hash   text NOT NULL UNIQUE,
    created_by   uuid NOT NULL,
    last_used_at timestamptz,
    revoked_at   timestamptz,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (business_id, id),
    FOREIGN KEY (business_id, created_by) REFERENCES users (business_id, id)
);

-- Tables below reach their business through a composite key to a parent that has it, so they
-- carry no key of their own to businesses: every sale would otherwise lock the business row.
-- created_by and api_token_id name who recorded a row; users and tokens are never deleted (the
-- app role has no DELETE), the ledger functions check them, and a foreign key there would make
-- every till of one clerk take a shared lock on that clerk's row.
CREATE TABLE orders (
    business_id     uuid NOT NULL,
    id              uuid NOT NULL DEFAULT gen_random_uuid(),
    customer_id     uuid NOT NULL,
    total           numeric(12, 2) NOT NULL CHECK (total > 0),
    paid            numeric(12, 2) NOT NULL DEFAULT 0 CHECK (paid >= 0 AND paid <= total),
    due_on          date NOT NULL,
    created_by      uuid NOT NULL,
    api_token_id    uuid,
    idempotency_key uuid NOT NULL,
    -- What the customer owed right after this sale: receipts and API replays show it.
    balance_after   numeric(12, 2) NOT NULL CHECK (balance_after >= 0),
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (business_id, id),
    UNIQUE (business_id, idempotency_key),
    FOREIGN KEY (business_id, customer_id) REFERENCES customers (business_id, id)
);
CREATE INDEX orders_customer_idx ON orders (business_id, customer_id, created_at);
CREATE INDEX orders_created_idx ON orders (business_id, created_at);
-- Overdue lists and payment allocation only ever look at sales not yet fully paid: this index
-- stays as small as the open sales however long the history grows.
CREATE INDEX orders_open_idx ON orders (business_id, customer_id, due_on, created_at)
    WHERE paid < total;

CREATE TABLE order_items (
    business_id uuid NOT NULL,
    id          uuid NOT NULL DEFAULT gen_random_uuid(),
    order_id    uuid NOT NULL,
    product_id  uuid NOT NULL,
    quantity    integer NOT NULL CHECK (quantity BETWEEN 1 AND 100000),
    unit_price  numeric(12, 2) NOT NULL CHECK (unit_price >= 0),
    PRIMARY KEY (business_id, id),
    UNIQUE (business_id, order_id, product_id),
    FOREIGN KEY (business_id, order_id) REFERENCES orders (business_id, id),
    FOREIGN KEY (business_id, product_id) REFERENCES products (business_id, id)
);
CREATE INDEX order_items_product_idx ON order_items (business_id, product_id);

CREATE TABLE payments (
    business_id     uuid NOT NULL,
    id              uuid NOT NULL DEFAULT gen_random_uuid(),
    customer_id     uuid NOT NULL,
    amount          numeric(12, 2) NOT NULL CHECK (amount > 0),
    method          text NOT NULL DEFAULT 'cash'
                    CHECK (method IN ('cash', 'card', 'bank_transfer', 'mobile_money', 'other')),
    note            text NOT NULL DEFAULT '' CHECK (length(note) <= 500),
    created_by      uuid NOT NULL,
    api_token_id    uuid,
    idempotency_key uuid NOT NULL,
    -- What the customer owed right after this payment: receipts and API replays show it.
    balance_after   numeric(12, 2) NOT NULL CHECK (balance_after >= 0),
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (business_id, id),
    UNIQUE (business_id, idempotency_key),
    FOREIGN KEY (business_id, customer_id) REFERENCES customers (business_id, id)
);
CREATE INDEX payments_customer_idx ON payments (business_id, customer_id, created_at);
CREATE INDEX payments_created_idx ON payments (business_id, created_at);

CREATE TABLE payment_allocations (
    business_id uuid NOT NULL,
    id          uuid NOT NULL DEFAULT gen_random_uuid(),
    payment_id  uuid NOT NULL,
    order_id    uuid NOT NULL,
    amount      numeric(12, 2) NOT NULL CHECK (amount > 0),
    PRIMARY KEY (business_id, id),
    UNIQUE (business_id, payment_id, order_id),
    FOREIGN KEY (business_id, payment_id) REFERENCES payments (business_id, id),
    FOREIGN KEY (business_id, order_id) REFERENCES orders (business_id, id)
);
CREATE INDEX payment_allocations_order_idx ON payment_allocations (business_id, order_id);

-- What a business is owed, per due date: Σ (total − paid) of its open sales due that day.
-- Maintained by the ledger functions, so the overdue list's totals are sums over a few hundred
-- rows however many sales are open. Each due date is split into 32 shards by customer, so two
-- tills selling to different customers at once (almost) never wait on the same row. Its key is
-- (business_id, due_on, shard): a summary, not a record of its own.
CREATE TABLE open_dues (
    business_id uuid NOT NULL,
    due_on      date NOT NULL,
    shard       smallint NOT NULL CHECK (shard BETWEEN 0 AND 31),
    owed        numeric(14, 2) NOT NULL CHECK (owed >= 0),
    PRIMARY KEY (business_id, due_on, shard)
);

-- The shard of a customer's rows in open_dues.
CREATE FUNCTION due_shard(p_customer_id uuid) RETURNS smallint
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT (hashtext(p_customer_id::text) & 31)::smallint $$;

-- Every change of stock, sales included: who, when, how much, why, and the stock after it.
CREATE TABLE stock_movements (
    business_id     uuid NOT NULL,
    id              uuid NOT NULL DEFAULT gen_random_uuid(),
    product_id      uuid NOT NULL,
    change          integer NOT NULL CHECK (change <> 0),
    reason          text NOT NULL
                    CHECK (reason IN ('opening', 'sale', 'delivery', 'count_correction', 'damage',
                                      'import')),
    resulting_stock integer NOT NULL CHECK (resulting_stock >= 0),
    order_id        uuid,
    note            text NOT NULL DEFAULT '' CHECK (length(note) <= 500),
    created_by      uuid NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (business_id, id),
    FOREIGN KEY (business_id, product_id) REFERENCES products (business_id, id),
    FOREIGN KEY (business_id, order_id) REFERENCES orders (business_id, id)
);
CREATE INDEX stock_movements_product_idx ON stock_movements (business_id, product_id, created_at);

-- Row-level security: with a tenant bound, only its rows; with none, no rows at all.
ALTER TABLE businesses ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON businesses
    USING (id = current_business_id()) WITH CHECK (id = current_business_id());

DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['users', 'customers', 'products', 'api_tokens', 'orders',
                             'order_items', 'payments', 'payment_allocations', 'stock_movements',
                             'open_dues']
    LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY tenant_isolation ON %I
                            USING (business_id = current_business_id())
                            WITH CHECK (business_id = current_business_id())', t);
    END LOOP;
END
$$;

-- The app role gets data access only: no DDL, no ownership, nothing outside these tables.
GRANT USAGE ON SCHEMA public TO shopcredit_app;
GRANT SELECT, UPDATE ON businesses TO shopcredit_app;
GRANT SELECT, INSERT, UPDATE ON users, customers, products, api_tokens, orders, payments
    TO shopcredit_app;
GRANT SELECT, INSERT ON order_items, payment_allocations, stock_movements TO shopcredit_app;
GRANT SELECT, INSERT, UPDATE ON open_dues TO shopcredit_app;
REVOKE ALL ON FUNCTION due_shard(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION due_shard(uuid) TO shopcredit_app;
REVOKE ALL ON FUNCTION current_business_id() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION current_business_id() TO shopcredit_app;

-- Login happens before a tenant is known: this is the one narrow window through RLS. It answers
-- only for an exact shop code and email, and returns only what checking a password needs.
CREATE FUNCTION login_lookup(p_business_slug text, p_email text)
RETURNS TABLE (business_id uuid, user_id uuid, password_hash text, is_active boolean)
LANGUAGE sql STABLE SECURITY DEFINER
-- pg_temp last and every table named with its schema: no temporary table of the caller's can
-- stand in for ours.
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT u.business_id, u.id, u.password_hash, u.is_active
    FROM public.businesses b
    JOIN public.users u ON u.business_id = b.id
    WHERE b.slug = lower(btrim(p_business_slug))
      AND lower(u.email) = lower(btrim(p_email))
$$;
REVOKE ALL ON FUNCTION login_lookup(text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION login_lookup(text, text) TO shopcredit_app;

-- Rebuilds both summaries from the sales (owner only): for data loaded or corrected outside
-- the ledger functions (imports, demo history, repairs). The ledger functions keep them right.
-- It first takes every customer of the business, in the global lock order, so no sale or
-- payment is half seen; the statements after it then see everything committed before.
CREATE FUNCTION rebuild_due_summaries(p_business_id uuid) RETURNS void
LANGUAGE sql
AS $$
    SELECT 1 FROM customers WHERE business_id = p_business_id ORDER BY id FOR NO KEY UPDATE;
    UPDATE customers c
       SET oldest_open_due_on = (SELECT min(o.due_on) FROM orders o
                                  WHERE o.business_id = c.business_id
                                    AND o.customer_id = c.id AND o.paid < o.total)
     WHERE c.business_id = p_business_id;
    DELETE FROM open_dues WHERE business_id = p_business_id;
    INSERT INTO open_dues (business_id, due_on, shard, owed)
    SELECT o.business_id, o.due_on, due_shard(o.customer_id), sum(o.total - o.paid)
      FROM orders o
     WHERE o.business_id = p_business_id AND o.paid < o.total
     GROUP BY 1, 2, 3;
$$;
REVOKE ALL ON FUNCTION rebuild_due_summaries(uuid) FROM PUBLIC;
