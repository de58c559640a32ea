-- Backtests: a campaign's plugin and configuration run over the recorded history of a past
-- period, writing nothing but these rows (see docs/backtest.md). One backtest runs at a time per
-- campaign; the runner that owns one holds a lease and checkpoints its cursors, totals and the
-- simulated members together, so a restarted core resumes from the last checkpoint.
CREATE TABLE backtests (
    id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    campaign_id       bigint NOT NULL REFERENCES campaigns (id),
    plugin_name       text NOT NULL,
    plugin_version    text NOT NULL,
    plugin_sha256     text NOT NULL,
    config            jsonb NOT NULL,
    period_from       timestamptz NOT NULL,
    period_to         timestamptz NOT NULL,
    -- The money value of points, when given: value_minor minor currency units per value_points points.
    value_minor       bigint,
    value_points      bigint,
    -- The history is what was recorded when the backtest started: events and enrolments up to these ids.
    max_event_id      bigint NOT NULL,
    max_enrollment_id bigint NOT NULL,
    events_total      bigint NOT NULL,
    status            text NOT NULL DEFAULT 'running',
    -- Checkpoint: everything up to these positions is in totals, days and backtest_members.
    event_at          timestamptz,
    event_id          bigint NOT NULL DEFAULT 0,
    enrollment_at     timestamptz,
    enrollment_id     bigint NOT NULL DEFAULT 0,
    tick_at           timestamptz,
    events_done       bigint NOT NULL DEFAULT 0,
    sim_at            timestamptz,
    totals            jsonb NOT NULL DEFAULT '{}',
    days              jsonb NOT NULL DEFAULT '[]',
    error             text NOT NULL DEFAULT '',
    owner             text NOT NULL DEFAULT '',
    lease_until       timestamptz,
    started_by        text NOT NULL DEFAULT '',
    created_at        timestamptz NOT NULL,
    updated_at        timestamptz NOT NULL,
    finished_at       timestamptz,
    CONSTRAINT backtests_status CHECK (status IN ('running', 'done', 'failed', 'cancelled')),
    CONSTRAINT backtests_period CHECK (period_to > period_from),
    CONSTRAINT backtests_value CHECK ((value_minor IS NULL) = (value_points IS NULL) AND (value_points IS NULL OR value_points > 0))
);
CREATE UNIQUE INDEX backtests_one_running ON backtests (campaign_id) WHERE status = 'running';
CREATE INDEX backtests_campaign ON backtests (campaign_id, id DESC);

-- Each member the simulated campaign touched: its simulated state (balances, tier, benefits,
-- enrolments, plugin state) and what the campaign would have done for it.
CREATE TABLE backtest_members (
    backtest_id      bigint NOT NULL REFERENCES backtests (id) ON DELETE CASCADE,
    member_id        bigint NOT NULL REFERENCES members (id),
    events           bigint NOT NULL,
    points_issued    bigint NOT NULL,
    points_debited   bigint NOT NULL,
    benefits_granted bigint NOT NULL,
    reached          boolean NOT NULL,
    sim              jsonb NOT NULL,
    PRIMARY KEY (backtest_id, member_id)
);
