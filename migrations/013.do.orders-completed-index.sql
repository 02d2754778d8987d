-- The operator overview's completion p50 reads the orders fulfilled in the last hour. A fulfilled
-- order's updated_at is the moment it was fulfilled (the last write an order gets; a refund moves
-- it out of 'fulfilled'), so this partial index finds that hour's completions without reading
-- every fulfilled order. Only fulfilled rows are in it, so other updates do not maintain it.
CREATE INDEX orders_fulfilled_at_idx ON orders (updated_at) WHERE status = 'fulfilled';
