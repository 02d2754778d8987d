-- A customer's cancel is decided by the order's row, not by the workflow reading a promise: the
-- request is written here by one conditional statement that refuses once the order has shipped or
-- ended, and the ship step is a conditional statement that refuses once a cancel was written. The
-- two update the same row, so exactly one of them wins, and the workflow reads the outcome inside
-- steps it takes anyway instead of asking Restate at each checkpoint (docs/design.md, "Cancel").
ALTER TABLE orders
  ADD COLUMN cancel_requested_at  timestamptz,
  ADD COLUMN cancel_reason        text CHECK (length(cancel_reason) <= 300);
