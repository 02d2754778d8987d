-- A refund is not always done when it is made: some card refunds stay pending for days until the
-- bank confirms them, and a few then fail (a closed card). The refund's row keeps where it stands,
-- and why it failed; an operator may refund again after a failure (the failed row is replaced,
-- still one row per order). Refunds made in the provider's dashboard are recorded here too, with
-- the provider as the operator, so the order's history has every refund whoever made it.
-- Orders gain three statuses after fulfilment, in the status column (no check constraint there):
-- 'refund_pending', 'refund_failed' and 'disputed' (a chargeback opened by the customer's bank).
ALTER TABLE order_refunds ADD COLUMN status text NOT NULL DEFAULT 'succeeded'
  CHECK (status IN ('pending', 'succeeded', 'failed'));
ALTER TABLE order_refunds ADD COLUMN failure_reason text;
ALTER TABLE order_refunds ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now();
