-- 0021: reminders that get sent (issue 16). The shop's payment instructions and its own
-- reminder text (empty: the built-in one), and a record of every reminder chosen: to whom, by
-- which channel, the text as it was, who and when.
ALTER TABLE businesses
    ADD COLUMN payment_instructions text NOT NULL DEFAULT ''
        CHECK (length(payment_instructions) <= 300),
    ADD COLUMN reminder_template text NOT NULL DEFAULT ''
        CHECK (length(reminder_template) <= 1000);
GRANT UPDATE (payment_instructions, reminder_template) ON businesses TO shopcredit_app;

CREATE TABLE reminders (
    business_id uuid NOT NULL,
    id          uuid NOT NULL DEFAULT gen_random_uuid(),
    customer_id uuid NOT NULL,
    channel     text NOT NULL CHECK (channel IN ('whatsapp', 'sms')),
    message     text NOT NULL CHECK (length(message) BETWEEN 1 AND 2000),
    created_by  uuid NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (business_id, id),
    FOREIGN KEY (business_id, customer_id) REFERENCES customers (business_id, id),
    FOREIGN KEY (business_id, created_by) REFERENCES users (business_id, id)
);
CREATE INDEX reminders_customer_idx ON reminders (business_id, customer_id, created_at);

ALTER TABLE reminders ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON reminders
    USING (business_id = current_business_id())
    WITH CHECK (business_id = current_business_id());
GRANT SELECT, INSERT ON reminders TO shopcredit_app;
