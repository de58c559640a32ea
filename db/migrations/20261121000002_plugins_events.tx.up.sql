-- Plugin catalog, campaigns, inbound events and per-member plugin state (see docs/plugins.md).

CREATE TABLE plugins (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name             text NOT NULL,
    version          text NOT NULL,
    path             text NOT NULL,
    sha256           text NOT NULL,
    protocol_version int NOT NULL,
    status           text NOT NULL DEFAULT 'active',
    description      jsonb NOT NULL DEFAULT '{}',
    registered_at    timestamptz NOT NULL,
    registered_by    text NOT NULL,
    CONSTRAINT plugins_name_version_key UNIQUE (name, version),
    CONSTRAINT plugins_sha256_format CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    CONSTRAINT plugins_status CHECK (status IN ('active', 'disabled'))
);

CREATE TABLE campaigns (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    code           text NOT NULL,
    name           text NOT NULL,
    program_id     bigint NOT NULL REFERENCES programs (id),
    plugin_name    text NOT NULL,
    plugin_version text NOT NULL,
    config         jsonb NOT NULL DEFAULT '{}',
    time_zone      text NOT NULL DEFAULT 'UTC',
    starts_at      timestamptz NOT NULL,
    ends_at        timestamptz,
    status         text NOT NULL DEFAULT 'active',
    created_at     timestamptz NOT NULL,
    updated_at     timestamptz NOT NULL,
    CONSTRAINT campaigns_code_key UNIQUE (code),
    CONSTRAINT campaigns_plugin_fkey FOREIGN KEY (plugin_name, plugin_version) REFERENCES plugins (name, version),
    CONSTRAINT campaigns_status CHECK (status IN ('draft', 'scheduled', 'active', 'paused', 'ended')),
    CONSTRAINT campaigns_period CHECK (ends_at IS NULL OR ends_at > starts_at)
);
CREATE INDEX campaigns_plugin ON campaigns (plugin_name, plugin_version);

-- Every inbound event is stored before it is evaluated. status: pending (some campaign has not
-- answered yet, e.g. its plugin is down), done (every campaign's outcome is stored). outcome
-- holds per-campaign outcomes as they are applied, so a retry evaluates only what is missing.
CREATE TABLE events (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    source          text NOT NULL,
    external_id     text NOT NULL,
    type            text NOT NULL,
    member_id       bigint NOT NULL REFERENCES members (id),
    occurred_at     timestamptz NOT NULL,
    attributes      jsonb NOT NULL DEFAULT '{}',
    input_hash      bytea NOT NULL,
    received_at     timestamptz NOT NULL,
    status          text NOT NULL DEFAULT 'pending',
    attempts        int NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL,
    last_error      text NOT NULL DEFAULT '',
    outcome         jsonb,
    processed_at    timestamptz,
    CONSTRAINT events_source_external_id_key UNIQUE (source, external_id),
    CONSTRAINT events_status CHECK (status IN ('pending', 'done')),
    CONSTRAINT events_done_has_outcome CHECK (status <> 'done' OR outcome IS NOT NULL)
);
CREATE INDEX events_pending ON events (next_attempt_at) WHERE status = 'pending';
CREATE INDEX events_member ON events (member_id, id DESC);

-- Small JSON state a plugin keeps per member and campaign; version guards decisions made on a
-- stale snapshot.
CREATE TABLE plugin_state (
    campaign_id bigint NOT NULL REFERENCES campaigns (id),
    member_id   bigint NOT NULL REFERENCES members (id),
    state       jsonb NOT NULL DEFAULT 'null',
    version     bigint NOT NULL DEFAULT 0,
    updated_at  timestamptz NOT NULL,
    PRIMARY KEY (campaign_id, member_id)
);

ALTER TABLE transactions
    ADD CONSTRAINT transactions_event_fkey FOREIGN KEY (event_id) REFERENCES events (id),
    ADD CONSTRAINT transactions_campaign_fkey FOREIGN KEY (campaign_id) REFERENCES campaigns (id);
