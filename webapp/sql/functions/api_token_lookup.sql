-- api_token_lookup(token hash): API tokens are looked up before a tenant is known, so this is
-- the second narrow window through row-level security (SECURITY DEFINER). It answers only for
-- the hash of a token that is not revoked and whose maker is still active (no rows otherwise,
-- never an error). Two steps, as a database spread by business_id routes them
-- (docs/SCALING.md): the hash in the tenant directory (migration 0018) gives the business, then
-- the token is read in that business only.

CREATE OR REPLACE FUNCTION api_token_lookup(p_token_hash text)
RETURNS TABLE (business_id uuid, token_id uuid, created_by uuid)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_business uuid;
    v_token uuid;
BEGIN
    SELECT d.business_id, d.token_id INTO v_business, v_token
    FROM public.token_directory d
    WHERE d.token_hash = p_token_hash;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    RETURN QUERY
        SELECT t.business_id, t.id, t.created_by
        FROM public.api_tokens t
        JOIN public.users u ON u.business_id = t.business_id AND u.id = t.created_by
        WHERE t.business_id = v_business AND t.id = v_token
          AND t.revoked_at IS NULL AND u.is_active;
END
$$;

REVOKE ALL ON FUNCTION api_token_lookup(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api_token_lookup(text) TO shopcredit_app;
