-- The operators' live feed checks PostgreSQL every few seconds for the orders that moved since its
-- last check (a feed message can be lost: a Valkey primary's failover, a publish that never left a
-- worker that died). That check reads orders by updated_at, which every write to an order sets.
CREATE INDEX orders_updated_at_idx ON orders (updated_at);
