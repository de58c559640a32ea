DROP TABLE audit_log;
DROP TABLE api_keys;
