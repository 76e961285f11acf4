-- 0010: messages counted per hour, provider and status for hours older than two days, so the
-- overview's week (or month) costs a scan of two days of messages, not of all of them.
-- Never edit this file once landed: add a new numbered migration instead.

CREATE TABLE message_hour_counts (
    hour        timestamptz NOT NULL,
    -- NULL: not sent through a configured provider (queued, or the built-in outbox)
    provider_id uuid,
    status      text NOT NULL,
    count       bigint NOT NULL CHECK (count > 0)
);
CREATE INDEX message_hour_counts_hour_idx ON message_hour_counts (hour);

-- The hours already counted (an hour without messages has no row above, but is counted).
CREATE TABLE message_hours_counted (
    hour timestamptz PRIMARY KEY
);
