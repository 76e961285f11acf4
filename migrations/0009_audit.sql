-- 0009: the audit log — every change a person or an API key made through the API: who, when,
-- what, and the object before and after (secrets removed before they get here).
-- Never edit this file once landed: add a new numbered migration instead.

CREATE TABLE audit_log (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    created_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
    actor_type   text NOT NULL CHECK (actor_type IN ('user', 'api_key')),
    actor_id     uuid NOT NULL,
    -- the user's e-mail or the key's name at the time (users and keys may be deleted later)
    actor_label  text NOT NULL,
    action       text NOT NULL CHECK (action ~ '^[a-z_]+\.[a-z_]+$'),
    target_type  text NOT NULL CHECK (target_type ~ '^[a-z_]+$'),
    target_id    text,
    target_label text,
    before       jsonb,
    after        jsonb,
    client_ip    text
);
-- The list is newest first, optionally narrowed to one actor, one action (or family) or one target.
CREATE INDEX audit_log_created_idx ON audit_log (created_at DESC, id DESC);
CREATE INDEX audit_log_actor_idx ON audit_log (actor_id, created_at DESC, id DESC);
CREATE INDEX audit_log_actor_label_idx ON audit_log (lower(actor_label), created_at DESC);
CREATE INDEX audit_log_action_idx ON audit_log (action text_pattern_ops, created_at DESC);
CREATE INDEX audit_log_target_idx ON audit_log (target_type, target_id, created_at DESC);
