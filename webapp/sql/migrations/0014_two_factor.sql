-- 0014: a second factor for signing in (issue 15, item 10): a time-based one-time code
-- (TOTP, RFC 6238: 30-second steps, 6 digits, HMAC-SHA-1, as authenticator apps expect), ten
-- one-time recovery codes, and a shop setting that makes it a must for owners.
--
-- users.totp_secret: the user's TOTP secret, written by the app (webapp/auth/two_factor.py)
--   and never shown again once set up. How it is protected:
--   * row-level security, as every column of users: another shop's requests never see it;
--   * encrypted by the app before it is stored (AES-256-GCM with a key derived by HKDF-SHA-256
--     from the app's SECRET_KEY, the business and user ids as associated data), so a copy of
--     the database, a backup or a stray SELECT gives nothing without the app's secret key, and
--     a value copied onto another user's row does not decrypt. (Changing SECRET_KEY therefore
--     makes every stored secret unreadable: owners then sign in with a recovery code, or an
--     admin runs `reset-two-factor`, and set it up again.)
--   A secret with totp_enabled_at NULL is one being set up, not yet confirmed: it does not
--   count at sign-in.
-- users.totp_enabled_at: when the user confirmed the setup with a code; NULL when off.
-- users.totp_last_step: the last 30-second step whose code was accepted: a code is accepted
--   only for a later step, so a code seen over a shoulder cannot be used again in its window.
ALTER TABLE users
    ADD COLUMN totp_secret text CHECK (length(totp_secret) <= 200),
    ADD COLUMN totp_enabled_at timestamptz,
    ADD COLUMN totp_last_step bigint,
    ADD CONSTRAINT users_totp_enabled_has_secret
        CHECK (totp_enabled_at IS NULL OR totp_secret IS NOT NULL);
-- Pages write them (webapp/auth/two_factor.py): since 0011 the app role updates by column.
GRANT UPDATE (totp_secret, totp_enabled_at, totp_last_step) ON users TO shopcredit_app;

-- Settings: owners must use a second factor (clerks are never asked).
ALTER TABLE businesses ADD COLUMN owners_need_two_factor boolean NOT NULL DEFAULT false;
GRANT UPDATE (owners_need_two_factor) ON businesses TO shopcredit_app;

-- Recovery codes: shown once, stored as the SHA-256 of the user id and the code (each code is
-- 80 random bits, so a fast hash is enough and no one can work back from it). A code is used
-- once (used_at); codes made again, or a second factor turned off, retire the unused ones
-- (discarded_at): the app role never deletes.
CREATE TABLE recovery_codes (
    business_id  uuid NOT NULL REFERENCES businesses (id),
    id           uuid NOT NULL DEFAULT gen_random_uuid(),
    user_id      uuid NOT NULL,
    code_hash    text NOT NULL CHECK (code_hash ~ '^[0-9a-f]{64}$'),
    created_at   timestamptz NOT NULL DEFAULT now(),
    used_at      timestamptz,
    discarded_at timestamptz,
    PRIMARY KEY (business_id, id),
    UNIQUE (business_id, user_id, code_hash),
    FOREIGN KEY (business_id, user_id) REFERENCES users (business_id, id)
);
ALTER TABLE recovery_codes ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON recovery_codes
    USING (business_id = current_business_id()) WITH CHECK (business_id = current_business_id());
GRANT SELECT, INSERT ON recovery_codes TO shopcredit_app;
GRANT UPDATE (used_at, discarded_at) ON recovery_codes TO shopcredit_app;
