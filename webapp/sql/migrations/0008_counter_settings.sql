-- Counter settings of a business (issue 12).
--
-- default_credit_limit: the credit limit a new customer gets when whoever adds them does not
-- set one (a clerk, whose form has no credit-limit field; an API call without credit_limit).
-- 0 (no credit until an owner sets a limit) for every shop, as before this migration.
--
-- receipt_paper: what the shop's receipt printer takes: A4 sheets, or 80 mm or 58 mm thermal
-- rolls. Sale and payment receipts print at that size; statements and lists stay on A4.
ALTER TABLE businesses
    ADD COLUMN default_credit_limit numeric(12,2) NOT NULL DEFAULT 0
        CHECK (default_credit_limit >= 0),
    ADD COLUMN receipt_paper text NOT NULL DEFAULT 'a4'
        CHECK (receipt_paper IN ('a4', '80mm', '58mm'));
