-- login_lookup(shop code, email): sign-in happens before a tenant is known, so this is the one
-- narrow window through row-level security (SECURITY DEFINER). It answers only for an exact
-- shop code and email of an active user (no rows otherwise, never an error: an inactive
-- user's password hash is not needed, since they may not sign in), and returns only what
-- checking a password and binding the business need. (is_active is always true; the column
-- stays for the caller.) Two steps, as a database spread by business_id routes them
-- (docs/SCALING.md): the shop code in the tenant directory (migration 0018) gives the business,
-- then the user is read in that business only.

CREATE OR REPLACE FUNCTION login_lookup(p_business_slug text, p_email text)
RETURNS TABLE (business_id uuid, user_id uuid, password_hash text, is_active boolean)
LANGUAGE plpgsql STABLE SECURITY DEFINER
-- pg_temp last and every table named with its schema: no temporary table of the caller's can
-- stand in for ours.
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_business uuid;
BEGIN
    SELECT d.business_id INTO v_business
    FROM public.business_directory d
    WHERE d.slug = lower(btrim(p_business_slug));
    IF NOT FOUND THEN
        RETURN;
    END IF;
    RETURN QUERY
        SELECT u.business_id, u.id, u.password_hash, u.is_active
        FROM public.users u
        WHERE u.business_id = v_business
          AND lower(u.email) = lower(btrim(p_email))
          AND u.is_active;
END
$$;

REVOKE ALL ON FUNCTION login_lookup(text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION login_lookup(text, text) TO shopcredit_app;
