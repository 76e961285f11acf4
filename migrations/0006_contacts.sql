-- 0006: contacts for campaigns — deletion that keeps an opt-out, consent times, list indexes,
-- and CSV imports. Never edit this file once landed: add a new numbered migration instead.

-- Deleting a contact removes its personal data. One that had opted out stays behind as its
-- number alone, unsubscribed, so the opt-out outlives the deletion (a later upsert or import of
-- the number finds it and keeps it unsubscribed until the person opts in again).
ALTER TABLE contacts ADD COLUMN deleted_at timestamptz;
ALTER TABLE contacts ADD CONSTRAINT contacts_deleted_keeps_only_an_opt_out
    CHECK (deleted_at IS NULL OR (NOT subscribed AND first_name IS NULL AND last_name IS NULL
                                  AND attributes = '{}'::jsonb AND tags = '{}'));
-- Lists: newest first, keyset-paginated.
CREATE INDEX contacts_created_idx ON contacts (created_at DESC, id DESC) WHERE deleted_at IS NULL;
CREATE INDEX contacts_tags_idx ON contacts USING gin (tags);

-- When the person gave the consent an entry records (the app's word), beside when it was recorded.
ALTER TABLE consent_events ADD COLUMN consented_at timestamptz;
CREATE INDEX consent_events_contact_idx ON consent_events (contact_id, occurred_at) WHERE contact_id IS NOT NULL;

-- CSV imports: one row per upload, with the first rejected rows and their reasons.
CREATE TABLE imports (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    status        text NOT NULL CHECK (status IN ('running', 'completed', 'failed')),
    country       text,
    tags          text[] NOT NULL DEFAULT '{}',
    total_rows    integer NOT NULL DEFAULT 0,
    imported      integer NOT NULL DEFAULT 0,
    updated       integer NOT NULL DEFAULT 0,
    unchanged     integer NOT NULL DEFAULT 0,
    rejected      integer NOT NULL DEFAULT 0,
    -- the first rejected rows: [{"line", "field", "message"}]
    errors        jsonb NOT NULL DEFAULT '[]'::jsonb CHECK (jsonb_typeof(errors) = 'array'),
    failure       text,
    actor         text,
    created_at    timestamptz NOT NULL DEFAULT now(),
    finished_at   timestamptz
);
CREATE INDEX imports_created_idx ON imports (created_at DESC, id DESC);
