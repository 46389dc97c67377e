-- 0018: a tenant directory. What a request brings before any business is known — a shop code
-- at sign-in, an API token's hash — is looked up here first, giving the business; only then are
-- the business's own rows read, by business_id. On one server this is one more index probe.
-- It is what spreading businesses over several databases needs (docs/SCALING.md): on Citus,
-- distributed by business_id, these become reference tables, the only place a shop code or a
-- token is unique across every business (a distributed table's UNIQUE must include
-- business_id); with several independent servers, the directory's `placement` says which one
-- holds the business, and the app routes each request there.
--
-- Kept by triggers on businesses and api_tokens (as their owner: the app role makes tokens but
-- may not write here), and read only through the SECURITY DEFINER lookups (login_lookup,
-- api_token_lookup): the app role has no grant on either table, so it cannot list shop codes
-- or token hashes.

CREATE TABLE business_directory (
    slug        text PRIMARY KEY,
    business_id uuid NOT NULL UNIQUE REFERENCES businesses (id),
    -- Which database holds the business: 'main' while there is one.
    placement   text NOT NULL DEFAULT 'main' CHECK (placement ~ '^[a-z0-9_-]{1,40}$')
);

CREATE TABLE token_directory (
    token_hash  text PRIMARY KEY,
    business_id uuid NOT NULL,
    token_id    uuid NOT NULL,
    FOREIGN KEY (business_id, token_id) REFERENCES api_tokens (business_id, id)
);

ALTER TABLE business_directory ENABLE ROW LEVEL SECURITY;
ALTER TABLE token_directory ENABLE ROW LEVEL SECURITY;
REVOKE ALL ON business_directory, token_directory FROM PUBLIC;

INSERT INTO business_directory (slug, business_id) SELECT slug, id FROM businesses;
INSERT INTO token_directory (token_hash, business_id, token_id)
    SELECT token_hash, business_id, id FROM api_tokens;

CREATE FUNCTION business_directory_keep() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO public.business_directory (slug, business_id) VALUES (NEW.slug, NEW.id);
    ELSIF NEW.slug IS DISTINCT FROM OLD.slug THEN
        UPDATE public.business_directory SET slug = NEW.slug WHERE business_id = NEW.id;
    END IF;
    RETURN NULL;
END
$$;
REVOKE ALL ON FUNCTION business_directory_keep() FROM PUBLIC;

CREATE TRIGGER business_directory_keep
    AFTER INSERT OR UPDATE OF slug ON businesses
    FOR EACH ROW EXECUTE FUNCTION business_directory_keep();

CREATE FUNCTION token_directory_keep() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    INSERT INTO public.token_directory (token_hash, business_id, token_id)
    VALUES (NEW.token_hash, NEW.business_id, NEW.id);
    RETURN NULL;
END
$$;
REVOKE ALL ON FUNCTION token_directory_keep() FROM PUBLIC;

CREATE TRIGGER token_directory_keep
    AFTER INSERT ON api_tokens
    FOR EACH ROW EXECUTE FUNCTION token_directory_keep();
