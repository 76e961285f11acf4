-- 0008: campaigns — the campaign itself and its frozen audience, one row per recipient.
-- Never edit this file once landed: add a new numbered migration instead.

-- libphonenumber's type of the number, written with the contact ('mobile',
-- 'fixed_line_or_mobile', 'fixed_line', 'voip', …); NULL for contacts stored before this
-- migration (the campaign feeder classifies those itself). Lets an estimate count numbers
-- that cannot take SMS without parsing a million of them.
ALTER TABLE contacts ADD COLUMN line_type text;
-- The contacts still to classify (stored before this migration): the campaign scheduler fills
-- their type in the background, a batch at a time, until this index is empty.
CREATE INDEX contacts_untyped_idx ON contacts (id) WHERE line_type IS NULL;

-- The opted-out numbers: the dispatcher's claim checks each campaign and marketing message
-- against them. Without it the planner hashed "every unsubscribed contact" by scanning the whole
-- table on every claim (120 ms per claim over 1,000,000 contacts: campaigns crawled at 1,100 msg/s).
CREATE INDEX contacts_unsubscribed_idx ON contacts (phone) WHERE NOT subscribed;

CREATE TABLE campaigns (
    id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name                text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    -- a template or segment is not deleted while an unfinished campaign uses it (the
    -- services refuse); a finished campaign outlives them
    template_id         uuid REFERENCES templates (id) ON DELETE SET NULL,
    segment_id          uuid REFERENCES segments (id) ON DELETE SET NULL,
    sender              text,
    status              text NOT NULL CHECK (status IN ('draft', 'scheduled', 'sending', 'paused', 'completed', 'canceled')),
    -- schedule: an instant, or a wall-clock time in each recipient's zone (with the zone of
    -- recipients whose zone is unknown); neither for a draft sent by hand
    send_at             timestamptz,
    local_time          text CHECK (local_time ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}$'),
    fallback_timezone   text,
    throttle_per_second integer CHECK (throttle_per_second IS NULL OR throttle_per_second > 0),
    -- 'settings': the settings' value when the message is fed; 'none'; 'custom': the columns
    quiet_hours_mode    text NOT NULL DEFAULT 'settings' CHECK (quiet_hours_mode IN ('settings', 'none', 'custom')),
    quiet_start         integer CHECK (quiet_start BETWEEN 0 AND 1439),
    quiet_end           integer CHECK (quiet_end BETWEEN 0 AND 1439),
    cap_mode            text NOT NULL DEFAULT 'settings' CHECK (cap_mode IN ('settings', 'none', 'custom')),
    cap_max             integer CHECK (cap_max > 0),
    cap_window_hours    integer CHECK (cap_window_hours > 0),
    -- when the audience was materialised (frozen), and the earliest instant it may be fed
    launched_at         timestamptz,
    starts_at           timestamptz,
    -- the throttle's clock: the feeder gives no message a send time before this
    next_slot_at        timestamptz,
    completed_at        timestamptz,
    -- failed messages a "retry failed" replaced (stats count only the latest message per recipient)
    retried             integer NOT NULL DEFAULT 0,
    actor               text,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    CHECK (send_at IS NULL OR local_time IS NULL),
    CHECK ((quiet_hours_mode = 'custom') = (quiet_start IS NOT NULL AND quiet_end IS NOT NULL)),
    CHECK ((cap_mode = 'custom') = (cap_max IS NOT NULL AND cap_window_hours IS NOT NULL))
);
CREATE INDEX campaigns_created_idx ON campaigns (created_at DESC, id DESC);
CREATE INDEX campaigns_active_idx ON campaigns (status) WHERE status IN ('scheduled', 'sending');

-- The audience, frozen at launch. 'pending': not yet handed to the queue (send_at: not before);
-- 'queued': its message exists (message_id); 'excluded': left out at launch; 'skipped': left
-- out when its turn came. `reason` says why for the last two.
CREATE TABLE campaign_recipients (
    -- No foreign key: checking it cost 9 of a 1,000,000-recipient launch's 19 s. Only drafts and
    -- scheduled campaigns are deleted, and they have no recipients yet (the delete removes any).
    campaign_id uuid NOT NULL,
    contact_id  uuid NOT NULL,
    status      text NOT NULL CHECK (status IN ('pending', 'queued', 'excluded', 'skipped')),
    reason      text,
    send_at     timestamptz NOT NULL,
    message_id  uuid,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (campaign_id, contact_id),
    CHECK ((status IN ('excluded', 'skipped')) = (reason IS NOT NULL)),
    CHECK ((status = 'queued') = (message_id IS NOT NULL))
);
CREATE INDEX campaign_recipients_due_idx ON campaign_recipients (campaign_id, send_at) WHERE status = 'pending';
