-- statement_link_lookup(token hash): a shared statement is opened with no one signed in, so
-- its link is looked up before a tenant is known — a narrow window through row-level security
-- (SECURITY DEFINER), like api_token_lookup. It answers only for the hash of a link that is
-- neither revoked nor expired, of a customer whose details were not erased (no rows otherwise,
-- never an error, and the same nothing for each: the page cannot tell them apart either). Two
-- steps, as a database spread by business_id routes them (docs/SCALING.md): the hash in the
-- directory gives the business, then the link is read in that business only.

CREATE OR REPLACE FUNCTION statement_link_lookup(p_token_hash text)
RETURNS TABLE (business_id uuid, link_id uuid)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_business uuid;
    v_link uuid;
BEGIN
    SELECT d.business_id, d.link_id INTO v_business, v_link
    FROM public.statement_link_directory d
    WHERE d.token_hash = p_token_hash;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    RETURN QUERY
        SELECT l.business_id, l.id
        FROM public.statement_links l
        JOIN public.customers c ON c.business_id = l.business_id AND c.id = l.customer_id
        WHERE l.business_id = v_business AND l.id = v_link
          AND l.revoked_at IS NULL AND l.expires_at > now() AND c.erased_at IS NULL;
END
$$;

REVOKE ALL ON FUNCTION statement_link_lookup(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION statement_link_lookup(text) TO shopcredit_app;
