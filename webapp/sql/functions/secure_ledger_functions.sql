-- secure_ledger_functions(): a bridge (issue 15, item 7), owner only. The ledger functions
-- write what the app role may not (balances, stock, paid: migration 0011), so each must run as
-- the tables' owner (SECURITY DEFINER) with a fixed search_path. adjust_stock and
-- record_opening_balances say so in their own files. process_purchase.sql and
-- record_payment.sql are being changed elsewhere and do not say it yet: this makes every
-- function of those two names (whatever its arguments) so, when it is not already.
--
-- Function files run in name order, so this one runs after both on a new database, and again
-- whenever this file changes. Once process_purchase.sql and record_payment.sql carry
-- SECURITY DEFINER and SET search_path themselves (which they need, as CREATE OR REPLACE
-- puts back whatever its text says when a file is applied again), this changes nothing and
-- can go, with a migration that drops it.
--
-- Their bodies name our tables and functions without a schema, so their search_path is
-- `public, pg_temp`: public, where only the owner may create anything (0011), and pg_temp
-- last, where the app role can create nothing (0011).

CREATE OR REPLACE FUNCTION secure_ledger_functions() RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    f regprocedure;
BEGIN
    FOR f IN SELECT p.oid::regprocedure
               FROM pg_catalog.pg_proc p
              WHERE p.pronamespace = 'public'::regnamespace
                AND p.proname IN ('process_purchase', 'record_payment')
                AND NOT (p.prosecdef AND EXISTS (SELECT FROM unnest(p.proconfig) c
                                                  WHERE c LIKE 'search\_path=%'))
    LOOP
        EXECUTE format('ALTER FUNCTION %s SECURITY DEFINER SET search_path = public, pg_temp', f);
    END LOOP;
END
$$;

REVOKE ALL ON FUNCTION secure_ledger_functions() FROM PUBLIC;

SELECT secure_ledger_functions();
