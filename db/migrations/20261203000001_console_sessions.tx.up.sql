-- Sessions of the marketing console (/console, see docs/security.md "Console sessions"). Signing
-- in with an API key stores a session; the browser holds only its random token in an HttpOnly
-- cookie and this table only the token's SHA-256. A session authenticates as its key while the
-- key is not revoked and the session has not expired.
CREATE TABLE console_sessions (
    hash       bytea PRIMARY KEY,
    api_key_id bigint NOT NULL REFERENCES api_keys (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    CONSTRAINT console_sessions_hash_length CHECK (length(hash) = 32),
    CONSTRAINT console_sessions_period CHECK (expires_at > created_at)
);
CREATE INDEX console_sessions_expires ON console_sessions (expires_at);
