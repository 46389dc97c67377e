-- 0020: counting the drawer at the end of the day (the cash-up, issue 16). Each count is kept
-- (a recount is a new row; the latest is the day's): whose drawer and which day, the float it
-- started with, the cash the app expected (float + cash received − cash refunded by that
-- person that day, worked out when the count was recorded), what was counted, and who counted.
CREATE TABLE drawer_counts (
    business_id     uuid NOT NULL,
    id              uuid NOT NULL DEFAULT gen_random_uuid(),
    day             date NOT NULL,
    user_id         uuid NOT NULL,
    float_amount    numeric(12, 2) NOT NULL CHECK (float_amount >= 0),
    expected        numeric(12, 2) NOT NULL,
    counted         numeric(12, 2) NOT NULL CHECK (counted >= 0),
    note            text NOT NULL DEFAULT '' CHECK (length(note) <= 500),
    created_by      uuid NOT NULL,
    idempotency_key uuid NOT NULL,
    request_hash    uuid NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (business_id, id),
    UNIQUE (business_id, idempotency_key),
    FOREIGN KEY (business_id, user_id) REFERENCES users (business_id, id),
    FOREIGN KEY (business_id, created_by) REFERENCES users (business_id, id)
);
CREATE INDEX drawer_counts_day_idx ON drawer_counts (business_id, day, user_id, created_at);

ALTER TABLE drawer_counts ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON drawer_counts
    USING (business_id = current_business_id())
    WITH CHECK (business_id = current_business_id());
-- Counts are a record: the app adds them and reads them, never changes one.
GRANT SELECT, INSERT ON drawer_counts TO shopcredit_app;
