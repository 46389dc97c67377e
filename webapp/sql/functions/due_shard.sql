-- due_shard(customer_id): the shard (0-31) of a customer's rows in open_dues, so that tills
-- selling to different customers on one due date (almost) never wait on the same row.
-- Never refuses.

-- A SQL-standard body (names resolved once, when it is made), as current_business_id's.
CREATE OR REPLACE FUNCTION due_shard(p_customer_id uuid) RETURNS smallint
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN (pg_catalog.hashtext(p_customer_id::pg_catalog.text) & 31)::pg_catalog.int2;

REVOKE ALL ON FUNCTION due_shard(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION due_shard(uuid) TO shopcredit_app;
