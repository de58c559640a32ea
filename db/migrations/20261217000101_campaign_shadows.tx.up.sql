-- Shadow runs (server/shadow): a plugin version and/or configuration attached to a running
-- campaign that decides on every event the campaign decides on, without applying anything.
CREATE TABLE campaign_shadows (
    id             bigserial PRIMARY KEY,
    campaign_id    bigint NOT NULL REFERENCES campaigns (id),
    plugin_name    text NOT NULL,
    plugin_version text NOT NULL,
    config         jsonb NOT NULL,
    -- attached: deciding; promoted: made live (the campaign now runs it); dropped.
    status         text NOT NULL DEFAULT 'attached' CHECK (status IN ('attached', 'promoted', 'dropped')),
    attached_at    timestamptz NOT NULL,
    attached_by    text NOT NULL,
    ended_at       timestamptz,
    ended_by       text,
    -- The plugin version and configuration the campaign ran before a promotion.
    replaced_version text,
    replaced_config  jsonb,
    CONSTRAINT campaign_shadows_plugin_fkey FOREIGN KEY (plugin_name, plugin_version) REFERENCES plugins (name, version)
);
-- At most one attached shadow per campaign.
CREATE UNIQUE INDEX campaign_shadows_attached ON campaign_shadows (campaign_id) WHERE status = 'attached';

-- One row per event a shadow decides on: written by the live transaction that applied the
-- live decision (the snapshot the live plugin saw and its decision), completed by the shadow
-- worker with the shadow's decision.
CREATE TABLE shadow_decisions (
    shadow_id       bigint NOT NULL REFERENCES campaign_shadows (id),
    event_id        bigint NOT NULL REFERENCES events (id),
    member_id       bigint NOT NULL REFERENCES members (id),
    occurred_at     timestamptz NOT NULL,
    recorded_at     timestamptz NOT NULL,
    -- pending: waiting for the shadow; decided; failed: the shadow gave no usable answer.
    status          text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'decided', 'failed')),
    -- The campaign and item (event and member snapshot) as the live plugin was shown them.
    campaign        jsonb NOT NULL,
    item            jsonb NOT NULL,
    live            jsonb NOT NULL,
    live_points     bigint NOT NULL,
    live_benefits   integer NOT NULL,
    shadow          jsonb,
    shadow_points   bigint NOT NULL DEFAULT 0,
    shadow_benefits integer NOT NULL DEFAULT 0,
    agree           boolean,
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL,
    last_error      text NOT NULL DEFAULT '',
    decided_at      timestamptz,
    PRIMARY KEY (shadow_id, event_id)
);
CREATE INDEX shadow_decisions_pending ON shadow_decisions (next_attempt_at) WHERE status = 'pending';
CREATE INDEX shadow_decisions_period ON shadow_decisions (shadow_id, occurred_at, event_id);
