-- An operator's full refund of a fulfilled order, made by the OrderRefund object: at most one per
-- order (the primary key), with who made it and why; the order's status becomes 'refunded'.
-- To refund after the order's workflow has ended, the order keeps its charge's provider reference
-- (a PaymentIntent id with Stripe), written in the step that charged or authorised the card.
ALTER TABLE orders ADD COLUMN payment_ref text;
-- Orders charged before this column: the local payment ledger knows their charge.
UPDATE orders o SET payment_ref = p.provider_ref
  FROM payments p
 WHERE p.order_id = o.id AND p.kind = 'charge' AND p.status = 'succeeded' AND o.payment_ref IS NULL;

CREATE TABLE order_refunds (
  order_id      uuid PRIMARY KEY REFERENCES orders (id),
  amount_cents  integer NOT NULL CHECK (amount_cents > 0),
  currency      char(3) NOT NULL,
  provider_ref  text NOT NULL,
  operator      text NOT NULL CHECK (length(operator) BETWEEN 1 AND 100),
  reason        text NOT NULL CHECK (length(reason) BETWEEN 1 AND 300),
  created_at    timestamptz NOT NULL DEFAULT now()
);
