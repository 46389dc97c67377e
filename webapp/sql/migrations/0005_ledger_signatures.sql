-- The ledger functions take the business as their first argument (p_business_id uuid), so that a
-- distributed PostgreSQL (Citus) can route each call by it; the business bound to the
-- transaction stays the authority, and an argument naming another is refused (SC003).
--
-- The old signatures are dropped here, not left beside the new ones. The new definitions live
-- in webapp/sql/functions/<name>.sql, which the migration runner applies right after the
-- migrations (and again whenever a file changes). Their grants come with them there.

DROP FUNCTION process_purchase(uuid, jsonb, uuid, uuid, uuid);
DROP FUNCTION record_payment(uuid, numeric, text, text, uuid, uuid, uuid, uuid);
DROP FUNCTION adjust_stock(uuid, integer, text, text, uuid, uuid, integer);
DROP FUNCTION record_opening_balances(jsonb, uuid);
