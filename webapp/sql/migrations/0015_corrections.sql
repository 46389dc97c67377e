-- 0015: mistakes can be put right (issue 13). Returns and voids, payment reversals, numbers a
-- person can read out (per shop and kind, 1..n without gaps), an owner's credit-limit override,
-- and an append-only activity log.

-- Numbers: one counter row per shop and kind, taken by the ledger functions as the last thing
-- they lock (so a till holds it for the shortest time: only the inserts after it). A refused
-- sale rolls back and so takes no number. Rows made before this migration are numbered in the
-- order they were made.
CREATE TABLE document_counters (
    business_id uuid NOT NULL REFERENCES businesses (id),
    kind        text NOT NULL CHECK (kind IN ('sale', 'payment', 'return')),
    last_number bigint NOT NULL CHECK (last_number >= 0),
    PRIMARY KEY (business_id, kind)
);

ALTER TABLE orders
    ADD COLUMN number bigint,
    -- What has been taken back: goods returned at the price sold, or an amount taken off an
    -- item-less sale. What is still owed on a sale is total − returned − paid.
    ADD COLUMN returned numeric(12, 2) NOT NULL DEFAULT 0 CHECK (returned >= 0),
    -- An owner's reason for recording the sale over the customer's credit limit.
    ADD COLUMN override_reason text CHECK (length(override_reason) BETWEEN 1 AND 500),
    -- The credit limit at the moment of the sale (NULL: made before this migration), so the
    -- ledger check can prove each sale was within it or carries an override.
    ADD COLUMN credit_limit numeric(12, 2);
ALTER TABLE payments ADD COLUMN number bigint;

UPDATE orders o SET number = n.number
  FROM (SELECT business_id, id,
               row_number() OVER (PARTITION BY business_id ORDER BY created_at, id) AS number
          FROM orders) n
 WHERE n.business_id = o.business_id AND n.id = o.id;
UPDATE payments p SET number = n.number
  FROM (SELECT business_id, id,
               row_number() OVER (PARTITION BY business_id ORDER BY created_at, id) AS number
          FROM payments) n
 WHERE n.business_id = p.business_id AND n.id = p.id;
INSERT INTO document_counters (business_id, kind, last_number)
SELECT business_id, 'sale', max(number) FROM orders GROUP BY business_id
UNION ALL
SELECT business_id, 'payment', max(number) FROM payments GROUP BY business_id;

ALTER TABLE orders ALTER COLUMN number SET NOT NULL;
ALTER TABLE payments ALTER COLUMN number SET NOT NULL;
CREATE UNIQUE INDEX orders_number_key ON orders (business_id, number);
CREATE UNIQUE INDEX payments_number_key ON payments (business_id, number);
ALTER TABLE orders ADD CONSTRAINT orders_settled_within_total CHECK (paid + returned <= total);

-- Open sales are now those with anything left to pay after returns: the partial index follows.
CREATE INDEX orders_owing_idx ON orders (business_id, customer_id, due_on, created_at)
    WHERE paid + returned < total;
DROP INDEX orders_open_idx;

-- A return takes back some or all of one sale's items (or, for a sale without items, an
-- amount). A void is the return of everything still unreturned. When what was paid on the sale
-- comes to more than its total after the return, the excess moves to the customer's other open
-- sales (oldest due first) and what is left is refunded, by refund_method.
CREATE TABLE returns (
    business_id     uuid NOT NULL,
    id              uuid NOT NULL DEFAULT gen_random_uuid(),
    number          bigint NOT NULL,
    order_id        uuid NOT NULL,
    customer_id     uuid NOT NULL,
    is_void         boolean NOT NULL,
    -- What the goods came to at the price sold (0 for goods that were free), or the amount.
    amount          numeric(12, 2) NOT NULL CHECK (amount >= 0),
    refund          numeric(12, 2) NOT NULL CHECK (refund >= 0 AND refund <= amount),
    refund_method   text CHECK (refund_method IN ('cash', 'card', 'bank_transfer',
                                                  'mobile_money', 'other')),
    reason          text NOT NULL CHECK (length(btrim(reason)) BETWEEN 1 AND 500),
    created_by      uuid NOT NULL,
    api_token_id    uuid,
    idempotency_key uuid NOT NULL,
    request_hash    uuid NOT NULL,
    balance_after   numeric(12, 2) NOT NULL CHECK (balance_after >= 0),
    created_at      timestamptz NOT NULL DEFAULT now(),
    CHECK (refund = 0 OR refund_method IS NOT NULL),
    PRIMARY KEY (business_id, id),
    UNIQUE (business_id, idempotency_key),
    FOREIGN KEY (business_id, order_id) REFERENCES orders (business_id, id),
    FOREIGN KEY (business_id, customer_id) REFERENCES customers (business_id, id)
);
CREATE UNIQUE INDEX returns_number_key ON returns (business_id, number);
CREATE INDEX returns_order_idx ON returns (business_id, order_id);
CREATE INDEX returns_customer_idx ON returns (business_id, customer_id, created_at);
CREATE INDEX returns_created_idx ON returns (business_id, created_at);

CREATE TABLE return_items (
    business_id uuid NOT NULL,
    return_id   uuid NOT NULL,
    product_id  uuid NOT NULL,
    quantity    integer NOT NULL CHECK (quantity BETWEEN 1 AND 100000),
    unit_price  numeric(12, 2) NOT NULL CHECK (unit_price >= 0),
    PRIMARY KEY (business_id, return_id, product_id),
    FOREIGN KEY (business_id, return_id) REFERENCES returns (business_id, id),
    FOREIGN KEY (business_id, product_id) REFERENCES products (business_id, id)
);

-- Which payments' money a refund gave back (a payment's allocations plus what was refunded
-- of it add up to its amount).
CREATE TABLE refund_sources (
    business_id uuid NOT NULL,
    return_id   uuid NOT NULL,
    payment_id  uuid NOT NULL,
    amount      numeric(12, 2) NOT NULL CHECK (amount > 0),
    PRIMARY KEY (business_id, return_id, payment_id),
    FOREIGN KEY (business_id, return_id) REFERENCES returns (business_id, id),
    FOREIGN KEY (business_id, payment_id) REFERENCES payments (business_id, id)
);
CREATE INDEX refund_sources_payment_idx ON refund_sources (business_id, payment_id);

-- A payment reversed (bounced cheque, mobile money reversed, wrong customer): its allocations
-- are undone; the payment and its allocations stay, marked by this row. Not numbered.
CREATE TABLE payment_reversals (
    business_id     uuid NOT NULL,
    id              uuid NOT NULL DEFAULT gen_random_uuid(),
    payment_id      uuid NOT NULL,
    reason          text NOT NULL CHECK (length(btrim(reason)) BETWEEN 1 AND 500),
    created_by      uuid NOT NULL,
    api_token_id    uuid,
    idempotency_key uuid NOT NULL,
    request_hash    uuid NOT NULL,
    balance_after   numeric(12, 2) NOT NULL CHECK (balance_after >= 0),
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (business_id, id),
    UNIQUE (business_id, payment_id),
    UNIQUE (business_id, idempotency_key),
    FOREIGN KEY (business_id, payment_id) REFERENCES payments (business_id, id)
);

-- Stock that comes back with a return.
ALTER TABLE stock_movements ADD COLUMN return_id uuid,
    ADD CONSTRAINT stock_movements_return_fkey FOREIGN KEY (business_id, return_id)
        REFERENCES returns (business_id, id);
ALTER TABLE stock_movements DROP CONSTRAINT stock_movements_reason_check,
    ADD CONSTRAINT stock_movements_reason_check
        CHECK (reason IN ('opening', 'sale', 'delivery', 'count_correction', 'damage', 'import',
                          'return'));

-- How long a clerk may still return or void their own sale (same day only); owners always may.
ALTER TABLE businesses
    ADD COLUMN clerk_correction_minutes integer NOT NULL DEFAULT 30
        CHECK (clerk_correction_minutes BETWEEN 0 AND 1440);
GRANT UPDATE (clerk_correction_minutes) ON businesses TO shopcredit_app;

-- The activity log: who changed what, when, from what to what, and why. Written in the same
-- transaction as the change (by the ledger functions, or by the app's operations). The app
-- role may add to it and read it, never change or remove a line.
CREATE TABLE activity_log (
    business_id  uuid NOT NULL,
    id           uuid NOT NULL DEFAULT gen_random_uuid(),
    at           timestamptz NOT NULL DEFAULT now(),
    user_id      uuid,
    api_token_id uuid,
    kind         text NOT NULL CHECK (kind IN ('return', 'void', 'refund', 'reversal', 'override',
                                               'credit_limit', 'price', 'stock', 'staff',
                                               'settings', 'api_token')),
    summary      text NOT NULL CHECK (length(summary) BETWEEN 1 AND 500),
    before       jsonb,
    after        jsonb,
    reason       text NOT NULL DEFAULT '' CHECK (length(reason) <= 500),
    customer_id  uuid,
    product_id   uuid,
    order_id     uuid,
    payment_id   uuid,
    return_id    uuid,
    PRIMARY KEY (business_id, id),
    FOREIGN KEY (business_id) REFERENCES businesses (id)
);
CREATE INDEX activity_log_at_idx ON activity_log (business_id, at);
CREATE INDEX activity_log_customer_idx ON activity_log (business_id, customer_id, at)
    WHERE customer_id IS NOT NULL;
CREATE INDEX activity_log_product_idx ON activity_log (business_id, product_id, at)
    WHERE product_id IS NOT NULL;

DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['document_counters', 'returns', 'return_items', 'refund_sources',
                             'payment_reversals', 'activity_log']
    LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY tenant_isolation ON %I
                            USING (business_id = current_business_id())
                            WITH CHECK (business_id = current_business_id())', t);
    END LOOP;
END
$$;

-- Records of money and stock are written only by the ledger functions (as the owner); the app
-- reads them. The activity log is append-only for the app.
GRANT SELECT ON document_counters, returns, return_items, refund_sources, payment_reversals
    TO shopcredit_app;
GRANT SELECT, INSERT ON activity_log TO shopcredit_app;

-- record_payment now also answers with the payment's number: a new result type, so the old
-- definition goes and sql/functions/record_payment.sql makes the new one right after.
DROP FUNCTION IF EXISTS record_payment(uuid, uuid, numeric, text, text, uuid, uuid, uuid, uuid);
