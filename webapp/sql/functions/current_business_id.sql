-- current_business_id(): the tenant bound to the current transaction (app.business_id, set with
-- set_config(..., true)), or NULL when none is bound: then every row-level security policy,
-- all of which compare business_id with it, hides every row. Never refuses.

-- A SQL-standard body: its names are resolved once, when it is made, so no search_path can
-- change what it reads; and, without a SET clause, every policy still inlines it (a SET would
-- make it a function call on every row a policy filters).
CREATE OR REPLACE FUNCTION current_business_id() RETURNS uuid
LANGUAGE sql STABLE PARALLEL SAFE
RETURN NULLIF(pg_catalog.current_setting('app.business_id', true), '')::pg_catalog.uuid;

REVOKE ALL ON FUNCTION current_business_id() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION current_business_id() TO shopcredit_app;
