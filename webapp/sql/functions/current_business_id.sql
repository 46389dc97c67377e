-- current_business_id(): the tenant bound to the current transaction (app.business_id, set with
-- set_config(..., true)), or NULL when none is bound: then every row-level security policy,
-- all of which compare business_id with it, hides every row. Never refuses.

CREATE OR REPLACE FUNCTION current_business_id() RETURNS uuid
LANGUAGE sql STABLE PARALLEL SAFE
AS $$ SELECT NULLIF(current_setting('app.business_id', true), '')::uuid $$;

REVOKE ALL ON FUNCTION current_business_id() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION current_business_id() TO shopcredit_app;
