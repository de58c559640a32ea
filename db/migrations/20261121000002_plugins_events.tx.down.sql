ALTER TABLE transactions DROP CONSTRAINT transactions_event_fkey, DROP CONSTRAINT transactions_campaign_fkey;
DROP TABLE plugin_state;
DROP TABLE events;
DROP TABLE campaigns;
DROP TABLE plugins;
