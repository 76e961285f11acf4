-- 0003: identity lifecycle — forced password changes, and one rate-limit table for every
-- limit that must hold across processes (logins now; verification codes later).
-- Never edit this file once landed: add a new numbered migration instead.

-- Set for the generated first admin and by `herald users reset-password`: until the user picks
-- a password of their own, their session may only change it, look at itself and sign out.
ALTER TABLE users ADD COLUMN password_change_required boolean NOT NULL DEFAULT false;
ALTER TABLE users ADD COLUMN password_changed_at timestamptz;

-- Fixed windows that start at a key's first hit: one row per key, counted up atomically by
-- `INSERT … ON CONFLICT DO UPDATE … RETURNING` (RateLimitStore). A row whose window has ended
-- is restarted by the next hit and deleted by housekeeping.
CREATE TABLE rate_limits (
    key        text PRIMARY KEY CHECK (length(key) BETWEEN 1 AND 300),
    hits       bigint NOT NULL CHECK (hits >= 0),
    window_end timestamptz NOT NULL
);
CREATE INDEX rate_limits_window_end_idx ON rate_limits (window_end);

-- Replaced by rate_limits: failures were counted after the password check, so a burst of
-- parallel guesses all got checked before the first one was recorded.
DROP TABLE login_attempts;

-- Keys made by a user who is already disabled: revoke them, as disabling a user now does.
-- (Keys of users deleted before this migration kept working with `created_by` NULL; they
-- cannot be told apart from CLI keys any more and are left alone.)
UPDATE api_keys k SET revoked_at = now()
WHERE k.revoked_at IS NULL AND k.created_by IN (SELECT id FROM users WHERE disabled);
