-- 0012: a customer's personal data can be erased (on request, once they owe nothing): name,
-- phone, email and notes are blanked, the ledger's rows and figures stay. erased_at says when,
-- so the pages can say so and nothing can be typed back in.
ALTER TABLE customers ADD COLUMN erased_at timestamptz;
GRANT UPDATE (erased_at) ON customers TO shopcredit_app;  -- pages write it (0011: by column)
