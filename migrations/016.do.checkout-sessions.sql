-- Paying on Stripe's own page (Checkout): the order keeps its session, so a webhook about that
-- session finds the order, and the order page can offer the payment page again from the row when
-- the progress stream has expired. A session belongs to one order.
ALTER TABLE orders ADD COLUMN checkout_session_id text;
ALTER TABLE orders ADD COLUMN payment_url text;
CREATE UNIQUE INDEX orders_checkout_session_idx ON orders (checkout_session_id) WHERE checkout_session_id IS NOT NULL;
-- Refunds and disputes made in Stripe's dashboard name the PaymentIntent, not the order.
CREATE INDEX orders_payment_ref_idx ON orders (payment_ref) WHERE payment_ref IS NOT NULL;
