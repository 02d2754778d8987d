-- Orders that wait for an operator are authorised first and captured once approved: their charge
-- row is 'authorized' until then, 'succeeded' once captured, 'canceled' when the hold is released
-- (rejected, timed out or cancelled before approval). Only 'succeeded' rows moved money.
ALTER TABLE payments DROP CONSTRAINT payments_status_check;
ALTER TABLE payments ADD CONSTRAINT payments_status_check
  CHECK (status IN ('succeeded', 'declined', 'authorized', 'canceled'));
ALTER TABLE payments ADD COLUMN updated_at timestamptz;
