-- 0011: defence in depth in the database (issue 15, item 7), and a CSV preview imported once
-- (item 9). None of what this closes is reachable today (no SQL injection was found); each
-- is a wall behind the one that holds, so that a mistake later costs less.
--
-- 1. Nothing the app role (or anyone but the owner) makes can stand in for ours: no temporary
--    tables (a temporary "customers" would shadow the real one for a function whose
--    search_path puts pg_temp first, as it does unless told otherwise) and nothing created in
--    any schema.
-- 2. The app role may UPDATE only the columns pages write themselves. What the ledger keeps
--    (customers.balance and oldest_open_due_on, orders.paid, products.stock, open_dues) and
--    the ledger's own rows (orders, order_items, payments, payment_allocations, open_dues) are
--    written only by the ledger functions: the app role cannot UPDATE those columns, nor
--    INSERT those rows, directly.
--
--    Why SECURITY DEFINER, and not column grants to the app role: an INVOKER function runs
--    with its caller's privileges, so for process_purchase to write a balance the app role
--    would need UPDATE on the balance, and could then write any balance itself. So the
--    functions that write the ledger run as the tables' owner (SECURITY DEFINER), which the
--    app role may only EXECUTE. The owner is not held back by row-level security, so these
--    functions keep the tenancy themselves, as they always have: the business is the one
--    bound to the transaction (current_business_id(), the app's binding), an argument naming
--    another is refused before anything is read, and every statement names v_business. Each
--    has a fixed search_path (pg_catalog, pg_temp, with every name of ours schema-qualified;
--    or a SQL-standard body), so nothing of the caller's can stand in: each says so in its
--    own file (webapp/sql/functions/).
-- 3. imports.preview_id: the preview a confirm came from (made by the server and signed into
--    the confirm form), unique per business: a preview is imported once, whatever idempotency
--    key its confirm is sent with.

-- 1. TEMP on this database, from everyone but the owner. Only the database's owner (or a
--    superuser) may revoke it: it was granted to PUBLIC by the owner when the database was
--    made. The README's deployment makes shopcredit_owner the owner, as the embedded server
--    and the tests do; a database owned by someone else keeps TEMP for PUBLIC until its owner
--    revokes it (the README says how), and this migration says so instead of failing.
DO $$
BEGIN
    EXECUTE format('REVOKE TEMPORARY ON DATABASE %I FROM PUBLIC', current_database());
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'shopcredit_app') THEN
        EXECUTE format('REVOKE TEMPORARY ON DATABASE %I FROM shopcredit_app', current_database());
    END IF;
    IF has_database_privilege('shopcredit_app', current_database(), 'TEMPORARY') THEN
        RAISE WARNING 'shopcredit_app may still create temporary tables: as the owner of '
                      'database %, run REVOKE TEMPORARY ON DATABASE % FROM PUBLIC',
                      current_database(), quote_ident(current_database());
    END IF;
EXCEPTION WHEN insufficient_privilege THEN
    RAISE WARNING 'only the owner of database % can revoke TEMPORARY on it: as that owner, run '
                  'REVOKE TEMPORARY ON DATABASE % FROM PUBLIC', current_database(),
                  quote_ident(current_database());
END
$$;

-- CREATE on every schema of ours (public, and any other the owner made), from everyone but
-- the owner. PostgreSQL 15 and newer no longer give PUBLIC CREATE on public, but a database
-- upgraded from an older one, or made from an old template, still may.
DO $$
DECLARE
    s name;
BEGIN
    FOR s IN SELECT n.nspname FROM pg_namespace n
              WHERE pg_has_role(n.nspowner, 'USAGE')
                AND n.nspname NOT LIKE 'pg\_%' AND n.nspname <> 'information_schema'
    LOOP
        EXECUTE format('REVOKE CREATE ON SCHEMA %I FROM PUBLIC, shopcredit_app', s);
    END LOOP;
END
$$;

-- 2. Column-level UPDATE where pages write directly, nothing more.
REVOKE UPDATE ON businesses, users, customers, products, api_tokens, orders, payments, open_dues
    FROM shopcredit_app;
-- Settings (webapp/settings/operations.py).
GRANT UPDATE (name, address, phone, currency, timezone, credit_days, low_stock_threshold,
              default_credit_limit, receipt_paper)
    ON businesses TO shopcredit_app;
-- Staff changes and a new password (webapp/staff, webapp/auth); UPDATE on a column is also
-- what locking a row (SELECT … FOR UPDATE) needs.
GRANT UPDATE (password_hash, role, is_active, session_version) ON users TO shopcredit_app;
-- A customer's details, limit and archiving (webapp/customers/operations.py): not the balance.
GRANT UPDATE (name, phone, email, notes, credit_limit, is_archived) ON customers TO shopcredit_app;
-- A product's details and archiving (webapp/products/operations.py): not the stock.
GRANT UPDATE (name, sku, barcode, price, is_active) ON products TO shopcredit_app;
-- A token's use and revocation (webapp/api/tokens.py, webapp/settings/operations.py).
GRANT UPDATE (last_used_at, revoked_at) ON api_tokens TO shopcredit_app;
-- The ledger's own rows: written by the ledger functions only. (stock_movements stays
-- insertable: a new product's opening stock is its first history line, written with it.)
REVOKE INSERT ON orders, order_items, payments, payment_allocations, open_dues
    FROM shopcredit_app;

-- 3. A preview is imported once.
ALTER TABLE imports ADD COLUMN preview_id uuid,
    ADD CONSTRAINT imports_preview_key UNIQUE (business_id, preview_id);

-- The trigger and search functions of 0006 already have a fixed search_path; the functions
-- there with a SQL-standard body (search_fold, product_code, product_search_sql) resolve their
-- names once, when they were made, so no search_path can change what they call.
