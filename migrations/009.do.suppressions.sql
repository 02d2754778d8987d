-- Addresses that unsubscribed from campaigns (RFC 8058 one-click or the link in the footer),
-- stored as the SHA-256 of the lower-cased address: later campaigns skip them. The campaign the
-- request came from is kept for the record.
CREATE TABLE email_suppressions (
  address_hash  text PRIMARY KEY CHECK (address_hash ~ '^[0-9a-f]{64}$'),
  campaign_id   uuid,
  reason        text NOT NULL DEFAULT 'unsubscribed' CHECK (reason IN ('unsubscribed')),
  created_at    timestamptz NOT NULL DEFAULT now()
);

-- A suppressed recipient is listed on the campaign but not sent to, and not counted in its total
-- (which may then be zero: every recipient had unsubscribed).
ALTER TABLE campaign_recipients DROP CONSTRAINT campaign_recipients_status_check;
ALTER TABLE campaign_recipients ADD CONSTRAINT campaign_recipients_status_check
  CHECK (status IN ('pending', 'sent', 'bounced', 'failed', 'cancelled', 'suppressed'));
ALTER TABLE email_campaigns DROP CONSTRAINT email_campaigns_total_check;
ALTER TABLE email_campaigns ADD CONSTRAINT email_campaigns_total_check CHECK (total >= 0);
