-- 0002: messaging — contacts and the consent ledger, templates, providers, the message queue,
-- idempotency, provider rate limits, inbound messages, the outbox and outgoing events.
-- Never edit this file once landed: add a new numbered migration instead.

-- Contacts: what opt-outs act on. Campaign fields (segments, imports) build on this table.
CREATE TABLE contacts (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    phone       text NOT NULL UNIQUE CHECK (phone ~ '^\+[1-9][0-9]{6,14}$'),
    country     text CHECK (country ~ '^[A-Z]{2}$'),
    first_name  text,
    last_name   text,
    locale      text,
    timezone    text,
    attributes  jsonb NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(attributes) = 'object'),
    tags        text[] NOT NULL DEFAULT '{}',
    subscribed  boolean NOT NULL DEFAULT true,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

-- Consent ledger: every subscribe / unsubscribe, append-only. `phone` is kept even when the
-- contact is deleted, so the proof of an opt-out outlives the contact.
CREATE TABLE consent_events (
    id          bigserial PRIMARY KEY,
    contact_id  uuid REFERENCES contacts (id) ON DELETE SET NULL,
    phone       text NOT NULL,
    action      text NOT NULL CHECK (action IN ('subscribe', 'unsubscribe')),
    -- 'inbound_keyword' | 'api' | 'import' | 'dashboard' | 'provider' …
    source      text NOT NULL,
    -- the words the person sent, or the consent text they were shown
    text        text,
    -- the inbound message or the message replied to, when there is one
    message_id  uuid,
    provider_id uuid,
    ip          text,
    actor       text,
    occurred_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX consent_events_phone_idx ON consent_events (phone, occurred_at);

-- Message templates with per-locale translations ({"de": "…", "de-AT": "…"}).
CREATE TABLE templates (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name         text NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 100),
    channel      text NOT NULL CHECK (channel IN ('sms', 'voice')),
    kind         text NOT NULL CHECK (kind IN ('marketing', 'transactional')),
    body         text NOT NULL,
    translations jsonb NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(translations) = 'object'),
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now()
);

-- Providers as data. Secret config values are AES-GCM sealed under a key derived from
-- HERALD_SECRET and kept apart from the plain ones.
CREATE TABLE providers (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name            text NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 100),
    type            text NOT NULL CHECK (type IN ('twilio', 'vonage', 'plivo', 'sinch', 'infobip', 'telnyx', 'http', 'outbox')),
    config          jsonb NOT NULL DEFAULT '{}'::jsonb,
    secrets         bytea,
    priority        integer NOT NULL DEFAULT 10,
    countries       text[] NOT NULL DEFAULT '{}',
    rate_per_second integer CHECK (rate_per_second IS NULL OR rate_per_second > 0),
    enabled         boolean NOT NULL DEFAULT true,
    -- the secret token in callback URLs for providers without a signature scheme
    webhook_token   text NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);

-- The queue. One row per message; dispatchers claim due rows with FOR UPDATE SKIP LOCKED.
CREATE TABLE messages (
    id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    to_number           text NOT NULL,
    country             text,
    body                text NOT NULL,
    channel             text NOT NULL CHECK (channel IN ('sms', 'voice')),
    kind                text NOT NULL CHECK (kind IN ('transactional', 'marketing')),
    -- lower goes first: 0 transactional, 1 marketing
    priority            smallint NOT NULL,
    status              text NOT NULL CHECK (status IN ('queued', 'sending', 'sent', 'delivered', 'undelivered', 'failed', 'canceled')),
    encoding            text NOT NULL,
    segments            integer NOT NULL,
    characters          integer NOT NULL,
    locale              text,
    template_id         uuid REFERENCES templates (id) ON DELETE SET NULL,
    campaign_id         uuid,
    contact_id          uuid REFERENCES contacts (id) ON DELETE SET NULL,
    api_key_id          uuid REFERENCES api_keys (id) ON DELETE SET NULL,
    provider_id         uuid REFERENCES providers (id) ON DELETE SET NULL,
    provider_message_id text,
    -- the sender to use instead of the provider's `from` (replies go from the number texted)
    sender              text,
    -- a provider to try first (replies go back through the provider they came in on)
    pinned_provider_id  uuid REFERENCES providers (id) ON DELETE SET NULL,
    attempts            integer NOT NULL DEFAULT 0,
    error_code          text,
    error_message       text,
    provider_error_code text,
    send_after          timestamptz NOT NULL DEFAULT now(),
    lease_until         timestamptz,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    sent_at             timestamptz,
    delivered_at        timestamptz
);
CREATE INDEX messages_due_idx ON messages (priority, send_after) WHERE status = 'queued';
CREATE INDEX messages_lease_idx ON messages (lease_until) WHERE status = 'sending';
CREATE INDEX messages_provider_message_idx ON messages (provider_id, provider_message_id) WHERE provider_message_id IS NOT NULL;
CREATE INDEX messages_created_idx ON messages (created_at DESC, id DESC);
-- Only settled messages: a message in the queue changes row version twice (claimed, then
-- recorded), and every version of every message would otherwise cost this index an entry.
-- The few queued or in-flight messages of a number are found through the queue's own indexes.
CREATE INDEX messages_to_idx ON messages (to_number, created_at DESC)
    WHERE status IN ('sent', 'delivered', 'undelivered', 'failed', 'canceled');
CREATE INDEX messages_campaign_idx ON messages (campaign_id, status) WHERE campaign_id IS NOT NULL;

-- Idempotency-Key: the first response per (caller, key) for 24 hours.
CREATE TABLE idempotency_keys (
    scope         text NOT NULL,
    key           text NOT NULL,
    request_hash  bytea NOT NULL,
    response_code integer NOT NULL,
    response_body jsonb NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (scope, key)
);
CREATE INDEX idempotency_keys_created_idx ON idempotency_keys (created_at);

-- Per-provider send rate, counted per second across every process.
CREATE TABLE provider_rate_windows (
    provider_id uuid NOT NULL REFERENCES providers (id) ON DELETE CASCADE,
    second      bigint NOT NULL,
    used        integer NOT NULL,
    PRIMARY KEY (provider_id, second)
);

-- Messages people sent us.
CREATE TABLE inbound_messages (
    id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    provider_id         uuid REFERENCES providers (id) ON DELETE SET NULL,
    provider_message_id text,
    from_number         text NOT NULL,
    to_number           text NOT NULL,
    body                text NOT NULL,
    keyword             text,
    received_at         timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX inbound_messages_provider_idx ON inbound_messages (provider_id, provider_message_id) WHERE provider_message_id IS NOT NULL;

-- What the outbox provider "sent".
CREATE TABLE outbox (
    id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    message_id uuid NOT NULL,
    to_number  text NOT NULL,
    body       text NOT NULL,
    channel    text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX outbox_created_idx ON outbox (created_at DESC, id DESC);
CREATE INDEX outbox_to_idx ON outbox (to_number, created_at DESC);

-- Outgoing events (message status changes) for the app's webhook, delivered with retries.
CREATE TABLE event_deliveries (
    id              bigserial PRIMARY KEY,
    event_id        uuid NOT NULL DEFAULT gen_random_uuid(),
    type            text NOT NULL,
    payload         jsonb NOT NULL,
    status          text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    lease_until     timestamptz,
    last_error      text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    delivered_at    timestamptz
);
CREATE INDEX event_deliveries_due_idx ON event_deliveries (next_attempt_at) WHERE status = 'pending';
