-- next_number(business, kind) → the shop's next number of that kind ('sale', 'payment',
-- 'return'): 1, 2, 3, … without gaps, because the counter row it updates stays locked until
-- the transaction ends and a rolled-back transaction gives its number back. Called by the
-- ledger functions as the last lock they take; never by the app directly.
CREATE OR REPLACE FUNCTION next_number(p_business_id uuid, p_kind text)
RETURNS bigint
LANGUAGE sql
SET search_path = pg_catalog, pg_temp
AS $$
    INSERT INTO public.document_counters AS c (business_id, kind, last_number)
    VALUES (p_business_id, p_kind, 1)
    ON CONFLICT (business_id, kind) DO UPDATE SET last_number = c.last_number + 1
    RETURNING c.last_number
$$;

REVOKE ALL ON FUNCTION next_number(uuid, text) FROM PUBLIC;
