-- A customer's cancel is decided by the order's row, not by the workflow reading a promise: the
-- request is written here by one conditional statement that refuses once the order has shipped or
-- ended, and the ship step is a conditional statement that refuses once a cancel was written. The
-- two update the same row, so exactly one of them wins, and the workflow reads the outcome inside
-- steps it takes anyway instead of asking Restate at each checkpoint (docs/design.md, "Cancel").
-- The charge step claims the charge on the row before it charges: a retried step finds its claim and
-- charges again under the same idempotency key (so a charge made just before a crash is never left
-- behind by a cancel that came in between), while a cancel written before any claim stops it.
ALTER TABLE orders
  ADD COLUMN cancel_requested_at  timestamptz,
  ADD COLUMN cancel_reason        text CHECK (length(cancel_reason) <= 300),
  ADD COLUMN charge_claimed_at    timestamptz;
