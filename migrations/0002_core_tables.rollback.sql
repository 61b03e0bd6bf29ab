DROP TABLE sessions;
DROP TABLE tenant_users;
DROP TABLE tenants;
