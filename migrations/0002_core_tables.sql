-- depends: 0001_users
-- SCHEMA-001: Database schema migration - Core tables.
--
-- ON DELETE: a tenant or a user owns its memberships and sessions, so deleting either
-- removes them (CASCADE); nothing else refers to them.
-- global_quota_limit is NULL for "no global limit"; when set it is >= 0.

CREATE TABLE tenants (
    id                 bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name               text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 200),
    global_quota_limit bigint CHECK (global_quota_limit >= 0),
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT tenants_updated_after_created CHECK (updated_at >= created_at)
);

-- One row per tenant and user; the primary key (tenant_id, user_id) also serves lookups
-- by tenant_id, so only user_id needs an index of its own.
CREATE TABLE tenant_users (
    tenant_id  bigint NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    user_id    bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role       text NOT NULL DEFAULT 'member' CHECK (role IN ('owner', 'admin', 'member')),
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, user_id)
);

CREATE INDEX tenant_users_user_id_idx ON tenant_users (user_id);

-- A user has at most one session per tenant and service. Only the sha256 (hex) of the
-- refresh token is stored, never the token. UNIQUE(user_id, tenant_id, service) also
-- serves lookups by user_id.
CREATE TABLE sessions (
    id                 bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id            bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    tenant_id          bigint NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    service            text NOT NULL CHECK (length(service) BETWEEN 1 AND 100),
    refresh_token_hash text NOT NULL UNIQUE CHECK (refresh_token_hash ~ '^[0-9a-f]{64}$'),
    device_info        text CHECK (length(device_info) <= 1000),
    ip_address         inet,
    created_at         timestamptz NOT NULL DEFAULT now(),
    expires_at         timestamptz NOT NULL,
    CONSTRAINT sessions_user_id_tenant_id_service_key UNIQUE (user_id, tenant_id, service),
    CONSTRAINT sessions_expires_after_created CHECK (expires_at > created_at)
);

CREATE INDEX sessions_tenant_id_idx ON sessions (tenant_id);
CREATE INDEX sessions_expires_at_idx ON sessions (expires_at);
