-- Live updates (see docs/live.md): statements that change what a subscription shows notify the
-- channel promogate_live with '<kind> <id> <id> …', kind member, event or campaign. pg_notify
-- runs inside the writing transaction, so PostgreSQL delivers the notification to every
-- listening session (one per core process, server/live) when that transaction commits, and
-- never when it rolls back; identical notifications of one transaction are delivered once.
-- Statement-level triggers with transition tables keep a batch statement at one trigger call
-- and a few notifications, whatever its row count.

-- live_notify sends ids in notifications of at most 300 ids (a payload must stay under 8000
-- bytes; 300 ids of up to 19 digits and their spaces do).
CREATE FUNCTION live_notify(kind text, ids bigint[]) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    i int := 1;
BEGIN
    WHILE i <= coalesce(array_length(ids, 1), 0) LOOP
        PERFORM pg_notify('promogate_live', kind || ' ' || array_to_string(ids[i:i + 299], ' '));
        i := i + 300;
    END LOOP;
END
$$;

-- The members of the new rows (accounts: balances and, with them, transactions; tiers).
CREATE FUNCTION live_new_members() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM live_notify('member', ARRAY(SELECT DISTINCT member_id FROM live_new WHERE member_id IS NOT NULL));
    RETURN NULL;
END
$$;

-- The members of the deleted rows (tiers that lapsed).
CREATE FUNCTION live_old_members() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM live_notify('member', ARRAY(SELECT DISTINCT member_id FROM live_old WHERE member_id IS NOT NULL));
    RETURN NULL;
END
$$;

-- The members and campaigns of the new rows (benefits, enrolments).
CREATE FUNCTION live_new_members_campaigns() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM live_notify('member', ARRAY(SELECT DISTINCT member_id FROM live_new WHERE member_id IS NOT NULL));
    PERFORM live_notify('campaign', ARRAY(SELECT DISTINCT campaign_id FROM live_new WHERE campaign_id IS NOT NULL));
    RETURN NULL;
END
$$;

-- Updated campaigns (status, period, configuration).
CREATE FUNCTION live_campaigns() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM live_notify('campaign', ARRAY(SELECT DISTINCT id FROM live_new));
    RETURN NULL;
END
$$;

-- Updated events (status, attempts, outcome), and the campaigns their outcomes name, decided
-- or waiting (Campaign.figures counts both).
CREATE FUNCTION live_events() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM live_notify('event', ARRAY(SELECT id FROM live_new));
    PERFORM live_notify('campaign', ARRAY(
        SELECT DISTINCT (c ->> 'campaignId')::bigint
        FROM live_new, LATERAL (VALUES ('campaigns'), ('waiting')) AS part(name),
            jsonb_array_elements(CASE WHEN jsonb_typeof(outcome -> part.name) = 'array'
                THEN outcome -> part.name ELSE '[]' END) AS c
        WHERE c ->> 'campaignId' IS NOT NULL));
    RETURN NULL;
END
$$;

CREATE TRIGGER accounts_live_update AFTER UPDATE ON accounts
    REFERENCING NEW TABLE AS live_new FOR EACH STATEMENT EXECUTE FUNCTION live_new_members();

CREATE TRIGGER tiers_live_insert AFTER INSERT ON tiers
    REFERENCING NEW TABLE AS live_new FOR EACH STATEMENT EXECUTE FUNCTION live_new_members();
CREATE TRIGGER tiers_live_update AFTER UPDATE ON tiers
    REFERENCING NEW TABLE AS live_new FOR EACH STATEMENT EXECUTE FUNCTION live_new_members();
CREATE TRIGGER tiers_live_delete AFTER DELETE ON tiers
    REFERENCING OLD TABLE AS live_old FOR EACH STATEMENT EXECUTE FUNCTION live_old_members();

CREATE TRIGGER benefits_live_insert AFTER INSERT ON benefits
    REFERENCING NEW TABLE AS live_new FOR EACH STATEMENT EXECUTE FUNCTION live_new_members_campaigns();
CREATE TRIGGER benefits_live_update AFTER UPDATE ON benefits
    REFERENCING NEW TABLE AS live_new FOR EACH STATEMENT EXECUTE FUNCTION live_new_members_campaigns();

CREATE TRIGGER enrollments_live_insert AFTER INSERT ON enrollments
    REFERENCING NEW TABLE AS live_new FOR EACH STATEMENT EXECUTE FUNCTION live_new_members_campaigns();

CREATE TRIGGER campaigns_live_update AFTER UPDATE ON campaigns
    REFERENCING NEW TABLE AS live_new FOR EACH STATEMENT EXECUTE FUNCTION live_campaigns();

CREATE TRIGGER events_live_update AFTER UPDATE ON events
    REFERENCING NEW TABLE AS live_new FOR EACH STATEMENT EXECUTE FUNCTION live_events();
