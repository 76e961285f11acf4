-- Webhooks already taken, by a digest of the request as the provider signed it, so a
-- replayed webhook changes nothing the second time (receipts and inbound messages alike,
-- including providers whose inbound messages carry no id of their own).
CREATE TABLE webhook_replays (
    provider_id uuid NOT NULL,
    digest      bytea NOT NULL,
    seen_at     timestamptz NOT NULL,
    PRIMARY KEY (provider_id, digest)
);
CREATE INDEX webhook_replays_seen_idx ON webhook_replays (seen_at);
