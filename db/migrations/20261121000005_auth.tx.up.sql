-- Authentication and audit (see docs/security.md).
-- API keys are stored hashed: the secret is shown once at creation and never stored. A key is
-- found by its public prefix, then the SHA-256 of the presented secret is compared in constant
-- time with hash.

CREATE TABLE api_keys (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name         text NOT NULL,
    prefix       text NOT NULL,
    hash         bytea NOT NULL,
    roles        text[] NOT NULL,
    created_at   timestamptz NOT NULL,
    created_by   text NOT NULL,
    revoked_at   timestamptz,
    last_used_at timestamptz,
    CONSTRAINT api_keys_prefix_key UNIQUE (prefix),
    CONSTRAINT api_keys_name_length CHECK (length(name) BETWEEN 1 AND 100),
    CONSTRAINT api_keys_prefix_format CHECK (prefix ~ '^[0-9a-f]{16}$'),
    CONSTRAINT api_keys_hash_length CHECK (length(hash) = 32),
    CONSTRAINT api_keys_roles_valid CHECK (
        cardinality(roles) >= 1 AND roles <@ ARRAY['frontend', 'ingest', 'marketing', 'admin']::text[])
);

-- One row per admin or marketing mutation (and per refused attempt at one), never updated.
CREATE TABLE audit_log (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at           timestamptz NOT NULL,
    actor        text NOT NULL,
    role         text NOT NULL,
    operation    text NOT NULL,
    -- Hex SHA-256 of the canonical JSON (sorted keys, no spaces) of the field's arguments.
    input_digest text NOT NULL,
    outcome      text NOT NULL,
    error_code   text NOT NULL DEFAULT '',
    CONSTRAINT audit_log_outcome CHECK (outcome IN ('ok', 'error', 'denied')),
    CONSTRAINT audit_log_digest_format CHECK (input_digest ~ '^[0-9a-f]{64}$')
);
CREATE INDEX audit_log_at ON audit_log (at DESC, id DESC);
CREATE INDEX audit_log_actor ON audit_log (actor, id DESC);
CREATE INDEX audit_log_operation ON audit_log (operation, id DESC);
