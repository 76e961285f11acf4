-- Verification codes. The code itself is never stored: only an HMAC-SHA256 under a key derived
-- from the server secret, over the verification id, the code and (for payments) the amount,
-- currency and payee. The message that carries a code holds the code sealed (AES-GCM, same
-- secret) until its submission is settled, and its body holds markers in place of the code.
CREATE TABLE verifications (
    id               uuid PRIMARY KEY,
    to_number        text NOT NULL,
    country          text,
    -- the number without its last four digits: the unit of SMS pumping fraud
    prefix           text NOT NULL,
    channel          text NOT NULL CHECK (channel IN ('sms', 'voice')),
    purpose          text NOT NULL CHECK (purpose IN ('registration', 'login', 'account_change', 'password_reset', 'payment', 'abnormal_login')),
    locale           text NOT NULL,
    status           text NOT NULL CHECK (status IN ('pending', 'approved', 'canceled', 'expired', 'max_attempts_reached')),
    code_length      integer NOT NULL CHECK (code_length BETWEEN 4 AND 10),
    code_mac         bytea NOT NULL,
    payment_amount   text,
    payment_currency text,
    payment_payee    text,
    checks           integer NOT NULL DEFAULT 0,
    max_checks       integer NOT NULL,
    send_count       integer NOT NULL DEFAULT 1,
    max_sends        integer NOT NULL,
    next_send_at     timestamptz NOT NULL,
    expires_at       timestamptz NOT NULL,
    client_ip        text,
    -- a test number of the settings: fixed code, never sent
    test             boolean NOT NULL DEFAULT false,
    message_id       uuid,
    api_key_id       uuid REFERENCES api_keys (id) ON DELETE SET NULL,
    created_at       timestamptz NOT NULL,
    updated_at       timestamptz NOT NULL,
    approved_at      timestamptz,
    CHECK ((purpose = 'payment') = (payment_amount IS NOT NULL))
);
-- At most one pending verification per number and purpose: a second request is a resend.
CREATE UNIQUE INDEX verifications_pending_idx ON verifications (to_number, purpose) WHERE status = 'pending';
CREATE INDEX verifications_created_idx ON verifications (created_at DESC, id DESC);
CREATE INDEX verifications_to_idx ON verifications (to_number, created_at DESC);
CREATE INDEX verifications_prefix_idx ON verifications (prefix, created_at);
CREATE INDEX verifications_expiry_idx ON verifications (expires_at) WHERE status = 'pending';
CREATE INDEX verifications_message_idx ON verifications (message_id) WHERE message_id IS NOT NULL;

-- Prefixes the fraud guard blocked (sends spiking while approvals stay low), until a time or
-- until an admin lifts the block.
CREATE TABLE verification_blocks (
    prefix        text PRIMARY KEY,
    country       text,
    reason        text NOT NULL,
    created       integer NOT NULL,
    approved      integer NOT NULL,
    blocked_at    timestamptz NOT NULL,
    blocked_until timestamptz NOT NULL,
    lifted_at     timestamptz,
    lifted_by     text
);

-- The code of a code message, sealed until its submission is settled; and when it stops
-- being worth sending (a code message is canceled rather than sent after its code expired).
ALTER TABLE messages
    ADD COLUMN verification_id uuid,
    ADD COLUMN sealed_code     bytea,
    ADD COLUMN code_expires_at timestamptz;
