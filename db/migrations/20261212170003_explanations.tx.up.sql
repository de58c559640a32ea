-- Explanation chains (see docs/explain.md): a posting leads to the event, campaign and plugin
-- version that made it. Events keep each campaign's outcome (events.outcome, with the plugin's
-- name and version and, from now on, the effects of a decision the core did not apply);
-- transactions, benefits and notifications already name their event and campaign. Missing were
-- the event behind a member's tier, and the guarantee that plugin@version names one binary.

-- The event whose decision set the member's tier; NULL when a scheduled hook or an enrolment
-- set it (campaign_id still names the campaign), or for tiers set before this column existed.
ALTER TABLE tiers ADD COLUMN event_id bigint REFERENCES events (id);

-- A registered plugin version keeps its name, version and checksum: outcomes and transactions
-- name the version that decided, and its checksum is looked up here. (A version no campaign
-- uses can still be deleted, which nothing in Promogate does; chains naming it then show no
-- checksum rather than another binary's.)
CREATE FUNCTION plugins_identity_fixed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'plugin %@% is registered: its name, version and checksum cannot change',
        OLD.name, OLD.version USING ERRCODE = 'integrity_constraint_violation', CONSTRAINT = 'plugins_identity_fixed';
END
$$;
CREATE TRIGGER plugins_identity_fixed BEFORE UPDATE OF name, version, sha256 ON plugins FOR EACH ROW
    WHEN (OLD.name IS DISTINCT FROM NEW.name OR OLD.version IS DISTINCT FROM NEW.version OR OLD.sha256 IS DISTINCT FROM NEW.sha256)
    EXECUTE FUNCTION plugins_identity_fixed();
