-- 0024: local formats and languages (issue 16). A shop's locale (a Babel locale such as en_KE,
-- sw_KE or fr_FR) decides how its money and dates are written on every page, printout and
-- reminder; each person may choose the language of the interface (NULL: the shop's locale's).
-- The lists offered are the app's (webapp/locales.py); the checks here keep the shape honest.
-- Existing shops get 'en', which is how their pages were written before (a deployment that set
-- SHOPCREDIT_LOCALE has its owners choose the same in Settings: README, Configuration).
ALTER TABLE businesses
    ADD COLUMN locale text NOT NULL DEFAULT 'en'
        CHECK (locale ~ '^[a-z]{2,3}(_[A-Z]{2})?$');
GRANT UPDATE (locale) ON businesses TO shopcredit_app;

ALTER TABLE users
    ADD COLUMN language text CHECK (language ~ '^[a-z]{2,3}$');
GRANT UPDATE (language) ON users TO shopcredit_app;
