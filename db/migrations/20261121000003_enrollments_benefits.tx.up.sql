-- Enrolments, benefits, tiers and scheduled plugin ticks (see docs/campaigns.md).

CREATE TABLE enrollments (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    campaign_id     bigint NOT NULL REFERENCES campaigns (id),
    member_id       bigint NOT NULL REFERENCES members (id),
    idempotency_key text NOT NULL,
    input_hash      bytea NOT NULL,
    answers         jsonb NOT NULL DEFAULT '{}',
    registered_by   text NOT NULL DEFAULT '',
    responsible     text NOT NULL DEFAULT '',
    enrolled_at     timestamptz NOT NULL,
    CONSTRAINT enrollments_idempotency_key UNIQUE (campaign_id, idempotency_key)
);
CREATE INDEX enrollments_campaign ON enrollments (campaign_id, id);
CREATE INDEX enrollments_member ON enrollments (member_id, id);

-- What a member received from a campaign: a discount, an add-on service, a physical gift, an
-- SMS package or a promo code, valid over a period.
CREATE TABLE benefits (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    member_id    bigint NOT NULL REFERENCES members (id),
    campaign_id  bigint NOT NULL REFERENCES campaigns (id),
    key          text NOT NULL,
    kind         text NOT NULL,
    title        text NOT NULL DEFAULT '',
    percent      int NOT NULL DEFAULT 0,
    scope        text NOT NULL DEFAULT '',
    exclusions   text[] NOT NULL DEFAULT '{}',
    quantity     bigint NOT NULL DEFAULT 0,
    recipient    text NOT NULL DEFAULT '',
    code         text NOT NULL DEFAULT '',
    valid_from   timestamptz,
    valid_until  timestamptz,
    status       text NOT NULL,
    fulfillment  text NOT NULL DEFAULT '',
    end_reason   text NOT NULL DEFAULT '',
    ended_at     timestamptz,
    attributes   jsonb NOT NULL DEFAULT '{}',
    event_id     bigint REFERENCES events (id),
    created_at   timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL,
    CONSTRAINT benefits_member_campaign_key UNIQUE (member_id, campaign_id, key),
    CONSTRAINT benefits_kind CHECK (kind IN ('discount', 'addon', 'gift', 'sms_package', 'promo_code', 'reward')),
    CONSTRAINT benefits_status CHECK (status IN ('active', 'available', 'ended')),
    CONSTRAINT benefits_percent_range CHECK (percent BETWEEN 0 AND 10000),
    CONSTRAINT benefits_quantity_nonnegative CHECK (quantity >= 0),
    CONSTRAINT benefits_period CHECK (valid_until IS NULL OR valid_from IS NULL OR valid_until >= valid_from)
);
CREATE INDEX benefits_member ON benefits (member_id, id DESC);
CREATE INDEX benefits_due_end ON benefits (valid_until) WHERE status <> 'ended' AND valid_until IS NOT NULL;
CREATE INDEX benefits_campaign_kind ON benefits (campaign_id, kind);
CREATE UNIQUE INDEX benefits_code_key ON benefits (upper(code)) WHERE code <> '';

-- A member's status tier in a programme (e.g. Privilege until a date).
CREATE TABLE tiers (
    member_id   bigint NOT NULL REFERENCES members (id),
    program_id  bigint NOT NULL REFERENCES programs (id),
    tier        text NOT NULL,
    valid_until timestamptz,
    campaign_id bigint REFERENCES campaigns (id),
    updated_at  timestamptz NOT NULL,
    PRIMARY KEY (member_id, program_id)
);

-- One row per scheduled hook occurrence of a campaign: claimed by one replica at a time (lease),
-- paged through the campaign's participants with a cursor that advances in the same database
-- transaction as each page's effects, so a page is applied exactly once.
CREATE TABLE tick_runs (
    campaign_id  bigint NOT NULL REFERENCES campaigns (id),
    hook         text NOT NULL,
    due_at       timestamptz NOT NULL,
    status       text NOT NULL DEFAULT 'running',
    cursor       bigint NOT NULL DEFAULT 0,
    processed    bigint NOT NULL DEFAULT 0,
    lease_until  timestamptz NOT NULL,
    owner        text NOT NULL,
    started_at   timestamptz NOT NULL,
    finished_at  timestamptz,
    last_error   text NOT NULL DEFAULT '',
    PRIMARY KEY (campaign_id, hook, due_at),
    CONSTRAINT tick_runs_status CHECK (status IN ('running', 'done'))
);
