-- An operator's cancel and "ship now" are recorded like an approval: who asked, for which order,
-- when, and whether the order took it, in columns (a cancel's name was only in the order's
-- status_reason text, and "ship now" only in the workflow's timeline). The reason an operator
-- typed for a cancel is kept with it.
ALTER TABLE operator_decisions DROP CONSTRAINT operator_decisions_action_check;
ALTER TABLE operator_decisions
  ADD CONSTRAINT operator_decisions_action_check CHECK (action IN ('approve', 'reject', 'cancel', 'dispatch')),
  ADD COLUMN reason text CHECK (length(reason) <= 300);

-- The decisions page reads operators' decisions, refunds and stock movements newest first, by
-- keyset on (created_at, key): one index range per table, stopping after a page.
CREATE INDEX operator_decisions_created_id_idx ON operator_decisions (created_at DESC, id DESC);
CREATE INDEX order_refunds_created_order_idx ON order_refunds (created_at DESC, order_id DESC);
CREATE INDEX stock_movements_created_id_idx ON stock_movements (created_at DESC, id DESC);
