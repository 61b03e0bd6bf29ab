DROP TABLE usage_events;
DROP TABLE api_keys;
