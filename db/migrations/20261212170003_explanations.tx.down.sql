DROP TRIGGER plugins_identity_fixed ON plugins;
DROP FUNCTION plugins_identity_fixed();
ALTER TABLE tiers DROP COLUMN event_id;
