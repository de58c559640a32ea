-- Live updates without serialised commits (see docs/live.md, "How a change reaches the
-- subscribers"). A transaction that calls pg_notify takes a database-wide lock at commit, so
-- every writing transaction of the core committed one at a time while the triggers of
-- 20261211000001_live_notify notified in place: on a 2-CPU machine, 16 pgbench clients updating
-- one row each committed 2,228-2,391 transactions/s, and 412-683/s with a pg_notify added.
--
-- The triggers now record what changed in live_changes, an ordinary (unlogged) insert that
-- commits or rolls back with the write; each core's live.Relay deletes what is committed there,
-- a batch at a time, and notifies the channel from its own short transaction. So a change is
-- still announced only once its transaction commits, and exactly once: a row is deleted by one
-- relay's statement, and the notifications are sent by that statement's transaction.
--
-- Unlogged: the rows are hints that live only until the next relay pass (tens of
-- milliseconds). After a crash the table is empty, and the listeners, whose connections were
-- lost too, make every subscriber read its state again when they reconnect.
CREATE UNLOGGED TABLE live_changes (
    kind text NOT NULL CHECK (kind IN ('member', 'event', 'campaign')),
    ids bigint[] NOT NULL
);

-- live_notify records ids of kind as changed by the current transaction.
CREATE OR REPLACE FUNCTION live_notify(kind text, ids bigint[]) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF coalesce(array_length($2, 1), 0) > 0 THEN
        INSERT INTO live_changes (kind, ids) VALUES ($1, $2);
    END IF;
END
$$;
