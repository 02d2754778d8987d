-- Email campaigns: one message to many recipients, with one outcome row per recipient so the
-- campaign page renders from the database and live events only move it forward.
CREATE TABLE email_campaigns (
  id             uuid PRIMARY KEY,
  subject        text NOT NULL,
  body           text NOT NULL,
  body_format    text NOT NULL CHECK (body_format IN ('markdown', 'text')),
  status         text NOT NULL DEFAULT 'sending' CHECK (status IN ('sending', 'completed', 'cancelled')),
  total          integer NOT NULL CHECK (total > 0),
  invocation_id  text,
  created_at     timestamptz NOT NULL DEFAULT now(),
  finished_at    timestamptz
);
CREATE INDEX email_campaigns_created_at_idx ON email_campaigns (created_at DESC);

CREATE TABLE campaign_recipients (
  campaign_id  uuid NOT NULL REFERENCES email_campaigns (id) ON DELETE CASCADE,
  address      text NOT NULL,
  position     integer NOT NULL CHECK (position >= 0),
  status       text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'bounced', 'failed', 'cancelled')),
  message_id   text,
  error        text,
  updated_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (campaign_id, address),
  UNIQUE (campaign_id, position)
);

-- The SMTP reply code of the last failed attempt, and when the row last changed.
ALTER TABLE emails
  ADD COLUMN smtp_code   integer,
  ADD COLUMN updated_at  timestamptz NOT NULL DEFAULT now();
