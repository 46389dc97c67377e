-- 0023: statements a customer can open (issue 16). A link made from the customer's page (or
-- for a reminder) shows that customer's statement, read-only, to whoever holds it, until it
-- expires or is revoked. The link's secret is never stored: `token_hash` is the SHA-256 of the
-- token in the URL (webapp/share/links.py says how the token is made and checked).
--
-- The page has no signed-in business, so the business comes from the link first, as for an
-- API token: the hash is looked up in `statement_link_directory` (the tenant directory's way,
-- migration 0018; kept by a trigger, read only by the SECURITY DEFINER function
-- statement_link_lookup), then the link and the statement are read as the app role with that
-- business bound.
CREATE TABLE statement_links (
    business_id uuid NOT NULL,
    id          uuid NOT NULL DEFAULT gen_random_uuid(),
    customer_id uuid NOT NULL,
    token_hash  text NOT NULL CHECK (token_hash ~ '^[0-9a-f]{64}$'),
    -- The statement's period; no end: up to the day the link is opened.
    date_from   date NOT NULL,
    date_to     date CHECK (date_to >= date_from),
    -- Made for a reminder (reused by the next ones while it has a week left) or by hand.
    purpose     text NOT NULL DEFAULT 'shared' CHECK (purpose IN ('shared', 'reminder')),
    created_by  uuid NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    revoked_at  timestamptz,
    revoked_by  uuid,
    -- The form's key (a double click makes one link) and its request's fingerprint; none for a
    -- link made for a reminder.
    idempotency_key uuid,
    request_hash    uuid,
    PRIMARY KEY (business_id, id),
    UNIQUE (business_id, idempotency_key),
    CHECK (expires_at > created_at),
    CHECK ((revoked_at IS NULL) = (revoked_by IS NULL)),
    FOREIGN KEY (business_id, customer_id) REFERENCES customers (business_id, id),
    FOREIGN KEY (business_id, created_by) REFERENCES users (business_id, id),
    FOREIGN KEY (business_id, revoked_by) REFERENCES users (business_id, id)
);
CREATE INDEX statement_links_customer_idx
    ON statement_links (business_id, customer_id, created_at);

ALTER TABLE statement_links ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON statement_links
    USING (business_id = current_business_id())
    WITH CHECK (business_id = current_business_id());
-- Made and revoked, never changed otherwise or removed: the list says who did what.
GRANT SELECT, INSERT ON statement_links TO shopcredit_app;
GRANT UPDATE (revoked_at, revoked_by) ON statement_links TO shopcredit_app;

CREATE TABLE statement_link_directory (
    token_hash  text PRIMARY KEY,
    business_id uuid NOT NULL,
    link_id     uuid NOT NULL,
    FOREIGN KEY (business_id, link_id) REFERENCES statement_links (business_id, id)
);
ALTER TABLE statement_link_directory ENABLE ROW LEVEL SECURITY;
REVOKE ALL ON statement_link_directory FROM PUBLIC;

CREATE FUNCTION statement_link_directory_keep() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    INSERT INTO public.statement_link_directory (token_hash, business_id, link_id)
    VALUES (NEW.token_hash, NEW.business_id, NEW.id);
    RETURN NULL;
END
$$;
REVOKE ALL ON FUNCTION statement_link_directory_keep() FROM PUBLIC;

CREATE TRIGGER statement_link_directory_keep
    AFTER INSERT ON statement_links
    FOR EACH ROW EXECUTE FUNCTION statement_link_directory_keep();

-- Making and revoking a link are in the activity log: its kinds' CHECK takes one more. The
-- old CHECK goes and the wider one comes in the same transaction, so no row can slip in
-- between; every row already there passed the narrower one. Validated (which reads the whole
-- log, without stopping writes) in 0025, a transaction of its own.
-- (Old servers never write the new kind; the CHECK is replaced at once by a wider one.)
-- squawk-ignore ban-drop-constraint
ALTER TABLE activity_log DROP CONSTRAINT activity_log_kind_check;
ALTER TABLE activity_log ADD CONSTRAINT activity_log_kind_check
    CHECK (kind IN ('return', 'void', 'refund', 'reversal', 'override', 'credit_limit', 'price',
                    'stock', 'staff', 'settings', 'api_token', 'statement_link')) NOT VALID;
