-- The full order lifecycle: approval of large orders, shipping, and the payment provider's
-- attempt counter (deterministic test cards that fail transiently a number of times).
ALTER TABLE orders
  ADD COLUMN approval_required    boolean NOT NULL DEFAULT false,
  ADD COLUMN approval_decision    text CHECK (approval_decision IN ('approved', 'rejected', 'timed_out')),
  ADD COLUMN approval_decided_at  timestamptz,
  ADD COLUMN shipped_at           timestamptz;
CREATE INDEX orders_status_idx ON orders (status);

CREATE TABLE payment_attempts (
  idempotency_key  text PRIMARY KEY,
  attempts         integer NOT NULL DEFAULT 0,
  last_error       text,
  updated_at       timestamptz NOT NULL DEFAULT now()
);
