-- next_number(business, kind) → the shop's next number of that kind ('sale', 'payment',
-- 'return'): 1, 2, 3, … without gaps, because the counter row it updates stays locked until
-- the transaction ends and a rolled-back transaction gives its number back. Called by the
-- ledger functions as the last lock they take; never by the app directly.
--
-- PL/pgSQL, not SQL: a SQL function that is not inlined (an INSERT never is) is parsed and
-- planned again on every call, which cost about 6 % of a sale's server time; these two
-- statements are planned once per connection. The counter is there from the shop's first
-- document of a kind on, so the UPDATE is the one that runs; it writes one HOT update and no
-- lock record (INSERT … ON CONFLICT DO UPDATE locks the row, then updates it: two).
CREATE OR REPLACE FUNCTION next_number(p_business_id uuid, p_kind text)
RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_number bigint;
BEGIN
    UPDATE public.document_counters c SET last_number = c.last_number + 1
     WHERE c.business_id = p_business_id AND c.kind = p_kind
    RETURNING c.last_number INTO v_number;
    IF v_number IS NULL THEN
        -- The shop's first of this kind (two first ones at once: one inserts, the other waits
        -- for it and takes the next number).
        INSERT INTO public.document_counters AS c (business_id, kind, last_number)
        VALUES (p_business_id, p_kind, 1)
        ON CONFLICT (business_id, kind) DO UPDATE SET last_number = c.last_number + 1
        RETURNING c.last_number INTO v_number;
    END IF;
    RETURN v_number;
END
$$;

REVOKE ALL ON FUNCTION next_number(uuid, text) FROM PUBLIC;
