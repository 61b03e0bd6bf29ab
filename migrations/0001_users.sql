-- Users of the platform; a user may belong to many tenants (see tenant_users).
--
-- Keys: every table uses `bigint GENERATED ALWAYS AS IDENTITY`, not uuid. The keys never
-- leave the service (api keys are found by key_prefix/key_hash, sessions by
-- refresh_token_hash), so uuid's unguessability buys nothing here, while 8-byte keys that
-- grow in order keep the primary and foreign-key indexes small and append-only, which
-- matters for usage_events. GENERATED ALWAYS stops callers from inventing ids.
--
-- email is unique case-insensitively through a unique index on lower(email): no
-- extension (citext) needed, and the original spelling is kept for display.

CREATE TABLE users (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email        text NOT NULL CHECK (email LIKE '_%@_%' AND length(email) <= 320),
    display_name text CHECK (length(display_name) BETWEEN 1 AND 200),
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT users_updated_after_created CHECK (updated_at >= created_at)
);

CREATE UNIQUE INDEX users_email_lower_key ON users (lower(email));
