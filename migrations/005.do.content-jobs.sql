-- Content generation: one row per job (the workflow key), one row per translation. Every write is
-- keyed by the job id (and language), so a replayed step finds its earlier result.
CREATE TABLE content_jobs (
  id                   uuid PRIMARY KEY,
  product_name         text NOT NULL,
  details              text NOT NULL,
  languages            text[] NOT NULL DEFAULT '{}',
  provider             text NOT NULL,
  model                text NOT NULL,
  status               text NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'completed', 'failed')),
  status_reason        text,
  description          text,
  input_tokens         integer NOT NULL DEFAULT 0 CHECK (input_tokens >= 0),
  output_tokens        integer NOT NULL DEFAULT 0 CHECK (output_tokens >= 0),
  -- An estimate from the configured price table, in US cents (fractions kept).
  estimated_cost_cents numeric(12, 4) NOT NULL DEFAULT 0,
  invocation_id        text,
  created_at           timestamptz NOT NULL DEFAULT now(),
  updated_at           timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX content_jobs_created_at_idx ON content_jobs (created_at DESC);

CREATE TABLE content_translations (
  job_id         uuid NOT NULL REFERENCES content_jobs (id) ON DELETE CASCADE,
  language       text NOT NULL,
  text           text NOT NULL,
  input_tokens   integer NOT NULL DEFAULT 0 CHECK (input_tokens >= 0),
  output_tokens  integer NOT NULL DEFAULT 0 CHECK (output_tokens >= 0),
  created_at     timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (job_id, language)
);
