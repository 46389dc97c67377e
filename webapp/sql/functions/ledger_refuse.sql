-- ledger_refuse(sqlstate, message, detail): raises the ledger's refusal, with its own SQLSTATE
-- and the facts as a JSON DETAIL (webapp/ledger.py turns each SQLSTATE into one exception
-- class). It always raises: that is its job. The ledger functions' codes:
--   SC001 insufficient stock, SC002 credit limit exceeded, SC003 not found (also a business
--   other than the bound one), SC004 invalid input, SC005 payment exceeds balance,
--   SC006 customer archived, SC007 idempotency key used for another customer's or product's row.

CREATE OR REPLACE FUNCTION ledger_refuse(p_sqlstate text, p_message text, p_detail jsonb)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RAISE EXCEPTION USING ERRCODE = p_sqlstate, MESSAGE = p_message, DETAIL = p_detail::text;
END
$$;

REVOKE ALL ON FUNCTION ledger_refuse(text, text, jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION ledger_refuse(text, text, jsonb) TO shopcredit_app;
