-- +goose Up
-- The console's browser sessions: an API key exchanged at login for a session id that lives
-- in an HttpOnly cookie. Only the id's SHA-256 is stored (like API keys); the session acts
-- with its API key's tenant and role, and ends at logout, at expiry, or when the key is
-- revoked (the lookup joins api_keys).
CREATE TABLE console_sessions (
    id_hash    BLOB PRIMARY KEY,
    api_key_id TEXT NOT NULL REFERENCES api_keys (id),
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX console_sessions_expires_at ON console_sessions (expires_at);

-- +goose Down
DROP TABLE console_sessions;
