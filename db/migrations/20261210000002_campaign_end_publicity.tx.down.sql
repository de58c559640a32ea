DROP INDEX campaigns_due_end;
ALTER TABLE campaigns
    DROP COLUMN ended_at,
    DROP COLUMN period_work_done,
    DROP COLUMN public_participants;
