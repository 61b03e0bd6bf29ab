-- depends: 0002_core_tables
-- SCHEMA-002: Database schema migration - API keys and usage events.
--
-- api_keys: only the sha256 (hex) of a key is stored; key_prefix is the short public part
-- shown in UIs and used to find a key. A key is 'active' or 'revoked', and revoked_at is
-- set exactly when it is revoked. quota_limit NULL means "no per-key limit".
-- ON DELETE: a tenant owns its keys (CASCADE); a key outlives the user who created it
-- (SET NULL).
CREATE TABLE api_keys (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id    bigint NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    key_hash     text NOT NULL UNIQUE CHECK (key_hash ~ '^[0-9a-f]{64}$'),
    key_prefix   text NOT NULL CHECK (length(key_prefix) BETWEEN 4 AND 16),
    name         text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 200),
    scopes       jsonb NOT NULL DEFAULT '[]'::jsonb CHECK (jsonb_typeof(scopes) = 'array'),
    quota_limit  bigint CHECK (quota_limit >= 0),
    quota_period text NOT NULL DEFAULT 'month' CHECK (quota_period IN ('hour', 'day', 'month')),
    status       text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'revoked')),
    created_by   bigint REFERENCES users (id) ON DELETE SET NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz,
    expires_at   timestamptz,
    revoked_at   timestamptz,
    CONSTRAINT api_keys_expires_after_created CHECK (expires_at > created_at),
    CONSTRAINT api_keys_revoked_iff_status CHECK ((status = 'revoked') = (revoked_at IS NOT NULL))
);

CREATE INDEX api_keys_tenant_id_idx ON api_keys (tenant_id);
CREATE INDEX api_keys_key_prefix_idx ON api_keys (key_prefix);
CREATE INDEX api_keys_status_idx ON api_keys (status);
CREATE INDEX api_keys_created_by_idx ON api_keys (created_by);
CREATE INDEX api_keys_expires_at_idx ON api_keys (expires_at);

-- usage_events: one row per metered action. period is the start of the quota period the
-- event counts toward (the event's timestamp truncated to its key's quota_period).
-- idempotency_key makes a retried write a no-op (INSERT ... ON CONFLICT DO NOTHING).
-- ON DELETE: a tenant owns its usage (CASCADE); usage is billing history, so an api key
-- with usage cannot be deleted (NO ACTION: revoke it instead), and deleting a user keeps
-- the usage and forgets who it was (SET NULL).
-- Indexes: UNIQUE(idempotency_key) already indexes idempotency_key, and
-- (tenant_id, period) serves lookups by tenant_id, so neither gets a second index.
CREATE TABLE usage_events (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id       bigint NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    api_key_id      bigint REFERENCES api_keys (id) ON DELETE NO ACTION,
    user_id         bigint REFERENCES users (id) ON DELETE SET NULL,
    service         text NOT NULL CHECK (length(service) BETWEEN 1 AND 100),
    action          text NOT NULL CHECK (length(action) BETWEEN 1 AND 100),
    quantity        bigint NOT NULL CHECK (quantity > 0),
    period          timestamptz NOT NULL,
    "timestamp"     timestamptz NOT NULL DEFAULT now(),
    idempotency_key text NOT NULL UNIQUE CHECK (length(idempotency_key) BETWEEN 1 AND 200),
    CONSTRAINT usage_events_period_not_after_timestamp CHECK (period <= "timestamp")
);

CREATE INDEX usage_events_tenant_id_period_idx ON usage_events (tenant_id, period);
CREATE INDEX usage_events_api_key_id_idx ON usage_events (api_key_id);
CREATE INDEX usage_events_user_id_idx ON usage_events (user_id);
CREATE INDEX usage_events_service_idx ON usage_events (service);
CREATE INDEX usage_events_period_idx ON usage_events (period);
CREATE INDEX usage_events_timestamp_idx ON usage_events ("timestamp");
