-- 0007: segments — saved rules over contacts — and the indexes their conditions use.
-- Never edit this file once landed: add a new numbered migration instead.

CREATE TABLE segments (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name        text NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 100),
    -- the rule as the API took it (validated), re-compiled to SQL on every use
    rule        jsonb NOT NULL CHECK (jsonb_typeof(rule) = 'object'),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX segments_created_idx ON segments (created_at DESC, id DESC);

-- `country in […]`, `attributes.<key> eq "…"` (containment), `tags has …` (0006's GIN index).
CREATE INDEX contacts_country_idx ON contacts (country) WHERE deleted_at IS NULL;
CREATE INDEX contacts_attributes_idx ON contacts USING gin (attributes jsonb_path_ops);
