-- Sessions that end on the server, tokens that stay revoked, and a per-token API rate (issue 15).
--
-- user_sessions: one row per sign-in. The browser's cookie carries the business and a random
-- secret; only the secret's SHA-256 is kept here, so a copy of this table signs no one in.
-- Every request finds its row (under row-level security: the cookie names the business) and
-- is signed out when the row has ended (sign-out, a password change, deactivation, a role
-- change), has passed its absolute expiry (12 hours after sign-in; activity does not extend
-- it), or was made under an older users.session_version. password_at is when the password was
-- last entered in this session: owners enter it again before staff, token and settings
-- changes when it is older than 15 minutes.
CREATE TABLE user_sessions (
    business_id  uuid NOT NULL,
    id           uuid NOT NULL DEFAULT gen_random_uuid(),
    user_id      uuid NOT NULL,
    secret_hash  text NOT NULL UNIQUE CHECK (secret_hash ~ '^[0-9a-f]{64}$'),
    user_version integer NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    last_seen_at timestamptz NOT NULL DEFAULT now(),
    password_at  timestamptz NOT NULL DEFAULT now(),
    ended_at     timestamptz,
    ended_reason text CHECK (ended_reason IN ('signed_out', 'password_changed', 'deactivated',
                                              'role_changed')),
    CHECK ((ended_at IS NULL) = (ended_reason IS NULL)),
    CHECK (expires_at > created_at),
    PRIMARY KEY (business_id, id),
    FOREIGN KEY (business_id, user_id) REFERENCES users (business_id, id)
);
CREATE INDEX user_sessions_open_idx ON user_sessions (business_id, user_id)
    WHERE ended_at IS NULL;

ALTER TABLE user_sessions ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON user_sessions
    USING (business_id = current_business_id())
    WITH CHECK (business_id = current_business_id());
GRANT SELECT, INSERT, UPDATE ON user_sessions TO shopcredit_app;

-- Why a token stopped working, and who stopped it. A token revoked by an owner names them;
-- deactivating a user revokes the tokens they made for good (reactivating them does not bring
-- the tokens back). Tokens revoked before this migration keep 'unrecorded'; tokens whose maker
-- is deactivated already are revoked now, so a reactivation cannot revive them.
ALTER TABLE api_tokens
    ADD COLUMN revoked_reason text
        CHECK (revoked_reason IN ('revoked', 'maker_deactivated', 'unrecorded')),
    ADD COLUMN revoked_by uuid;

UPDATE api_tokens SET revoked_reason = 'unrecorded' WHERE revoked_at IS NOT NULL;
UPDATE api_tokens t
   SET revoked_at = now(), revoked_reason = 'maker_deactivated'
  FROM users u
 WHERE u.business_id = t.business_id AND u.id = t.created_by
   AND NOT u.is_active AND t.revoked_at IS NULL;
ALTER TABLE api_tokens
    ADD CONSTRAINT api_tokens_revoked_reason CHECK ((revoked_at IS NULL) = (revoked_reason IS NULL)),
    ADD CONSTRAINT api_tokens_revoked_by_fkey FOREIGN KEY (business_id, revoked_by)
        REFERENCES users (business_id, id);

-- How many API requests one token may make a minute (429 with Retry-After above it).
ALTER TABLE businesses
    ADD COLUMN api_requests_per_minute integer NOT NULL DEFAULT 600
        CHECK (api_requests_per_minute BETWEEN 1 AND 100000);

-- Since 0011 the app role may update only the columns pages write: these are such columns.
GRANT UPDATE (revoked_reason, revoked_by) ON api_tokens TO shopcredit_app;
GRANT UPDATE (api_requests_per_minute) ON businesses TO shopcredit_app;
