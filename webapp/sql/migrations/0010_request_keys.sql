-- 0010: ids are made by the server; a client's idempotency key is kept beside the row it made,
-- with a fingerprint of the request, so that the same key sent with another request is refused
-- instead of answered with the first one's result.

-- Customers, products, staff and API tokens took the form's or client's key as their id. The key
-- moves to its own column, unique per shop. Rows made before keep their id as their key: forms
-- and tills in flight still find the row they made (rows the CLI, the demo or an import made had
-- random ids that nobody holds as a key).
ALTER TABLE customers ADD COLUMN idempotency_key uuid, ADD COLUMN request_hash uuid;
ALTER TABLE products ADD COLUMN idempotency_key uuid, ADD COLUMN request_hash uuid;
ALTER TABLE users ADD COLUMN idempotency_key uuid, ADD COLUMN request_hash uuid;
ALTER TABLE api_tokens ADD COLUMN idempotency_key uuid, ADD COLUMN request_hash uuid;
UPDATE customers SET idempotency_key = id;
UPDATE products SET idempotency_key = id;
UPDATE users SET idempotency_key = id;
UPDATE api_tokens SET idempotency_key = id;
CREATE UNIQUE INDEX customers_idempotency_key ON customers (business_id, idempotency_key);
CREATE UNIQUE INDEX products_idempotency_key ON products (business_id, idempotency_key);
CREATE UNIQUE INDEX users_idempotency_key ON users (business_id, idempotency_key);
CREATE UNIQUE INDEX api_tokens_idempotency_key ON api_tokens (business_id, idempotency_key);

-- Sales and payments: the fingerprint of the request that made each (process_purchase and
-- record_payment compute it). NULL for those made before: their key is compared with the
-- customer only, as it was then.
ALTER TABLE orders ADD COLUMN request_hash uuid;
ALTER TABLE payments ADD COLUMN request_hash uuid;
