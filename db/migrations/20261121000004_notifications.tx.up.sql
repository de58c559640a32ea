-- Notifications outbox and webhook delivery log (see docs/notifications.md).
-- A notification is written in the same transaction as the rest of an event's effects and
-- delivered later, at least once, to the configured webhook; every attempt is logged.

CREATE TABLE notifications (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    key             text NOT NULL,
    member_id       bigint NOT NULL,
    campaign_id     bigint,
    event_id        bigint,
    channel         text NOT NULL,
    template        text NOT NULL,
    recipient       text NOT NULL,
    params          jsonb NOT NULL DEFAULT '{}',
    status          text NOT NULL DEFAULT 'pending',
    -- attempts counts claims by a dispatcher: a claim takes the next attempt number.
    attempts        int NOT NULL DEFAULT 0,
    -- For a pending row: when it is due, or until when a dispatcher's claim (lease) holds it.
    next_attempt_at timestamptz NOT NULL,
    last_error      text NOT NULL DEFAULT '',
    created_at      timestamptz NOT NULL,
    delivered_at    timestamptz,
    CONSTRAINT notifications_key_key UNIQUE (key),
    CONSTRAINT notifications_key_length CHECK (length(key) BETWEEN 1 AND 200),
    CONSTRAINT notifications_member_fkey FOREIGN KEY (member_id) REFERENCES members (id),
    CONSTRAINT notifications_campaign_fkey FOREIGN KEY (campaign_id) REFERENCES campaigns (id),
    CONSTRAINT notifications_event_fkey FOREIGN KEY (event_id) REFERENCES events (id),
    CONSTRAINT notifications_channel CHECK (channel IN ('sms', 'email')),
    CONSTRAINT notifications_template_length CHECK (length(template) BETWEEN 1 AND 200),
    CONSTRAINT notifications_recipient_length CHECK (length(recipient) BETWEEN 1 AND 320),
    CONSTRAINT notifications_params_object CHECK (jsonb_typeof(params) = 'object'),
    CONSTRAINT notifications_status CHECK (status IN ('pending', 'delivered', 'failed')),
    CONSTRAINT notifications_attempts_nonnegative CHECK (attempts >= 0),
    CONSTRAINT notifications_delivered_at CHECK ((status = 'delivered') = (delivered_at IS NOT NULL))
);
CREATE INDEX notifications_due ON notifications (next_attempt_at, id) WHERE status = 'pending';
CREATE INDEX notifications_member ON notifications (member_id, id DESC);
CREATE INDEX notifications_event ON notifications (event_id) WHERE event_id IS NOT NULL;

-- One row per delivery attempt, never updated.
CREATE TABLE notification_deliveries (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    notification_id bigint NOT NULL,
    attempt         int NOT NULL,
    started_at      timestamptz NOT NULL,
    duration_ms     int NOT NULL,
    -- NULL when no HTTP response arrived (connection error, timeout).
    status_code     int,
    error           text NOT NULL DEFAULT '',
    outcome         text NOT NULL,
    CONSTRAINT notification_deliveries_notification_fkey FOREIGN KEY (notification_id) REFERENCES notifications (id),
    CONSTRAINT notification_deliveries_attempt_key UNIQUE (notification_id, attempt),
    CONSTRAINT notification_deliveries_attempt_positive CHECK (attempt >= 1),
    CONSTRAINT notification_deliveries_duration_nonnegative CHECK (duration_ms >= 0),
    CONSTRAINT notification_deliveries_status_code_range CHECK (status_code IS NULL OR status_code BETWEEN 100 AND 999),
    CONSTRAINT notification_deliveries_outcome CHECK (outcome IN ('delivered', 'retry', 'failed'))
);
