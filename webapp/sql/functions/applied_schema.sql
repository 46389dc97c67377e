-- applied_schema(): the migrations and function files applied to this database, each with its
-- sha256, so the app role's readiness check (/readyz) can compare them with the files this
-- release ships (webapp/migrate.py: readiness_problems). Names and checksums only; the app
-- role reads nothing else of schema_migrations or schema_functions.

CREATE OR REPLACE FUNCTION applied_schema()
RETURNS TABLE (kind text, name text, checksum text)
LANGUAGE sql STABLE SECURITY DEFINER
-- pg_temp last and every table named with its schema: no temporary table of the caller's can
-- stand in for ours.
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT 'migration', m.name, m.checksum FROM public.schema_migrations m
    UNION ALL
    SELECT 'function', f.name, f.checksum FROM public.schema_functions f
$$;

REVOKE ALL ON FUNCTION applied_schema() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION applied_schema() TO shopcredit_app;
