-- When a campaign ended (endCampaign, or the scheduler at endsAt), whether the scheduled work of
-- its period is finished (the hooks' last occurrences, e.g. the close of the last month), and
-- whether the names of its participants are public (see docs/plugins.md, "Campaigns").
ALTER TABLE campaigns
    ADD COLUMN ended_at timestamptz,
    ADD COLUMN period_work_done boolean NOT NULL DEFAULT false,
    ADD COLUMN public_participants boolean NOT NULL DEFAULT false;
-- The scheduler ends campaigns whose period is over; their events still route (late arrivals).
CREATE INDEX campaigns_due_end ON campaigns (ends_at) WHERE status IN ('scheduled', 'active', 'paused') AND ends_at IS NOT NULL;
