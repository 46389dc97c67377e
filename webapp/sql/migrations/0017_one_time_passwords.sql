-- 0017: a one-time password for a locked-out person (issue 14): `flask --app wsgi
-- reset-password` sets a password that its user must change at sign-in before anything else;
-- changing one's own password (/account/password) clears the mark.
--
-- It only adds a column with a constant default (no table rewrite), so app servers of the
-- release before go on serving while it runs: they never read it.
ALTER TABLE users ADD COLUMN password_must_change boolean NOT NULL DEFAULT false;
-- The own-password page clears it: since 0011 the app role updates users by column.
GRANT UPDATE (password_must_change) ON users TO shopcredit_app;
